"""A small Bulk-Only Transport / SCSI reader over pyusb: enough to classify a stick.

The agent reads the device itself: INQUIRY for the names Windows shows, and the
first sectors of the volume for a BitLocker signature. Any pyusb backend works
(libusb on hardware, the simulator's in-process one, USB/IP).
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

__all__ = ["BulkOnlyReader", "Inquiry", "ProbeError"]

CBW_SIGNATURE = 0x43425355  # "USBC"
CSW_SIGNATURE = 0x53425355  # "USBS"
CSW_LENGTH = 13
DIRECTION_IN = 0x80
INQUIRY = 0x12
REQUEST_SENSE = 0x03
READ_CAPACITY_10 = 0x25
READ_10 = 0x28
TIMEOUT_MS = 5_000
#: CSW status "command failed": the reason is fetched with REQUEST SENSE.
STATUS_FAILED = 1
#: Sense key of the unit attention a device reports after a plug or media change.
UNIT_ATTENTION = 0x06
EPIPE = 32


class ProbeError(RuntimeError):
    """The device did not answer as a Bulk-Only mass-storage device should."""


@dataclass(frozen=True)
class Inquiry:
    vendor: str
    product: str
    revision: str


class BulkOnlyReader:
    """Reads from LUN 0 of a mass-storage interface."""

    def __init__(self, device: usb.core.Device, interface: Any) -> None:
        self.device = device
        self.number = interface.bInterfaceNumber
        endpoints = list(interface)
        self.out = _endpoint(endpoints, usb.util.ENDPOINT_OUT)
        self.into = _endpoint(endpoints, usb.util.ENDPOINT_IN)
        self._tags = itertools.count(1)

    def inquiry(self) -> Inquiry:
        data = self._command(bytes([INQUIRY, 0, 0, 0, 36, 0]), 36)
        text = data.decode("ascii", "replace")
        return Inquiry(text[8:16].strip(), text[16:32].strip(), text[32:36].strip())

    def capacity(self) -> tuple[int, int]:
        """(number of blocks, block size)."""
        last, size = struct.unpack(
            ">II", self._command(bytes([READ_CAPACITY_10]) + bytes(9), 8)
        )
        return last + 1, size

    def read(self, lba: int, blocks: int, block_size: int = 512) -> bytes:
        block = struct.pack(">BBIBHB", READ_10, 0, lba, 0, blocks, 0)
        return self._command(block, blocks * block_size)

    def _command(self, block: bytes, length: int) -> bytes:
        """Run a command; a unit attention (after plugging) is read and retried once."""
        for attempt in (1, 2):
            data, status = self._transfer(block, length)
            if status != STATUS_FAILED:
                break
            sense, _ = self._transfer(bytes([REQUEST_SENSE, 0, 0, 0, 18, 0]), 18)
            sense_key = sense[2] & 0x0F if len(sense) > 2 else None
            if sense_key != UNIT_ATTENTION or attempt == 2:
                raise ProbeError(
                    f"SCSI 0x{block[0]:02x} failed (sense key {sense_key}); "
                    "the device refuses the command"
                )
        if status != 0:
            raise ProbeError(f"SCSI 0x{block[0]:02x} ended with status {status}")
        return data

    def _transfer(self, block: bytes, length: int) -> tuple[bytes, int]:
        """One command, data and status phases: (data, CSW status)."""
        tag = next(self._tags)
        wrapper = struct.pack(
            "<IIIBBB", CBW_SIGNATURE, tag, length, DIRECTION_IN, 0, len(block)
        ) + block.ljust(16, b"\0")
        try:
            self.device.write(self.out, wrapper, timeout=TIMEOUT_MS)
            data = self._data_in(length)
            status = bytes(self.device.read(self.into, CSW_LENGTH, timeout=TIMEOUT_MS))
        except usb.core.USBError as err:
            raise ProbeError(
                f"the device did not complete SCSI 0x{block[0]:02x}: {err}"
            ) from err
        if len(status) != CSW_LENGTH:
            raise ProbeError("the device answered with a short command status")
        signature, echoed, _, result = struct.unpack("<IIIB", status)
        if signature != CSW_SIGNATURE or echoed != tag:
            raise ProbeError("the device answered with a malformed command status")
        return data, result

    def _data_in(self, length: int) -> bytes:
        """The data phase; a stalled pipe is cleared as BOT prescribes (6.7.2)."""
        if not length:
            return b""
        try:
            return bytes(self.device.read(self.into, length, timeout=TIMEOUT_MS))
        except usb.core.USBError as err:
            if err.errno != EPIPE:
                raise
            self.device.clear_halt(self.into)
            return b""


def _endpoint(endpoints: list[Any], direction: int) -> int:
    for endpoint in endpoints:
        bulk = (
            usb.util.endpoint_type(endpoint.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
        )
        if bulk and usb.util.endpoint_direction(endpoint.bEndpointAddress) == direction:
            return int(endpoint.bEndpointAddress)
    raise ProbeError("the mass-storage interface has no bulk endpoint pair")
