"""The in-process pyusb backend: ``usb.core.find(backend=InProcessBackend(bus))``.

No root, no sockets: transfers are method calls on the device models. A bulk
IN with nothing to send times out after the caller's timeout would have
elapsed on hardware; we return at once, since nothing can arrive meanwhile.
"""

from __future__ import annotations

import usb.core

from .bus import Attachment, UsbBus
from .device import Setup, StallError
from .pyusb_adapter import DescriptorBackend, DeviceLocation, gone_error, stall_error

__all__ = ["InProcessBackend"]


class InProcessBackend(DescriptorBackend):
    """Enumerates the devices plugged into a :class:`UsbBus`."""

    def __init__(self, bus: UsbBus) -> None:
        super().__init__()
        self.bus = bus

    def enumerate_devices(self) -> list[DeviceLocation]:
        return [_location(a) for a in self.bus.attachments()]

    def _attachment(self, location: DeviceLocation) -> Attachment:
        attachment = self.bus.find(location.key)
        if attachment is None or attachment.devnum != location.devnum:
            raise gone_error(location)
        return attachment

    def _control(self, location: DeviceLocation, setup: Setup, data: bytes) -> bytes:
        device = self._attachment(location).device
        try:
            return device.control(setup, data)
        except StallError as stall:
            raise stall_error(stall) from stall

    def _write(self, location: DeviceLocation, endpoint: int, data: bytes) -> int:
        device = self._attachment(location).device
        try:
            device.bulk_out(endpoint, data)
        except StallError as stall:
            raise stall_error(stall) from stall
        return len(data)

    def _read(
        self, location: DeviceLocation, endpoint: int, length: int, timeout: int
    ) -> bytes:
        device = self._attachment(location).device
        try:
            answer = device.bulk_in(endpoint, length)
        except StallError as stall:
            raise stall_error(stall) from stall
        if answer is None:
            raise usb.core.USBTimeoutError(
                f"Operation timed out: endpoint 0x{endpoint:02x} has nothing to send",
                errno=110,
            )
        return answer


def _location(attachment: Attachment) -> DeviceLocation:
    return DeviceLocation(
        busnum=attachment.busnum,
        devnum=attachment.devnum,
        port=attachment.port,
        speed=attachment.device.speed,
        key=attachment.busid,
    )
