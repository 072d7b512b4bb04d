"""A real kernel meets the hardware-encrypted stick: unlocker CD, PIN, data disk.

The guest attaches the locked stick and mounts its unlocker CD (sr_mod and
isofs are copied in from the kernel package). It then rings a doorbell (a
`usbip list` to a port the test listens on) and the test "types the PIN":
the stick re-enumerates with its data disk, the guest sees the CD go,
attaches again and mounts the FAT32 volume.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.usb.bus import UsbBus
from sim.usb.catalogue import README_TEXT, by_name
from sim.usb.encrypted import HardwareEncryptedStick, build_encrypted_stick
from sim.usb.usbip_server import UsbipServer

pytestmark = pytest.mark.kernel

GuestRunner = Callable[..., dict[str, str]]  # the run_guest fixture (conftest.py)
MODULES = ("drivers/cdrom/cdrom.ko", "drivers/scsi/sr_mod.ko", "fs/isofs/isofs.ko")

GUEST_SCRIPT = """
for module in cdrom sr_mod isofs; do insmod /extra/$module.ko; done
port={port}
attach() {{ usbip --tcp-port $port attach -r 10.0.2.2 -b 1-1 >/dev/null 2>&1; }}
attach
i=0; while [ $i -lt 30 ] && ! grep -q ' sr0$' /proc/partitions; do sleep 1; i=$((i+1)); done
sleep 1
echo  # end any console line a kernel message left open
mount -t iso9660 -o ro /dev/sr0 /mnt && for f in $(ls /mnt); do echo "E2E cd-$f"; done
umount /mnt
usbip --tcp-port {doorbell} list -r 10.0.2.2 >/dev/null 2>&1
i=0; while [ $i -lt 30 ] && grep -q ' sr0$' /proc/partitions; do sleep 1; i=$((i+1)); done
grep -q ' sr0$' /proc/partitions || echo "E2E cd-gone"
attach
i=0; while [ $i -lt 30 ] && ! grep -q ' sd[a-z]1$' /proc/partitions; do sleep 1; i=$((i+1)); done
sleep 1
echo
part=$(sed -n 's/.* \\(sd[a-z]1\\)$/\\1/p' /proc/partitions | head -1)
mount -t vfat /dev/$part /mnt && echo "E2E readme $(md5sum < /mnt/README.TXT | cut -c1-32)"
echo "E2E done"
"""


class _Doorbell:
    """A port the guest rings; each ring types the PIN into the stick."""

    def __init__(self, stick: HardwareEncryptedStick, code: str) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._answer, args=(stick, code))

    def _answer(self, stick: HardwareEncryptedStick, code: str) -> None:
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        connection.close()
        stick.unlock(code)

    def __enter__(self) -> _Doorbell:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):  # wakes accept() if nobody rang
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def served_stick() -> Iterator[tuple[UsbipServer, HardwareEncryptedStick]]:
    bus = UsbBus()
    stick = build_encrypted_stick(by_name("encrypted-stick"))
    bus.plug(stick)
    with UsbipServer(bus, host="127.0.0.1", port=0) as server:
        yield server, stick


def test_kernel_mounts_the_unlocker_cd_then_the_data_disk_after_the_pin(
    served_stick: tuple[UsbipServer, HardwareEncryptedStick],
    run_guest: GuestRunner,
    kernel_modules: Path,
) -> None:
    server, stick = served_stick
    modules = {str(kernel_modules / m): f"/extra/{Path(m).name}" for m in MODULES}

    with _Doorbell(stick, by_name("encrypted-stick").unlock_code) as doorbell:
        script = GUEST_SCRIPT.format(port=server.port, doorbell=doorbell.port)
        facts = run_guest(script, files=modules)

    # Linux's isofs shows plain ISO 9660 names in lower case, without ";1".
    assert {"cd-autorun.inf", "cd-unlock.exe", "cd-readme.txt"} <= set(facts)
    assert "cd-gone" in facts
    assert not stick.locked
    assert facts["readme"] == hashlib.md5(README_TEXT).hexdigest()  # noqa: S324
