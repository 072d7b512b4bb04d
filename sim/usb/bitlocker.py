"""BitLocker To Go on FAT: a discovery volume with FVE metadata, built from a seed.

What Windows writes to a FAT-formatted stick it encrypts (usb.md 5.1; libyal
libbde's format notes): the volume stays a valid FAT32 "discovery volume"
(OEM ``MSWIN4.1``, label ``NO NAME``) holding a reader note and a cover file,
``COV 0000. BL``, whose clusters hide the encrypted payload. The boot sector
carries the BitLocker GUID at byte 424 and the offsets of three FVE metadata
blocks at 440/448/456; each block starts with ``-FVE-FS-``.

The payload is seeded random bytes and the key material is random too: the
structure is what BitLocker readers recognise, but no key unlocks it.
"""

# TODO(#4): a real AES-CBC payload and a passphrase-wrapped VMK/FVEK, so that a
# reader can unlock the stick with its passphrase.

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from .catalogue import DeviceSpec
from .disk import ALIGNMENT_SECTORS, SECTOR, partitioned_disk
from .fat32 import FileSpec, VolumeSpec, build_fat32
from .fatread import file_extent

__all__ = ["BITLOCKER_GUID", "BitLockerLayout", "bitlocker_to_go_disk"]

BITLOCKER_GUID = UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001")
FVE_SIGNATURE = b"-FVE-FS-"
DISCOVERY_OEM = "MSWIN4.1"
GUID_OFFSET = 424  # in the discovery volume's boot sector
METADATA_OFFSETS_AT = 440  # three u64 offsets follow the GUID
BACKUP_BOOT_SECTOR = 6
COVER_FILE = "COV 0000. BL"
METADATA_BLOCK_SPACING = 0x10000  # each metadata block gets 64 KiB
INFORMATION_HEADER = 64
DATASET_HEADER = 48
INFORMATION_VERSION = 2  # Windows 7 and later
STATE_ENCRYPTED = 4
VOLUME_HEADER_SECTORS = 16
ENCRYPTION_AES_CBC_128 = 0x8002  # Windows' default for removable drives
DATASET_VERSION = 1
VALIDATION_VERSION = 2
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
CREATED = datetime(2026, 11, 2, 14, 12, 5, tzinfo=UTC)


class Role:
    """FVE datum (metadata entry) roles."""

    PROPERTY = 0x0000
    VOLUME_MASTER_KEY = 0x0002
    FULL_VOLUME_ENCRYPTION_KEY = 0x0003
    DESCRIPTION = 0x0007
    VOLUME_HEADER_BLOCK = 0x000F


class ValueType:
    """FVE datum value types."""

    UNICODE = 0x0002
    STRETCH_KEY = 0x0003
    AES_CCM_ENCRYPTED_KEY = 0x0005
    VOLUME_MASTER_KEY = 0x0008
    OFFSET_AND_SIZE = 0x000F


PROTECTOR_PASSWORD = 0x2000
STRETCH_KEY_TYPE = 0x1001
DISCOVERY_README = (
    b"This drive is protected by BitLocker To Go.\r\n"
    b"To open it on this computer, type the password in the BitLocker dialog.\r\n"
)


@dataclass(frozen=True)
class BitLockerLayout:
    """Where the FVE structures sit, in bytes from the volume start."""

    metadata_offsets: tuple[int, int, int]
    volume_header_offset: int
    payload_size: int


def _filetime(moment: datetime) -> int:
    return int((moment - FILETIME_EPOCH).total_seconds() * 10_000_000)


def _datum(role: int, value_type: int, body: bytes) -> bytes:
    return struct.pack("<HHHH", 8 + len(body), role, value_type, 1) + body


def _aes_ccm_blob(rng: random.Random, length: int) -> bytes:
    """Nonce (FILETIME + counter), MAC and ciphertext: random, not a real key."""
    nonce = struct.pack("<QI", _filetime(CREATED), rng.getrandbits(16))
    return nonce + rng.randbytes(16) + rng.randbytes(length)


def _dataset(rng: random.Random, spec: DeviceSpec) -> bytes:
    stretch = _datum(
        Role.PROPERTY,
        ValueType.STRETCH_KEY,
        struct.pack("<HH", STRETCH_KEY_TYPE, 0) + rng.randbytes(16),
    )
    wrapped_vmk = _datum(
        Role.PROPERTY, ValueType.AES_CCM_ENCRYPTED_KEY, _aes_ccm_blob(rng, 44)
    )
    protector = (
        UUID(int=rng.getrandbits(128)).bytes_le
        + struct.pack("<QHH", _filetime(CREATED), 0, PROTECTOR_PASSWORD)
        + stretch
        + wrapped_vmk
    )
    label = f"{spec.product} {CREATED:%d/%m/%Y}\0".encode("utf-16-le")
    return (
        _datum(Role.VOLUME_MASTER_KEY, ValueType.VOLUME_MASTER_KEY, protector)
        + _datum(
            Role.FULL_VOLUME_ENCRYPTION_KEY,
            ValueType.AES_CCM_ENCRYPTED_KEY,
            _aes_ccm_blob(rng, 44),
        )
        + _datum(Role.DESCRIPTION, ValueType.UNICODE, label)
    )


def _metadata_block(
    layout: BitLockerLayout, entries: bytes, volume_guid: UUID, rng_nonce: int
) -> bytes:
    size = DATASET_HEADER + len(entries)
    padding = -(INFORMATION_HEADER + size) % 16
    size += padding
    dataset = (
        struct.pack("<IIII", size, DATASET_VERSION, DATASET_HEADER, size)
        + volume_guid.bytes_le
        + struct.pack("<IHHQ", rng_nonce, ENCRYPTION_AES_CBC_128, 0, _filetime(CREATED))
        + entries
        + bytes(padding)
    )
    information = (
        FVE_SIGNATURE
        + struct.pack(
            "<HHHHQII",
            (INFORMATION_HEADER + len(dataset)) >> 4,
            INFORMATION_VERSION,
            STATE_ENCRYPTED,
            STATE_ENCRYPTED,
            layout.payload_size,
            0,
            VOLUME_HEADER_SECTORS,
        )
        + struct.pack("<3Q", *layout.metadata_offsets)
        + struct.pack("<Q", layout.volume_header_offset)
        + dataset
    )
    integrity = _datum(
        Role.PROPERTY,
        ValueType.AES_CCM_ENCRYPTED_KEY,
        _aes_ccm_blob(random.Random(zlib.crc32(information)), 44),
    )
    validation = struct.pack(
        "<HHI", 8 + len(integrity), VALIDATION_VERSION, zlib.crc32(information)
    )
    return information + validation + integrity


def _discovery_volume(spec: DeviceSpec, size: int, payload_size: int) -> bytes:
    rng = random.Random(spec.seed)
    reader = b"MZ" + rng.randbytes(60_000)  # stands in for BitLockerToGo.exe
    files = (
        FileSpec(path="README.TXT", content=DISCOVERY_README),
        FileSpec(path="BitLockerToGo.exe", content=reader),
        FileSpec(path=COVER_FILE, content=rng.randbytes(payload_size)),
    )
    return build_fat32(
        VolumeSpec(
            size_bytes=size,
            seed=spec.seed,
            files=files,
            oem_name=DISCOVERY_OEM,
            hidden_sectors=ALIGNMENT_SECTORS,
        )
    )


def bitlocker_to_go_disk(spec: DeviceSpec) -> tuple[bytes, BitLockerLayout]:
    """The whole disk of a locked BitLocker To Go stick, and where FVE sits."""
    volume_size = (spec.capacity_mib << 20) - ALIGNMENT_SECTORS * SECTOR
    payload_size = volume_size - (4 << 20)
    volume = bytearray(_discovery_volume(spec, volume_size, payload_size))
    cover_start, _ = file_extent(bytes(volume), COVER_FILE)
    offsets = tuple(cover_start + i * METADATA_BLOCK_SPACING for i in range(3))
    layout = BitLockerLayout(
        metadata_offsets=(offsets[0], offsets[1], offsets[2]),
        volume_header_offset=cover_start + 3 * METADATA_BLOCK_SPACING,
        payload_size=payload_size,
    )
    rng = random.Random(spec.seed ^ 0xB17)
    volume_guid = UUID(int=rng.getrandbits(128))
    entries = _dataset(rng, spec)
    nonce = rng.getrandbits(16)
    for offset in layout.metadata_offsets:
        block = _metadata_block(layout, entries, volume_guid, nonce)
        volume[offset : offset + len(block)] = block
    recognition = BITLOCKER_GUID.bytes_le + struct.pack("<3Q", *layout.metadata_offsets)
    for sector in (0, BACKUP_BOOT_SECTOR):
        at = sector * SECTOR + GUID_OFFSET
        volume[at : at + len(recognition)] = recognition
    return partitioned_disk(bytes(volume), seed=spec.seed), layout
