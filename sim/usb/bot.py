"""USB Mass Storage Bulk-Only Transport: CBW in, data, CSW out (usb.md 3.2-3.6).

Bulk IN is a byte stream of chunks: a command's data, then its CSW. An IN
transfer never spans two chunks, so the data phase ends short and the CSW
arrives in the next transfer, as the host expects.
"""

from __future__ import annotations

import enum
import logging
import struct
from collections import deque
from dataclasses import dataclass

from .descriptors import (
    Configuration,
    DeviceShape,
    Endpoint,
    Interface,
    TransferType,
)
from .device import InQueue, RequestKind, Setup, StallError, UsbDevice
from .scsi import ScsiLogicalUnit

__all__ = [
    "BULK_IN",
    "BULK_OUT",
    "BotFault",
    "BulkOnlyDevice",
    "CommandBlockWrapper",
    "CswStatus",
    "mass_storage_configuration",
]

logger = logging.getLogger(__name__)

CLASS_MASS_STORAGE = 0x08
SUBCLASS_SCSI_TRANSPARENT = 0x06
PROTOCOL_BULK_ONLY = 0x50
BULK_IN = 0x81
BULK_OUT = 0x02
HIGH_SPEED_BULK_PACKET = 512
REQUEST_RESET = 0xFF  # Bulk-Only Mass Storage Reset (class, interface, OUT)
REQUEST_GET_MAX_LUN = 0xFE  # class, interface, IN; one byte, highest LUN
CBW_SIGNATURE = 0x43425355  # "USBC"
CSW_SIGNATURE = 0x53425355  # "USBS"
CBW_LENGTH = 31
CBW_FLAG_IN = 0x80
CBW_FORMAT = "<IIIBBB16s"


class CswStatus(enum.IntEnum):
    PASSED = 0
    FAILED = 1
    PHASE_ERROR = 2


class BotFault(enum.Enum):
    """A misbehaviour to inject into the next command, as flaky sticks do."""

    PHASE_ERROR = "phase-error"  # stall the data phase, then CSW status 2
    STALL = "stall"  # stall both pipes until Reset Recovery
    SILENCE = "silence"  # never answer: the host times out


@dataclass(frozen=True, kw_only=True)
class CommandBlockWrapper:
    tag: int
    data_length: int
    data_in: bool
    lun: int
    cdb: bytes

    @classmethod
    def parse(cls, raw: bytes) -> CommandBlockWrapper | None:
        """The CBW, or None when it is not a meaningful one."""
        if len(raw) != CBW_LENGTH:
            return None
        signature, tag, length, flags, lun, cb_length, cdb = struct.unpack(
            CBW_FORMAT, raw
        )
        if signature != CBW_SIGNATURE or not 1 <= cb_length <= 16:
            return None
        return cls(
            tag=tag,
            data_length=length,
            data_in=bool(flags & CBW_FLAG_IN),
            lun=lun & 0x0F,
            cdb=cdb[:cb_length],
        )

    def pack(self) -> bytes:
        flags = CBW_FLAG_IN if self.data_in else 0
        cdb = self.cdb.ljust(16, b"\0")
        return struct.pack(
            CBW_FORMAT,
            CBW_SIGNATURE,
            self.tag,
            self.data_length,
            flags,
            self.lun,
            len(self.cdb),
            cdb,
        )


def command_status_wrapper(tag: int, residue: int, status: CswStatus) -> bytes:
    return struct.pack("<IIIB", CSW_SIGNATURE, tag, residue, status)


def mass_storage_configuration(max_power_ma: int = 200) -> Configuration:
    """One interface 08/06/50 with a bulk IN and a bulk OUT endpoint."""
    endpoints = (
        Endpoint(
            address=BULK_IN,
            transfer=TransferType.BULK,
            max_packet=HIGH_SPEED_BULK_PACKET,
        ),
        Endpoint(
            address=BULK_OUT,
            transfer=TransferType.BULK,
            max_packet=HIGH_SPEED_BULK_PACKET,
        ),
    )
    interface = Interface(
        number=0,
        interface_class=CLASS_MASS_STORAGE,
        subclass=SUBCLASS_SCSI_TRANSPARENT,
        protocol=PROTOCOL_BULK_ONLY,
        endpoints=endpoints,
    )
    return Configuration(interfaces=(interface,), max_power_ma=max_power_ma)


class BulkOnlyDevice(UsbDevice):
    """A mass-storage device: SCSI logical units behind Bulk-Only Transport."""

    kind = "mass-storage"

    def __init__(self, shape: DeviceShape, units: list[ScsiLogicalUnit]) -> None:
        super().__init__(shape)
        if not units:
            raise ValueError("a mass-storage device needs at least one logical unit")
        self.units = units
        self._outgoing = InQueue()
        self._awaiting_data_out: CommandBlockWrapper | None = None
        self._data_out = bytearray()
        self._awaiting_reset = False
        self._faults: deque[BotFault] = deque()

    def inject_fault(self, fault: BotFault) -> None:
        """Make the next command (after any queued faults) fail this way."""
        with self._lock:
            self._faults.append(fault)

    # ---- class requests ------------------------------------------------------
    def class_request(self, setup: Setup, data: bytes) -> bytes:
        if setup.kind is RequestKind.CLASS and setup.request == REQUEST_GET_MAX_LUN:
            return bytes([len(self.units) - 1])
        if setup.kind is RequestKind.CLASS and setup.request == REQUEST_RESET:
            self._reset_transport()
            return b""
        return super().class_request(setup, data)

    def on_configured(self) -> None:
        self._reset_transport()
        for unit in self.units:
            unit.power_on_reset()

    def on_reset(self) -> None:
        self.on_configured()

    def on_clear_halt(self, address: int) -> None:
        if self._awaiting_reset and address == BULK_IN:
            self.halt(BULK_IN)  # stays stalled until Reset Recovery (BOT 6.6.1)

    # ---- bulk pipes ---------------------------------------------------------------
    def receive(self, address: int, data: bytes) -> None:
        if address != BULK_OUT:
            raise StallError(f"no OUT endpoint 0x{address:02x}")
        if self._awaiting_reset:
            return
        if self._awaiting_data_out is not None:
            self._collect_data_out(data)
            return
        cbw = CommandBlockWrapper.parse(data)
        if cbw is None:
            logger.info("%s: invalid CBW (%d bytes); stalling", self.serial, len(data))
            self._awaiting_reset = True
            self.halt(BULK_IN)
            return
        if cbw.lun >= len(self.units):
            self.halt(BULK_IN)
            self.halt(BULK_OUT)
            return
        if not cbw.data_in and cbw.data_length:
            self._awaiting_data_out = cbw
            return
        self._run(cbw, b"")

    def transmit(self, address: int, length: int) -> bytes | None:
        if address != BULK_IN:
            raise StallError(f"no IN endpoint 0x{address:02x}")
        return self._outgoing.take(length)

    # ---- the command phases ----------------------------------------------------------
    def _collect_data_out(self, data: bytes) -> None:
        cbw = self._awaiting_data_out
        assert cbw is not None
        self._data_out += data
        if len(self._data_out) < cbw.data_length:
            return
        payload = bytes(self._data_out)
        self._awaiting_data_out = None
        self._data_out.clear()
        self._run(cbw, payload)

    def _run(self, cbw: CommandBlockWrapper, data_out: bytes) -> None:
        if self._faults:
            self._misbehave(self._faults.popleft(), cbw)
            return
        reply = self.units[cbw.lun].execute(cbw.cdb, data_out)
        produced = len(reply.data)
        expected = cbw.data_length
        if produced and (not cbw.data_in or produced > expected):
            status, sent = CswStatus.PHASE_ERROR, reply.data[:expected]
            if not cbw.data_in:
                sent = b""
        else:
            status = CswStatus.PASSED if reply.ok else CswStatus.FAILED
            sent = reply.data
        if cbw.data_in and expected:
            if sent:
                self._outgoing.push(sent)
            else:
                self.halt(BULK_IN)  # nothing to send: stall, the host clears it
        if cbw.data_in or not data_out:
            residue = expected - len(sent)
        else:
            residue = 0 if reply.ok else expected
        self._outgoing.push(command_status_wrapper(cbw.tag, residue, status))

    def _misbehave(self, fault: BotFault, cbw: CommandBlockWrapper) -> None:
        logger.info("%s: injected %s on tag %d", self.serial, fault.value, cbw.tag)
        if fault is BotFault.STALL:
            self._awaiting_reset = True
            self.halt(BULK_IN)
            self.halt(BULK_OUT)
        elif fault is BotFault.PHASE_ERROR:
            if cbw.data_in and cbw.data_length:
                self.halt(BULK_IN)
            residue = cbw.data_length
            self._outgoing.push(
                command_status_wrapper(cbw.tag, residue, CswStatus.PHASE_ERROR)
            )

    def _reset_transport(self) -> None:
        self._outgoing.clear()
        self._awaiting_data_out = None
        self._data_out.clear()
        self._awaiting_reset = False
