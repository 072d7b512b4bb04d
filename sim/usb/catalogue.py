"""The catalogue: device kinds as data, with identities taken from real devices.

Vendor and product ids come from usb.ids and the sources in usb.md (SanDisk
Cruzer Blade 0781:5567, Kingston DataTraveler G3 0951:1643, Apricorn Aegis
Secure Key 0984:0200, Samsung MTP 04E8:6860, Apple iPhone 05AC:12A8). Serial
numbers are made up in each vendor's format. A device file (JSON, see
``devicefile.py``) produces the same :class:`DeviceSpec`.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from .descriptors import Configuration, DeviceShape
from .fat32 import FileSpec

__all__ = [
    "CATALOGUE",
    "README_TEXT",
    "DeviceKind",
    "DeviceSpec",
    "by_name",
]

README_TEXT = b"This stick was built by secrmm-sim from a seed.\r\n"


class DeviceKind(enum.Enum):
    STICK = "stick"
    BITLOCKER_STICK = "bitlocker-stick"
    ENCRYPTED_STICK = "encrypted-stick"
    ANDROID_PHONE = "android-phone"
    IPHONE = "iphone"

    @property
    def is_storage(self) -> bool:
        return self in (
            DeviceKind.STICK,
            DeviceKind.BITLOCKER_STICK,
            DeviceKind.ENCRYPTED_STICK,
        )


@dataclass(frozen=True, kw_only=True)
class DeviceSpec:
    """One simulated device: identity, medium and contents."""

    name: str
    kind: DeviceKind
    vendor_id: int
    product_id: int
    bcd_device: int
    manufacturer: str
    product: str
    serial: str
    description: str = ""
    scsi_vendor: str = ""
    scsi_product: str = ""
    scsi_revision: str = "1.00"
    capacity_mib: int = 64
    seed: int = 0
    label: str = "NO NAME"
    files: tuple[FileSpec, ...] = ()
    read_only: bool = False
    # Older Android kernels put MTP on a vendor interface FF/FF/00 (usb.md 4.1).
    legacy_mtp_interface: bool = False
    # The PIN or passphrase that unlocks an encrypted stick: public test data.
    unlock_code: str = ""

    @property
    def vid_pid(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"

    def shape(self, configuration: Configuration) -> DeviceShape:
        """The device's USB identity with ``configuration`` as its only one."""
        return DeviceShape(
            vendor_id=self.vendor_id,
            product_id=self.product_id,
            bcd_device=self.bcd_device,
            manufacturer=self.manufacturer,
            product=self.product,
            serial=self.serial,
            configuration=configuration,
        )


def _sample_files(seed: int) -> tuple[FileSpec, ...]:
    """A small, realistic set of documents, their bytes drawn from ``seed``."""
    rng = random.Random(seed)
    return (
        FileSpec(path="README.TXT", content=README_TEXT),
        FileSpec(path="Quarterly report.docx", content=rng.randbytes(48_000)),
        FileSpec(path="Customers 2026.xlsx", content=rng.randbytes(20_500)),
        FileSpec(path="Photos/IMG_0001.JPG", content=rng.randbytes(150_000)),
    )


CATALOGUE: tuple[DeviceSpec, ...] = (
    DeviceSpec(
        name="stick",
        kind=DeviceKind.STICK,
        description="SanDisk Cruzer Blade, FAT32, read-write",
        vendor_id=0x0781,
        product_id=0x5567,
        bcd_device=0x0100,
        manufacturer="SanDisk",
        product="Cruzer Blade",
        serial="4C530001230815115470",
        scsi_vendor="SanDisk",
        scsi_product="Cruzer Blade",
        scsi_revision="1.00",
        seed=1,
        label="CRUZER",
        files=_sample_files(1),
    ),
    DeviceSpec(
        name="readonly-stick",
        kind=DeviceKind.STICK,
        description="SanDisk Cruzer Blade with its write-protect switch on",
        vendor_id=0x0781,
        product_id=0x5567,
        bcd_device=0x0100,
        manufacturer="SanDisk",
        product="Cruzer Blade",
        serial="4C530001250716107392",
        scsi_vendor="SanDisk",
        scsi_product="Cruzer Blade",
        seed=2,
        label="CRUZER",
        files=_sample_files(2),
        read_only=True,
    ),
    DeviceSpec(
        name="bitlocker-stick",
        kind=DeviceKind.BITLOCKER_STICK,
        description="Kingston DataTraveler G3, BitLocker To Go (FAT32), locked",
        vendor_id=0x0951,
        product_id=0x1643,
        bcd_device=0x0100,
        manufacturer="Kingston",
        product="DataTraveler G3",
        serial="001CC0EC32A1F0B1A8770C4F",
        scsi_vendor="Kingston",
        scsi_product="DataTraveler G3",
        scsi_revision="PMAP",
        seed=3,
        label="KINGSTON",
        files=_sample_files(3),
        unlock_code="correct horse battery staple",
    ),
    DeviceSpec(
        name="encrypted-stick",
        kind=DeviceKind.ENCRYPTED_STICK,
        description="Apricorn Aegis Secure Key: unlocker CD-ROM until unlocked",
        vendor_id=0x0984,
        product_id=0x0200,
        bcd_device=0x0100,
        manufacturer="Apricorn",
        product="Aegis Secure Key",
        serial="14030000000000000131",
        scsi_vendor="Apricorn",
        scsi_product="Secure Key 3.0",
        seed=4,
        label="SECUREKEY",
        files=_sample_files(4),
        unlock_code="1234567",
    ),
    DeviceSpec(
        name="android-phone",
        kind=DeviceKind.ANDROID_PHONE,
        description="Samsung Galaxy in MTP mode (Internal shared storage)",
        vendor_id=0x04E8,
        product_id=0x6860,
        bcd_device=0x0400,
        manufacturer="SAMSUNG",
        product="SAMSUNG_Android",
        serial="R58M123ABCD",
        seed=5,
        files=(
            FileSpec(
                path="DCIM/Camera/20261201_101500.jpg", content=b"\xff\xd8" * 9000
            ),
            FileSpec(path="Download/contract.pdf", content=b"%PDF-1.7\n" * 300),
        ),
    ),
    DeviceSpec(
        name="legacy-android-phone",
        kind=DeviceKind.ANDROID_PHONE,
        description="Sony Xperia Mini Pro: MTP on a vendor interface (FF/FF/00)",
        vendor_id=0x0FCE,
        product_id=0x0166,
        bcd_device=0x0100,
        manufacturer="Sony Ericsson",
        product="SK17i",
        serial="0123456789ABCDEF",
        seed=7,
        legacy_mtp_interface=True,
        files=(
            FileSpec(path="DCIM/100ANDRO/DSC_0001.JPG", content=b"\xff\xd8" * 4000),
        ),
    ),
    DeviceSpec(
        name="iphone",
        kind=DeviceKind.IPHONE,
        description="Apple iPhone: PTP camera (no MTP), plus usbmux",
        vendor_id=0x05AC,
        product_id=0x12A8,
        bcd_device=0x1508,
        manufacturer="Apple Inc.",
        product="iPhone",
        serial="00008101000A3C2E1E38001E",
        seed=6,
        files=(FileSpec(path="DCIM/100APPLE/IMG_0001.HEIC", content=b"\0" * 30000),),
    ),
)


def by_name(name: str) -> DeviceSpec:
    for spec in CATALOGUE:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in CATALOGUE)
    raise KeyError(f"no device {name!r} in the catalogue; known devices: {known}")
