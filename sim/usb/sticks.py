"""Plain USB sticks: a FAT32 disk behind Bulk-Only Transport."""

from __future__ import annotations

import logging

from .bitlocker import bitlocker_to_go_disk
from .bot import BulkOnlyDevice, mass_storage_configuration
from .catalogue import DeviceKind, DeviceSpec
from .descriptors import DeviceShape
from .disk import ALIGNMENT_SECTORS, SECTOR, first_partition, partitioned_disk
from .fat32 import VolumeSpec, build_fat32
from .fatread import read_fat32_files
from .medium import Medium
from .scsi import ScsiLogicalUnit, UnitInfo

__all__ = ["MassStorageStick", "build_stick", "fat32_disk", "stick_shape"]

logger = logging.getLogger(__name__)

PARTITION_GAP = ALIGNMENT_SECTORS * SECTOR


def stick_shape(spec: DeviceSpec) -> DeviceShape:
    return spec.shape(mass_storage_configuration())


def unit_info(spec: DeviceSpec, *, cdrom: bool = False) -> UnitInfo:
    return UnitInfo(
        vendor=spec.scsi_vendor or spec.manufacturer,
        product=spec.scsi_product or spec.product,
        revision=spec.scsi_revision,
        serial=spec.serial,
        cdrom=cdrom,
    )


def fat32_disk(spec: DeviceSpec) -> bytes:
    """The stick's whole disk: MBR, then one FAT32 partition with its files."""
    volume = build_fat32(
        VolumeSpec(
            size_bytes=(spec.capacity_mib << 20) - PARTITION_GAP,
            seed=spec.seed,
            files=spec.files,
            label=spec.label,
            hidden_sectors=ALIGNMENT_SECTORS,
        )
    )
    return partitioned_disk(volume, seed=spec.seed)


class MassStorageStick(BulkOnlyDevice):
    """A one-LUN stick whose medium can be swapped, ejected or write-protected."""

    kind = "mass-storage"

    @property
    def unit(self) -> ScsiLogicalUnit:
        return self.units[0]

    @property
    def medium(self) -> Medium | None:
        return self.unit.medium

    def change_medium(self, medium: Medium | None) -> None:
        with self._lock:
            self.unit.change_medium(medium)

    def set_write_protect(self, on: bool) -> None:
        """Flip the case switch; the host sees it at its next MODE SENSE."""
        with self._lock:
            if self.unit.medium is not None:
                self.unit.medium.read_only = on
                self.unit.change_medium(self.unit.medium)

    def volume_files(self) -> dict[str, bytes]:
        """The files on the first partition, as the medium holds them now."""
        medium = self.medium
        if medium is None:
            return {}
        disk = medium.snapshot()
        return read_fat32_files(disk[first_partition(disk).byte_range])


def build_stick(spec: DeviceSpec) -> MassStorageStick:
    """A plain stick, or a BitLocker To Go one (still a plain stick to USB)."""
    if spec.kind is DeviceKind.BITLOCKER_STICK:
        disk, _ = bitlocker_to_go_disk(spec)
    else:
        disk = fat32_disk(spec)
    medium = Medium(disk, read_only=spec.read_only)
    logger.debug("built %s (%s) with %d blocks", spec.name, spec.serial, medium.blocks)
    return MassStorageStick(
        stick_shape(spec), [ScsiLogicalUnit(unit_info(spec), medium)]
    )
