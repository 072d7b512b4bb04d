"""VM passthrough: what the host and the guest each see (usb.md section 6)."""

from __future__ import annotations

import pytest
import usb.core

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.encrypted import build_encrypted_stick
from sim.usb.passthrough import Hypervisor, Passthrough
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.sticks import MassStorageStick

KEEPS_IDENTITY = [
    Hypervisor.QEMU,
    Hypervisor.VIRTUALBOX,
    Hypervisor.VMWARE,
    Hypervisor.USBIPD_WIN,
]


def _seen(bus: UsbBus) -> list[tuple[int, int, str | None]]:
    found = usb.core.find(find_all=True, backend=InProcessBackend(bus))
    return [(d.idVendor, d.idProduct, d.serial_number) for d in found]


@pytest.mark.parametrize("hypervisor", KEEPS_IDENTITY, ids=lambda h: h.value)
def test_guest_sees_the_stick_with_its_own_ids_and_serial(
    bus: UsbBus, stick: MassStorageStick, hypervisor: Hypervisor
) -> None:
    where = bus.plug(stick)
    guest = UsbBus(busnum=2)

    Passthrough(bus, guest, hypervisor).to_guest(where.busid)

    assert _seen(guest) == [(0x0781, 0x5567, stick.serial)]


def test_vmware_removes_the_stick_from_the_host(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    where = bus.plug(stick)
    vm = Passthrough(bus, UsbBus(busnum=2), Hypervisor.VMWARE)

    record = vm.to_guest(where.busid)

    assert _seen(bus) == []
    assert not record.host_present
    assert vm.host_driver(where.busid) is None


def test_usbipd_win_leaves_the_virtualbox_stub_in_the_host_port(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    where = bus.plug(stick)
    vm = Passthrough(bus, UsbBus(busnum=2), Hypervisor.USBIPD_WIN)

    vm.to_guest(where.busid)

    assert [ids[:2] for ids in _seen(bus)] == [(0x80EE, 0xCAFE)]
    assert vm.host_driver(where.busid) == "VBoxUSB"


def test_virtualbox_replugs_the_stick_on_the_host_under_its_stub_driver(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    events: list[str] = []
    where = bus.plug(stick)
    bus.subscribe(lambda event, attachment: events.append(event))
    vm = Passthrough(bus, UsbBus(busnum=2), Hypervisor.VIRTUALBOX)

    vm.to_guest(where.busid)

    assert events == ["unplugged", "plugged"]
    assert _seen(bus) == [(0x0781, 0x5567, stick.serial)]
    assert vm.host_driver(where.busid) == "VBoxUSB"


def test_qemu_detaches_the_host_driver_but_the_device_stays_listed(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    where = bus.plug(stick)
    vm = Passthrough(bus, UsbBus(busnum=2), Hypervisor.QEMU)

    vm.to_guest(where.busid)

    assert _seen(bus) == [(0x0781, 0x5567, stick.serial)]
    assert vm.host_driver(where.busid) is None


def test_hyperv_rdp_guest_sees_a_drive_without_usb_identity(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    where = bus.plug(stick)
    guest = UsbBus(busnum=2)
    vm = Passthrough(bus, guest, Hypervisor.HYPERV_RDP)

    record = vm.to_guest(where.busid)

    assert _seen(guest) == []
    assert record.guest_drive is not None
    assert record.guest_drive.size_bytes == 64 << 20
    assert vm.drives == [record.guest_drive]
    assert vm.host_driver(where.busid) == "usb-storage"


@pytest.mark.parametrize("hypervisor", list(Hypervisor), ids=lambda h: h.value)
def test_releasing_returns_the_stick_to_the_host(
    bus: UsbBus, stick: MassStorageStick, hypervisor: Hypervisor
) -> None:
    where = bus.plug(stick)
    guest = UsbBus(busnum=2)
    vm = Passthrough(bus, guest, hypervisor)
    vm.to_guest(where.busid)

    back = vm.to_host(where.busid)

    assert back.busid == where.busid
    assert _seen(bus) == [(0x0781, 0x5567, by_name("stick").serial)]
    assert _seen(guest) == []
    assert vm.drives == []
    assert vm.host_driver(where.busid) == "usb-storage"


def test_an_unlocked_encrypted_stick_stays_unlocked_in_the_guest(bus: UsbBus) -> None:
    encrypted = build_encrypted_stick(by_name("encrypted-stick"))
    bus.plug(encrypted)
    encrypted.unlock(by_name("encrypted-stick").unlock_code)
    guest = UsbBus(busnum=2)

    Passthrough(bus, guest, Hypervisor.VMWARE).to_guest("1-1")

    assert not encrypted.locked  # handed over with power kept, not pulled out
    assert _seen(guest) == [(0x0984, 0x0200, encrypted.serial)]
