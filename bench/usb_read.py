"""Sequential read throughput of a simulated stick through a real Linux kernel.

Serves the same 64 MiB disk image twice on loopback, from two servers in this
process: our ``secrmm-sim`` stick (``sim.usb``) and the plain mass-storage
device of the PyPI ``usbip`` 0.7.0 package. A qemu guest (booted by
``../shared/tools/kernel-attach.sh``) attaches both with ``usbip attach``
and reads each whole-disk device with ``dd``, dropping its page cache
before every pass, alternating the two devices. Prints a Markdown report.

Usage (root, with .ci/install-kernel-deps.sh done; ``pip install usbip==0.7.0``):
    python bench/usb_read.py [--passes 3] [--mib 32] [--out bench/results/usb_read.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import usb.core
import usbip
from usbip.classes.device.msc import MSC

from sim.usb.bot_host import BotHost
from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.sticks import build_stick
from sim.usb.usbip_client import UsbipClientBackend
from sim.usb.usbip_server import UsbipServer

ROOT = Path(__file__).resolve().parents[1]
ATTACH = ROOT.parent / "shared/tools/kernel-attach.sh"
THEIR_PORT = 3250
LOOPBACK_READ_BLOCKS = 128  # 64 KiB per READ(10)

GUEST = """
usbip --tcp-port {ours} attach -r 10.0.2.2 -b 1-1 >/dev/null 2>&1
usbip --tcp-port {theirs} attach -r 10.0.2.2 -b 1-1 >/dev/null 2>&1
i=0
while [ $i -lt 60 ] && [ "$(grep -c ' sd[a-z]$' /proc/partitions)" -lt 2 ]; do
  sleep 1; i=$((i+1))
done
sleep 2  # let the kernel's console messages about the new disks pass first
echo  # end any console line left open, so the next line starts with E2E
for dir in /sys/block/sd*; do
  disk=${{dir##*/}}
  vendor=$(tr -d ' ' < $dir/device/vendor)
  speed=$(cat $(readlink -f $dir/device)/../../../../speed 2>/dev/null)
  echo "E2E disk $disk $vendor $speed"
done
pass=0
while [ $pass -lt {passes} ]; do
  for disk in $(sed -n 's/.* \\(sd[a-z]\\)$/\\1/p' /proc/partitions); do
    sync; echo 3 > /proc/sys/vm/drop_caches
    t0=$(cut -d' ' -f1 /proc/uptime)
    dd if=/dev/$disk of=/dev/null bs=1M count={mib} 2>/dev/null
    t1=$(cut -d' ' -f1 /proc/uptime)
    echo "E2E read $disk $t0 $t1"
  done
  pass=$((pass+1))
done
echo "E2E done"
"""


class _ImageStore:
    """The block store the usbip package's MSC class reads from."""

    block_size = 512

    def __init__(self, image: bytes) -> None:
        self.data = bytearray(image)
        self.num_blocks = len(image) // self.block_size

    def read(self, lba: int, count: int) -> bytes:
        start = lba * self.block_size
        return bytes(self.data[start : start + count * self.block_size])

    def write(self, lba: int, count: int, data: bytes) -> None:
        start = lba * self.block_size
        self.data[start : start + count * self.block_size] = data


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _guest_lines(script: str, limit_s: int) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as guest:
        guest.write(script)
    try:
        finished = subprocess.run(
            [str(ATTACH), "1-1", "0", str(limit_s)],
            env=dict(os.environ, E2E_SCRIPT=guest.name),
            capture_output=True,
            text=True,
            timeout=limit_s + 60,
            check=False,
        )
    finally:
        os.unlink(guest.name)
    lines = [
        line[4:] for line in finished.stdout.splitlines() if line.startswith("E2E ")
    ]
    if "done" not in lines:
        raise SystemExit(
            f"the guest did not finish:\n{finished.stdout}{finished.stderr}"
        )
    return lines


def _loopback_rate(port: int, mib: int) -> float:
    """MB/s of READ(10)s through our pyusb USB/IP client, no kernel involved."""
    with UsbipClientBackend("127.0.0.1", port) as backend:
        host = BotHost(usb.core.find(backend=backend))
        host.clear_attention()
        commands = mib * 2048 // LOOPBACK_READ_BLOCKS
        started = time.perf_counter()
        for index in range(commands):
            host.read_blocks(index * LOOPBACK_READ_BLOCKS, LOOPBACK_READ_BLOCKS)
        return mib / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--mib", type=int, default=32, help="MiB read per pass")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()

    names = {"SanDisk": "secrmm-sim stick (sim.usb)", "USB-IP": "usbip 0.7.0 MSC"}
    spec = by_name("stick")
    ours_stick = build_stick(spec)
    image = ours_stick.medium.snapshot() if ours_stick.medium else b""
    bus = UsbBus()
    bus.plug(ours_stick)

    theirs = usbip.USBDevice(0x1D6B, 0x0104, product="usbip MSC", serial="BENCH0001")
    theirs.set_speed(usbip.SPEED_HIGH)
    theirs.add(MSC(_ImageStore(image)))
    with (
        UsbipServer(bus, port=0) as ours,
        theirs.plug(via=usbip.USBIP("127.0.0.1", THEIR_PORT)),
    ):
        script = GUEST.format(
            ours=ours.port, theirs=THEIR_PORT, passes=args.passes, mib=args.mib
        )
        lines = _guest_lines(script, 60 + 40 * args.passes)
        loopback: dict[str, list[float]] = {names["SanDisk"]: [], names["USB-IP"]: []}
        for _ in range(args.passes):  # alternating, as in the guest
            loopback[names["SanDisk"]].append(_loopback_rate(ours.port, args.mib))
            loopback[names["USB-IP"]].append(_loopback_rate(THEIR_PORT, args.mib))

    disks = {}
    for line in lines:
        if line.startswith("disk "):
            _, disk, vendor, *speed = line.split()
            disks[disk] = (names.get(vendor, vendor), speed[0] if speed else "?")
    if len(disks) != 2:
        raise SystemExit("the guest did not see both disks:\n" + "\n".join(lines))
    rates: dict[str, list[float]] = {disk: [] for disk in disks}
    for line in lines:
        if line.startswith("read "):
            _, disk, start, end = line.split()
            rates[disk].append(args.mib / max(float(end) - float(start), 0.01))

    command = f"python bench/usb_read.py --passes {args.passes} --mib {args.mib}"
    report = [
        "# USB stick sequential read through a real Linux kernel (USB/IP, qemu TCG)",
        "",
        f"- Command: `{command}` (as root, from the repository root)",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: nproc {os.cpu_count()}, CPU {_cpu_model()}",
        f"- Guest: {args.passes} passes of `dd bs=1M count={args.mib}` per device, "
        "page cache dropped before each pass, devices alternating; one qemu run.",
        "",
        "| device | reported speed (Mbit/s) | MB/s per pass | median MB/s |",
        "|---|---|---|---|",
    ]
    for disk, (name, speed) in sorted(disks.items(), key=lambda item: item[1][0]):
        passes = ", ".join(f"{rate:.1f}" for rate in rates[disk])
        median = statistics.median(rates[disk]) if rates[disk] else 0.0
        report.append(f"| {name} | {speed} | {passes} | {median:.1f} |")
    report += [
        "",
        "Without the kernel: the same servers read by our pyusb USB/IP client",
        f"(`UsbipClientBackend` + `BotHost`, 64 KiB READ(10)s, {args.mib} MiB per pass,",
        "one URB in flight, passes alternating), which shows the servers' own cost:",
        "",
        "| device | MB/s per pass | median MB/s |",
        "|---|---|---|",
    ]
    for name, rates_of in loopback.items():
        passes = ", ".join(f"{rate:.1f}" for rate in rates_of)
        report.append(f"| {name} | {passes} | {statistics.median(rates_of):.1f} |")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
