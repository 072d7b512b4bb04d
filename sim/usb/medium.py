"""A block medium: the bytes behind a logical unit, addressed in blocks."""

from __future__ import annotations

import threading

__all__ = ["Medium", "MediumError"]


class MediumError(Exception):
    """An access outside the medium or a write to a read-only medium."""


class Medium:
    """Fixed-size storage in memory; writes change it in place.

    ``read_only`` is the write-protect switch a stick's case may carry; hosts
    see it through MODE SENSE and refuse to mount read-write.
    """

    def __init__(
        self,
        image: bytes | bytearray,
        *,
        block_size: int = 512,
        read_only: bool = False,
    ) -> None:
        if not image or len(image) % block_size:
            raise MediumError(
                f"an image of {len(image)} bytes is not a whole number of "
                f"{block_size}-byte blocks; pad it to a multiple of {block_size}"
            )
        self._data = bytearray(image)
        self.block_size = block_size
        self.read_only = read_only
        self._lock = threading.Lock()

    @property
    def blocks(self) -> int:
        return len(self._data) // self.block_size

    def read(self, lba: int, count: int) -> bytes:
        self._check_range(lba, count)
        start = lba * self.block_size
        with self._lock:  # one copy: a view of the range, then bytes
            return bytes(
                memoryview(self._data)[start : start + count * self.block_size]
            )

    def write(self, lba: int, data: bytes) -> None:
        if self.read_only:
            raise MediumError("the medium is write-protected")
        count, rest = divmod(len(data), self.block_size)
        if rest:
            raise MediumError(f"a write of {len(data)} bytes is not whole blocks")
        self._check_range(lba, count)
        start = lba * self.block_size
        with self._lock:
            self._data[start : start + len(data)] = data

    def snapshot(self) -> bytes:
        """A copy of the whole medium, as a host would image it."""
        with self._lock:
            return bytes(self._data)

    def in_range(self, lba: int, count: int) -> bool:
        return lba >= 0 and count >= 0 and lba + count <= self.blocks

    def _check_range(self, lba: int, count: int) -> None:
        if not self.in_range(lba, count):
            raise MediumError(
                f"blocks {lba}..{lba + count - 1} lie outside a medium of "
                f"{self.blocks} blocks"
            )
