"""The secRMM record: its 25 fields, value formats and event vocabulary.

Field names are the ones secRMM posts, which land as the real ``secRMM_CL``
columns: ``Event`` becomes ``Event_s``, ``Computer`` and ``Message`` stay bare
(spec ``secrmm.md`` §1.2). Formats follow §3 of that spec; where the spec marks
a behaviour unknown, the choice made here is stated next to it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

__all__ = [
    "EVENTS",
    "POSTED_FIELDS",
    "Category",
    "EventType",
    "RecordError",
    "SecRMMRecord",
    "connection_test_record",
    "escape",
    "event_type",
    "format_last_write",
    "format_time",
    "normalise_posted",
    "truncate_utf8",
]


class RecordError(ValueError):
    """A posted object is not a secRMM record; the message says which field."""


class Category(enum.StrEnum):
    """secRMM's forwarding categories: filters an administrator ticks, not events."""

    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    WRITE_SUCCESS = "WRITE SUCCESS"
    WRITE_FAILURE = "WRITE FAILURE"
    ADMINISTRATION = "ADMINISTRATION"
    LICENSING = "LICENSING"


@dataclass(frozen=True, kw_only=True)
class EventType:
    """One ``Event`` text, its forwarding category and the Windows event id if known.

    ``category`` None means the event is always sent (the connection test).
    ``documented`` is False where the category is our choice, not the vendor's.
    """

    text: str
    category: Category | None
    event_id: int | None = None
    documented: bool = True


#: The whole vocabulary, one row per ``Event`` text (spec secrmm.md §2.1-2.2).
#: ``BLOCK ...`` events are denials, so they travel as WRITE FAILURE, and
#: ``EXTERNAL`` relays (Defender, VM mounts) as ADMINISTRATION: both our choices.
#: No LICENSING event text is public; the category exists so it can be chosen.
EVENTS: tuple[EventType, ...] = (
    EventType(text="ONLINE", category=Category.ONLINE, event_id=400),
    EventType(text="OFFLINE", category=Category.OFFLINE),
    EventType(text="WRITE COMPLETED", category=Category.WRITE_SUCCESS),
    EventType(text="SERIAL # AUTHORIZATION", category=Category.WRITE_FAILURE),
    EventType(
        text="BLOCK PROGRAMS ON DEVICE ACTIVE",
        category=Category.WRITE_FAILURE,
        documented=False,
    ),
    EventType(
        text="BLOCK MACROS ON DEVICE ACTIVE",
        category=Category.WRITE_FAILURE,
        documented=False,
    ),
    EventType(text="EXTERNAL", category=Category.ADMINISTRATION, documented=False),
    EventType(text="Property change", category=Category.ADMINISTRATION),
    EventType(text="", category=None),
)
_EVENTS_BY_TEXT = {event.text: event for event in EVENTS}


def event_type(text: str) -> EventType | None:
    """The vocabulary entry for an ``Event`` text (case-sensitive, as KQL ``==``)."""
    return _EVENTS_BY_TEXT.get(text)


#: secRMM's values come from XML-escaped Windows event data: ``&`` and ``"``
#: reach the workspace as ``&amp;`` and ``&quot;`` (spec secrmm.md §3).
_XML_ESCAPES = (("&", "&amp;"), ('"', "&quot;"))


def escape(text: str) -> str:
    """Escape a value the way secRMM does before posting it."""
    for raw, escaped in _XML_ESCAPES:
        text = text.replace(raw, escaped)
    return text


def format_time(moment: datetime) -> str:
    """``Time``: ``M/D/YYYY h:mm:ss AM|PM``, no zero padding (``2/9/2020 4:05:49 PM``)."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {half}"


def format_last_write(moment: datetime) -> str:
    """``SourceFileLastWrite``: ``MM/DD/YYYY HH:MM:SS``, zero-padded, 24-hour."""
    return moment.strftime("%m/%d/%Y %H:%M:%S")


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes on a character boundary."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


@dataclass(frozen=True, kw_only=True)
class SecRMMRecord:
    """One secRMM event with raw (unescaped) values; :meth:`posted` renders it.

    Escaping is applied to the fields secRMM is seen escaping (``InternalID``,
    ``ProgramName``, ``AdditionalProgramInfo``); how far secRMM's escaping
    reaches beyond them is unknown, so other fields go as given.
    """

    event: str = ""
    time: datetime | None = None
    user: str = ""
    user_sid: str = ""
    drive: str = ""
    volume: str = ""
    device_description: str = ""
    serial_number: str = ""
    model: str = ""
    internal_id: str = ""
    target_file: str = ""
    source_file: str = ""
    source_file_size: int | None = None
    source_file_last_write: datetime | None = None
    program_name: str = ""
    program_pid: int | None = None
    message: str = ""
    property_name: str = ""
    property_action: str = ""
    property_value: str = ""
    previous_property_value: str = ""
    configuration_target: str = ""
    property_operation_status: str = ""
    additional_program_info: str = ""
    computer: str = ""

    def posted(self) -> dict[str, str | int]:
        """The object secRMM posts, in its field order; unused fields are ``""``."""
        values: dict[str, str | int] = {}
        for attribute, name in _ATTRIBUTE_TO_FIELD.items():
            values[name] = _render(attribute, getattr(self, attribute))
        return values

    @property
    def category(self) -> Category | None:
        known = event_type(self.event)
        return known.category if known else None


_ESCAPED = frozenset({"internal_id", "program_name", "additional_program_info"})


def _render(attribute: str, value: Any) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if attribute == "time":
            return format_time(value)
        return format_last_write(value)
    if isinstance(value, int):
        # secRMM sends sizes and PIDs as JSON numbers (the sample rows show 9140).
        return value
    return escape(value) if attribute in _ESCAPED else str(value)


# TODO(#3): a per-record GUID would let KQL find the duplicates a crash can
# cause (spec azure-ingestion.md §5.2), but it adds a column secRMM never posts.
#: Posted field names in the order of the stored sample rows, ``Computer`` last.
POSTED_FIELDS: tuple[str, ...] = (
    "Event", "Time", "User", "UserSID", "Drive", "Volume", "DeviceDescription",
    "SerialNumber", "Model", "InternalID", "TargetFile", "SourceFile",
    "SourceFileSize", "SourceFileLastWrite", "ProgramName", "ProgramPID", "Message",
    "PropertyName", "PropertyAction", "PropertyValue", "PreviousPropertyValue",
    "ConfigurationTarget", "PropertyOperationStatus", "AdditionalProgramInfo",
    "Computer",
)  # fmt: skip
_ATTRIBUTE_TO_FIELD = dict(
    zip((f.name for f in fields(SecRMMRecord)), POSTED_FIELDS, strict=True)
)
_FIELD_SET = frozenset(POSTED_FIELDS)
_NUMERIC_FIELDS = frozenset({"SourceFileSize", "ProgramPID"})


def normalise_posted(
    value: Any, *, field_limit: int, numbers_as_text: bool = False
) -> tuple[dict[str, str | int], int]:
    """Check a posted object and return it in field order, with truncations counted.

    Missing fields become ``""``; values longer than ``field_limit`` UTF-8 bytes
    are cut as Azure would cut them. ``numbers_as_text`` sends sizes and PIDs as
    strings, for tables whose columns are declared strings (Logs Ingestion API).
    Raise RecordError for anything else.
    """
    if not isinstance(value, Mapping):
        raise RecordError(f"a record must be a JSON object, not {type(value).__name__}")
    unknown = value.keys() - _FIELD_SET
    if unknown:
        raise RecordError(
            f"unknown field(s) {', '.join(map(repr, sorted(unknown)[:5]))}; "
            f"secRMM posts only {', '.join(POSTED_FIELDS)}"
        )
    record: dict[str, str | int] = {}
    truncated = 0
    for name in POSTED_FIELDS:
        item = value.get(name, "")
        kind = type(item)
        if kind is str:
            # A character is at most 4 UTF-8 bytes: only long values need the encode.
            if len(item) * 4 > field_limit:
                cut = truncate_utf8(item, field_limit)
                truncated += cut is not item
                item = cut
            record[name] = item
        elif kind is int and name in _NUMERIC_FIELDS and item >= 0:
            record[name] = str(item) if numbers_as_text else item
        else:
            wanted = "a string"
            if name in _NUMERIC_FIELDS:
                wanted = "a string or a non-negative integer"
            raise RecordError(f"field {name!r} must be {wanted}, not {item!r:.40}")
    return record, truncated


def connection_test_record(computer: str, user: str) -> dict[str, str | int]:
    """What secRMM's Test button posts: empty ``Event`` and ``Time`` (sample row)."""
    return SecRMMRecord(
        computer=computer,
        user=user,
        program_name="ProcessSendTest",
        additional_program_info="Test Connection to Azure Log Analytics",
    ).posted()
