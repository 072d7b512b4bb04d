"""USB descriptors declared as data, and their wire form (USB 2.0 chapter 9).

A device kind is a :class:`DeviceShape`: identity strings and ids, one
configuration, its interfaces and endpoints. Nothing here knows a transport;
backends read these dataclasses or the bytes :func:`device_descriptor` and
:func:`configuration_descriptor` produce.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

__all__ = [
    "LANGID_EN_US",
    "Configuration",
    "DescriptorType",
    "DeviceShape",
    "Endpoint",
    "Interface",
    "Speed",
    "StringTable",
    "TransferType",
    "configuration_descriptor",
    "device_descriptor",
    "device_qualifier_descriptor",
]

LANGID_EN_US = 0x0409  # the only language our devices speak
USB_2_0 = 0x0200  # bcdUSB of a high-speed device
CONFIG_ATTR_RESERVED = 0x80  # bmAttributes bit 7 must be set (USB 2.0 9.6.3)
ENDPOINT_IN = 0x80  # direction bit of bEndpointAddress


class DescriptorType(enum.IntEnum):
    DEVICE = 0x01
    CONFIGURATION = 0x02
    STRING = 0x03
    INTERFACE = 0x04
    ENDPOINT = 0x05
    DEVICE_QUALIFIER = 0x06


class TransferType(enum.IntEnum):
    """bmAttributes bits 0-1 of an endpoint descriptor."""

    CONTROL = 0
    ISOCHRONOUS = 1
    BULK = 2
    INTERRUPT = 3


class Speed(enum.Enum):
    """Link speed, with the two numberings that must never be mixed up.

    USB/IP uses Linux ``enum usb_device_speed``; pyusb/libusb number super
    speed differently (usb.md section 1.6).
    """

    FULL = ("full", 2, 2, 12)
    HIGH = ("high", 3, 3, 480)
    SUPER = ("super", 5, 4, 5000)

    def __init__(self, label: str, usbip: int, pyusb: int, mbit: int) -> None:
        self.label = label
        self.usbip_code = usbip
        self.pyusb_code = pyusb
        self.mbit_per_s = mbit

    @classmethod
    def from_usbip(cls, code: int) -> Speed:
        for speed in cls:
            if speed.usbip_code == code:
                return speed
        raise ValueError(f"unknown USB/IP speed code {code}")


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    address: int  # bEndpointAddress, bit 7 set for IN
    transfer: TransferType
    max_packet: int
    interval: int = 0

    @property
    def is_in(self) -> bool:
        return bool(self.address & ENDPOINT_IN)


@dataclass(frozen=True, kw_only=True)
class Interface:
    number: int
    interface_class: int
    subclass: int
    protocol: int
    name: str | None = None
    endpoints: tuple[Endpoint, ...] = ()
    alternate: int = 0


@dataclass(frozen=True, kw_only=True)
class Configuration:
    value: int = 1
    interfaces: tuple[Interface, ...]
    name: str | None = None
    self_powered: bool = False
    max_power_ma: int = 100


@dataclass(frozen=True, kw_only=True)
class DeviceShape:
    """Everything a host learns from a device's descriptors."""

    vendor_id: int
    product_id: int
    bcd_device: int
    manufacturer: str
    product: str
    serial: str
    configuration: Configuration
    device_class: int = 0
    device_subclass: int = 0
    device_protocol: int = 0
    speed: Speed = Speed.HIGH
    max_packet0: int = 64

    @property
    def interfaces(self) -> tuple[Interface, ...]:
        return self.configuration.interfaces

    def endpoint(self, address: int) -> Endpoint | None:
        for interface in self.interfaces:
            for endpoint in interface.endpoints:
                if endpoint.address == address:
                    return endpoint
        return None


@dataclass
class StringTable:
    """String descriptor indices: 1-3 identity, then configuration and interfaces."""

    texts: list[str] = field(default_factory=list)

    def index_of(self, text: str | None) -> int:
        if not text:
            return 0
        if text not in self.texts:
            self.texts.append(text)
        return self.texts.index(text) + 1

    def descriptor(self, index: int) -> bytes | None:
        """String descriptor ``index``; index 0 is the LANGID list."""
        if index == 0:
            return struct.pack("<BBH", 4, DescriptorType.STRING, LANGID_EN_US)
        if not 1 <= index <= len(self.texts):
            return None
        encoded = self.texts[index - 1].encode("utf-16-le")[:252]
        return bytes([2 + len(encoded), DescriptorType.STRING]) + encoded

    @classmethod
    def for_shape(cls, shape: DeviceShape) -> StringTable:
        table = cls()
        for text in (shape.manufacturer, shape.product, shape.serial):
            table.index_of(text)
        table.index_of(shape.configuration.name)
        for interface in shape.interfaces:
            table.index_of(interface.name)
        return table


def device_descriptor(shape: DeviceShape, strings: StringTable) -> bytes:
    return struct.pack(
        "<BBHBBBBHHHBBBB",
        18,
        DescriptorType.DEVICE,
        USB_2_0,
        shape.device_class,
        shape.device_subclass,
        shape.device_protocol,
        shape.max_packet0,
        shape.vendor_id,
        shape.product_id,
        shape.bcd_device,
        strings.index_of(shape.manufacturer),
        strings.index_of(shape.product),
        strings.index_of(shape.serial),
        1,
    )


def device_qualifier_descriptor(shape: DeviceShape) -> bytes:
    """What the device would look like at the other speed (USB 2.0 9.6.2)."""
    return struct.pack(
        "<BBHBBBBBB",
        10,
        DescriptorType.DEVICE_QUALIFIER,
        USB_2_0,
        shape.device_class,
        shape.device_subclass,
        shape.device_protocol,
        shape.max_packet0,
        1,
        0,
    )


def _interface_bytes(interface: Interface, strings: StringTable) -> bytes:
    head = struct.pack(
        "<BBBBBBBBB",
        9,
        DescriptorType.INTERFACE,
        interface.number,
        interface.alternate,
        len(interface.endpoints),
        interface.interface_class,
        interface.subclass,
        interface.protocol,
        strings.index_of(interface.name),
    )
    endpoints = b"".join(
        struct.pack(
            "<BBBBHB",
            7,
            DescriptorType.ENDPOINT,
            endpoint.address,
            endpoint.transfer,
            endpoint.max_packet,
            endpoint.interval,
        )
        for endpoint in interface.endpoints
    )
    return head + endpoints


def configuration_descriptor(shape: DeviceShape, strings: StringTable) -> bytes:
    """The whole configuration: header, interfaces and their endpoints."""
    config = shape.configuration
    body = b"".join(_interface_bytes(i, strings) for i in config.interfaces)
    attributes = CONFIG_ATTR_RESERVED | (0x40 if config.self_powered else 0)
    head = struct.pack(
        "<BBHBBBBB",
        9,
        DescriptorType.CONFIGURATION,
        9 + len(body),
        len({i.number for i in config.interfaces}),
        config.value,
        strings.index_of(config.name),
        attributes,
        config.max_power_ma // 2,
    )
    return head + body
