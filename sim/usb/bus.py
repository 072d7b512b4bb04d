"""A root hub with numbered ports: where simulated devices are plugged in.

Both backends read the same bus, so a device plugged from code appears on
the in-process pyusb backend and in the USB/IP server's device list, and an
unplug removes it from both (the USB/IP server closes an importer's socket).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .device import UsbDevice

__all__ = ["Attachment", "BusError", "UsbBus"]

logger = logging.getLogger(__name__)

FIRST_DEVICE_ADDRESS = 2  # address 1 is the root hub on Linux


class BusError(Exception):
    """A port is taken, or no device sits where one was expected."""


@dataclass(frozen=True)
class Attachment:
    """A device in a port. ``devnum`` is new on every plug, as on real hubs."""

    busnum: int
    port: int
    devnum: int
    device: UsbDevice

    @property
    def busid(self) -> str:
        return f"{self.busnum}-{self.port}"


Listener = Callable[[str, Attachment], None]  # ("plugged" | "unplugged", where)


class UsbBus:
    def __init__(self, busnum: int = 1, ports: int = 15) -> None:
        self.busnum = busnum
        self.ports = ports
        self._attached: dict[int, Attachment] = {}
        self._next_address = FIRST_DEVICE_ADDRESS
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def plug(self, device: UsbDevice, port: int | None = None) -> Attachment:
        """Connect ``device``; the first free port unless ``port`` is given."""
        with self._lock:
            if port is None:
                port = next(
                    (p for p in range(1, self.ports + 1) if p not in self._attached), 0
                )
            if not 1 <= port <= self.ports or port in self._attached:
                raise BusError(f"port {port} of bus {self.busnum} is taken or absent")
            attachment = Attachment(self.busnum, port, self._next_address, device)
            self._next_address = self._next_address % 127 + 1
            self._attached[port] = attachment
            device.reset()
            device.connect(self._reconnector(attachment.busid))
        logger.info("plugged %s into %s", device.serial, attachment.busid)
        self._tell("plugged", attachment)
        return attachment

    def unplug(self, busid: str) -> Attachment:
        """Pull the device out of port ``busid`` (e.g. ``1-2``); it loses power."""
        attachment = self.detach(busid)
        attachment.device.disconnect()
        return attachment

    def reconnect(self, busid: str) -> Attachment:
        """The device in ``busid`` drops off the bus and enumerates again."""
        attachment = self.detach(busid)
        return self.plug(attachment.device, port=attachment.port)

    def _reconnector(self, busid: str) -> Callable[[], None]:
        def reconnect() -> None:
            self.reconnect(busid)

        return reconnect

    def detach(self, busid: str) -> Attachment:
        """Take the device off this bus with its power kept (a hypervisor's grab)."""
        with self._lock:
            attachment = self.find(busid)
            if attachment is None:
                raise BusError(f"nothing is plugged into {busid}")
            del self._attached[attachment.port]
            attachment.device.release()
        logger.info("unplugged %s from %s", attachment.device.serial, busid)
        self._tell("unplugged", attachment)
        return attachment

    def find(self, busid: str) -> Attachment | None:
        for attachment in list(self._attached.values()):
            if attachment.busid == busid:
                return attachment
        return None

    def attachments(self) -> list[Attachment]:
        with self._lock:
            return [self._attached[port] for port in sorted(self._attached)]

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _tell(self, event: str, attachment: Attachment) -> None:
        for listener in list(self._listeners):
            listener(event, attachment)
