#!/usr/bin/env bash
# Debian packages and the Linux kernel the USB tests need (run as root, apt reachable):
# dosfstools for fsck.fat, genisoimage for isoinfo; qemu, busybox, usbip, kmod and hwdata
# for the kernel tests, which boot ../shared/tools' initramfs with a Debian kernel;
# mtp-tools (libmtp's mtp-files) and gphoto2, which the phone kernel tests copy into
# the guest as independent MTP and PTP hosts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq dosfstools genisoimage qemu-system-x86 busybox-static usbip kmod hwdata mtp-tools gphoto2 >/dev/null
# Fetches the kernel and builds the initramfs into ${KDIR:-${TMPDIR:-/tmp}/usbip-kernel}.
"$here/../../shared/tools/kernel-initramfs.sh"
