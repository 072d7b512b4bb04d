"""MTP object properties: what MTP hosts (Windows WPD, libmtp) read instead of ObjectInfo.

GetObjectPropsSupported, GetObjectPropDesc, GetObjectPropValue and
GetObjectPropList (MTP 1.1 appendix B/D) over the same object tree the PTP
responder keeps. Values are encoded by datatype, little-endian; strings as in
PTP.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import datetime

from .ptp_wire import ptp_date, ptp_string

__all__ = [
    "ALL_PROPERTIES",
    "ObjectFacts",
    "ObjectProperty",
    "property_description",
    "property_list",
    "property_value",
    "selected",
    "supported",
]

ALL_PROPERTIES = 0xFFFFFFFF  # GetObjectPropList: every property
ALL_OBJECTS = 0xFFFFFFFF  # GetObjectPropList handle: every object
ALL_DEPTHS = 0xFFFFFFFF
READ_ONLY = 0x00
NO_GROUP = 0x00000000
FORM_NONE = 0x00


class Datatype(enum.IntEnum):
    UINT16 = 0x0004
    UINT32 = 0x0006
    UINT64 = 0x0008
    UINT128 = 0x000A
    STRING = 0xFFFF


class ObjectProperty(enum.IntEnum):
    STORAGE_ID = 0xDC01
    OBJECT_FORMAT = 0xDC02
    PROTECTION_STATUS = 0xDC03
    OBJECT_SIZE = 0xDC04
    OBJECT_FILE_NAME = 0xDC07
    DATE_MODIFIED = 0xDC09
    PARENT_OBJECT = 0xDC0B
    PERSISTENT_UNIQUE_OBJECT_IDENTIFIER = 0xDC41
    NAME = 0xDC44


DATATYPES = {
    ObjectProperty.STORAGE_ID: Datatype.UINT32,
    ObjectProperty.OBJECT_FORMAT: Datatype.UINT16,
    ObjectProperty.PROTECTION_STATUS: Datatype.UINT16,
    ObjectProperty.OBJECT_SIZE: Datatype.UINT64,
    ObjectProperty.OBJECT_FILE_NAME: Datatype.STRING,
    ObjectProperty.DATE_MODIFIED: Datatype.STRING,
    ObjectProperty.PARENT_OBJECT: Datatype.UINT32,
    ObjectProperty.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER: Datatype.UINT128,
    ObjectProperty.NAME: Datatype.STRING,
}
INTEGER_FORMATS = {
    Datatype.UINT16: "<H",
    Datatype.UINT32: "<I",
    Datatype.UINT64: "<Q",
}


@dataclass(frozen=True, kw_only=True)
class ObjectFacts:
    """What the properties are read from: one object of the tree."""

    handle: int
    storage_id: int
    object_format: int
    size: int
    parent: int
    name: str
    modified: datetime
    unique_id: int  # stable per object: its PersistentUniqueObjectIdentifier


def _encode(datatype: Datatype, value: int | str) -> bytes:
    if datatype is Datatype.STRING:
        return ptp_string(str(value))
    if datatype is Datatype.UINT128:
        return int(value).to_bytes(16, "little")
    return struct.pack(INTEGER_FORMATS[datatype], int(value))


def _raw_value(facts: ObjectFacts, code: ObjectProperty) -> int | str:
    values: dict[ObjectProperty, int | str] = {
        ObjectProperty.STORAGE_ID: facts.storage_id,
        ObjectProperty.OBJECT_FORMAT: facts.object_format,
        ObjectProperty.PROTECTION_STATUS: 0,
        ObjectProperty.OBJECT_SIZE: facts.size,
        ObjectProperty.OBJECT_FILE_NAME: facts.name,
        ObjectProperty.DATE_MODIFIED: ptp_date(facts.modified),
        ObjectProperty.PARENT_OBJECT: facts.parent,
        ObjectProperty.PERSISTENT_UNIQUE_OBJECT_IDENTIFIER: facts.unique_id,
        ObjectProperty.NAME: facts.name,
    }
    return values[code]


def supported(code: int) -> ObjectProperty | None:
    try:
        return ObjectProperty(code)
    except ValueError:
        return None


def property_value(facts: ObjectFacts, code: ObjectProperty) -> bytes:
    return _encode(DATATYPES[code], _raw_value(facts, code))


def property_description(code: ObjectProperty) -> bytes:
    """ObjectPropDesc: code, datatype, read-only, default, group, no form."""
    datatype = DATATYPES[code]
    default = _encode(datatype, "" if datatype is Datatype.STRING else 0)
    return (
        struct.pack("<HHB", code, datatype, READ_ONLY)
        + default
        + struct.pack("<IB", NO_GROUP, FORM_NONE)
    )


def selected(objects: list[ObjectFacts], handle: int, depth: int) -> list[ObjectFacts]:
    """The objects a GetObjectPropList request names (MTP 1.1 D.2.31)."""
    if handle in (ALL_OBJECTS, 0) and depth == ALL_DEPTHS:
        return objects
    if depth == 0:
        return [o for o in objects if o.handle == handle]
    parent = 0 if handle == ALL_OBJECTS else handle
    return [o for o in objects if o.parent == parent]


def property_list(objects: list[ObjectFacts], code: int) -> bytes:
    """ObjectPropList of ``code`` (or all properties) for ``objects``."""
    codes = list(ObjectProperty) if code == ALL_PROPERTIES else [ObjectProperty(code)]
    elements = [
        struct.pack("<IHH", facts.handle, prop, DATATYPES[prop])
        + property_value(facts, prop)
        for facts in objects
        for prop in codes
    ]
    return struct.pack("<I", len(elements)) + b"".join(elements)
