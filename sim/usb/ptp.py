"""A PTP/MTP responder: a phone's session, storage and object tree.

:class:`PtpResponder` takes the containers a host sends (commands, and the
data phase of SendObjectInfo and SendObject) and returns the containers to
send back: data (if any), then the response. The phone device
(``phones.py``) carries them over its bulk pipes. Objects come from a
:class:`FileSpec` list (folders become associations); hosts can add files
and folders and delete them, and :meth:`PtpResponder.files` shows the result.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from datetime import datetime

from .fat32 import DEFAULT_EPOCH, FileSpec
from .mtp_properties import (
    ALL_PROPERTIES,
    ObjectFacts,
    ObjectProperty,
    property_description,
    property_list,
    property_value,
    selected,
    supported,
)
from .ptp_wire import (
    ALL_STORAGES,
    ANY_PARENT,
    DATATYPE_STRING,
    FORM_NONE,
    FORMAT_ASSOCIATION,
    NO_TRANSACTION,
    PROPERTY_GET_ONLY,
    ROOT_ONLY,
    ContainerType,
    DeviceInfo,
    Event,
    ObjectInfo,
    Operation,
    Response,
    StorageInfo,
    container,
    format_of,
    parse_container,
    ptp_array,
    ptp_string,
)

__all__ = ["PtpResponder"]

logger = logging.getLogger(__name__)

NEEDS_NO_SESSION = {Operation.GET_DEVICE_INFO, Operation.OPEN_SESSION}
TAKES_DATA = {Operation.SEND_OBJECT_INFO, Operation.SEND_OBJECT}
STORAGE_OPERATIONS = {
    Operation.GET_STORAGE_IDS,
    Operation.GET_STORAGE_INFO,
    Operation.GET_NUM_OBJECTS,
    Operation.GET_OBJECT_HANDLES,
}
DEVICE_CHOOSES = 0x00000000  # SendObjectInfo: storage or parent left to us

Reply = tuple[Response, bytes | None, tuple[int, ...]]


@dataclass
class _Object:
    handle: int
    name: str
    parent: int  # 0: in the storage's root
    content: bytes | None  # None: a folder
    modified: datetime = DEFAULT_EPOCH

    @property
    def object_format(self) -> int:
        return FORMAT_ASSOCIATION if self.content is None else format_of(self.name)

    def info(self, storage_id: int) -> bytes:
        return ObjectInfo(
            storage_id=storage_id,
            object_format=self.object_format,
            size=len(self.content or b""),
            parent=self.parent,
            filename=self.name,
            modified=self.modified,
        ).pack()

    def facts(self, storage_id: int, unique_base: int) -> ObjectFacts:
        return ObjectFacts(
            handle=self.handle,
            storage_id=storage_id,
            object_format=self.object_format,
            size=len(self.content or b""),
            parent=self.parent,
            name=self.name,
            modified=self.modified,
            unique_id=unique_base + self.handle,
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
        self._next_handle = 1
        self._awaiting_data: tuple[Operation, tuple[int, ...]] | None = None
        self._send_target: int | None = None  # SendObjectInfo's object
        self._unique_base = (
            int.from_bytes(info.serial.encode()[:8].ljust(8, b"\0")) << 32
        )
        for file in files:
            self.add(file)

    # ---- the object tree ---------------------------------------------------------
    def add(self, file: FileSpec) -> list[int]:
        """Store ``file`` (and any missing folders); the new objects' handles."""
        *folders, leaf = [part for part in file.path.split("/") if part]
        parent, created = 0, []
        for folder in folders:
            found = self._child(parent, folder)
            if found is None:
                found = self._new(folder, parent, None)
                created.append(found.handle)
            parent = found.handle
        created.append(self._new(leaf, parent, file.content, file.modified).handle)
        return created

    def files(self) -> dict[str, bytes]:
        """Every file by "/"-separated path, as the phone holds them now."""
        return {
            self._path(item): item.content
            for item in self.objects.values()
            if item.content is not None
        }

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

    def reset(self) -> None:
        self.session = None
        self._awaiting_data = None
        self._send_target = None

    def _child(self, parent: int, name: str) -> _Object | None:
        return next(
            (o for o in self.objects.values() if o.parent == parent and o.name == name),
            None,
        )

    def _new(
        self,
        name: str,
        parent: int,
        content: bytes | None,
        modified: datetime | None = None,
    ) -> _Object:
        item = _Object(
            self._next_handle, name, parent, content, modified or DEFAULT_EPOCH
        )
        self.objects[item.handle] = item
        self._next_handle += 1
        return item

    def _path(self, item: _Object) -> str:
        parts = [item.name]
        while item.parent:
            item = self.objects[item.parent]
            parts.append(item.name)
        return "/".join(reversed(parts))

    # ---- containers ----------------------------------------------------------------
    def handle(self, received: bytes) -> list[bytes]:
        """The containers answering one container: data (if any), then response."""
        kind, code, transaction, payload = parse_container(received)
        if kind is ContainerType.DATA:
            pending, self._awaiting_data = self._awaiting_data, None
            if pending is None or pending[0] != code:
                logger.debug("data phase for 0x%04x with no command: dropped", code)
                return []
            return self._answer(pending[0], transaction, pending[1], payload)
        count = len(payload) // 4
        params = struct.unpack(f"<{count}I", payload[: count * 4])
        try:
            operation = Operation(code)
        except ValueError:
            logger.debug("unsupported PTP operation 0x%04x", code)
            return [self._response(Response.OPERATION_NOT_SUPPORTED, transaction)]
        if operation.mtp_only and not self.info.mtp:
            return [self._response(Response.OPERATION_NOT_SUPPORTED, transaction)]
        if operation not in NEEDS_NO_SESSION and self.session is None:
            return [self._response(Response.SESSION_NOT_OPEN, transaction)]
        if operation in TAKES_DATA:
            self._awaiting_data = (operation, params)
            return []
        return self._answer(operation, transaction, params, b"")

    def _answer(
        self,
        operation: Operation,
        transaction: int,
        params: tuple[int, ...],
        data: bytes,
    ) -> list[bytes]:
        status, answer, out = self._run(operation, params, data)
        reply = b"".join(struct.pack("<I", p) for p in out)
        response = self._response(status, transaction, reply)
        if answer is None:
            return [response]
        return [container(ContainerType.DATA, operation, transaction, answer), response]

    @staticmethod
    def _response(status: Response, transaction: int, params: bytes = b"") -> bytes:
        return container(ContainerType.RESPONSE, status, transaction, params)

    # ---- operations -------------------------------------------------------------------
    def _run(self, operation: Operation, params: tuple[int, ...], data: bytes) -> Reply:
        first = params[0] if params else 0
        if operation is Operation.GET_DEVICE_INFO:
            return Response.OK, self.info.dataset(), ()
        if operation is Operation.OPEN_SESSION:
            if self.session is not None:
                return Response.SESSION_ALREADY_OPEN, None, (self.session,)
            self.session = first
            return Response.OK, None, ()
        if operation is Operation.CLOSE_SESSION:
            self.reset()
            return Response.OK, None, ()
        if operation in (
            Operation.GET_DEVICE_PROP_DESC,
            Operation.GET_DEVICE_PROP_VALUE,
        ):
            return self._device_property(operation, first)
        if operation in STORAGE_OPERATIONS:
            return self._storage_operation(operation, params)
        if operation.mtp_only:
            return self._object_properties(operation, params)
        if operation is Operation.SEND_OBJECT_INFO:
            return self._send_object_info(params, data)
        if operation is Operation.SEND_OBJECT:
            return self._send_object(data)
        return self._object_operation(operation, first)

    def _object_properties(
        self, operation: Operation, params: tuple[int, ...]
    ) -> Reply:
        first = params[0] if params else 0
        second = params[1] if len(params) > 1 else 0
        if operation is Operation.GET_OBJECT_PROPS_SUPPORTED:
            return Response.OK, ptp_array("H", [int(p) for p in ObjectProperty]), ()
        if operation is Operation.GET_OBJECT_PROP_DESC:
            code = supported(first)
            if code is None:
                return Response.INVALID_OBJECT_PROP_CODE, None, ()
            return Response.OK, property_description(code), ()
        every = [self._facts(item) for item in self.objects.values()]
        if operation is Operation.GET_OBJECT_PROP_VALUE:
            code = supported(second)
            found = [f for f in every if f.handle == first]
            if not found:
                return Response.INVALID_OBJECT_HANDLE, None, ()
            if code is None:
                return Response.INVALID_OBJECT_PROP_CODE, None, ()
            return Response.OK, property_value(found[0], code), ()
        code_wanted = params[2] if len(params) > 2 else ALL_PROPERTIES
        if code_wanted != ALL_PROPERTIES and supported(code_wanted) is None:
            return Response.INVALID_OBJECT_PROP_CODE, None, ()
        depth = params[4] if len(params) > 4 else 0
        chosen = selected(every, first, depth)
        return Response.OK, property_list(chosen, code_wanted), ()

    def _facts(self, item: _Object) -> ObjectFacts:
        return item.facts(self.storage.storage_id, self._unique_base)

    def _storage_operation(
        self, operation: Operation, params: tuple[int, ...]
    ) -> Reply:
        if operation is Operation.GET_STORAGE_IDS:
            return Response.OK, ptp_array("I", [self.storage.storage_id]), ()
        storage = params[0] if params else 0
        if storage not in (ALL_STORAGES, self.storage.storage_id):
            return Response.INVALID_STORAGE_ID, None, ()
        if operation is Operation.GET_STORAGE_INFO:
            used = sum(len(o.content or b"") for o in self.objects.values())
            return Response.OK, self.storage.dataset(used), ()
        handles = self._handles(params[2] if len(params) > 2 else ANY_PARENT)
        if operation is Operation.GET_NUM_OBJECTS:
            return Response.OK, None, (len(handles),)
        return Response.OK, ptp_array("I", handles), ()

    def _object_operation(self, operation: Operation, handle: int) -> Reply:
        item = self.objects.get(handle)
        if item is None:
            return Response.INVALID_OBJECT_HANDLE, None, ()
        if operation is Operation.GET_OBJECT_INFO:
            return Response.OK, item.info(self.storage.storage_id), ()
        if operation is Operation.DELETE_OBJECT:
            self._delete(handle)
            return Response.OK, None, ()
        if item.content is None:
            return Response.INVALID_OBJECT_HANDLE, None, ()
        return Response.OK, item.content, ()

    def _send_object_info(self, params: tuple[int, ...], data: bytes) -> Reply:
        parent = params[1] if len(params) > 1 else DEVICE_CHOOSES
        parent = 0 if parent in (ROOT_ONLY, DEVICE_CHOOSES) else parent
        if parent and (parent not in self.objects or self.objects[parent].content):
            return Response.INVALID_PARENT_OBJECT, None, ()
        try:
            described = ObjectInfo.parse(data)
        except (struct.error, IndexError):
            return Response.INVALID_DATASET, None, ()
        content = None if described.folder else b""
        item = self._new(described.filename, parent, content)
        self._send_target = None if described.folder else item.handle
        logger.info("host created %s", self._path(item))
        reply = (self.storage.storage_id, parent or ROOT_ONLY, item.handle)
        return Response.OK, None, reply

    def _send_object(self, data: bytes) -> Reply:
        if self._send_target is None:
            return Response.NO_VALID_OBJECT_INFO, None, ()
        self.objects[self._send_target].content = data
        self._send_target = None
        return Response.OK, None, ()

    def _delete(self, handle: int) -> None:
        for child in [o.handle for o in self.objects.values() if o.parent == handle]:
            self._delete(child)
        del self.objects[handle]

    def _device_property(self, operation: Operation, code: int) -> Reply:
        if code not in self.info.device_properties:
            return Response.DEVICE_PROP_NOT_SUPPORTED, None, ()
        name = ptp_string(self.info.friendly_name or self.info.model)
        if operation is Operation.GET_DEVICE_PROP_VALUE:
            return Response.OK, name, ()
        head = struct.pack("<HHB", code, DATATYPE_STRING, PROPERTY_GET_ONLY)
        return Response.OK, head + name + name + bytes([FORM_NONE]), ()

    def _handles(self, parent: int) -> list[int]:
        if parent == ANY_PARENT:
            return sorted(self.objects)
        wanted = 0 if parent == ROOT_ONLY else parent
        return [h for h, o in sorted(self.objects.items()) if o.parent == wanted]
