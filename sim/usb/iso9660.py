"""A minimal ISO 9660 writer: one root directory of small files (ECMA-119).

Enough for the unlocker CD a hardware-encrypted stick shows while locked:
16 empty system sectors, a primary volume descriptor, the terminator, both
path tables, the root directory and the file extents, in 2048-byte sectors.
"""

from __future__ import annotations

import struct
from datetime import datetime

__all__ = ["CD_SECTOR", "build_iso9660"]

CD_SECTOR = 2048
PRIMARY_SECTOR = 16  # after the 16-sector system area
TERMINATOR_SECTOR = 17
LITTLE_ENDIAN_PATH_SECTOR = 18
BIG_ENDIAN_PATH_SECTOR = 19
DESCRIPTOR_PRIMARY = 1
DESCRIPTOR_TERMINATOR = 255
STANDARD_ID = b"CD001"
FLAG_DIRECTORY = 0x02
ROOT_SECTOR = 20  # after the descriptors (16, 17) and path tables (18, 19)


def _both16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def _both32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def _a_chars(text: str, width: int) -> bytes:
    return text.upper().encode("ascii").ljust(width, b" ")[:width]


def _record_time(moment: datetime) -> bytes:
    return bytes(
        [moment.year - 1900, moment.month, moment.day, moment.hour, moment.minute, 0, 0]
    )


def _volume_time(moment: datetime) -> bytes:
    return moment.strftime("%Y%m%d%H%M%S00").encode() + b"\0"


def _directory_record(
    identifier: bytes, sector: int, size: int, moment: datetime, *, directory: bool
) -> bytes:
    length = 33 + len(identifier) + (1 - len(identifier) % 2)
    record = (
        bytes([length, 0])
        + _both32(sector)
        + _both32(size)
        + _record_time(moment)
        + bytes([FLAG_DIRECTORY if directory else 0, 0, 0])
        + _both16(1)
        + bytes([len(identifier)])
        + identifier
    )
    return record.ljust(length, b"\0")


def _sectors(size: int) -> int:
    return max(1, -(-size // CD_SECTOR))


def build_iso9660(
    label: str, files: dict[str, bytes], *, created: datetime, total_sectors: int
) -> bytes:
    """A disc image of ``total_sectors``; file names must be 8.3 upper case."""
    sector = ROOT_SECTOR + 1
    extents = []
    for name, content in files.items():
        extents.append((f"{name};1".encode("ascii"), sector, content))
        sector += _sectors(len(content))
    if sector > total_sectors:
        raise ValueError(f"{sector} sectors of files do not fit in {total_sectors}")
    root = _directory_record(b"\0", ROOT_SECTOR, CD_SECTOR, created, directory=True)
    entries = root + _directory_record(
        b"\1", ROOT_SECTOR, CD_SECTOR, created, directory=True
    )
    for identifier, start, content in extents:
        entries += _directory_record(
            identifier, start, len(content), created, directory=False
        )
    if len(entries) > CD_SECTOR:
        raise ValueError("too many files for a one-sector root directory")
    path_entry = struct.pack("<BBIH", 1, 0, ROOT_SECTOR, 1) + b"\0\0"
    big_endian_path_entry = struct.pack(">BBIH", 1, 0, ROOT_SECTOR, 1) + b"\0\0"
    stamp = _volume_time(created)
    primary = (
        bytes([DESCRIPTOR_PRIMARY])
        + STANDARD_ID
        + b"\1\0"
        + _a_chars("", 32)  # system identifier
        + _a_chars(label, 32)
        + bytes(8)
        + _both32(total_sectors)
        + bytes(32)
        + _both16(1)  # volume set size
        + _both16(1)  # volume sequence number
        + _both16(CD_SECTOR)
        + _both32(len(path_entry))
        + struct.pack("<II", LITTLE_ENDIAN_PATH_SECTOR, 0)
        + struct.pack(">II", BIG_ENDIAN_PATH_SECTOR, 0)
        + root
        + _a_chars("", 128 * 4 + 37 * 3)  # set, publisher, preparer, application, files
        + stamp * 2
        + b"0" * 16
        + b"\0"
        + b"0" * 16
        + b"\0"
        + b"\1"  # file structure version
    )
    image = bytearray(total_sectors * CD_SECTOR)
    for at, block in (
        (PRIMARY_SECTOR, primary),
        (TERMINATOR_SECTOR, bytes([DESCRIPTOR_TERMINATOR]) + STANDARD_ID + b"\1"),
        (LITTLE_ENDIAN_PATH_SECTOR, path_entry),
        (BIG_ENDIAN_PATH_SECTOR, big_endian_path_entry),
        (ROOT_SECTOR, entries),
    ):
        image[at * CD_SECTOR : at * CD_SECTOR + len(block)] = block
    for _, start, content in extents:
        image[start * CD_SECTOR : start * CD_SECTOR + len(content)] = content
    return bytes(image)
