"""A SCSI logical unit: the commands Linux and Windows send a USB stick.

Opcodes and sense codes follow SPC/SBC as summarised in usb.md section 3.4
and 3.5. The unit knows nothing of Bulk-Only Transport: it takes a CDB and
any OUT data and returns a status and IN data (``bot.py`` frames them).
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass

from .medium import Medium, MediumError

__all__ = ["Opcode", "ScsiLogicalUnit", "ScsiReply", "Sense", "UnitInfo"]

logger = logging.getLogger(__name__)

PERIPHERAL_DISK = 0x00
PERIPHERAL_CDROM = 0x05
INQUIRY_REMOVABLE = 0x80  # byte 1 bit 7: RMB
SPC2_VERSION = 0x04
RESPONSE_FORMAT_2 = 0x02
VPD_SUPPORTED_PAGES = 0x00
VPD_UNIT_SERIAL = 0x80
MODE_WRITE_PROTECT = 0x80  # device-specific parameter bit 7
MODE_PAGE_CACHING = 0x08
MODE_ALL_PAGES = 0x3F
PAGE_CONTROL_SAVED = 3
FORMATTED_MEDIA = 0x02  # READ FORMAT CAPACITIES descriptor type
SERVICE_ACTION_READ_CAPACITY_16 = 0x10


class Opcode(enum.IntEnum):
    TEST_UNIT_READY = 0x00
    REQUEST_SENSE = 0x03
    INQUIRY = 0x12
    MODE_SELECT_6 = 0x15
    MODE_SENSE_6 = 0x1A
    START_STOP_UNIT = 0x1B
    PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1E
    READ_FORMAT_CAPACITIES = 0x23
    READ_CAPACITY_10 = 0x25
    READ_10 = 0x28
    WRITE_10 = 0x2A
    VERIFY_10 = 0x2F
    SYNCHRONIZE_CACHE_10 = 0x35
    READ_TOC = 0x43
    MODE_SELECT_10 = 0x55
    MODE_SENSE_10 = 0x5A
    READ_16 = 0x88
    WRITE_16 = 0x8A
    SERVICE_ACTION_IN_16 = 0x9E
    READ_12 = 0xA8
    WRITE_12 = 0xAA


class Sense(enum.Enum):
    """Sense key, ASC, ASCQ (f_mass_storage ``SS_*``)."""

    NO_SENSE = (0x00, 0x00, 0x00)
    UNRECOVERED_READ_ERROR = (0x03, 0x11, 0x00)
    WRITE_ERROR = (0x03, 0x0C, 0x02)
    MEDIUM_NOT_PRESENT = (0x02, 0x3A, 0x00)
    INVALID_COMMAND = (0x05, 0x20, 0x00)
    LBA_OUT_OF_RANGE = (0x05, 0x21, 0x00)
    INVALID_FIELD_IN_CDB = (0x05, 0x24, 0x00)
    LUN_NOT_SUPPORTED = (0x05, 0x25, 0x00)
    SAVING_PARAMETERS_UNSUPPORTED = (0x05, 0x39, 0x00)
    REMOVAL_PREVENTED = (0x05, 0x53, 0x02)
    MEDIUM_CHANGED = (0x06, 0x28, 0x00)
    RESET_OCCURRED = (0x06, 0x29, 0x00)
    WRITE_PROTECTED = (0x07, 0x27, 0x00)


READS = {Opcode.READ_10, Opcode.READ_12, Opcode.READ_16}
WRITES = {Opcode.WRITE_10, Opcode.WRITE_12, Opcode.WRITE_16}
ALLOWED_DURING_ATTENTION = {Opcode.INQUIRY, Opcode.REQUEST_SENSE}


@dataclass(frozen=True, kw_only=True)
class UnitInfo:
    """What INQUIRY reports; ASCII, padded by the unit."""

    vendor: str
    product: str
    revision: str
    serial: str
    cdrom: bool = False


@dataclass(frozen=True)
class ScsiReply:
    ok: bool
    data: bytes = b""


class _CheckConditionError(Exception):
    def __init__(self, sense: Sense) -> None:
        super().__init__(sense.name)
        self.sense = sense


def _ascii(text: str, width: int) -> bytes:
    return text.encode("ascii", "replace")[:width].ljust(width, b" ")


class ScsiLogicalUnit:
    """One LUN: sense state, unit attention, removal lock and its medium."""

    def __init__(self, info: UnitInfo, medium: Medium | None) -> None:
        self.info = info
        self.medium = medium
        self.prevent_removal = False
        self.commands_seen: list[int] = []
        self._sense = Sense.NO_SENSE
        self._attention: Sense | None = None

    # ---- events from the device's side ----------------------------------------
    def power_on_reset(self) -> None:
        self._attention = Sense.RESET_OCCURRED

    def change_medium(self, medium: Medium | None) -> None:
        """Insert, swap or (with None) eject the medium; hosts see a change."""
        self.medium = medium
        self.prevent_removal = False
        self._attention = Sense.MEDIUM_CHANGED if medium else None

    # ---- commands -----------------------------------------------------------------
    def execute(self, cdb: bytes, data_out: bytes = b"") -> ScsiReply:
        opcode = cdb[0]
        self.commands_seen.append(opcode)
        try:
            if self._attention and opcode not in ALLOWED_DURING_ATTENTION:
                attention, self._attention = self._attention, None
                raise _CheckConditionError(attention)
            data = self._dispatch(opcode, cdb, data_out)
        except _CheckConditionError as condition:
            logger.debug("CDB %s -> %s", cdb.hex(), condition.sense.name)
            self._sense = condition.sense
            return ScsiReply(ok=False)
        if opcode != Opcode.REQUEST_SENSE:
            self._sense = Sense.NO_SENSE
        return ScsiReply(ok=True, data=data)

    def _dispatch(self, opcode: int, cdb: bytes, data_out: bytes) -> bytes:
        if opcode == Opcode.INQUIRY:
            return self._inquiry(cdb)[: cdb[4] | (cdb[3] << 8)]
        if opcode == Opcode.REQUEST_SENSE:
            return self._request_sense()[: cdb[4]]
        if opcode in READS:
            return self._read(cdb)
        if opcode in WRITES:
            self._write(cdb, data_out)
            return b""
        if opcode == Opcode.TEST_UNIT_READY:
            self._ready()
            return b""
        if opcode in (Opcode.MODE_SENSE_6, Opcode.MODE_SENSE_10):
            return self._mode_sense(cdb)
        if opcode in (Opcode.MODE_SELECT_6, Opcode.MODE_SELECT_10):
            return b""  # accepted and ignored, as f_mass_storage does
        if opcode == Opcode.PREVENT_ALLOW_MEDIUM_REMOVAL:
            self.prevent_removal = bool(cdb[4] & 0x01)
            return b""
        if opcode == Opcode.START_STOP_UNIT:
            self._start_stop(cdb)
            return b""
        if opcode == Opcode.READ_FORMAT_CAPACITIES:
            return self._format_capacities()[: struct.unpack_from(">H", cdb, 7)[0]]
        if opcode == Opcode.READ_CAPACITY_10:
            medium = self._ready()
            last = min(medium.blocks - 1, 0xFFFFFFFF)
            return struct.pack(">II", last, medium.block_size)
        if opcode == Opcode.SERVICE_ACTION_IN_16:
            return self._read_capacity_16(cdb)
        if opcode in (Opcode.VERIFY_10, Opcode.SYNCHRONIZE_CACHE_10):
            medium = self._ready()
            lba, count = struct.unpack_from(">IxH", cdb, 2)
            if not medium.in_range(lba, count):
                raise _CheckConditionError(Sense.LBA_OUT_OF_RANGE)
            return b""
        if opcode == Opcode.READ_TOC and self.info.cdrom:
            return self._read_toc(cdb)
        raise _CheckConditionError(Sense.INVALID_COMMAND)

    def _ready(self) -> Medium:
        if self.medium is None:
            raise _CheckConditionError(Sense.MEDIUM_NOT_PRESENT)
        return self.medium

    @property
    def _peripheral_type(self) -> int:
        return PERIPHERAL_CDROM if self.info.cdrom else PERIPHERAL_DISK

    def _inquiry(self, cdb: bytes) -> bytes:
        if cdb[1] & 0x01:
            return self._vital_product_data(cdb[2])
        if cdb[2]:
            raise _CheckConditionError(Sense.INVALID_FIELD_IN_CDB)
        head = bytes(
            [
                self._peripheral_type,
                INQUIRY_REMOVABLE,
                SPC2_VERSION,
                RESPONSE_FORMAT_2,
                31,
                0,
                0,
                0,
            ]
        )
        info = self.info
        identity = _ascii(info.vendor, 8) + _ascii(info.product, 16)
        return head + identity + _ascii(info.revision, 4)

    def _vital_product_data(self, page: int) -> bytes:
        if page == VPD_SUPPORTED_PAGES:
            body = bytes([VPD_SUPPORTED_PAGES, VPD_UNIT_SERIAL])
        elif page == VPD_UNIT_SERIAL:
            body = self.info.serial.encode("ascii", "replace")
        else:
            raise _CheckConditionError(Sense.INVALID_FIELD_IN_CDB)
        return bytes([self._peripheral_type, page, 0, len(body)]) + body

    def _request_sense(self) -> bytes:
        if self._attention:
            self._sense, self._attention = self._attention, None
        key, asc, ascq = self._sense.value
        self._sense = Sense.NO_SENSE
        fixed = bytearray(18)
        fixed[0] = 0x70  # current error, fixed format
        fixed[2] = key
        fixed[7] = 10  # additional sense length
        fixed[12] = asc
        fixed[13] = ascq
        return bytes(fixed)

    def _block_range(self, cdb: bytes) -> tuple[int, int]:
        opcode = cdb[0]
        if opcode in (Opcode.READ_10, Opcode.WRITE_10):
            lba, count = struct.unpack_from(">IxH", cdb, 2)
        elif opcode in (Opcode.READ_12, Opcode.WRITE_12):
            lba, count = struct.unpack_from(">II", cdb, 2)
        else:
            lba, count = struct.unpack_from(">QI", cdb, 2)
        return int(lba), int(count)

    def _read(self, cdb: bytes) -> bytes:
        medium = self._ready()
        lba, count = self._block_range(cdb)
        if not medium.in_range(lba, count):
            raise _CheckConditionError(Sense.LBA_OUT_OF_RANGE)
        return medium.read(lba, count)

    def _write(self, cdb: bytes, data_out: bytes) -> None:
        medium = self._ready()
        lba, count = self._block_range(cdb)
        if medium.read_only or self.info.cdrom:
            raise _CheckConditionError(Sense.WRITE_PROTECTED)
        if not medium.in_range(lba, count):
            raise _CheckConditionError(Sense.LBA_OUT_OF_RANGE)
        wanted = count * medium.block_size
        try:
            medium.write(lba, data_out[:wanted].ljust(wanted, b"\0"))
        except MediumError as err:
            logger.warning("write failed: %s", err)
            raise _CheckConditionError(Sense.WRITE_ERROR) from err

    def _mode_sense(self, cdb: bytes) -> bytes:
        long_form = cdb[0] == Opcode.MODE_SENSE_10
        page, page_control = cdb[2] & 0x3F, cdb[2] >> 6
        if page_control == PAGE_CONTROL_SAVED:
            raise _CheckConditionError(Sense.SAVING_PARAMETERS_UNSUPPORTED)
        if page not in (MODE_PAGE_CACHING, MODE_ALL_PAGES):
            raise _CheckConditionError(Sense.INVALID_FIELD_IN_CDB)
        # Caching page: write cache disabled, read cache enabled.
        pages = bytes([MODE_PAGE_CACHING, 0x12]) + bytes(0x12)
        protected = self.info.cdrom or bool(self.medium and self.medium.read_only)
        flags = MODE_WRITE_PROTECT if protected else 0
        if long_form:
            header = struct.pack(">HBBxxH", 6 + len(pages), 0, flags, 0)
            allocation = struct.unpack_from(">H", cdb, 7)[0]
        else:
            header = bytes([3 + len(pages), 0, flags, 0])
            allocation = cdb[4]
        return (header + pages)[:allocation]

    def _start_stop(self, cdb: bytes) -> None:
        load_eject, start = bool(cdb[4] & 0x02), bool(cdb[4] & 0x01)
        if not load_eject or start:
            return
        if self.prevent_removal:
            raise _CheckConditionError(Sense.REMOVAL_PREVENTED)
        logger.info("%s: host ejected the medium", self.info.serial)
        self.medium = None

    def _format_capacities(self) -> bytes:
        medium = self._ready()
        size = struct.pack(">I", medium.block_size)[1:]
        return (
            bytes([0, 0, 0, 8])
            + struct.pack(">IB", medium.blocks, FORMATTED_MEDIA)
            + size
        )

    def _read_capacity_16(self, cdb: bytes) -> bytes:
        if cdb[1] & 0x1F != SERVICE_ACTION_READ_CAPACITY_16:
            raise _CheckConditionError(Sense.INVALID_COMMAND)
        medium = self._ready()
        answer = struct.pack(">QI", medium.blocks - 1, medium.block_size) + bytes(20)
        return answer[: struct.unpack_from(">I", cdb, 10)[0]]

    def _read_toc(self, cdb: bytes) -> bytes:
        """One data track starting at LBA 0, then the lead-out (MMC format 0)."""
        medium = self._ready()
        tracks = struct.pack(">BBBBI", 0, 0x14, 1, 0, 0)
        lead_out = struct.pack(">BBBBI", 0, 0x14, 0xAA, 0, medium.blocks)
        body = bytes([1, 1]) + tracks + lead_out
        return (struct.pack(">H", len(body)) + body)[
            : struct.unpack_from(">H", cdb, 7)[0]
        ]
