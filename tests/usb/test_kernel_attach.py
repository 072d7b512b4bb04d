"""A real Linux kernel (under qemu) attaches simulated devices over USB/IP.

The guest (the kernel and initramfs of ``../shared/tools/kernel-initramfs.sh``,
booted by the ``run_guest`` fixture) runs ``usbip attach`` against our
in-process server, so the kernel's vhci-hcd, usb-storage, sd and vfat drivers
do the work. Needs root, qemu and busybox (``.ci/install-kernel-deps.sh``
provides them and the kernel); skipped with the reason when they are missing.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator

import pytest

from sim.usb.bitlocker import bitlocker_to_go_disk
from sim.usb.bus import UsbBus
from sim.usb.catalogue import README_TEXT, by_name
from sim.usb.sticks import MassStorageStick, build_stick
from sim.usb.usbip_server import UsbipServer

pytestmark = pytest.mark.kernel

GuestRunner = Callable[..., dict[str, str]]  # the run_guest fixture (conftest.py)

WRITTEN_BY_LINUX = "written by the Linux kernel\n"
WRITE_10 = 0x2A

GUEST_SCRIPT = """
port={port}
listed=$(usbip --tcp-port $port list -r 10.0.2.2 2>/dev/null | grep -c '(08/06/50)')
echo  # end any console line a kernel message left open
echo "E2E listed $listed"
for busid in 1-1 1-2 1-3; do
  usbip --tcp-port $port attach -r 10.0.2.2 -b $busid 2>&1 | sed 's/^/E2E attach: /'
done
i=0
while [ $i -lt 60 ] && [ "$(grep -c ' sd[a-z]1$' /proc/partitions)" -lt 3 ]; do
  sleep 1; i=$((i+1))
done
sleep 1
echo  # end any console line a kernel message left open
for dir in /sys/block/sd*; do
  disk=${{dir##*/}}
  serial=$(tail -c +5 $dir/device/vpd_pg80 2>/dev/null)
  vendor=$(tr -d ' ' < $dir/device/vendor)
  echo "E2E disk-$vendor-$serial ro=$(cat $dir/ro)"
  if [ "$serial" = {writable} ]; then
    mount -t vfat /dev/${{disk}}1 /mnt 2>&1 | sed 's/^/E2E mount: /'
    echo "E2E readme $(md5sum < /mnt/README.TXT | cut -c1-32)"
    printf '{written}' > /mnt/FROMLNX.TXT
    sync; umount /mnt && echo "E2E unmounted"
    writable=$disk
  fi
  if [ "$vendor" = Kingston ]; then
    echo "E2E oem $(dd if=/dev/${{disk}}1 bs=1 skip=3 count=8 2>/dev/null)"
    fve=$(dd if=/dev/${{disk}}1 bs=512 skip={fve_sector} count=1 2>/dev/null | head -c 8)
    echo "E2E fve $fve"
  fi
done
i=0
while [ $i -lt 30 ] && [ -e /sys/block/$writable ]; do sleep 1; i=$((i+1)); done
echo
if [ -e /sys/block/$writable ]; then echo "E2E pulled no"; else echo "E2E pulled yes"; fi
echo "E2E done"
"""


def _pull_after_unmount(
    bus: UsbBus, stick: MassStorageStick, done: threading.Event
) -> None:
    """Unplug the stick once Linux has written to it and allowed removal again."""
    while not done.wait(0.2):
        unit = stick.unit
        if WRITE_10 in unit.commands_seen and not unit.prevent_removal:
            bus.unplug("1-1")
            return


@pytest.fixture
def served_sticks() -> Iterator[tuple[UsbipServer, MassStorageStick]]:
    bus = UsbBus()
    stick = build_stick(by_name("stick"))
    bus.plug(stick)
    bus.plug(build_stick(by_name("readonly-stick")))
    bus.plug(build_stick(by_name("bitlocker-stick")))
    done = threading.Event()
    puller = threading.Thread(target=_pull_after_unmount, args=(bus, stick, done))
    with UsbipServer(bus, host="127.0.0.1", port=0) as server:
        puller.start()
        try:
            yield server, stick
        finally:
            done.set()
            puller.join()


def test_kernel_mounts_writes_sees_bitlocker_and_notices_the_unplug(
    served_sticks: tuple[UsbipServer, MassStorageStick], run_guest: GuestRunner
) -> None:
    server, stick = served_sticks
    bitlocker = by_name("bitlocker-stick")
    _, layout = bitlocker_to_go_disk(bitlocker)
    script = GUEST_SCRIPT.format(
        port=server.port,
        writable=stick.serial,
        written=WRITTEN_BY_LINUX,
        fve_sector=layout.metadata_offsets[0] // 512,
    )

    facts = run_guest(script)

    read_only = by_name("readonly-stick").serial
    assert facts["listed"] == "3"  # usbip list -r: three Mass Storage interfaces
    assert facts[f"disk-SanDisk-{stick.serial}"] == "ro=0"
    assert facts[f"disk-SanDisk-{read_only}"] == "ro=1"
    probe = [f"{opcode:02X}" for opcode in stick.unit.commands_seen[:16]]
    print("Linux's first SCSI commands to the stick:", " ".join(probe))
    assert {"12", "00", "25", "1A", "28"} <= set(probe)  # INQUIRY ... READ(10)
    assert facts["readme"] == hashlib.md5(README_TEXT).hexdigest()  # noqa: S324
    assert "unmounted" in facts
    assert stick.volume_files()["FROMLNX.TXT"] == WRITTEN_BY_LINUX.encode()
    # Linux reads no VPD pages from this Kingston model, so no serial here.
    assert facts["disk-Kingston-"] == "ro=0"
    assert facts["oem"] == "MSWIN4.1"
    assert facts["fve"] == "-FVE-FS-"
    assert facts["pulled"] == "yes"  # closing the USB/IP socket is an unplug
