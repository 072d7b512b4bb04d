"""A USB/IP server exporting the devices of a :class:`UsbBus`.

One thread accepts; each connection gets a thread. A device list request is
answered and the connection closed. An import turns the connection into a
URB session (:class:`_Session`) until either side closes it; unplugging the
device from the bus closes it from our side, which the importer sees as an
unplug. IN URBs the device cannot answer yet are parked per endpoint and
answered in order once data appears, or cancelled by CMD_UNLINK (usb.md 1.5).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import threading
from collections import deque
from types import TracebackType

from .bus import Attachment, UsbBus
from .device import Setup, StallError
from .usbip_wire import (
    BUSID_SIZE,
    DEFAULT_PORT,
    OP_HEADER,
    OP_STATUS_ERROR,
    URB_HEADER_SIZE,
    DeviceRecord,
    UrbHeader,
    UsbipCommand,
    UsbipOp,
    op_header,
    read_exactly,
    unpadded,
)

__all__ = ["UsbipServer"]

logger = logging.getLogger(__name__)

ENDPOINT_IN = 0x80
DIRECTION_IN = 1


def _record(attachment: Attachment) -> DeviceRecord:
    return DeviceRecord.describe(
        attachment.device.shape,
        busid=attachment.busid,
        busnum=attachment.busnum,
        devnum=attachment.devnum,
        configured=attachment.device.configuration_value,
    )


class _Session:
    """The URB exchange of one imported device."""

    def __init__(self, connection: socket.socket, attachment: Attachment) -> None:
        self.connection = connection
        self.attachment = attachment
        self.device = attachment.device
        self._send_lock = threading.Lock()
        self._parked: dict[int, deque[UrbHeader]] = {}
        self._parked_lock = threading.Lock()

    def run(self) -> None:
        self.device.add_waiter(self.serve_parked)
        try:
            while (raw := read_exactly(self.connection, URB_HEADER_SIZE)) is not None:
                header = UrbHeader.unpack(raw)
                if header.command == UsbipCommand.CMD_SUBMIT:
                    if not self._submit(header):
                        break
                elif header.command == UsbipCommand.CMD_UNLINK:
                    self._unlink(header)
                else:
                    logger.warning(
                        "%s: unknown URB command %d", self.busid, header.command
                    )
                    break
        except OSError as err:
            logger.info("%s: connection ended: %s", self.busid, err)
        finally:
            self.device.remove_waiter(self.serve_parked)
            self.device.reset()  # the next importer finds it unconfigured

    @property
    def busid(self) -> str:
        return self.attachment.busid

    def _submit(self, header: UrbHeader) -> bool:
        outgoing = b""
        if header.direction != DIRECTION_IN and header.length:
            payload = read_exactly(self.connection, header.length)
            if payload is None:
                return False
            outgoing = payload
        if header.endpoint == 0:
            self._control(header, outgoing)
            self.serve_parked()
        elif header.direction == DIRECTION_IN:
            self._bulk_in(header)
        else:
            self._bulk_out(header, outgoing)  # the device wakes serve_parked
        return True

    def _bulk_in(self, header: UrbHeader) -> None:
        """Answer at once when nothing waits before this URB; else park it."""
        with self._parked_lock:
            queue = self._parked.setdefault(header.endpoint, deque())
            if queue:
                queue.append(header)  # behind URBs still waiting for data
                return
            try:
                answer = self.device.bulk_in(
                    header.endpoint | ENDPOINT_IN, header.length
                )
            except StallError:
                self._reply(header, -errno.EPIPE)
                return
            if answer is None:
                queue.append(header)
            else:
                self._reply(header, 0, answer)

    def _control(self, header: UrbHeader, outgoing: bytes) -> None:
        setup = Setup.parse(header.setup)
        try:
            answer = self.device.control(setup, outgoing)
        except StallError as stall:
            logger.debug("%s: control %s stalled: %s", self.busid, setup, stall)
            self._reply(header, -errno.EPIPE)
            return
        if setup.is_in:
            self._reply(header, 0, answer[: header.length])
        else:
            self._reply(header, 0, length=len(outgoing))

    def _bulk_out(self, header: UrbHeader, outgoing: bytes) -> None:
        try:
            self.device.bulk_out(header.endpoint, outgoing)
        except StallError:
            self._reply(header, -errno.EPIPE)
            return
        self._reply(header, 0, length=len(outgoing))

    def serve_parked(self) -> None:
        """Answer parked IN URBs, in order, while the device has data."""
        with self._parked_lock:
            for endpoint, queue in self._parked.items():
                while queue:
                    header = queue[0]
                    address = endpoint | ENDPOINT_IN
                    try:
                        answer = self.device.bulk_in(address, header.length)
                    except StallError:
                        queue.popleft()
                        self._reply(header, -errno.EPIPE)
                        continue
                    if answer is None:
                        break
                    queue.popleft()
                    self._reply(header, 0, answer)

    def _unlink(self, header: UrbHeader) -> None:
        target = header.flags_or_status
        status = 0
        with self._parked_lock:
            for queue in self._parked.values():
                for parked in queue:
                    if parked.seqnum == target:
                        queue.remove(parked)
                        status = -errno.ECONNRESET
                        break
        reply = UrbHeader(
            command=UsbipCommand.RET_UNLINK,
            seqnum=header.seqnum,
            flags_or_status=status,
        )
        with self._send_lock:
            self.connection.sendall(reply.pack())

    def _reply(
        self, header: UrbHeader, status: int, data: bytes = b"", length: int = -1
    ) -> None:
        reply = UrbHeader(
            command=UsbipCommand.RET_SUBMIT,
            seqnum=header.seqnum,
            flags_or_status=status,
            length=len(data) if length < 0 else length,
        )
        with self._send_lock:
            self.connection.sendmsg([reply.pack(), data] if data else [reply.pack()])

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already closed by the peer
            self.connection.shutdown(socket.SHUT_RDWR)


class UsbipServer:
    """Serves ``bus`` on ``host:port``; ``port=0`` picks a free port."""

    def __init__(
        self, bus: UsbBus, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT
    ) -> None:
        self.bus = bus
        self._listener = socket.create_server((host, port), reuse_port=False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepting: threading.Thread | None = None
        bus.subscribe(self._on_bus_event)

    def start(self) -> UsbipServer:
        self._accepting = threading.Thread(
            target=self._accept_loop, name="usbip-accept", daemon=True
        )
        self._accepting.start()
        logger.info("USB/IP server listening on %s:%d", self.host, self.port)
        return self

    def close(self) -> None:
        self.bus.unsubscribe(self._on_bus_event)
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.close()
        for thread in [self._accepting, *self._threads]:
            if thread is not None:
                thread.join(timeout=5)

    def __enter__(self) -> UsbipServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def imported(self) -> list[str]:
        """Bus ids with an importer attached right now."""
        with self._lock:
            return sorted(self._sessions)

    def _on_bus_event(self, event: str, attachment: Attachment) -> None:
        if event != "unplugged":
            return
        with self._lock:
            session = self._sessions.get(attachment.busid)
        if session is not None and session.attachment is attachment:
            logger.info("%s unplugged: closing its USB/IP session", attachment.busid)
            session.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                connection, peer = self._listener.accept()
            except OSError:
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(
                target=self._serve, args=(connection, peer), daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, connection: socket.socket, peer: object) -> None:
        with connection:
            raw = read_exactly(connection, OP_HEADER.size)
            if raw is None:
                return
            _version, code, _status = OP_HEADER.unpack(raw)
            if code == UsbipOp.REQ_DEVLIST:
                self._device_list(connection)
            elif code == UsbipOp.REQ_IMPORT:
                self._import(connection, peer)
            else:
                logger.warning("%s sent unknown operation 0x%04x", peer, code)

    def _device_list(self, connection: socket.socket) -> None:
        attachments = self.bus.attachments()
        records = [_record(a).pack(with_interfaces=True) for a in attachments]
        body = len(records).to_bytes(4, "big") + b"".join(records)
        connection.sendall(op_header(UsbipOp.REP_DEVLIST) + body)

    def _import(self, connection: socket.socket, peer: object) -> None:
        raw = read_exactly(connection, BUSID_SIZE)
        busid = unpadded(raw or b"")
        attachment = self.bus.find(busid)
        with self._lock:
            busy = busid in self._sessions
            session = (
                None if attachment is None or busy else _Session(connection, attachment)
            )
            if session is not None:
                self._sessions[busid] = session
        if session is None or attachment is None:
            reason = "already imported" if busy else "not exported"
            logger.warning("%s asked to import %s: %s", peer, busid, reason)
            connection.sendall(op_header(UsbipOp.REP_IMPORT, OP_STATUS_ERROR))
            return
        record = _record(attachment).pack(with_interfaces=False)
        connection.sendall(op_header(UsbipOp.REP_IMPORT) + record)
        logger.info("%s imported %s", peer, busid)
        try:
            session.run()
        finally:
            with self._lock:
                self._sessions.pop(busid, None)
            logger.info("%s released %s", peer, busid)
