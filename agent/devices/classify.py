"""Which removable device is this? Read from the device, not assumed.

- Interface classes: mass storage (0x08) is a disk; Still Image (0x06, PTP) or
  a vendor interface named ``MTP`` is a phone Windows binds through WPD.
- Hardware-encrypted sticks are known by their USB vendor (makers that sell
  only encrypted drives).
- BitLocker To Go is found in the volume's boot sector over SCSI.
"""

from __future__ import annotations

import logging
import struct
import uuid
from typing import Any

import usb.core
import usb.util

from .model import Encryption, Medium, RemovableDevice
from .probe import BulkOnlyReader, ProbeError

__all__ = ["HARDWARE_ENCRYPTED_VENDORS", "classify", "has_bitlocker_signature"]

logger = logging.getLogger(__name__)

MASS_STORAGE = 0x08
STILL_IMAGE = 0x06
VENDOR_SPECIFIC = 0xFF
#: USB vendor ids of makers whose sticks are all hardware-encrypted.
HARDWARE_ENCRYPTED_VENDORS = {
    0x0984: "Apricorn",
    0x1953: "IronKey",
    0x230A: "DataLocker",
}
#: The OEM id of a BitLocker volume's boot sector (NTFS, exFAT), at offset 3;
#: also the first bytes of every FVE metadata block.
BITLOCKER_SIGNATURE = b"-FVE-FS-"
#: On a FAT stick, BitLocker To Go leaves a FAT "discovery volume" whose boot
#: sector holds this GUID at byte 424, then the byte offsets of three FVE
#: metadata blocks (u64 each).
BITLOCKER_TO_GO_GUID = uuid.UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001").bytes_le
_GUID_OFFSET = 424
_METADATA_OFFSET = 440
_SPEEDS = {usb.util.SPEED_HIGH: 480, usb.util.SPEED_FULL: 12, usb.util.SPEED_LOW: 1}


def classify(device: usb.core.Device) -> RemovableDevice | None:
    """The removable device behind ``device``, or None if it is none (a hub, a mouse)."""
    medium, interface = _medium(device)
    if medium is None:
        return None
    fields: dict[str, Any] = {
        "serial": _string(device, device.iSerialNumber),
        "vendor_id": device.idVendor,
        "product_id": device.idProduct,
        "manufacturer": _string(device, device.iManufacturer),
        "product": _string(device, device.iProduct),
        "medium": medium,
        "speed_mbps": _SPEEDS.get(device.speed, 5000 if device.speed else 480),
    }
    if medium is Medium.DISK:
        fields.update(_disk_fields(device, interface))
    return RemovableDevice(**fields)


def _medium(device: usb.core.Device) -> tuple[Medium | None, Any]:
    for configuration in device:
        for interface in configuration:
            kind = interface.bInterfaceClass
            if kind == MASS_STORAGE:
                return Medium.DISK, interface
            if kind == STILL_IMAGE:
                return Medium.MOBILE, interface
            if (
                kind == VENDOR_SPECIFIC
                and _string(device, interface.iInterface) == "MTP"
            ):
                return Medium.MOBILE, interface
    return None, None


def _disk_fields(device: usb.core.Device, interface: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if device.idVendor in HARDWARE_ENCRYPTED_VENDORS:
        fields["encryption"] = Encryption.HARDWARE
    try:
        _claim(device)
        reader = BulkOnlyReader(device, interface)
        inquiry = reader.inquiry()
        fields.update(
            scsi_vendor=inquiry.vendor,
            scsi_product=inquiry.product,
            scsi_revision=inquiry.revision,
        )
        if "encryption" not in fields and has_bitlocker_signature(reader):
            fields["encryption"] = Encryption.BITLOCKER
    except ProbeError as err:
        logger.warning(
            "could not read %04x:%04x over SCSI: %s",
            device.idVendor,
            device.idProduct,
            err,
        )
    return fields


def has_bitlocker_signature(reader: BulkOnlyReader) -> bool:
    """Whether the first volume (or a partitionless disk) is BitLocker To Go."""
    first = reader.read(0, 1)
    if _is_bitlocker_boot_sector(reader, 0, first):
        return True
    if first[510:512] != b"\x55\xaa":
        return False
    partition_type = first[446 + 4]
    (start,) = struct.unpack_from("<I", first, 446 + 8)
    if partition_type == 0 or start == 0:
        return False
    return _is_bitlocker_boot_sector(reader, start, reader.read(start, 1))


def _is_bitlocker_boot_sector(reader: BulkOnlyReader, lba: int, sector: bytes) -> bool:
    if sector[3:11] == BITLOCKER_SIGNATURE:
        return True
    if sector[_GUID_OFFSET : _GUID_OFFSET + 16] != BITLOCKER_TO_GO_GUID:
        return False
    # Confirm with the first FVE metadata block the discovery volume points at.
    (offset,) = struct.unpack_from("<Q", sector, _METADATA_OFFSET)
    block = reader.read(lba + offset // 512, 1)
    return block[:8] == BITLOCKER_SIGNATURE


def _claim(device: usb.core.Device) -> None:
    try:
        device.set_configuration()
    except usb.core.USBError as err:
        logger.debug("set_configuration: %s", err)


def _string(device: usb.core.Device, index: int) -> str:
    if not index:
        return ""
    try:
        return str(usb.util.get_string(device, index) or "")
    except (usb.core.USBError, ValueError) as err:
        logger.debug("string %d unreadable: %s", index, err)
        return ""
