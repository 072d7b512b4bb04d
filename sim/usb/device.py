"""The transport-free core of every simulated device: endpoint 0 and halts.

A device model subclasses :class:`UsbDevice` and overrides the hooks
(``class_request``, ``receive``, ``transmit``, ``on_configured``). Backends
(in-process pyusb, USB/IP) call only :meth:`UsbDevice.control`,
:meth:`UsbDevice.bulk_out`, :meth:`UsbDevice.bulk_in` and
:meth:`UsbDevice.reset`; the device never learns which one is driving it.
"""

from __future__ import annotations

import enum
import logging
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .descriptors import (
    DescriptorType,
    DeviceShape,
    Speed,
    StringTable,
    configuration_descriptor,
    device_descriptor,
    device_qualifier_descriptor,
)

__all__ = [
    "InQueue",
    "RequestKind",
    "Setup",
    "StallError",
    "StandardRequest",
    "UsbDevice",
]

logger = logging.getLogger(__name__)

FEATURE_ENDPOINT_HALT = 0  # wValue of CLEAR_FEATURE/SET_FEATURE for an endpoint
RECIPIENT_ENDPOINT = 2  # bmRequestType bits 0-4


class StandardRequest(enum.IntEnum):
    GET_STATUS = 0x00
    CLEAR_FEATURE = 0x01
    SET_FEATURE = 0x03
    GET_DESCRIPTOR = 0x06
    GET_CONFIGURATION = 0x08
    SET_CONFIGURATION = 0x09
    GET_INTERFACE = 0x0A
    SET_INTERFACE = 0x0B


class RequestKind(enum.IntEnum):
    """bmRequestType bits 5-6."""

    STANDARD = 0
    CLASS = 1
    VENDOR = 2


class StallError(Exception):
    """The device answers a transfer with STALL (a protocol-level refusal)."""


@dataclass(frozen=True, kw_only=True)
class Setup:
    """The 8-byte setup packet of a control transfer."""

    request_type: int
    request: int
    value: int
    index: int
    length: int

    @classmethod
    def parse(cls, raw: bytes) -> Setup:
        request_type, request, value, index, length = struct.unpack("<BBHHH", raw)
        return cls(
            request_type=request_type,
            request=request,
            value=value,
            index=index,
            length=length,
        )

    def pack(self) -> bytes:
        return struct.pack(
            "<BBHHH",
            self.request_type,
            self.request,
            self.value,
            self.index,
            self.length,
        )

    @property
    def is_in(self) -> bool:
        return bool(self.request_type & 0x80)

    @property
    def kind(self) -> RequestKind:
        return RequestKind((self.request_type >> 5) & 0x03)

    @property
    def recipient(self) -> int:
        return self.request_type & 0x1F


class InQueue:
    """What an IN pipe has to send, as chunks a transfer never spans.

    A transfer takes at most one chunk (or the front part of it), so a data
    phase ends short and the status that follows arrives in the next one.
    """

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()

    def push(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    def take(self, length: int) -> bytes | None:
        """Up to ``length`` bytes of the front chunk; None when empty."""
        if not self._chunks:
            return None
        chunk = self._chunks[0]
        if len(chunk) <= length:
            return self._chunks.popleft()
        self._chunks[0] = chunk[length:]
        return chunk[:length]

    def clear(self) -> None:
        self._chunks.clear()


class UsbDevice:
    """Endpoint 0, configuration state and endpoint halts; a base for models."""

    kind = "device"  # a short label the catalogue and CLI show

    def __init__(self, shape: DeviceShape) -> None:
        self.shape = shape
        self.strings = StringTable.for_shape(shape)
        self.configuration_value = 0
        self._halted: set[int] = set()
        self._lock = threading.RLock()
        self._waiters: list[Callable[[], None]] = []
        self._reconnectors: list[Callable[[], None]] = []

    @property
    def speed(self) -> Speed:
        return self.shape.speed

    @property
    def serial(self) -> str:
        return self.shape.serial

    # ---- what backends call -------------------------------------------------
    def control(self, setup: Setup, data: bytes = b"") -> bytes:
        """Run a control transfer; IN answers are cut to ``wLength``."""
        with self._lock:
            if setup.kind is RequestKind.STANDARD:
                answer = self._standard_request(setup)
            else:
                answer = self.class_request(setup, data)
        return answer[: setup.length] if setup.is_in else b""

    def bulk_out(self, address: int, data: bytes) -> None:
        with self._lock:
            self._refuse_if_halted(address)
            self.receive(address, data)
        self._wake()

    def bulk_in(self, address: int, length: int) -> bytes | None:
        """Up to ``length`` bytes, or None when the endpoint has nothing yet."""
        with self._lock:
            self._refuse_if_halted(address)
            return self.transmit(address, length)

    def reset(self) -> None:
        """Port reset: back to the unconfigured state."""
        with self._lock:
            self.configuration_value = 0
            self._halted.clear()
            self.on_reset()

    def add_waiter(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever IN data may have become available."""
        self._waiters.append(wake)

    def remove_waiter(self, wake: Callable[[], None]) -> None:
        if wake in self._waiters:
            self._waiters.remove(wake)

    def connect(self, reconnect: Callable[[], None]) -> None:
        """Plugged in: ``reconnect`` re-enumerates the device on its port."""
        self._reconnectors = [reconnect]

    def release(self) -> None:
        """Off its bus (power kept): nothing to re-enumerate on until replugged."""
        self._reconnectors = []

    def disconnect(self) -> None:
        """Pulled out: the device loses power."""
        self.release()
        self.on_power_loss()

    def request_reenumeration(self) -> None:
        """Drop off the bus and come back (with power kept), as a device may."""
        for reconnect in list(self._reconnectors):
            reconnect()

    # ---- what models use ------------------------------------------------------
    def halt(self, address: int) -> None:
        self._halted.add(address)

    def is_halted(self, address: int) -> bool:
        return address in self._halted

    def _wake(self) -> None:
        for wake in list(self._waiters):
            wake()

    # ---- hooks for models -------------------------------------------------------
    def class_request(self, setup: Setup, data: bytes) -> bytes:
        raise StallError(f"no class or vendor request 0x{setup.request:02x}")

    def receive(self, address: int, data: bytes) -> None:
        raise StallError(f"endpoint 0x{address:02x} takes no data")

    def transmit(self, address: int, length: int) -> bytes | None:
        raise StallError(f"endpoint 0x{address:02x} sends no data")

    def string_descriptor(self, index: int) -> bytes | None:
        return self.strings.descriptor(index)

    def on_configured(self) -> None:
        """Called after SET_CONFIGURATION (also with the same value again)."""

    def on_reset(self) -> None:
        """Called after a port reset."""

    def on_power_loss(self) -> None:
        """Called when the device is unplugged."""

    def on_clear_halt(self, address: int) -> None:
        """Called after the host clears a halt on ``address``."""

    # ---- chapter 9 ----------------------------------------------------------------
    def _refuse_if_halted(self, address: int) -> None:
        if address in self._halted:
            raise StallError(f"endpoint 0x{address:02x} is halted")

    def _standard_request(self, setup: Setup) -> bytes:
        request = setup.request
        if request == StandardRequest.GET_DESCRIPTOR:
            return self._descriptor(setup.value >> 8, setup.value & 0xFF)
        if request == StandardRequest.SET_CONFIGURATION:
            return self._set_configuration(setup.value & 0xFF)
        if request == StandardRequest.GET_CONFIGURATION:
            return bytes([self.configuration_value])
        if request == StandardRequest.GET_STATUS:
            return self._status(setup)
        if request in (StandardRequest.CLEAR_FEATURE, StandardRequest.SET_FEATURE):
            return self._feature(setup)
        if request == StandardRequest.SET_INTERFACE:
            return self._set_interface(setup.index, setup.value)
        if request == StandardRequest.GET_INTERFACE:
            return b"\x00"
        raise StallError(f"unsupported standard request 0x{request:02x}")

    def _descriptor(self, kind: int, index: int) -> bytes:
        if kind == DescriptorType.DEVICE:
            return device_descriptor(self.shape, self.strings)
        if kind == DescriptorType.CONFIGURATION and index == 0:
            return configuration_descriptor(self.shape, self.strings)
        if kind == DescriptorType.STRING:
            found = self.string_descriptor(index)
            if found is not None:
                return found
        if kind == DescriptorType.DEVICE_QUALIFIER and self.speed is Speed.HIGH:
            return device_qualifier_descriptor(self.shape)
        raise StallError(f"no descriptor type 0x{kind:02x} index {index}")

    def _set_configuration(self, value: int) -> bytes:
        if value not in (0, self.shape.configuration.value):
            raise StallError(f"no configuration {value}")
        self.configuration_value = value
        self._halted.clear()
        if value:
            logger.debug("%s configured", self.shape.serial)
            self.on_configured()
        return b""

    def _set_interface(self, number: int, alternate: int) -> bytes:
        for interface in self.shape.interfaces:
            if interface.number == number and interface.alternate == alternate:
                return b""
        raise StallError(f"no interface {number} alternate {alternate}")

    def _status(self, setup: Setup) -> bytes:
        if setup.recipient == RECIPIENT_ENDPOINT:
            return struct.pack("<H", int(setup.index in self._halted))
        self_powered = self.shape.configuration.self_powered
        return struct.pack("<H", int(self_powered))

    def _feature(self, setup: Setup) -> bytes:
        if setup.recipient != RECIPIENT_ENDPOINT:
            return b""  # remote wake-up and test modes: accepted, nothing to do
        if setup.value != FEATURE_ENDPOINT_HALT:
            raise StallError(f"unknown endpoint feature {setup.value}")
        address = setup.index & 0xFF
        if setup.request == StandardRequest.SET_FEATURE:
            self._halted.add(address)
        else:
            self._halted.discard(address)
            self.on_clear_halt(address)
        return b""
