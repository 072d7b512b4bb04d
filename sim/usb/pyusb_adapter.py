"""What both of our pyusb backends share: descriptors read over endpoint 0.

A backend built on :class:`DescriptorBackend` only says how to reach a
device (control, bulk OUT, bulk IN). The descriptors pyusb asks for are
fetched with GET_DESCRIPTOR, exactly as a host would, and parsed here; the
result has the field names pyusb's ``IBackend`` contract expects
(usb.md section 2.1).
"""

from __future__ import annotations

import array
import errno
import struct
from dataclasses import dataclass, field
from typing import Any

import usb.backend
import usb.core

from .descriptors import DescriptorType, Speed
from .device import Setup, StandardRequest

__all__ = ["DescriptorBackend", "DeviceLocation", "ParsedConfiguration"]

GET_DESCRIPTOR_IN = 0x80  # device-to-host, standard, device recipient
CONFIG_HEADER = 9


@dataclass(frozen=True)
class DeviceLocation:
    """A backend's opaque device id: where the device sits."""

    busnum: int
    devnum: int
    port: int
    speed: Speed
    key: str  # what the backend uses to reach it (a bus id)


class _Fields:
    """A bag of descriptor fields, as pyusb reads them by attribute."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # fields are set in __init__
        raise AttributeError(name)


def _parse_device(raw: bytes, location: DeviceLocation) -> _Fields:
    names = [
        "bLength",
        "bDescriptorType",
        "bcdUSB",
        "bDeviceClass",
        "bDeviceSubClass",
        "bDeviceProtocol",
        "bMaxPacketSize0",
        "idVendor",
        "idProduct",
        "bcdDevice",
        "iManufacturer",
        "iProduct",
        "iSerialNumber",
        "bNumConfigurations",
    ]
    values = struct.unpack("<BBHBBBBHHHBBBB", raw[:18])
    return _Fields(
        **dict(zip(names, values, strict=True)),
        bus=location.busnum,
        address=location.devnum,
        port_number=location.port,
        port_numbers=(location.port,),
        speed=location.speed.pyusb_code,
    )


@dataclass
class ParsedConfiguration:
    header: _Fields
    interfaces: list[list[_Fields]] = field(default_factory=list)  # [number][alt]
    endpoints: dict[tuple[int, int], list[_Fields]] = field(default_factory=dict)


def parse_configuration(raw: bytes) -> ParsedConfiguration:
    length, kind, total, count, value, index, attributes, power = struct.unpack(
        "<BBHBBBBB", raw[:CONFIG_HEADER]
    )
    parsed = ParsedConfiguration(
        header=_Fields(
            bLength=length,
            bDescriptorType=kind,
            wTotalLength=total,
            bNumInterfaces=count,
            bConfigurationValue=value,
            iConfiguration=index,
            bmAttributes=attributes,
            bMaxPower=power,
            extra_descriptors=[],
        )
    )
    current: _Fields | None = None
    at = length
    while at + 2 <= len(raw) and raw[at] >= 2:
        size, kind = raw[at], raw[at + 1]
        body = raw[at : at + size]
        if kind == DescriptorType.INTERFACE:
            current = _interface(body)
            while len(parsed.interfaces) <= current.bInterfaceNumber:
                parsed.interfaces.append([])
            parsed.interfaces[current.bInterfaceNumber].append(current)
            key = (current.bInterfaceNumber, current.bAlternateSetting)
            parsed.endpoints[key] = []
        elif kind == DescriptorType.ENDPOINT and current is not None:
            key = (current.bInterfaceNumber, current.bAlternateSetting)
            parsed.endpoints[key].append(_endpoint(body))
        elif current is not None:
            current.extra_descriptors.extend(body)
        at += size
    return parsed


def _interface(body: bytes) -> _Fields:
    names = [
        "bLength",
        "bDescriptorType",
        "bInterfaceNumber",
        "bAlternateSetting",
        "bNumEndpoints",
        "bInterfaceClass",
        "bInterfaceSubClass",
        "bInterfaceProtocol",
        "iInterface",
    ]
    values = struct.unpack("<BBBBBBBBB", body[:9])
    return _Fields(**dict(zip(names, values, strict=True)), extra_descriptors=[])


def _endpoint(body: bytes) -> _Fields:
    length, kind, address, attributes, packet, interval = struct.unpack(
        "<BBBBHB", body[:7]
    )
    return _Fields(
        bLength=length,
        bDescriptorType=kind,
        bEndpointAddress=address,
        bmAttributes=attributes,
        wMaxPacketSize=packet,
        bInterval=interval,
        bRefresh=0,
        bSynchAddress=0,
        extra_descriptors=[],
    )


def stall_error(reason: object) -> usb.core.USBError:
    return usb.core.USBError(f"Pipe error: {reason}", errno=errno.EPIPE)


def gone_error(location: DeviceLocation) -> usb.core.USBError:
    return usb.core.USBError(
        f"No such device (it was unplugged from {location.key}); enumerate again",
        errno=errno.ENODEV,
    )


class DescriptorBackend(usb.backend.IBackend):  # type: ignore[misc]
    """pyusb's IBackend over three primitives a subclass provides."""

    def __init__(self) -> None:
        super().__init__()
        self._descriptors: dict[
            DeviceLocation, tuple[_Fields, ParsedConfiguration]
        ] = {}

    # ---- primitives for subclasses -------------------------------------------------
    def _control(self, location: DeviceLocation, setup: Setup, data: bytes) -> bytes:
        raise NotImplementedError

    def _write(self, location: DeviceLocation, endpoint: int, data: bytes) -> int:
        raise NotImplementedError

    def _read(
        self, location: DeviceLocation, endpoint: int, length: int, timeout: int
    ) -> bytes:
        raise NotImplementedError

    # ---- descriptors ------------------------------------------------------------------
    def _fetch(self, location: DeviceLocation) -> tuple[_Fields, ParsedConfiguration]:
        cached = self._descriptors.get(location)
        if cached is None:
            device = self._get_descriptor(location, DescriptorType.DEVICE, 18)
            head = self._get_descriptor(location, DescriptorType.CONFIGURATION, 9)
            total = struct.unpack_from("<H", head, 2)[0]
            config = self._get_descriptor(location, DescriptorType.CONFIGURATION, total)
            cached = (_parse_device(device, location), parse_configuration(config))
            self._descriptors[location] = cached
        return cached

    def _get_descriptor(
        self, location: DeviceLocation, kind: int, length: int
    ) -> bytes:
        setup = Setup(
            request_type=GET_DESCRIPTOR_IN,
            request=StandardRequest.GET_DESCRIPTOR,
            value=kind << 8,
            index=0,
            length=length,
        )
        return self._control(location, setup, b"")

    def get_device_descriptor(self, dev: DeviceLocation) -> _Fields:
        return self._fetch(dev)[0]

    def get_configuration_descriptor(self, dev: DeviceLocation, config: int) -> _Fields:
        if config != 0:
            raise IndexError(f"our devices have one configuration, not {config + 1}")
        return self._fetch(dev)[1].header

    def get_interface_descriptor(
        self, dev: DeviceLocation, intf: int, alt: int, config: int
    ) -> _Fields:
        return self._fetch(dev)[1].interfaces[intf][alt]

    def get_endpoint_descriptor(
        self, dev: DeviceLocation, ep: int, intf: int, alt: int, config: int
    ) -> _Fields:
        return self._fetch(dev)[1].endpoints[(intf, alt)][ep]

    def get_parent(self, dev: DeviceLocation) -> None:
        return None

    # ---- handles and transfers ---------------------------------------------------------
    def open_device(self, dev: DeviceLocation) -> DeviceLocation:
        return dev

    def close_device(self, dev_handle: DeviceLocation) -> None:
        return None

    def set_configuration(self, dev_handle: DeviceLocation, config_value: int) -> None:
        setup = Setup(
            request_type=0x00,
            request=StandardRequest.SET_CONFIGURATION,
            value=config_value,
            index=0,
            length=0,
        )
        self._control(dev_handle, setup, b"")

    def get_configuration(self, dev_handle: DeviceLocation) -> int:
        setup = Setup(
            request_type=GET_DESCRIPTOR_IN,
            request=StandardRequest.GET_CONFIGURATION,
            value=0,
            index=0,
            length=1,
        )
        return self._control(dev_handle, setup, b"")[0]

    def set_interface_altsetting(
        self, dev_handle: DeviceLocation, intf: int, altsetting: int
    ) -> None:
        setup = Setup(
            request_type=0x01,
            request=StandardRequest.SET_INTERFACE,
            value=altsetting,
            index=intf,
            length=0,
        )
        self._control(dev_handle, setup, b"")

    def claim_interface(self, dev_handle: DeviceLocation, intf: int) -> None:
        return None

    def release_interface(self, dev_handle: DeviceLocation, intf: int) -> None:
        return None

    def is_kernel_driver_active(self, dev_handle: DeviceLocation, intf: int) -> bool:
        return False

    def detach_kernel_driver(self, dev_handle: DeviceLocation, intf: int) -> None:
        return None

    def attach_kernel_driver(self, dev_handle: DeviceLocation, intf: int) -> None:
        return None

    def ctrl_transfer(
        self,
        dev_handle: DeviceLocation,
        request_type: int,  # pyusb passes these positionally
        request: int,
        value: int,
        index: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        setup = Setup(
            request_type=request_type,
            request=request,
            value=value,
            index=index,
            length=len(data),
        )
        if not setup.is_in:
            self._control(dev_handle, setup, bytes(data))
            return len(data)
        answer = self._control(dev_handle, setup, b"")[: len(data)]
        data[: len(answer)] = array.array("B", answer)
        return len(answer)

    def bulk_write(
        self,
        dev_handle: DeviceLocation,
        ep: int,
        intf: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        return self._write(dev_handle, ep, bytes(data))

    def bulk_read(
        self,
        dev_handle: DeviceLocation,
        ep: int,
        intf: int,
        buff: array.array[int],
        timeout: int,
    ) -> int:
        answer = self._read(dev_handle, ep, len(buff), timeout)
        buff[: len(answer)] = array.array("B", answer)
        return len(answer)

    intr_write = bulk_write
    intr_read = bulk_read

    def clear_halt(self, dev_handle: DeviceLocation, ep: int) -> None:
        setup = Setup(
            request_type=0x02,
            request=StandardRequest.CLEAR_FEATURE,
            value=0,
            index=ep,
            length=0,
        )
        self._control(dev_handle, setup, b"")

    def reset_device(self, dev_handle: DeviceLocation) -> None:
        raise usb.core.USBError("port reset is not simulated", errno=errno.ENOSYS)
