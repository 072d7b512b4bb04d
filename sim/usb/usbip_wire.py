"""USB/IP 1.1.1 messages (``Documentation/usb/usbip_protocol.rst``); all fields BE."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import NamedTuple

from .descriptors import DeviceShape, Speed

__all__ = [
    "BUSID_SIZE",
    "DEFAULT_PORT",
    "DEVICE_RECORD_SIZE",
    "OP_HEADER",
    "URB_HEADER_SIZE",
    "DeviceRecord",
    "UrbHeader",
    "UsbipCommand",
    "UsbipOp",
]

DEFAULT_PORT = 3240
VERSION = 0x0111  # USB/IP 1.1.1
OP_HEADER = struct.Struct(">HHI")  # version, code, status
OP_STATUS_OK = 0
OP_STATUS_ERROR = 1
BUSID_SIZE = 32
PATH_SIZE = 256
DEVICE_RECORD = struct.Struct(">256s32sIIIHHHBBBBBB")
DEVICE_RECORD_SIZE = DEVICE_RECORD.size  # 312
INTERFACE_RECORD = struct.Struct(">BBBx")
URB_BASIC = struct.Struct(">IIIII")  # command, seqnum, devid, direction, ep
URB_SUBMIT = struct.Struct(">IIIII8s")  # flags/status, length, frame, packets, ...
URB_UNLINK = struct.Struct(">I24x")  # unlink seqnum or status
URB_HEADER_SIZE = 48
DIRECTION_OUT = 0
DIRECTION_IN = 1
NOT_ISOCHRONOUS = 0xFFFFFFFF  # number_of_packets of a non-ISO CMD_SUBMIT
SYSFS_PARENT = "/sys/devices/pci0000:00/0000:00:1d.1"


class UsbipOp:
    REQ_DEVLIST = 0x8005
    REP_DEVLIST = 0x0005
    REQ_IMPORT = 0x8003
    REP_IMPORT = 0x0003


class UsbipCommand:
    CMD_SUBMIT = 1
    CMD_UNLINK = 2
    RET_SUBMIT = 3
    RET_UNLINK = 4


def read_exactly(connection: socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None when the peer closed the connection first."""
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = connection.recv_into(view[got:])
        if not count:
            return None
        got += count
    return bytes(buffer)


def op_header(code: int, status: int = OP_STATUS_OK) -> bytes:
    return OP_HEADER.pack(VERSION, code, status)


def padded(text: str, size: int) -> bytes:
    return text.encode("ascii").ljust(size, b"\0")


def unpadded(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


@dataclass(frozen=True, kw_only=True)
class DeviceRecord:
    """The 312-byte device record of OP_REP_DEVLIST and OP_REP_IMPORT."""

    path: str
    busid: str
    busnum: int
    devnum: int
    speed: Speed
    vendor_id: int
    product_id: int
    bcd_device: int
    device_class: int
    device_subclass: int
    device_protocol: int
    configuration_value: int
    interfaces: tuple[tuple[int, int, int], ...]

    @classmethod
    def describe(
        cls,
        shape: DeviceShape,
        *,
        busid: str,
        busnum: int,
        devnum: int,
        configured: int,
    ) -> DeviceRecord:
        triples = tuple(
            (i.interface_class, i.subclass, i.protocol)
            for i in shape.interfaces
            if i.alternate == 0
        )
        return cls(
            path=f"{SYSFS_PARENT}/usb{busnum}/{busid}",
            busid=busid,
            busnum=busnum,
            devnum=devnum,
            speed=shape.speed,
            vendor_id=shape.vendor_id,
            product_id=shape.product_id,
            bcd_device=shape.bcd_device,
            device_class=shape.device_class,
            device_subclass=shape.device_subclass,
            device_protocol=shape.device_protocol,
            configuration_value=configured,
            interfaces=triples,
        )

    @property
    def devid(self) -> int:
        return (self.busnum << 16) | self.devnum

    def pack(self, *, with_interfaces: bool) -> bytes:
        record = DEVICE_RECORD.pack(
            padded(self.path, PATH_SIZE),
            padded(self.busid, BUSID_SIZE),
            self.busnum,
            self.devnum,
            self.speed.usbip_code,
            self.vendor_id,
            self.product_id,
            self.bcd_device,
            self.device_class,
            self.device_subclass,
            self.device_protocol,
            self.configuration_value,
            1,
            len(self.interfaces),
        )
        if not with_interfaces:
            return record
        return record + b"".join(INTERFACE_RECORD.pack(*i) for i in self.interfaces)

    @classmethod
    def unpack(cls, raw: bytes, interfaces: bytes = b"") -> DeviceRecord:
        fields = DEVICE_RECORD.unpack(raw[:DEVICE_RECORD_SIZE])
        triples = tuple(
            INTERFACE_RECORD.unpack_from(interfaces, at)
            for at in range(0, len(interfaces), INTERFACE_RECORD.size)
        )
        return cls(
            path=unpadded(fields[0]),
            busid=unpadded(fields[1]),
            busnum=fields[2],
            devnum=fields[3],
            speed=Speed.from_usbip(fields[4]),
            vendor_id=fields[5],
            product_id=fields[6],
            bcd_device=fields[7],
            device_class=fields[8],
            device_subclass=fields[9],
            device_protocol=fields[10],
            configuration_value=fields[11],
            interfaces=triples,
        )


class UrbHeader(NamedTuple):
    """The 48-byte header shared by the four URB messages.

    A named tuple rather than a dataclass: the server builds two per URB.
    """

    command: int
    seqnum: int
    devid: int = 0
    direction: int = DIRECTION_OUT
    endpoint: int = 0
    # CMD_SUBMIT: transfer_flags; RET_*: status; CMD_UNLINK: the seqnum to cancel.
    flags_or_status: int = 0
    length: int = 0  # transfer_buffer_length / actual_length
    interval: int = 0
    setup: bytes = bytes(8)

    @classmethod
    def unpack(cls, raw: bytes) -> UrbHeader:
        command, seqnum, devid, direction, endpoint = URB_BASIC.unpack_from(raw)
        if command in (UsbipCommand.CMD_UNLINK, UsbipCommand.RET_UNLINK):
            (value,) = URB_UNLINK.unpack_from(raw, URB_BASIC.size)
            return cls(
                command=command,
                seqnum=seqnum,
                devid=devid,
                direction=direction,
                endpoint=endpoint,
                flags_or_status=value,
            )
        value, length, _frame, _packets, interval, setup = URB_SUBMIT.unpack_from(
            raw, URB_BASIC.size
        )
        return cls(
            command=command,
            seqnum=seqnum,
            devid=devid,
            direction=direction,
            endpoint=endpoint,
            flags_or_status=value,
            length=length,
            interval=interval,
            setup=setup,
        )

    @property
    def status(self) -> int:
        """A RET_* status as the signed errno it is."""
        value = self.flags_or_status
        return value - (1 << 32) if value & 0x80000000 else value

    def pack(self) -> bytes:
        basic = URB_BASIC.pack(
            self.command, self.seqnum, self.devid, self.direction, self.endpoint
        )
        value = self.flags_or_status & 0xFFFFFFFF
        if self.command in (UsbipCommand.CMD_UNLINK, UsbipCommand.RET_UNLINK):
            return basic + URB_UNLINK.pack(value)
        packets = NOT_ISOCHRONOUS if self.command == UsbipCommand.CMD_SUBMIT else 0
        return basic + URB_SUBMIT.pack(
            value, self.length, 0, packets, self.interval, self.setup
        )
