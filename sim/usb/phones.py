"""Phones: an Android MTP phone and an iPhone-style PTP camera (usb.md section 4).

Both expose a Still Image interface (06/01/01) with bulk IN, bulk OUT and an
interrupt IN event pipe (older Android kernels used a vendor interface,
FF/FF/00, instead: ``DeviceSpec.legacy_mtp_interface``). The Android phone
names it "MTP" and answers the
Microsoft OS 1.0 descriptors (string 0xEE, then the Extended Compat ID
"MTP"), which is how Windows binds its MTP driver without an INF. The iPhone
has no MTP and no OS string (it STALLs 0xEE); Windows shows it as a PTP
camera. It also carries Apple's usbmux interface (FF/FE/02), which this
simulator leaves silent.
"""

from __future__ import annotations

import struct

from .catalogue import DeviceKind, DeviceSpec
from .descriptors import Configuration, DeviceShape, Endpoint, Interface, TransferType
from .device import InQueue, RequestKind, Setup, StallError, UsbDevice
from .fat32 import FileSpec
from .ptp import PtpResponder
from .ptp_wire import DeviceInfo, StorageInfo

__all__ = ["PhoneDevice", "build_phone"]

CLASS_STILL_IMAGE = 0x06
SUBCLASS_STILL_IMAGE_CAPTURE = 0x01
PROTOCOL_PIMA_15740 = 0x01
CLASS_VENDOR = 0xFF
SUBCLASS_VENDOR = 0xFF
PROTOCOL_VENDOR_MTP = 0x00
SUBCLASS_APPLE_USBMUX = 0xFE
PROTOCOL_APPLE_USBMUX = 0x02
PTP_BULK_IN = 0x81
PTP_BULK_OUT = 0x01
PTP_EVENTS = 0x82
USBMUX_BULK_IN = 0x83
USBMUX_BULK_OUT = 0x02
HIGH_SPEED_BULK_PACKET = 512
EVENT_PACKET = 28
EVENT_INTERVAL = 6
MS_OS_STRING_INDEX = 0xEE
MS_VENDOR_CODE = 0x01  # what Android puts in its OS string
MS_EXTENDED_COMPAT_ID = 0x0004  # wIndex of the Extended Compat ID request
REQUEST_CANCEL = 0x64  # Still Image class requests
REQUEST_DEVICE_RESET = 0x66
REQUEST_GET_DEVICE_STATUS = 0x67
STORAGE_ID = 0x00010001
PHONE_CAPACITY = 64 << 30


def _bulk(address: int) -> Endpoint:
    return Endpoint(
        address=address, transfer=TransferType.BULK, max_packet=HIGH_SPEED_BULK_PACKET
    )


def _phone_shape(spec: DeviceSpec) -> DeviceShape:
    android = spec.kind is DeviceKind.ANDROID_PHONE
    vendor_mtp = android and spec.legacy_mtp_interface
    interfaces = [
        Interface(
            number=0,
            interface_class=CLASS_VENDOR if vendor_mtp else CLASS_STILL_IMAGE,
            subclass=SUBCLASS_VENDOR if vendor_mtp else SUBCLASS_STILL_IMAGE_CAPTURE,
            protocol=PROTOCOL_VENDOR_MTP if vendor_mtp else PROTOCOL_PIMA_15740,
            name="MTP" if android else "PTP",
            endpoints=(
                _bulk(PTP_BULK_IN),
                _bulk(PTP_BULK_OUT),
                Endpoint(
                    address=PTP_EVENTS,
                    transfer=TransferType.INTERRUPT,
                    max_packet=EVENT_PACKET,
                    interval=EVENT_INTERVAL,
                ),
            ),
        )
    ]
    if not android:
        interfaces.append(
            Interface(
                number=1,
                interface_class=CLASS_VENDOR,
                subclass=SUBCLASS_APPLE_USBMUX,
                protocol=PROTOCOL_APPLE_USBMUX,
                name="Apple Mobile Device",
                endpoints=(_bulk(USBMUX_BULK_IN), _bulk(USBMUX_BULK_OUT)),
            )
        )
    return spec.shape(Configuration(interfaces=tuple(interfaces), max_power_ma=500))


def _extended_compat_id(compatible: bytes) -> bytes:
    """MS OS 1.0 Extended Compat ID descriptor naming one function."""
    header = struct.pack("<IHHB7x", 0x28, 0x0100, MS_EXTENDED_COMPAT_ID, 1)
    function = struct.pack("<BB8s8s6x", 0, 0x01, compatible, b"")
    return header + function


class PhoneDevice(UsbDevice):
    """A phone in MTP (Android) or PTP (iPhone) mode."""

    def __init__(self, spec: DeviceSpec) -> None:
        super().__init__(_phone_shape(spec))
        self.android = spec.kind is DeviceKind.ANDROID_PHONE
        self.kind = "phone/MTP" if self.android else "phone/PTP"
        info = DeviceInfo(
            manufacturer=spec.manufacturer,
            model=spec.product,
            version=f"{spec.bcd_device >> 8}.{spec.bcd_device & 0xFF}",
            serial=spec.serial,
            vendor_extension=0x00000006 if self.android else 0,
            extension_description="microsoft.com: 1.0; android.com: 1.0;"
            if self.android
            else "",
        )
        storage = StorageInfo(
            storage_id=STORAGE_ID,
            description="Internal shared storage"
            if self.android
            else "Internal Storage",
            capacity=PHONE_CAPACITY,
        )
        self.responder = PtpResponder(info, storage, spec.files)
        self._outgoing = InQueue()
        self._events = InQueue()
        self._incoming = bytearray()

    def add_file(self, path: str, content: bytes) -> None:
        """A file appears on the phone (a photo taken, a download finished).

        The host learns of it through ObjectAdded events on the interrupt pipe.
        """
        with self._lock:
            handles = self.responder.add(FileSpec(path=path, content=content))
            if self.responder.session is not None:
                for event in self.responder.object_added_events(handles):
                    self._events.push(event)
        self._wake()

    def files(self) -> dict[str, bytes]:
        """The phone's files by path, including what hosts copied onto it."""
        with self._lock:
            return self.responder.files()

    def string_descriptor(self, index: int) -> bytes | None:
        if index != MS_OS_STRING_INDEX:
            return super().string_descriptor(index)
        if not self.android:
            return None  # STALL: no Microsoft OS descriptors
        text = "MSFT100".encode("utf-16-le")
        return bytes([0x12, 0x03]) + text + bytes([MS_VENDOR_CODE, 0])

    def class_request(self, setup: Setup, data: bytes) -> bytes:
        if (
            setup.kind is RequestKind.VENDOR
            and self.android
            and setup.request == MS_VENDOR_CODE
            and setup.index == MS_EXTENDED_COMPAT_ID
        ):
            return _extended_compat_id(b"MTP")
        if setup.kind is RequestKind.CLASS:
            if setup.request == REQUEST_GET_DEVICE_STATUS:
                return struct.pack("<HH", 4, 0x2001)
            if setup.request in (REQUEST_DEVICE_RESET, REQUEST_CANCEL):
                self._outgoing.clear()
                self._incoming.clear()
                if setup.request == REQUEST_DEVICE_RESET:
                    self.responder.reset()
                return b""
        return super().class_request(setup, data)

    def on_reset(self) -> None:
        self._events.clear()
        self._outgoing.clear()
        self._incoming.clear()
        self.responder.reset()

    def receive(self, address: int, data: bytes) -> None:
        if address == USBMUX_BULK_OUT and not self.android:
            return  # usbmux traffic: accepted, never answered
        if address != PTP_BULK_OUT:
            raise StallError(f"no OUT endpoint 0x{address:02x}")
        self._incoming += data
        while len(self._incoming) >= 4:
            length = struct.unpack_from("<I", self._incoming)[0]
            if len(self._incoming) < length:
                return
            command = bytes(self._incoming[:length])
            del self._incoming[:length]
            for answer in self.responder.handle(command):
                self._outgoing.push(answer)

    def transmit(self, address: int, length: int) -> bytes | None:
        if address == PTP_EVENTS:
            return self._events.take(length)
        if address == USBMUX_BULK_IN:
            return None  # usbmux never speaks: the URB stays parked
        if address != PTP_BULK_IN:
            raise StallError(f"no IN endpoint 0x{address:02x}")
        return self._outgoing.take(length)


def build_phone(spec: DeviceSpec) -> PhoneDevice:
    return PhoneDevice(spec)
