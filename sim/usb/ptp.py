"""PTP (PIMA 15740) and the MTP operations a host needs to list a phone's files.

A :class:`PtpResponder` takes command containers and returns the data and
response containers to send back; the phone device (``phones.py``) carries
them over its bulk pipes. Objects come from a :class:`FileSpec` list: folders
become associations, files carry their bytes.
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass, field
from datetime import datetime

from .fat32 import DEFAULT_EPOCH, FileSpec

__all__ = [
    "ContainerType",
    "DeviceInfo",
    "Event",
    "Operation",
    "PtpResponder",
    "Response",
    "StorageInfo",
    "container",
    "parse_container",
]

logger = logging.getLogger(__name__)

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
    GET_DEVICE_PROP_DESC = 0x1014
    GET_DEVICE_PROP_VALUE = 0x1015


class Response(enum.IntEnum):
    OK = 0x2001
    GENERAL_ERROR = 0x2002
    SESSION_NOT_OPEN = 0x2003
    OPERATION_NOT_SUPPORTED = 0x2005
    INVALID_STORAGE_ID = 0x2008
    INVALID_OBJECT_HANDLE = 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A
    SESSION_ALREADY_OPEN = 0x201E


class Event(enum.IntEnum):
    OBJECT_ADDED = 0x4002


NO_TRANSACTION = 0xFFFFFFFF  # an event no command caused
NEEDS_NO_SESSION = {Operation.GET_DEVICE_INFO, Operation.OPEN_SESSION}


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
    def device_properties(self) -> list[int]:
        """MTP's DeviceFriendlyName, for MTP devices only."""
        mtp = self.vendor_extension == MICROSOFT_VENDOR_EXTENSION
        return [DEVICE_FRIENDLY_NAME] if mtp else []

    def dataset(self) -> bytes:
        operations = [int(op) for op in Operation]
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


@dataclass
class _Object:
    handle: int
    name: str
    parent: int  # 0: in the storage's root
    content: bytes | None  # None: a folder
    modified: datetime = DEFAULT_EPOCH
    children: list[int] = field(default_factory=list)

    def info(self, storage_id: int) -> bytes:
        folder = self.content is None
        if folder:
            object_format = FORMAT_ASSOCIATION
        elif self.name.lower().endswith((".jpg", ".jpeg")):
            object_format = FORMAT_JPEG
        else:
            object_format = FORMAT_UNDEFINED
        size = 0 if self.content is None else len(self.content)
        stamp = ptp_string(ptp_date(self.modified))
        # Protection, thumbnail and image geometry fields are all zero.
        head = struct.pack("<IHHI", storage_id, object_format, 0, size) + bytes(26)
        association = ASSOCIATION_GENERIC_FOLDER if folder else 0
        return (
            head
            + struct.pack("<IHII", self.parent, association, 0, 0)
            + ptp_string(self.name)
            + stamp
            + stamp
            + ptp_string("")
        )


class PtpResponder:
    """One phone's PTP/MTP session state and object tree."""

    def __init__(
        self, info: DeviceInfo, storage: StorageInfo, files: tuple[FileSpec, ...]
    ):
        self.info = info
        self.storage = storage
        self.session: int | None = None
        self.objects: dict[int, _Object] = {}
        for file in files:
            self.add(file)

    def add(self, file: FileSpec) -> list[int]:
        """Store ``file`` (and any missing folders); the new objects' handles."""
        *folders, leaf = [part for part in file.path.split("/") if part]
        parent, created = 0, []
        for folder in folders:
            found = next(
                (
                    o
                    for o in self.objects.values()
                    if o.parent == parent and o.name == folder
                ),
                None,
            )
            if found is None:
                found = self._new(folder, parent, None)
                created.append(found.handle)
            parent = found.handle
        created.append(self._new(leaf, parent, file.content, file.modified).handle)
        return created

    def object_added_events(self, handles: list[int]) -> list[bytes]:
        """ObjectAdded event containers, as the interrupt pipe carries them."""
        return [
            container(
                ContainerType.EVENT,
                Event.OBJECT_ADDED,
                NO_TRANSACTION,
                struct.pack("<I", handle),
            )
            for handle in handles
        ]

    def _new(
        self,
        name: str,
        parent: int,
        content: bytes | None,
        modified: datetime | None = None,
    ) -> _Object:
        handle = len(self.objects) + 1
        item = _Object(handle, name, parent, content, modified or DEFAULT_EPOCH)
        self.objects[handle] = item
        if parent:
            self.objects[parent].children.append(handle)
        return item

    def reset(self) -> None:
        self.session = None

    def handle(self, command: bytes) -> list[bytes]:
        """The containers answering one command: data (if any), then response."""
        _, code, transaction, payload = parse_container(command)
        params = struct.unpack(
            f"<{len(payload) // 4}I", payload[: len(payload) // 4 * 4]
        )
        try:
            operation = Operation(code)
        except ValueError:
            logger.debug("unsupported PTP operation 0x%04x", code)
            return [
                container(
                    ContainerType.RESPONSE,
                    Response.OPERATION_NOT_SUPPORTED,
                    transaction,
                    b"",
                )
            ]
        if operation not in NEEDS_NO_SESSION and self.session is None:
            return [
                container(
                    ContainerType.RESPONSE, Response.SESSION_NOT_OPEN, transaction, b""
                )
            ]
        status, data, out = self._run(operation, params)
        answer = (
            [container(ContainerType.DATA, code, transaction, data)]
            if data is not None
            else []
        )
        reply = b"".join(struct.pack("<I", p) for p in out)
        return [*answer, container(ContainerType.RESPONSE, status, transaction, reply)]

    def _run(
        self, operation: Operation, params: tuple[int, ...]
    ) -> tuple[Response, bytes | None, tuple[int, ...]]:
        first = params[0] if params else 0
        if operation is Operation.GET_DEVICE_INFO:
            return Response.OK, self.info.dataset(), ()
        if operation in (
            Operation.GET_DEVICE_PROP_DESC,
            Operation.GET_DEVICE_PROP_VALUE,
        ):
            return self._device_property(operation, first)
        if operation is Operation.OPEN_SESSION:
            if self.session is not None:
                return Response.SESSION_ALREADY_OPEN, None, (self.session,)
            self.session = first
            return Response.OK, None, ()
        if operation is Operation.CLOSE_SESSION:
            self.session = None
            return Response.OK, None, ()
        if operation is Operation.GET_STORAGE_IDS:
            return Response.OK, ptp_array("I", [self.storage.storage_id]), ()
        if operation is Operation.GET_STORAGE_INFO:
            if first != self.storage.storage_id:
                return Response.INVALID_STORAGE_ID, None, ()
            used = sum(len(o.content or b"") for o in self.objects.values())
            return Response.OK, self.storage.dataset(used), ()
        if operation in (Operation.GET_OBJECT_HANDLES, Operation.GET_NUM_OBJECTS):
            if first not in (ALL_STORAGES, self.storage.storage_id):
                return Response.INVALID_STORAGE_ID, None, ()
            handles = self._handles(params[2] if len(params) > 2 else ANY_PARENT)
            if operation is Operation.GET_NUM_OBJECTS:
                return Response.OK, None, (len(handles),)
            return Response.OK, ptp_array("I", handles), ()
        item = self.objects.get(first)
        if item is None:
            return Response.INVALID_OBJECT_HANDLE, None, ()
        if operation is Operation.GET_OBJECT_INFO:
            return Response.OK, item.info(self.storage.storage_id), ()
        if item.content is None:
            return Response.INVALID_OBJECT_HANDLE, None, ()
        return Response.OK, item.content, ()

    def _device_property(
        self, operation: Operation, code: int
    ) -> tuple[Response, bytes | None, tuple[int, ...]]:
        if code not in self.info.device_properties:
            return Response.DEVICE_PROP_NOT_SUPPORTED, None, ()
        name = ptp_string(self.info.friendly_name or self.info.model)
        if operation is Operation.GET_DEVICE_PROP_VALUE:
            return Response.OK, name, ()
        head = struct.pack(
            "<HHB", DEVICE_FRIENDLY_NAME, DATATYPE_STRING, PROPERTY_GET_ONLY
        )
        return Response.OK, head + name + name + bytes([FORM_NONE]), ()

    def _handles(self, parent: int) -> list[int]:
        if parent == ANY_PARENT:
            return sorted(self.objects)
        wanted = 0 if parent == ROOT_ONLY else parent
        return [h for h, o in sorted(self.objects.items()) if o.parent == wanted]
