"""Destinations: one sink per Azure ingestion API, behind one small interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..retry import Answer

__all__ = ["Sink", "array_bytes", "json_array"]


class Sink(Protocol):
    """Posts one batch of spooled records (compact UTF-8 JSON objects)."""

    #: ``data-collector`` or ``logs-ingestion``: the name :func:`classify` knows.
    api: str
    #: Largest JSON array (brackets and commas included) one request may carry.
    max_request_bytes: int
    #: Field values longer than this many UTF-8 bytes are cut (Azure would cut them).
    field_limit: int
    #: Whether sizes and PIDs go as strings: the table's columns are declared
    #: strings (LIA), rather than typed by the first value (DCA).
    numbers_as_text: bool

    def post(self, records: Sequence[bytes]) -> Answer: ...

    def reload(self) -> None:
        """Re-read secrets (a rotated key, a new client secret) and drop tokens."""

    def close(self) -> None: ...


def json_array(records: Sequence[bytes]) -> bytes:
    """Spooled records as one JSON array, without parsing them again."""
    return b"[" + b",".join(records) + b"]"


def array_bytes(sizes: Sequence[int]) -> int:
    """Size of :func:`json_array` over records of these sizes."""
    return sum(sizes) + max(len(sizes) - 1, 0) + 2
