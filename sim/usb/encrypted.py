"""Hardware-encrypted sticks (IronKey, Apricorn Aegis, Kingston Vault style).

Two phases, as usb.md 5.2 describes them: while locked, the one logical unit
is a small read-only CD-ROM (the "unlocker", 2048-byte blocks); a correct
PIN (typed on the keypad or sent by the unlocker program; here, from code)
swaps in the data volume as a removable disk and the stick re-enumerates
(drops off the bus and comes back), so hosts bind a disk driver where the
CD-ROM driver was. Power loss (unplug) locks the stick again.
"""

from __future__ import annotations

import hmac
import logging
import random
from datetime import datetime

from .catalogue import DeviceSpec
from .iso9660 import CD_SECTOR, build_iso9660
from .medium import Medium
from .scsi import ScsiLogicalUnit
from .sticks import MassStorageStick, fat32_disk, stick_shape, unit_info

__all__ = ["HardwareEncryptedStick", "build_encrypted_stick", "unlocker_disc"]

logger = logging.getLogger(__name__)

UNLOCKER_SECTORS = 1024  # a 2 MiB unlocker disc
UNLOCKER_DATE = datetime(2025, 6, 3, 10, 0, 0)
MAX_FAILED_ATTEMPTS = 10  # then the stick erases its key, as these devices do


def unlocker_disc(spec: DeviceSpec) -> bytes:
    """The read-only CD a locked stick shows: autorun, unlocker program, note."""
    rng = random.Random(spec.seed)
    files = {
        "AUTORUN.INF": b"[AutoRun]\r\nopen=UNLOCK.EXE\r\nlabel=Unlocker\r\n",
        "UNLOCK.EXE": b"MZ" + rng.randbytes(200_000),  # stands in for the program
        "README.TXT": f"Enter the PIN to unlock your {spec.product}.\r\n".encode(),
    }
    return build_iso9660(
        f"{spec.manufacturer}_UNLOCK",
        files,
        created=UNLOCKER_DATE,
        total_sectors=UNLOCKER_SECTORS,
    )


class HardwareEncryptedStick(MassStorageStick):
    kind = "hardware-encrypted"

    def __init__(self, spec: DeviceSpec) -> None:
        self._spec = spec
        self._data = Medium(fat32_disk(spec), read_only=spec.read_only)
        self._unlocker = Medium(
            unlocker_disc(spec), block_size=CD_SECTOR, read_only=True
        )
        unit = ScsiLogicalUnit(unit_info(spec, cdrom=True), self._unlocker)
        super().__init__(stick_shape(spec), [unit])
        self.failed_attempts = 0
        self.erased = False

    @property
    def locked(self) -> bool:
        return self.unit.info.cdrom

    def unlock(self, code: str) -> bool:
        """Enter the PIN; True when the data volume is now exposed."""
        with self._lock:
            if self.erased:
                return False
            if not hmac.compare_digest(code, self._spec.unlock_code):
                self.failed_attempts += 1
                if self.failed_attempts >= MAX_FAILED_ATTEMPTS:
                    logger.warning("%s: too many wrong PINs, key erased", self.serial)
                    self.erased = True
                return False
            self.failed_attempts = 0
            self.unit.info = unit_info(self._spec)
            self.unit.change_medium(self._data)
        logger.info("%s unlocked; re-enumerating with its data disk", self.serial)
        self.request_reenumeration()
        return True

    def lock(self) -> None:
        with self._lock:
            self.unit.info = unit_info(self._spec, cdrom=True)
            self.unit.change_medium(self._unlocker)

    def on_power_loss(self) -> None:
        self.lock()

    def volume_files(self) -> dict[str, bytes]:
        return {} if self.locked else super().volume_files()


def build_encrypted_stick(spec: DeviceSpec) -> HardwareEncryptedStick:
    if not spec.unlock_code:
        raise ValueError(
            f"{spec.name}: a hardware-encrypted stick needs an unlock_code"
        )
    return HardwareEncryptedStick(spec)
