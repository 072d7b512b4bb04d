"""A real Linux kernel (under qemu) attaches simulated devices over USB/IP.

The guest runs ``usbip attach`` against our in-process server, so the
kernel's vhci-hcd, usb-storage, sd and vfat drivers do the work. Needs root,
qemu, busybox and usbip (``.ci/install-kernel-deps.sh`` provides them and the
kernel); skipped with the reason when they are missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.usb.bitlocker import bitlocker_to_go_disk
from sim.usb.bus import UsbBus
from sim.usb.catalogue import README_TEXT, by_name
from sim.usb.sticks import MassStorageStick, build_stick
from sim.usb.usbip_server import UsbipServer

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
ATTACH = ROOT.parent / "shared/tools/kernel-attach.sh"
KERNEL_DIR = Path(os.environ.get("KDIR", Path(tempfile.gettempdir()) / "usbip-kernel"))
WRITTEN_BY_LINUX = "written by the Linux kernel\n"
GUEST_LIMIT_S = 150
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


def _missing_tools() -> list[str]:
    tools = ("qemu-system-x86_64", "busybox", "usbip")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not (KERNEL_DIR / "vmlinuz").is_file():
        missing.append(f"a kernel in {KERNEL_DIR}")
    if not ATTACH.is_file():
        missing.append(str(ATTACH))
    return missing


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
    missing = _missing_tools()
    if missing or os.geteuid() != 0:
        reason = ", ".join(missing) if missing else "root"
        pytest.skip(f"kernel attach needs {reason}: run .ci/install-kernel-deps.sh")
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


def _run_guest(script: str, tmp_path: Path) -> dict[str, str]:
    guest = tmp_path / "guest.sh"
    guest.write_text(script)
    finished = subprocess.run(
        [str(ATTACH), "1-1", "0", str(GUEST_LIMIT_S)],
        env=dict(os.environ, E2E_SCRIPT=str(guest)),
        capture_output=True,
        text=True,
        timeout=GUEST_LIMIT_S + 60,
        check=False,
    )
    lines = [
        line[4:] for line in finished.stdout.splitlines() if line.startswith("E2E ")
    ]
    assert "done" in lines, finished.stdout + finished.stderr
    print("\n".join(lines))  # shown by pytest when an assertion fails
    return dict(line.partition(" ")[::2] for line in lines)


def test_kernel_mounts_writes_sees_bitlocker_and_notices_the_unplug(
    served_sticks: tuple[UsbipServer, MassStorageStick], tmp_path: Path
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

    facts = _run_guest(script, tmp_path)

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
