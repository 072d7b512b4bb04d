"""Column types of Data Collector tables and how JSON values become them.

Azure documents the suffixes and that a value is converted into an existing
column when it can be; the exact conversion rules are undocumented, so the
ones here are the spec's mock choices (``azure-ingestion.md`` §2.5):

- anything converts to a string (``_s``): JSON text for non-strings;
- a string converts to a double (``_d``) if it is a finite decimal number;
- to a boolean (``_b``) only if it is ``true`` or ``false`` in any case;
- to a datetime (``_t``) if it is ISO 8601 with a date and a time;
- to a GUID (``_g``) if it is a GUID, with or without dashes (normalised).
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "MAX_VALUE_BYTES",
    "ColumnType",
    "ConversionError",
    "convert",
    "infer",
    "to_text",
    "truncate",
]

#: Longest stored string value, in UTF-8 bytes; longer values are truncated.
MAX_VALUE_BYTES = 32_768

_GUID = re.compile(
    r"[0-9a-fA-F]{8}(-?)[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{4}\1[0-9a-fA-F]{12}"
)
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class ColumnType(enum.Enum):
    """A column's type, named by the suffix Azure gives it."""

    STRING = "s"
    DOUBLE = "d"
    BOOLEAN = "b"
    DATETIME = "t"
    GUID = "g"

    @property
    def suffix(self) -> str:
        return f"_{self.value}"

    @property
    def kql_name(self) -> str:
        return _KQL_NAMES[self]


_KQL_NAMES = {
    ColumnType.STRING: "string",
    ColumnType.DOUBLE: "real",
    ColumnType.BOOLEAN: "bool",
    ColumnType.DATETIME: "datetime",
    ColumnType.GUID: "guid",
}


class ConversionError(Exception):
    """A value cannot be stored in a column of the given type."""


def infer(value: Any) -> ColumnType:
    """The type a new column gets from its first value."""
    if isinstance(value, bool):
        return ColumnType.BOOLEAN
    if isinstance(value, int | float):
        return ColumnType.DOUBLE
    if isinstance(value, str):
        if _GUID.fullmatch(value):
            return ColumnType.GUID
        if _ISO_DATETIME.fullmatch(value) and _parse_datetime(value) is not None:
            return ColumnType.DATETIME
    return ColumnType.STRING


def convert(value: Any, column_type: ColumnType) -> Any:
    """``value`` as stored in a column of ``column_type``, or raise ConversionError."""
    if column_type is ColumnType.STRING:
        return value if isinstance(value, str) else to_text(value)
    if column_type is ColumnType.DOUBLE:
        return _to_double(value)
    if column_type is ColumnType.BOOLEAN:
        return _to_boolean(value)
    if column_type is ColumnType.DATETIME:
        moment = _parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            raise ConversionError
        return moment
    if isinstance(value, str) and _GUID.fullmatch(value):
        return str(uuid.UUID(value))
    raise ConversionError


def to_text(value: Any) -> str:
    """Non-string JSON values as compact JSON text (nested values included)."""
    return orjson.dumps(value).decode("utf-8")


def truncate(text: str, limit: int = MAX_VALUE_BYTES) -> str | None:
    """``text`` cut to ``limit`` UTF-8 bytes on a character boundary, or None if it fits."""
    # A character is at most 4 bytes, so short strings need no encoding at all.
    if len(text) * 4 <= limit:
        return None
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return None
    return encoded[:limit].decode("utf-8", "ignore")


def _to_double(value: Any) -> float:
    if isinstance(value, bool):
        raise ConversionError
    numeric = isinstance(value, int | float)
    if numeric or (isinstance(value, str) and _DECIMAL.fullmatch(value.strip())):
        number = float(value)
    else:
        raise ConversionError
    if not math.isfinite(number):
        raise ConversionError
    return number


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    raise ConversionError


def _parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 date and time as naive UTC, the way the store keeps datetimes."""
    if not _ISO_DATETIME.fullmatch(text):
        return None
    normal = text.upper().replace(" ", "T")
    if normal.endswith("Z"):
        normal = normal[:-1] + "+00:00"
    whole, dot, rest = normal.partition(".")
    if dot:
        # Python keeps microseconds; Kusto keeps 100 ns ticks. Cut to what fits.
        digits = re.match(r"\d+", rest)
        assert digits is not None
        fraction = digits.group()
        normal = f"{whole}.{fraction[:6].ljust(6, '0')}{rest[len(fraction) :]}"
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
