"""A removable device after classification, and how secRMM describes it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Encryption", "Medium", "RemovableDevice", "bus_token"]


class Medium(enum.Enum):
    DISK = "disk"
    #: A phone or camera Windows binds through WPD (MTP or PTP).
    MOBILE = "mobile"


class Encryption(enum.Enum):
    NONE = "none"
    #: A BitLocker To Go volume (software encryption).
    BITLOCKER = "bitlocker"
    #: A hardware-encrypted stick (IronKey, Apricorn, Kingston Vault).
    HARDWARE = "hardware"


def bus_token(speed_mbps: int) -> str:
    """``USB2.0`` for high speed, as in the real rows. Other tokens are our
    choice where the vendor shows none (``secrmm.md`` §3)."""
    if speed_mbps >= 5000:
        return "USB3.0"
    if speed_mbps >= 480:
        return "USB2.0"
    return "USB1.1"


@dataclass(frozen=True, kw_only=True)
class RemovableDevice:
    """What the agent learnt from the device itself."""

    serial: str
    vendor_id: int
    product_id: int
    manufacturer: str
    product: str
    medium: Medium
    encryption: Encryption = Encryption.NONE
    speed_mbps: int = 480
    #: INQUIRY's vendor, product and revision (disks only).
    scsi_vendor: str = ""
    scsi_product: str = ""
    scsi_revision: str = ""

    @property
    def description(self) -> str:
        """``DeviceDescription``: ``<label> [ENCRYPTED [BitLocker ]]<media> <class> <bus>``."""
        bus = bus_token(self.speed_mbps)
        if self.medium is Medium.MOBILE:
            return f"{self.manufacturer} MOBILE Win32ext_WPD {bus}"
        encrypted = {
            Encryption.NONE: "",
            Encryption.BITLOCKER: "ENCRYPTED BitLocker ",
            Encryption.HARDWARE: "ENCRYPTED ",
        }[self.encryption]
        return f"Removable Disk {encrypted}Removable Media Win32_LogicalDisk {bus}"

    @property
    def model(self) -> str:
        """``Model``: Windows' friendly name of a disk, a phone's product name."""
        if self.medium is Medium.MOBILE:
            return self.product
        return f"{self.scsi_vendor} {self.scsi_product} USB Device".strip()
