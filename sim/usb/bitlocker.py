"""BitLocker To Go on FAT: a discovery volume with FVE metadata, built from a seed.

What Windows writes to a FAT-formatted stick it encrypts (usb.md 5.1; libyal
libbde's format notes): the volume stays a valid FAT32 "discovery volume"
(OEM ``MSWIN4.1``, label ``NO NAME``) holding a reader note and a cover file,
``COV 0000. BL``, whose clusters hide the encrypted payload. The boot sector
carries the BitLocker GUID at byte 424 and the offsets of three FVE metadata
blocks at 440/448/456; each block starts with ``-FVE-FS-``.

Behind the cover file is the stick's real FAT32 volume, encrypted with
AES-CBC-128 (``fve_crypto.py``): the passphrase (``DeviceSpec.unlock_code``)
unwraps the VMK, the VMK the FVEK. The volume's first sectors, where the
discovery volume sits, are kept encrypted at the "volume header" offset. The
FVE structures go at the end of the partition, where the plain volume is free.
All keys, GUIDs and nonces come from the seed: same spec, same bytes.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from uuid import UUID

from .catalogue import DeviceSpec
from .disk import ALIGNMENT_SECTORS, SECTOR, partitioned_disk
from .fat32 import FileSpec, VolumeSpec, build_fat32
from .fatread import data_area_end, file_extent
from .fve_crypto import (
    encrypt_sectors,
    fve_datum,
    key_datum,
    passphrase_hash,
    recovery_hash,
    stretched_key,
    wrap,
)

__all__ = [
    "BITLOCKER_GUID",
    "BitLockerLayout",
    "bitlocker_to_go_disk",
    "recovery_password",
]

BITLOCKER_GUID = UUID("4967d63b-2e29-4ad8-8399-f6a339e3d001")
FVE_SIGNATURE = b"-FVE-FS-"
DISCOVERY_OEM = "MSWIN4.1"
GUID_OFFSET = 424  # in the discovery volume's boot sector
BACKUP_BOOT_SECTOR = 6
COVER_FILE = "COV 0000. BL"
METADATA_BLOCK_SPACING = 0x10000  # each metadata block is a 64 KiB region
INFORMATION_HEADER = 64
DATASET_HEADER = 48
INFORMATION_VERSION = 2  # Windows 7 and later
STATE_ENCRYPTED = 4
DATASET_VERSION = 1
VALIDATION_VERSION = 2
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
CREATED = datetime(2026, 11, 2, 14, 12, 5, tzinfo=UTC)
NEXT_NONCE_COUNTER = 5  # the dataset's counter after the four nonces used below


class Role:
    """FVE datum (metadata entry) roles."""

    PROPERTY = 0x0000
    VOLUME_MASTER_KEY = 0x0002
    FULL_VOLUME_ENCRYPTION_KEY = 0x0003
    DESCRIPTION = 0x0007


class ValueType:
    """FVE datum value types."""

    UNICODE = 0x0002
    STRETCH_KEY = 0x0003
    VOLUME_MASTER_KEY = 0x0008


class KeyType:
    """What a key datum holds."""

    STRETCH_KEY = 0x1001
    VMK = 0x2000  # an AES-CCM 256-bit key
    INTEGRITY_HASH = 0x2005
    AES_CBC_128 = 0x8002  # Windows' default for removable drives


PROTECTOR_PASSWORD = 0x2000
PROTECTOR_RECOVERY_PASSWORD = 0x0800
RECOVERY_BLOCKS = 8
DISCOVERY_README = (
    b"This drive is protected by BitLocker To Go.\r\n"
    b"To open it on this computer, type the password in the BitLocker dialog.\r\n"
)


@dataclass(frozen=True)
class BitLockerLayout:
    """Where the FVE structures sit, in bytes from the volume start."""

    metadata_offsets: tuple[int, int, int]
    volume_header_offset: int  # the encrypted copy of the first sectors
    volume_header_sectors: int
    volume_size: int


@dataclass(frozen=True)
class _Keys:
    fvek: bytes
    vmk: bytes
    salt: bytes
    protector: UUID
    volume: UUID
    recovery_salt: bytes
    recovery_protector: UUID

    @classmethod
    def draw(cls, seed: int) -> _Keys:
        rng = random.Random(f"bitlocker:{seed}")
        return cls(
            fvek=rng.randbytes(16),
            vmk=rng.randbytes(32),
            salt=rng.randbytes(16),
            protector=UUID(int=rng.getrandbits(128)),
            volume=UUID(int=rng.getrandbits(128)),
            recovery_salt=rng.randbytes(16),
            recovery_protector=UUID(int=rng.getrandbits(128)),
        )


def _recovery_block(rng: random.Random) -> str:
    """Six digits, a multiple of 11, whose last digit checks the first five."""
    while True:
        digits = [int(d) for d in f"{11 * rng.randrange(65536):06d}"]
        if (digits[0] - digits[1] + digits[2] - digits[3] + digits[4]) % 11 == digits[
            5
        ]:
            return "".join(map(str, digits))


def recovery_password(spec: DeviceSpec) -> str:
    """The stick's 48-digit recovery password, as Windows prints it."""
    rng = random.Random(f"bitlocker-recovery:{spec.seed}")
    return "-".join(_recovery_block(rng) for _ in range(RECOVERY_BLOCKS))


def _filetime(moment: datetime) -> int:
    return int((moment - FILETIME_EPOCH).total_seconds() * 10_000_000)


def _nonce(counter: int) -> bytes:
    return struct.pack("<QI", _filetime(CREATED), counter)


def _protector(
    keys: _Keys, guid: UUID, kind: int, user_hash: bytes, salt: bytes, nonce: int
) -> bytes:
    """A VMK datum: the VMK wrapped under a stretched password."""
    stretch = fve_datum(
        Role.PROPERTY,
        ValueType.STRETCH_KEY,
        struct.pack("<HH", KeyType.STRETCH_KEY, 0) + salt,
    )
    wrapped_vmk = wrap(
        Role.PROPERTY,
        stretched_key(user_hash, salt),
        _nonce(nonce),
        key_datum(KeyType.VMK, keys.vmk),
    )
    body = (
        guid.bytes_le
        + struct.pack("<QHH", _filetime(CREATED), 0, kind)
        + stretch
        + wrapped_vmk
    )
    return fve_datum(Role.VOLUME_MASTER_KEY, ValueType.VOLUME_MASTER_KEY, body)


def _dataset_entries(spec: DeviceSpec, keys: _Keys) -> bytes:
    passphrase = _protector(
        keys,
        keys.protector,
        PROTECTOR_PASSWORD,
        passphrase_hash(spec.unlock_code),
        keys.salt,
        nonce=1,
    )
    recovery = _protector(
        keys,
        keys.recovery_protector,
        PROTECTOR_RECOVERY_PASSWORD,
        recovery_hash(recovery_password(spec)),
        keys.recovery_salt,
        nonce=4,
    )
    wrapped_fvek = wrap(
        Role.FULL_VOLUME_ENCRYPTION_KEY,
        keys.vmk,
        _nonce(2),
        key_datum(KeyType.AES_CBC_128, keys.fvek),
    )
    label = f"{spec.product} {CREATED:%d/%m/%Y}\0".encode("utf-16-le")
    return (
        passphrase
        + recovery
        + wrapped_fvek
        + fve_datum(Role.DESCRIPTION, ValueType.UNICODE, label)
    )


def _metadata_block(layout: BitLockerLayout, entries: bytes, keys: _Keys) -> bytes:
    size = DATASET_HEADER + len(entries)
    padding = -(INFORMATION_HEADER + size) % 16
    size += padding
    dataset = (
        struct.pack("<IIII", size, DATASET_VERSION, DATASET_HEADER, size)
        + keys.volume.bytes_le
        + struct.pack(
            "<IHHQ", NEXT_NONCE_COUNTER, KeyType.AES_CBC_128, 0, _filetime(CREATED)
        )
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
            layout.volume_size,  # encrypted up to here: all of it
            0,
            layout.volume_header_sectors,
        )
        + struct.pack("<3Q", *layout.metadata_offsets)
        + struct.pack("<Q", layout.volume_header_offset)
        + dataset
    )
    digest = key_datum(KeyType.INTEGRITY_HASH, sha256(information).digest())
    integrity = wrap(Role.PROPERTY, keys.vmk, _nonce(3), digest)
    validation = struct.pack(
        "<HHI", 8 + len(integrity), VALIDATION_VERSION, zlib.crc32(information)
    )
    return information + validation + integrity


def _discovery_volume(spec: DeviceSpec, size: int, cover: bytes) -> bytes:
    reader = b"MZ" + random.Random(spec.seed).randbytes(60_000)  # BitLockerToGo.exe
    files = (
        FileSpec(path="README.TXT", content=DISCOVERY_README),
        FileSpec(path="BitLockerToGo.exe", content=reader),
        FileSpec(path=COVER_FILE, content=cover),
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


def _plan(
    spec: DeviceSpec, volume_size: int, plain: bytes
) -> tuple[BitLockerLayout, int]:
    """The layout, and where the cover file ends (the last cluster's end)."""
    probe = _discovery_volume(spec, volume_size, b"\0")
    cover_start, _ = file_extent(probe, COVER_FILE)
    cover_end = data_area_end(probe)
    header_bytes = cover_start
    reserved = 3 * METADATA_BLOCK_SPACING + header_bytes
    first_block = (
        (cover_end - reserved) // METADATA_BLOCK_SPACING * METADATA_BLOCK_SPACING
    )
    if plain[first_block:cover_end].count(0) != cover_end - first_block:
        raise ValueError(
            f"{spec.name}: its files reach the last {cover_end - first_block} bytes "
            "BitLocker needs for its metadata; give the stick a larger capacity_mib"
        )
    offsets = tuple(first_block + i * METADATA_BLOCK_SPACING for i in range(3))
    layout = BitLockerLayout(
        metadata_offsets=(offsets[0], offsets[1], offsets[2]),
        volume_header_offset=first_block + 3 * METADATA_BLOCK_SPACING,
        volume_header_sectors=header_bytes // SECTOR,
        volume_size=volume_size,
    )
    return layout, cover_end


def bitlocker_to_go_disk(spec: DeviceSpec) -> tuple[bytes, BitLockerLayout]:
    """The whole disk of a locked BitLocker To Go stick, and where FVE sits."""
    if not spec.unlock_code:
        raise ValueError(f"{spec.name}: a BitLocker stick needs an unlock_code")
    volume_size = (spec.capacity_mib << 20) - ALIGNMENT_SECTORS * SECTOR
    plain = build_fat32(
        VolumeSpec(
            size_bytes=volume_size,
            seed=spec.seed,
            files=spec.files,
            label=spec.label,
            hidden_sectors=ALIGNMENT_SECTORS,
        )
    )
    layout, cover_end = _plan(spec, volume_size, plain)
    keys = _Keys.draw(spec.seed)
    physical = bytearray(encrypt_sectors(keys.fvek, plain, 0))
    header = layout.volume_header_offset
    header_bytes = layout.volume_header_sectors * SECTOR
    physical[header : header + header_bytes] = encrypt_sectors(
        keys.fvek, plain[:header_bytes], header // SECTOR
    )
    entries = _dataset_entries(spec, keys)
    for offset in layout.metadata_offsets:
        block = _metadata_block(layout, entries, keys).ljust(
            METADATA_BLOCK_SPACING, b"\0"
        )
        physical[offset : offset + METADATA_BLOCK_SPACING] = block
    cover = bytes(physical[header_bytes:cover_end])
    volume = bytearray(_discovery_volume(spec, volume_size, cover))
    volume[cover_end:] = physical[cover_end:]
    recognition = BITLOCKER_GUID.bytes_le + struct.pack("<3Q", *layout.metadata_offsets)
    for sector in (0, BACKUP_BOOT_SECTOR):
        at = sector * SECTOR + GUID_OFFSET
        volume[at : at + len(recognition)] = recognition
    return partitioned_disk(bytes(volume), seed=spec.seed), layout
