"""Handing a device from a physical host to a virtual machine and back.

Each hypervisor leaves a different trace on both sides (usb.md section 6):

| hypervisor | host bus while passed through | host driver | guest |
|---|---|---|---|
| QEMU usb-host | stays, same ids | detached (none) | the device |
| VirtualBox | fake unplug and replug, same ids | ``VBoxUSB`` | the device |
| VMware | unplugged | - | the device |
| usbipd-win | replaced by the stub 80EE:CAFE | ``VBoxUSB`` | the device |
| Hyper-V RDP | stays, same ids | unchanged | a redirected drive, no USB identity |

Both sides are :class:`UsbBus` objects, so either side can be enumerated
through the pyusb backends like any other bus.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from .bus import Attachment, BusError, UsbBus
from .descriptors import Configuration, DeviceShape
from .device import UsbDevice
from .sticks import MassStorageStick

__all__ = ["Hypervisor", "Passthrough", "PassthroughRecord", "RedirectedDrive"]

logger = logging.getLogger(__name__)

VIRTUALBOX_VENDOR = 0x80EE
VIRTUALBOX_STUB_PRODUCT = 0xCAFE  # what usbipd-win's bound device shows
HOST_CLASS_DRIVER = "usb-storage"
VIRTUALBOX_STUB_DRIVER = "VBoxUSB"


class Hypervisor(enum.Enum):
    QEMU = "qemu"
    VIRTUALBOX = "virtualbox"
    VMWARE = "vmware"
    USBIPD_WIN = "usbipd-win"
    HYPERV_RDP = "hyperv-rdp"


@dataclass(frozen=True)
class RedirectedDrive:
    """A drive redirected over RDP: a letter and a size, no USB identity."""

    name: str
    size_bytes: int


@dataclass(frozen=True)
class PassthroughRecord:
    """What each side shows while the device belongs to the guest."""

    hypervisor: Hypervisor
    device: UsbDevice
    host_busid: str
    host_present: bool  # still enumerated on the host bus
    host_driver: str | None  # the driver bound on the host, None if detached
    guest: Attachment | None  # None under RDP redirection
    guest_drive: RedirectedDrive | None
    stub: UsbDevice | None  # what usbipd-win leaves in the host port


class _StubDevice(UsbDevice):
    """usbipd-win's bound device: VirtualBox's stub, with no interfaces."""

    kind = "vbox-stub"


def _stub_for(device: UsbDevice) -> UsbDevice:
    shape = DeviceShape(
        vendor_id=VIRTUALBOX_VENDOR,
        product_id=VIRTUALBOX_STUB_PRODUCT,
        bcd_device=0x0100,
        manufacturer="VirtualBox",
        product="VirtualBox USB",
        serial=device.serial,
        configuration=Configuration(interfaces=()),
        device_class=0xFF,
        speed=device.speed,
    )
    return _StubDevice(shape)


class Passthrough:
    """One physical host, one guest and the hypervisor between them."""

    def __init__(
        self,
        host: UsbBus,
        guest: UsbBus,
        hypervisor: Hypervisor,
        *,
        host_name: str = "WORKSTATION-01",
    ) -> None:
        self.host_name = host_name
        self.host = host
        self.guest = guest
        self.hypervisor = hypervisor
        self.records: dict[str, PassthroughRecord] = {}
        self.drives: list[RedirectedDrive] = []

    def to_guest(self, host_busid: str) -> PassthroughRecord:
        """Hand the device in ``host_busid`` to the guest."""
        attachment = self.host.find(host_busid)
        if attachment is None:
            raise BusError(f"nothing is plugged into {host_busid} on the host")
        if host_busid in self.records:
            raise BusError(f"{host_busid} is already passed through")
        device, kind = attachment.device, self.hypervisor
        present, driver, stub = self._leave_host(attachment)
        guest, drive = None, None
        if kind is Hypervisor.HYPERV_RDP:
            drive = self._redirect(device)
        else:
            guest = self.guest.plug(device)
        record = PassthroughRecord(
            hypervisor=kind,
            device=device,
            host_busid=host_busid,
            host_present=present,
            host_driver=driver,
            guest=guest,
            guest_drive=drive,
            stub=stub,
        )
        self.records[host_busid] = record
        logger.info("%s: %s passed to the guest", kind.value, device.serial)
        return record

    def _leave_host(
        self, attachment: Attachment
    ) -> tuple[bool, str | None, UsbDevice | None]:
        """What the hypervisor does on the host: (present, driver, stub)."""
        kind, device, busid = self.hypervisor, attachment.device, attachment.busid
        if kind is Hypervisor.QEMU:
            return True, None, None
        if kind is Hypervisor.HYPERV_RDP:
            return True, HOST_CLASS_DRIVER, None
        self.host.detach(busid)  # the device keeps its power throughout
        if kind is Hypervisor.VMWARE:
            return False, None, None
        if kind is Hypervisor.VIRTUALBOX:
            self.host.plug(device, port=attachment.port)
            return True, VIRTUALBOX_STUB_DRIVER, None
        stub = _stub_for(device)
        self.host.plug(stub, port=attachment.port)
        return True, VIRTUALBOX_STUB_DRIVER, stub

    def to_host(self, host_busid: str) -> Attachment:
        """Give the device back to the host, as releasing it in the VM does."""
        record = self.records.pop(host_busid, None)
        if record is None:
            raise BusError(f"{host_busid} is not passed through")
        if record.guest is not None:
            self.guest.detach(record.guest.busid)
        if record.guest_drive is not None:
            self.drives.remove(record.guest_drive)
        port = int(host_busid.rpartition("-")[2])
        if record.hypervisor in (Hypervisor.QEMU, Hypervisor.HYPERV_RDP):
            found = self.host.find(host_busid)
            if found is None:
                raise BusError(f"{record.device.serial} left {host_busid} meanwhile")
            return found
        if record.host_present:
            self.host.detach(host_busid)
        logger.info(
            "%s: %s back on the host", record.hypervisor.value, record.device.serial
        )
        return self.host.plug(record.device, port=port)

    def host_driver(self, host_busid: str) -> str | None:
        """The driver the host has bound to the device in ``host_busid``."""
        record = self.records.get(host_busid)
        if record is not None:
            return record.host_driver
        return HOST_CLASS_DRIVER if self.host.find(host_busid) else None

    def _redirect(self, device: UsbDevice) -> RedirectedDrive:
        size = 0
        medium = device.medium if isinstance(device, MassStorageStick) else None
        if medium is not None:
            size = medium.blocks * medium.block_size
        drive = RedirectedDrive(name=f"E on {self.host_name}", size_bytes=size)
        self.drives.append(drive)
        return drive
