"""Read files back from a FAT32 volume: how the simulator sees host writes."""

from __future__ import annotations

import struct

__all__ = ["data_area_end", "file_extent", "read_fat32_files"]

DIR_ENTRY = 32
ATTR_VOLUME_ID = 0x08
ATTR_DIRECTORY = 0x10
ATTR_LONG_NAME = 0x0F
DELETED = 0xE5
END_OF_CHAIN_MIN = 0x0FFFFFF8


class _Volume:
    def __init__(self, volume: bytes) -> None:
        sector, cluster_sectors, reserved, fats = struct.unpack_from(
            "<HBHB", volume, 11
        )
        (fat_sectors,) = struct.unpack_from("<I", volume, 36)
        (root,) = struct.unpack_from("<I", volume, 44)
        (total_sectors,) = struct.unpack_from("<I", volume, 32)
        self.volume = volume
        self.cluster_bytes: int = sector * cluster_sectors
        self.fat_start: int = reserved * sector
        self.data_start: int = (reserved + fats * fat_sectors) * sector
        self.root: int = root
        clusters = (total_sectors * sector - self.data_start) // self.cluster_bytes
        self.data_end: int = self.data_start + clusters * self.cluster_bytes

    def chain(self, first: int) -> bytes:
        parts = []
        cluster, seen = first, set()
        while 2 <= cluster < END_OF_CHAIN_MIN and cluster not in seen:
            seen.add(cluster)
            start = self.offset_of(cluster)
            parts.append(self.volume[start : start + self.cluster_bytes])
            at = self.fat_start + cluster * 4
            cluster = struct.unpack_from("<I", self.volume, at)[0] & 0x0FFFFFFF
        return b"".join(parts)

    def offset_of(self, cluster: int) -> int:
        return self.data_start + (cluster - 2) * self.cluster_bytes

    def walk(
        self,
        cluster: int,
        prefix: str,
        found: dict[str, bytes],
        extents: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        data = self.chain(cluster)
        long_parts: list[bytes] = []
        for at in range(0, len(data), DIR_ENTRY):
            entry = data[at : at + DIR_ENTRY]
            if entry[0] == 0:
                break
            if entry[0] == DELETED:
                long_parts = []
                continue
            attributes = entry[11]
            if attributes == ATTR_LONG_NAME:
                chars = entry[1:11] + entry[14:26] + entry[28:32]
                long_parts.insert(0, chars)
                continue
            name = _name(entry, long_parts)
            long_parts = []
            if attributes & ATTR_VOLUME_ID or name in (".", ".."):
                continue
            high, low = (
                struct.unpack_from("<H", entry, 20)[0],
                struct.unpack_from("<H", entry, 26)[0],
            )
            first, size = (high << 16) | low, struct.unpack_from("<I", entry, 28)[0]
            if attributes & ATTR_DIRECTORY:
                self.walk(first, f"{prefix}{name}/", found, extents)
                continue
            if extents is not None:
                extents[prefix + name] = (self.offset_of(first), size)
            else:
                found[prefix + name] = self.chain(first)[:size] if size else b""


def _name(entry: bytes, long_parts: list[bytes]) -> str:
    if long_parts:
        text = b"".join(long_parts).decode("utf-16-le", "replace")
        return text.split("\0", 1)[0]
    base = entry[0:8].decode("ascii", "replace").rstrip()
    ext = entry[8:11].decode("ascii", "replace").rstrip()
    return f"{base}.{ext}" if ext else base


def read_fat32_files(volume: bytes) -> dict[str, bytes]:
    """Every file on the volume by "/"-separated path (long names preferred)."""
    reader = _Volume(volume)
    found: dict[str, bytes] = {}
    reader.walk(reader.root, "", found)
    return found


def file_extent(volume: bytes, path: str) -> tuple[int, int]:
    """(byte offset, size) of a file stored in one contiguous run of clusters."""
    reader = _Volume(volume)
    extents: dict[str, tuple[int, int]] = {}
    reader.walk(reader.root, "", {}, extents)
    if path not in extents:
        raise KeyError(f"no file {path!r} on the volume")
    return extents[path]


def data_area_end(volume: bytes) -> int:
    """Byte offset where the last cluster ends (sectors after it belong to none)."""
    return _Volume(volume).data_end
