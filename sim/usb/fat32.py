"""A deterministic FAT32 writer: same seed and files, same bytes.

Layout follows Microsoft's FAT specification (fatgen103): 512-byte sectors,
32 reserved sectors, two FATs, root directory at cluster 2, FSInfo at sector 1
and a backup boot sector at sector 6. Long names get VFAT entries beside a
generated 8.3 alias. ``fsck.fat -n`` finds nothing to fix in the result.
"""

from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = ["FileSpec", "VolumeSpec", "build_fat32", "fat_datetime"]

SECTOR = 512
RESERVED_SECTORS = 32
FAT_COUNT = 2
FSINFO_SECTOR = 1
BACKUP_BOOT_SECTOR = 6
ROOT_CLUSTER = 2
MIN_FAT32_CLUSTERS = 65525  # fewer clusters make it FAT16 by definition
MEDIA_FIXED = 0xF8
END_OF_CHAIN = 0x0FFFFFFF
DIR_ENTRY = 32
ATTR_VOLUME_ID = 0x08
ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20
ATTR_LONG_NAME = 0x0F
LFN_LAST = 0x40
LFN_CHARS = 13
EXTENDED_BOOT_SIGNATURE = 0x29
BIOS_HARD_DISK = 0x80
SHORT_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'()-@^_`{}~")
DEFAULT_EPOCH = datetime(2026, 1, 5, 9, 0, 0)


@dataclass(frozen=True, kw_only=True)
class FileSpec:
    path: str  # "/"-separated, e.g. "Reports/Q3 summary.docx"
    content: bytes
    modified: datetime | None = None  # None: drawn from the volume's seed


@dataclass(frozen=True, kw_only=True)
class VolumeSpec:
    size_bytes: int
    seed: int
    files: tuple[FileSpec, ...] = ()
    label: str = "NO NAME"
    oem_name: str = "MSDOS5.0"
    hidden_sectors: int = 0  # sectors before the volume (its partition offset)


def fat_datetime(moment: datetime) -> tuple[int, int]:
    """(date, time) in FAT's packed form, two-second resolution."""
    date = ((moment.year - 1980) << 9) | (moment.month << 5) | moment.day
    time = (moment.hour << 11) | (moment.minute << 5) | (moment.second // 2)
    return date, time


def _sectors_per_cluster(size_bytes: int) -> int:
    """Microsoft's default cluster sizes for FAT32 volumes."""
    for limit_mib, sectors in ((260, 1), (8192, 8), (16384, 16), (32768, 32)):
        if size_bytes <= limit_mib << 20:
            return sectors
    return 64


@dataclass
class _Node:
    name: str
    directory: bool
    content: bytes = b""
    modified: datetime = DEFAULT_EPOCH
    children: list[_Node] = field(default_factory=list)
    short_name: bytes = b""
    first_cluster: int = 0
    clusters: int = 0


def _lfn_checksum(short_name: bytes) -> int:
    total = 0
    for byte in short_name:
        total = (((total & 1) << 7) + (total >> 1) + byte) & 0xFF
    return total


def _plain_short_name(name: str) -> bytes | None:
    """The 8.3 form when ``name`` needs no long-name entries."""
    base, dot, ext = name.partition(".")
    if name != name.upper() or "." in ext or not base or len(base) > 8 or len(ext) > 3:
        return None
    if not set(base + ext) <= SHORT_NAME_CHARS or (dot and not ext):
        return None
    return base.ljust(8).encode() + ext.ljust(3).encode()


def _alias(name: str, taken: set[bytes]) -> bytes:
    """A unique ``BASE~N.EXT`` alias for a long name."""
    stem, _, ext = name.lstrip(".").rpartition(".") if "." in name else (name, "", "")

    def clean(text: str) -> str:
        upper = text.upper().replace(" ", "").replace(".", "")
        return "".join(c if c in SHORT_NAME_CHARS else "_" for c in upper)

    base, extension = clean(stem) or "FILE", clean(ext)[:3]
    for number in range(1, 1_000_000):
        tail = f"~{number}"
        candidate = (base[: 8 - len(tail)] + tail).ljust(8) + extension.ljust(3)
        encoded = candidate.encode()
        if encoded not in taken:
            return encoded
    raise ValueError(f"no free 8.3 alias for {name!r}")


def _lfn_entries(name: str, short_name: bytes) -> bytes:
    units = name.encode("utf-16-le")
    chars = [units[i : i + 2] for i in range(0, len(units), 2)]
    if len(chars) % LFN_CHARS:
        chars.append(b"\0\0")
    while len(chars) % LFN_CHARS:
        chars.append(b"\xff\xff")
    checksum = _lfn_checksum(short_name)
    count = len(chars) // LFN_CHARS
    entries = []
    for ordinal in range(count, 0, -1):
        part = chars[(ordinal - 1) * LFN_CHARS : ordinal * LFN_CHARS]
        sequence = ordinal | (LFN_LAST if ordinal == count else 0)
        entries.append(
            bytes([sequence])
            + b"".join(part[0:5])
            + bytes([ATTR_LONG_NAME, 0, checksum])
            + b"".join(part[5:11])
            + b"\0\0"
            + b"".join(part[11:13])
        )
    return b"".join(entries)


def _short_entry(
    short_name: bytes, attributes: int, cluster: int, size: int, moment: datetime
) -> bytes:
    date, time = fat_datetime(moment)
    return struct.pack(
        "<11sBBBHHHHHHHI",
        short_name,
        attributes,
        0,
        0,
        time,
        date,
        date,
        cluster >> 16,
        time,
        date,
        cluster & 0xFFFF,
        size,
    )


class _Fat32Builder:
    def __init__(self, spec: VolumeSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.total_sectors = spec.size_bytes // SECTOR
        self.cluster_sectors = _sectors_per_cluster(spec.size_bytes)
        self.cluster_bytes = self.cluster_sectors * SECTOR
        self.fat_sectors = self._fat_size()
        self.data_start = RESERVED_SECTORS + FAT_COUNT * self.fat_sectors
        self.cluster_count = (
            self.total_sectors - self.data_start
        ) // self.cluster_sectors
        if self.cluster_count < MIN_FAT32_CLUSTERS:
            raise ValueError(
                f"{spec.size_bytes} bytes give only {self.cluster_count} clusters; "
                "FAT32 needs at least 65525: make the volume at least 34 MiB"
            )
        self.fat = [0] * (self.cluster_count + 2)
        self.fat[0] = 0x0FFFFF00 | MEDIA_FIXED
        self.fat[1] = END_OF_CHAIN
        self.next_cluster = ROOT_CLUSTER
        self.image = bytearray(self.total_sectors * SECTOR)

    def _fat_size(self) -> int:
        fat_sectors = 1
        while True:
            data = self.total_sectors - RESERVED_SECTORS - FAT_COUNT * fat_sectors
            clusters = data // self.cluster_sectors
            needed = math.ceil((clusters + 2) * 4 / SECTOR)
            if needed <= fat_sectors:
                return fat_sectors
            fat_sectors = needed

    def build(self) -> bytes:
        root = self._tree()
        self._allocate(root, parent=None)
        self._write_directory(root, parent=None)
        self._write_reserved_area()
        self._write_fats()
        return bytes(self.image)

    def _tree(self) -> _Node:
        root = _Node(name="", directory=True)
        for file in self.spec.files:
            moment = file.modified or DEFAULT_EPOCH + timedelta(
                seconds=2 * self.rng.randrange(0, 3_000_000)
            )
            node = root
            *folders, leaf = [p for p in file.path.split("/") if p]
            for folder in folders:
                found = next((c for c in node.children if c.name == folder), None)
                if found is None:
                    found = _Node(name=folder, directory=True, modified=moment)
                    node.children.append(found)
                node = found
            node.children.append(
                _Node(name=leaf, directory=False, content=file.content, modified=moment)
            )
        return root

    def _entries_size(self, node: _Node, parent: _Node | None) -> int:
        count = 2 if parent is not None else int(self.spec.label != "NO NAME")
        for child in node.children:
            lfn = 0 if _plain_short_name(child.name) else -(-len(child.name) // 13)
            count += 1 + lfn
        return count * DIR_ENTRY

    def _claim(self, size: int) -> tuple[int, int]:
        clusters = max(1, -(-size // self.cluster_bytes))
        first = self.next_cluster
        if first + clusters > self.cluster_count + 2:
            raise ValueError("the files do not fit on the volume; make it larger")
        for cluster in range(first, first + clusters):
            self.fat[cluster] = cluster + 1
        self.fat[first + clusters - 1] = END_OF_CHAIN
        self.next_cluster = first + clusters
        return first, clusters

    def _allocate(self, node: _Node, parent: _Node | None) -> None:
        size = self._entries_size(node, parent)
        node.first_cluster, node.clusters = self._claim(size)
        taken: set[bytes] = set()
        for child in node.children:
            child.short_name = _plain_short_name(child.name) or _alias(
                child.name, taken
            )
            taken.add(child.short_name)
            if child.directory:
                self._allocate(child, node)
            elif child.content:
                child.first_cluster, child.clusters = self._claim(len(child.content))

    def _cluster_offset(self, cluster: int) -> int:
        sector = self.data_start + (cluster - ROOT_CLUSTER) * self.cluster_sectors
        return sector * SECTOR

    def _write_directory(self, node: _Node, parent: _Node | None) -> None:
        entries = bytearray()
        if parent is None and self.spec.label != "NO NAME":
            label = self.spec.label.upper().ljust(11).encode()[:11]
            entries += _short_entry(label, ATTR_VOLUME_ID, 0, 0, DEFAULT_EPOCH)
        if parent is not None:
            up = parent.first_cluster if parent.first_cluster != ROOT_CLUSTER else 0
            entries += _short_entry(
                b".          ", ATTR_DIRECTORY, node.first_cluster, 0, node.modified
            )
            entries += _short_entry(
                b"..         ", ATTR_DIRECTORY, up, 0, node.modified
            )
        for child in node.children:
            if not _plain_short_name(child.name):
                entries += _lfn_entries(child.name, child.short_name)
            attributes = ATTR_DIRECTORY if child.directory else ATTR_ARCHIVE
            size = 0 if child.directory else len(child.content)
            entries += _short_entry(
                child.short_name, attributes, child.first_cluster, size, child.modified
            )
            if child.directory:
                self._write_directory(child, node)
            elif child.content:
                start = self._cluster_offset(child.first_cluster)
                self.image[start : start + len(child.content)] = child.content
        start = self._cluster_offset(node.first_cluster)
        self.image[start : start + len(entries)] = entries

    def _boot_sector(self) -> bytes:
        spec = self.spec
        label = spec.label.upper().ljust(11).encode()[:11]
        sector = bytearray(SECTOR)
        sector[0:3] = b"\xeb\x58\x90"
        sector[3:11] = spec.oem_name.ljust(8).encode()[:8]
        struct.pack_into(
            "<HBHBHHBHHHII",
            sector,
            11,
            SECTOR,
            self.cluster_sectors,
            RESERVED_SECTORS,
            FAT_COUNT,
            0,
            0,
            MEDIA_FIXED,
            0,
            63,
            255,
            spec.hidden_sectors,
            self.total_sectors,
        )
        struct.pack_into(
            "<IHHIHH", sector, 36, self.fat_sectors, 0, 0, ROOT_CLUSTER,
            FSINFO_SECTOR, BACKUP_BOOT_SECTOR,
        )  # fmt: skip
        volume_id = self.rng.getrandbits(32)
        struct.pack_into(
            "<BBBI11s8s", sector, 64, BIOS_HARD_DISK, 0, EXTENDED_BOOT_SIGNATURE,
            volume_id, label, b"FAT32   ",
        )  # fmt: skip
        sector[510:512] = b"\x55\xaa"
        return bytes(sector)

    def _fsinfo_sector(self) -> bytes:
        free = self.cluster_count + 2 - self.next_cluster
        sector = bytearray(SECTOR)
        struct.pack_into("<I", sector, 0, 0x41615252)  # "RRaA"
        struct.pack_into("<IIII", sector, 484, 0x61417272, free, self.next_cluster, 0)
        struct.pack_into("<I", sector, 508, 0xAA550000)
        return bytes(sector)

    def _write_reserved_area(self) -> None:
        boot, fsinfo = self._boot_sector(), self._fsinfo_sector()
        for first in (0, BACKUP_BOOT_SECTOR):
            self.image[first * SECTOR : (first + 1) * SECTOR] = boot
            at = (first + FSINFO_SECTOR) * SECTOR
            self.image[at : at + SECTOR] = fsinfo

    def _write_fats(self) -> None:
        table = struct.pack(f"<{len(self.fat)}I", *self.fat)
        for copy in range(FAT_COUNT):
            start = (RESERVED_SECTORS + copy * self.fat_sectors) * SECTOR
            self.image[start : start + len(table)] = table


def build_fat32(spec: VolumeSpec) -> bytes:
    """The volume's bytes (no partition table), ``spec.size_bytes`` long."""
    return _Fat32Builder(spec).build()
