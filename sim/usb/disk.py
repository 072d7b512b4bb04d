"""A whole-disk image: an MBR partition table around one volume."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

__all__ = ["Partition", "first_partition", "partitioned_disk"]

SECTOR = 512
ALIGNMENT_SECTORS = 2048  # 1 MiB, where Windows and Linux start the first partition
MBR_SIGNATURE = b"\x55\xaa"
PARTITION_TABLE = 446
DISK_SIGNATURE = 440
TYPE_FAT32_LBA = 0x0C
CHS_BEYOND_LIMIT = b"\xfe\xff\xff"  # "use the LBA fields"


@dataclass(frozen=True)
class Partition:
    start_sector: int
    sectors: int
    type_code: int

    @property
    def byte_range(self) -> slice:
        start = self.start_sector * SECTOR
        return slice(start, start + self.sectors * SECTOR)


def partitioned_disk(
    volume: bytes, *, seed: int, type_code: int = TYPE_FAT32_LBA
) -> bytes:
    """``volume`` placed at 1 MiB behind a one-entry MBR."""
    if len(volume) % SECTOR:
        raise ValueError("a volume must be whole 512-byte sectors")
    mbr = bytearray(SECTOR)
    struct.pack_into("<I", mbr, DISK_SIGNATURE, random.Random(seed).getrandbits(32))
    entry = (
        b"\x00"
        + CHS_BEYOND_LIMIT
        + bytes([type_code])
        + CHS_BEYOND_LIMIT
        + struct.pack("<II", ALIGNMENT_SECTORS, len(volume) // SECTOR)
    )
    mbr[PARTITION_TABLE : PARTITION_TABLE + 16] = entry
    mbr[510:512] = MBR_SIGNATURE
    gap = bytes((ALIGNMENT_SECTORS - 1) * SECTOR)
    return bytes(mbr) + gap + volume


def first_partition(disk: bytes) -> Partition:
    """The first MBR entry; raises ValueError for a disk without one."""
    if disk[510:512] != MBR_SIGNATURE:
        raise ValueError("no MBR signature at byte 510: not a partitioned disk")
    type_code = disk[PARTITION_TABLE + 4]
    start, sectors = struct.unpack_from("<II", disk, PARTITION_TABLE + 8)
    if not type_code or not sectors:
        raise ValueError("the first MBR partition entry is empty")
    return Partition(start_sector=start, sectors=sectors, type_code=type_code)
