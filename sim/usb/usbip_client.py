"""A pyusb backend that imports devices from a USB/IP server.

``usb.core.find(find_all=True, backend=UsbipClientBackend("10.0.0.5"))``
lists the server's devices (OP_REQ_DEVLIST on every enumeration, so plugs
and unplugs show up) and imports a device on first use. The descriptors,
string indices included, are read over endpoint 0 of the imported device,
so nothing the device record lacks gets lost. One URB is in flight at a time.
"""

from __future__ import annotations

import errno
import itertools
import logging
import socket
import threading
from types import TracebackType

import usb.core

from .device import Setup
from .pyusb_adapter import DescriptorBackend, DeviceLocation, gone_error, stall_error
from .usbip_wire import (
    BUSID_SIZE,
    DEFAULT_PORT,
    DEVICE_RECORD_SIZE,
    OP_HEADER,
    URB_HEADER_SIZE,
    DeviceRecord,
    UrbHeader,
    UsbipCommand,
    UsbipOp,
    op_header,
    padded,
    read_exactly,
)

__all__ = ["UsbipClientBackend", "UsbipClientError"]

logger = logging.getLogger(__name__)

INTERFACE_RECORD_SIZE = 4
DIRECTION_OUT = 0
DIRECTION_IN = 1


class UsbipClientError(usb.core.USBError):  # type: ignore[misc]
    """The server refused or broke the USB/IP exchange."""


def _receive(connection: socket.socket, size: int) -> bytes:
    received = read_exactly(connection, size)
    if received is None:
        raise ConnectionResetError("the USB/IP server closed the connection")
    return received


class _Import:
    """One imported device: its socket and URB sequence numbers."""

    def __init__(self, connection: socket.socket, record: DeviceRecord) -> None:
        self.connection = connection
        self.record = record
        self.seqnums = itertools.count(1)
        self.lock = threading.Lock()

    def transfer(
        self,
        *,
        endpoint: int,
        direction: int,
        length: int,
        data: bytes = b"",
        setup: bytes = bytes(8),
        timeout_ms: int = 0,
    ) -> tuple[int, bytes]:
        """(status, IN data) of one URB; unlinks it if the timeout passes."""
        with self.lock:
            seqnum = next(self.seqnums)
            submit = UrbHeader(
                command=UsbipCommand.CMD_SUBMIT,
                seqnum=seqnum,
                devid=self.record.devid,
                direction=direction,
                endpoint=endpoint,
                length=length,
                setup=setup,
            )
            self.connection.settimeout(timeout_ms / 1000 if timeout_ms else None)
            self.connection.sendall(submit.pack() + data)
            try:
                return self._await(seqnum, direction)
            except TimeoutError:
                self.connection.settimeout(None)
                return self._cancel(seqnum)

    def _await(self, seqnum: int, direction: int) -> tuple[int, bytes]:
        header = UrbHeader.unpack(_receive(self.connection, URB_HEADER_SIZE))
        if header.command != UsbipCommand.RET_SUBMIT or header.seqnum != seqnum:
            raise UsbipClientError(f"expected RET_SUBMIT {seqnum}, got {header}")
        if direction != DIRECTION_IN or not header.length:
            return header.status, b""
        return header.status, _receive(self.connection, header.length)

    def _cancel(self, seqnum: int) -> tuple[int, bytes]:
        unlink_seqnum = next(self.seqnums)
        unlink = UrbHeader(
            command=UsbipCommand.CMD_UNLINK,
            seqnum=unlink_seqnum,
            devid=self.record.devid,
            flags_or_status=seqnum,
        )
        self.connection.sendall(unlink.pack())
        result: tuple[int, bytes] = (-errno.ETIMEDOUT, b"")
        while True:
            header = UrbHeader.unpack(_receive(self.connection, URB_HEADER_SIZE))
            if header.command == UsbipCommand.RET_UNLINK:
                return result
            # The URB completed before the unlink arrived: its answer stands.
            data = _receive(self.connection, header.length) if header.length else b""
            result = (header.status, data)

    def close(self) -> None:
        self.connection.close()


class UsbipClientBackend(DescriptorBackend):
    """pyusb's view of the devices a USB/IP server exports."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, timeout: float = 5.0
    ) -> None:
        super().__init__()
        self.host, self.port, self.timeout = host, port, timeout
        self._imports: dict[str, _Import] = {}

    def __enter__(self) -> UsbipClientBackend:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Detach every imported device."""
        for imported in self._imports.values():
            imported.close()
        self._imports.clear()

    def _connect(self) -> socket.socket:
        try:
            connection = socket.create_connection(
                (self.host, self.port), timeout=self.timeout
            )
        except OSError as err:
            raise UsbipClientError(
                f"cannot reach a USB/IP server at {self.host}:{self.port} ({err}); "
                "is `secrmm-sim usbip serve` running there?"
            ) from err
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def device_records(self) -> list[DeviceRecord]:
        """The server's device list (OP_REQ_DEVLIST)."""
        with self._connect() as connection:
            connection.sendall(op_header(UsbipOp.REQ_DEVLIST))
            _version, code, status = OP_HEADER.unpack(
                _receive(connection, OP_HEADER.size)
            )
            if code != UsbipOp.REP_DEVLIST or status:
                raise UsbipClientError(f"device list refused (status {status})")
            count = int.from_bytes(_receive(connection, 4), "big")
            records = []
            for _ in range(count):
                raw = _receive(connection, DEVICE_RECORD_SIZE)
                interfaces = _receive(connection, raw[-1] * INTERFACE_RECORD_SIZE)
                records.append(DeviceRecord.unpack(raw, interfaces))
            return records

    def enumerate_devices(self) -> list[DeviceLocation]:
        records = self.device_records()
        listed = {(r.busid, r.devnum) for r in records}
        for busid, imported in list(self._imports.items()):
            if (busid, imported.record.devnum) not in listed:
                imported.close()
                del self._imports[busid]
        return [
            DeviceLocation(
                busnum=r.busnum,
                devnum=r.devnum,
                port=int(r.busid.rpartition("-")[2] or 0),
                speed=r.speed,
                key=r.busid,
            )
            for r in records
        ]

    def _import(self, location: DeviceLocation) -> _Import:
        imported = self._imports.get(location.key)
        if imported is not None:
            return imported
        connection = self._connect()
        connection.sendall(
            op_header(UsbipOp.REQ_IMPORT) + padded(location.key, BUSID_SIZE)
        )
        _version, code, status = OP_HEADER.unpack(_receive(connection, OP_HEADER.size))
        if code != UsbipOp.REP_IMPORT or status:
            connection.close()
            raise UsbipClientError(
                f"the server refused to export {location.key} (status {status}); "
                "another client may hold it: detach it there first"
            )
        record = DeviceRecord.unpack(_receive(connection, DEVICE_RECORD_SIZE))
        connection.settimeout(None)
        imported = _Import(connection, record)
        self._imports[location.key] = imported
        logger.info("imported %s from %s:%d", location.key, self.host, self.port)
        return imported

    def _urb(
        self,
        location: DeviceLocation,
        *,
        endpoint: int,
        direction: int,
        length: int,
        data: bytes = b"",
        setup: bytes = bytes(8),
        timeout_ms: int = 0,
    ) -> bytes:
        imported = self._import(location)
        try:
            status, answer = imported.transfer(
                endpoint=endpoint,
                direction=direction,
                length=length,
                data=data,
                setup=setup,
                timeout_ms=timeout_ms,
            )
        except OSError as err:
            self._imports.pop(location.key, None)
            imported.close()
            raise gone_error(location) from err
        if status == -errno.EPIPE:
            raise stall_error(f"endpoint stalled on {location.key}")
        if status == -errno.ETIMEDOUT:
            raise usb.core.USBTimeoutError("Operation timed out", errno=errno.ETIMEDOUT)
        if status:
            raise usb.core.USBError(f"URB failed with errno {-status}", errno=-status)
        return answer

    def _control(self, location: DeviceLocation, setup: Setup, data: bytes) -> bytes:
        direction = DIRECTION_IN if setup.is_in else DIRECTION_OUT
        return self._urb(
            location,
            endpoint=0,
            direction=direction,
            length=setup.length,
            data=data,
            setup=setup.pack(),
        )

    def _write(self, location: DeviceLocation, endpoint: int, data: bytes) -> int:
        self._urb(
            location,
            endpoint=endpoint & 0x0F,
            direction=DIRECTION_OUT,
            length=len(data),
            data=data,
        )
        return len(data)

    def _read(
        self, location: DeviceLocation, endpoint: int, length: int, timeout: int
    ) -> bytes:
        return self._urb(
            location,
            timeout_ms=timeout,
            endpoint=endpoint & 0x0F,
            direction=DIRECTION_IN,
            length=length,
        )
