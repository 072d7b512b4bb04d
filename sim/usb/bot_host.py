"""A small host side: Bulk-Only Transport and SCSI over any pyusb device.

Tests and benchmarks use it to drive a stick the way a host driver would,
through either of our pyusb backends (or libusb on real hardware).
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from .bot import CSW_SIGNATURE, CommandBlockWrapper

__all__ = ["BotHost", "Outcome", "ProtocolViolationError"]

CSW_LENGTH = 13
BLOCK = 512


class ProtocolViolationError(Exception):
    """The device answered with something that is not a valid CSW."""


@dataclass(frozen=True)
class Outcome:
    status: int
    residue: int
    data: bytes


class BotHost:
    """Drives the first interface's bulk pipes of a usb.core.Device."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.tag = 0
        device.set_configuration()
        interface = device.get_active_configuration()[(0, 0)]
        self.bulk_in, self.bulk_out = 0, 0
        for endpoint in interface:
            if (
                usb.util.endpoint_type(endpoint.bmAttributes)
                != usb.util.ENDPOINT_TYPE_BULK
            ):
                continue
            if (
                usb.util.endpoint_direction(endpoint.bEndpointAddress)
                == usb.util.ENDPOINT_IN
            ):
                self.bulk_in = endpoint.bEndpointAddress
            else:
                self.bulk_out = endpoint.bEndpointAddress
        if not (self.bulk_in and self.bulk_out):
            raise ProtocolViolationError(
                "interface 0 lacks a bulk IN and a bulk OUT pipe"
            )

    def command(
        self, cdb: bytes, *, data_in: int = 0, data_out: bytes = b""
    ) -> Outcome:
        self.tag += 1
        cbw = CommandBlockWrapper(
            tag=self.tag,
            data_length=data_in or len(data_out),
            data_in=bool(data_in),
            lun=0,
            cdb=cdb,
        )
        self.device.write(self.bulk_out, cbw.pack())
        data = b""
        if data_out:
            self.device.write(self.bulk_out, data_out)
        elif data_in:
            try:
                data = bytes(self.device.read(self.bulk_in, data_in))
            except usb.core.USBError as err:
                if err.errno != errno.EPIPE:
                    raise
                self.device.clear_halt(self.bulk_in)
        csw = bytes(self.device.read(self.bulk_in, CSW_LENGTH))
        signature, tag, residue, status = struct.unpack("<IIIB", csw)
        if signature != CSW_SIGNATURE or tag != self.tag:
            raise ProtocolViolationError(f"not the CSW for tag {self.tag}: {csw.hex()}")
        return Outcome(status=status, residue=residue, data=data)

    def sense(self) -> tuple[int, int, int]:
        reply = self.command(bytes([0x03, 0, 0, 0, 18, 0]), data_in=18).data
        return reply[2] & 0x0F, reply[12], reply[13]

    def clear_attention(self) -> None:
        """Read away the unit attention a fresh configuration raises."""
        while self.command(bytes(6)).status:
            self.sense()

    def read_blocks(self, lba: int, count: int) -> bytes:
        cdb = struct.pack(">BBIBHB", 0x28, 0, lba, 0, count, 0)
        outcome = self.command(cdb, data_in=count * BLOCK)
        if outcome.status:
            raise ProtocolViolationError(f"READ(10) failed with sense {self.sense()}")
        return outcome.data

    def write_blocks(self, lba: int, data: bytes) -> Outcome:
        cdb = struct.pack(">BBIBHB", 0x2A, 0, lba, 0, len(data) // BLOCK, 0)
        return self.command(cdb, data_out=data)
