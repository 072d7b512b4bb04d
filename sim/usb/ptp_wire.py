"""PTP (PIMA 15740) and MTP on the wire: containers, codes and datasets.

Containers are ``length u32 | type u16 | code u16 | transaction u32`` then
parameters or data, all little-endian. Strings are a character count (with
the NUL) and UTF-16LE; arrays a u32 count and the elements.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "ContainerType",
    "DeviceInfo",
    "Event",
    "ObjectInfo",
    "Operation",
    "Response",
    "StorageInfo",
    "container",
    "format_of",
    "parse_container",
    "ptp_array",
    "ptp_string",
    "read_ptp_string",
]

CONTAINER_HEADER = struct.Struct("<IHHI")  # length, type, code, transaction id
PTP_VERSION = 100  # 1.00
MICROSOFT_VENDOR_EXTENSION = 0x00000006  # MTP
ALL_STORAGES = 0xFFFFFFFF
ROOT_ONLY = 0xFFFFFFFF  # GetObjectHandles: objects in the storage's root
ANY_PARENT = 0x00000000  # GetObjectHandles: every object
STORAGE_FIXED_RAM = 0x0003
FILESYSTEM_HIERARCHICAL = 0x0002
ACCESS_READ_WRITE = 0x0000
FORMAT_UNDEFINED = 0x3000
FORMAT_ASSOCIATION = 0x3001
FORMAT_JPEG = 0x3801
ASSOCIATION_GENERIC_FOLDER = 0x0001
UNKNOWN_FREE_OBJECTS = 0xFFFFFFFF
FIRST_MTP_OPERATION = 0x9801  # operation codes 0x98xx are MTP's, not PTP's
DEVICE_FRIENDLY_NAME = 0xD402  # MTP device property: the name hosts show
DATATYPE_STRING = 0xFFFF
PROPERTY_GET_ONLY = 0x00
FORM_NONE = 0x00


class ContainerType(enum.IntEnum):
    COMMAND = 1
    DATA = 2
    RESPONSE = 3
    EVENT = 4


class Operation(enum.IntEnum):
    GET_DEVICE_INFO = 0x1001
    OPEN_SESSION = 0x1002
    CLOSE_SESSION = 0x1003
    GET_STORAGE_IDS = 0x1004
    GET_STORAGE_INFO = 0x1005
    GET_NUM_OBJECTS = 0x1006
    GET_OBJECT_HANDLES = 0x1007
    GET_OBJECT_INFO = 0x1008
    GET_OBJECT = 0x1009
    DELETE_OBJECT = 0x100B
    SEND_OBJECT_INFO = 0x100C
    SEND_OBJECT = 0x100D
    GET_DEVICE_PROP_DESC = 0x1014
    GET_DEVICE_PROP_VALUE = 0x1015
    GET_OBJECT_PROPS_SUPPORTED = 0x9801  # MTP from here on
    GET_OBJECT_PROP_DESC = 0x9802
    GET_OBJECT_PROP_VALUE = 0x9803
    GET_OBJECT_PROP_LIST = 0x9805

    @property
    def mtp_only(self) -> bool:
        return self.value >= FIRST_MTP_OPERATION


class Response(enum.IntEnum):
    OK = 0x2001
    GENERAL_ERROR = 0x2002
    SESSION_NOT_OPEN = 0x2003
    OPERATION_NOT_SUPPORTED = 0x2005
    INVALID_STORAGE_ID = 0x2008
    INVALID_OBJECT_HANDLE = 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A
    STORE_FULL = 0x200C
    INVALID_PARENT_OBJECT = 0x201A
    INVALID_DATASET = 0x2023
    NO_VALID_OBJECT_INFO = 0x2015
    INVALID_OBJECT_PROP_CODE = 0xA801
    SESSION_ALREADY_OPEN = 0x201E


class Event(enum.IntEnum):
    OBJECT_ADDED = 0x4002


NO_TRANSACTION = 0xFFFFFFFF  # an event no command caused


def container(
    kind: ContainerType, code: int, transaction: int, payload: bytes
) -> bytes:
    return (
        CONTAINER_HEADER.pack(
            CONTAINER_HEADER.size + len(payload), kind, code, transaction
        )
        + payload
    )


def parse_container(raw: bytes) -> tuple[ContainerType, int, int, bytes]:
    """(type, code, transaction id, payload) of one container."""
    length, kind, code, transaction = CONTAINER_HEADER.unpack_from(raw)
    return ContainerType(kind), code, transaction, raw[CONTAINER_HEADER.size : length]


def ptp_string(text: str) -> bytes:
    """Length in characters (with the NUL), then UTF-16LE; "" is one zero byte."""
    if not text:
        return b"\0"
    encoded = (text + "\0").encode("utf-16-le")
    return bytes([len(encoded) // 2]) + encoded


def read_ptp_string(data: bytes, at: int) -> tuple[str, int]:
    """The string at ``at`` and the offset just after it."""
    count = data[at]
    text = data[at + 1 : at + 1 + 2 * count].decode("utf-16-le", "replace")
    return text.rstrip("\0"), at + 1 + 2 * count


def ptp_array(fmt: str, values: list[int] | tuple[int, ...]) -> bytes:
    return struct.pack(f"<I{len(values)}{fmt}", len(values), *values)


def ptp_date(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True, kw_only=True)
class DeviceInfo:
    manufacturer: str
    model: str
    version: str
    serial: str
    friendly_name: str = ""  # MTP DeviceFriendlyName; the model when empty
    vendor_extension: int = MICROSOFT_VENDOR_EXTENSION
    extension_description: str = "microsoft.com: 1.0; android.com: 1.0;"

    @property
    def mtp(self) -> bool:
        return self.vendor_extension == MICROSOFT_VENDOR_EXTENSION

    @property
    def device_properties(self) -> list[int]:
        """MTP's DeviceFriendlyName, for MTP devices only."""
        return [DEVICE_FRIENDLY_NAME] if self.mtp else []

    def dataset(self) -> bytes:
        operations = [int(op) for op in Operation if self.mtp or not op.mtp_only]
        return (
            struct.pack("<HIH", PTP_VERSION, self.vendor_extension, PTP_VERSION)
            + ptp_string(self.extension_description)
            + struct.pack("<H", 0)  # functional mode: standard
            + ptp_array("H", operations)
            + ptp_array("H", [int(event) for event in Event])
            + ptp_array("H", self.device_properties)
            + ptp_array("H", [])  # capture formats
            + ptp_array("H", [FORMAT_UNDEFINED, FORMAT_ASSOCIATION, FORMAT_JPEG])
            + ptp_string(self.manufacturer)
            + ptp_string(self.model)
            + ptp_string(self.version)
            + ptp_string(self.serial)
        )


@dataclass(frozen=True, kw_only=True)
class StorageInfo:
    storage_id: int
    description: str
    capacity: int
    label: str = ""

    def dataset(self, used: int) -> bytes:
        return (
            struct.pack(
                "<HHHQQI",
                STORAGE_FIXED_RAM,
                FILESYSTEM_HIERARCHICAL,
                ACCESS_READ_WRITE,
                self.capacity,
                max(self.capacity - used, 0),
                UNKNOWN_FREE_OBJECTS,
            )
            + ptp_string(self.description)
            + ptp_string(self.label)
        )


OBJECT_INFO_HEAD = struct.Struct("<IHHI")  # storage, format, protection, size
OBJECT_INFO_MIDDLE = struct.Struct("<IHII")  # parent, association type/desc, seq
IMAGE_FIELDS = 26  # thumbnail and image geometry: zero for our objects


@dataclass(frozen=True, kw_only=True)
class ObjectInfo:
    """The ObjectInfo dataset: what GetObjectInfo returns, SendObjectInfo sends."""

    storage_id: int
    object_format: int
    size: int
    parent: int  # 0: the storage's root
    filename: str
    modified: datetime | None = None

    @property
    def folder(self) -> bool:
        return self.object_format == FORMAT_ASSOCIATION

    def pack(self) -> bytes:
        stamp = ptp_string(ptp_date(self.modified) if self.modified else "")
        association = ASSOCIATION_GENERIC_FOLDER if self.folder else 0
        return (
            OBJECT_INFO_HEAD.pack(self.storage_id, self.object_format, 0, self.size)
            + bytes(IMAGE_FIELDS)
            + OBJECT_INFO_MIDDLE.pack(self.parent, association, 0, 0)
            + ptp_string(self.filename)
            + stamp
            + stamp
            + ptp_string("")
        )

    @classmethod
    def parse(cls, data: bytes) -> ObjectInfo:
        storage_id, object_format, _, size = OBJECT_INFO_HEAD.unpack_from(data)
        middle = OBJECT_INFO_HEAD.size + IMAGE_FIELDS
        parent = OBJECT_INFO_MIDDLE.unpack_from(data, middle)[0]
        filename, _ = read_ptp_string(data, middle + OBJECT_INFO_MIDDLE.size)
        return cls(
            storage_id=storage_id,
            object_format=object_format,
            size=size,
            parent=parent,
            filename=filename,
        )


def format_of(name: str) -> int:
    """The object format hosts expect for a file name."""
    if name.lower().endswith((".jpg", ".jpeg")):
        return FORMAT_JPEG
    return FORMAT_UNDEFINED
