"""The agent finds and classifies devices over any pyusb backend.

The simulator's in-process backend and USB/IP over a real socket: the agent
uses nothing but pyusb, so both must give the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from agent.devices.model import Encryption, Medium
from agent.devices.watcher import DeviceWatcher
from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.factory import build_device
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.usbip_client import UsbipClientBackend
from sim.usb.usbip_server import UsbipServer

EXPECTED = {
    "stick": (Medium.DISK, Encryption.NONE, "SanDisk Cruzer Blade USB Device"),
    "bitlocker-stick": (
        Medium.DISK,
        Encryption.BITLOCKER,
        "Kingston DataTraveler G3 USB Device",
    ),
    "encrypted-stick": (
        Medium.DISK,
        Encryption.HARDWARE,
        "Apricorn Secure Key 3.0 USB Device",
    ),
    "android-phone": (Medium.MOBILE, Encryption.NONE, "SAMSUNG_Android"),
    # MTP on a vendor-specific interface, known by its interface string "MTP".
    "legacy-android-phone": (Medium.MOBILE, Encryption.NONE, "SK17i"),
    "iphone": (Medium.MOBILE, Encryption.NONE, "iPhone"),
}


@pytest.fixture(params=["in-process", "usbip"])
def watched(request: pytest.FixtureRequest) -> Iterator[tuple[UsbBus, DeviceWatcher]]:
    bus = UsbBus()
    with ExitStack() as stack:
        backend: Any = InProcessBackend(bus)
        if request.param == "usbip":
            server = stack.enter_context(UsbipServer(bus, port=0))
            backend = stack.enter_context(UsbipClientBackend(server.host, server.port))
        yield bus, DeviceWatcher(backend)


def test_every_catalogue_device_is_classified_from_the_device_itself(
    watched: tuple[UsbBus, DeviceWatcher],
) -> None:
    bus, watcher = watched
    serials = {}
    for name in EXPECTED:
        spec = by_name(name)
        bus.plug(build_device(spec))
        serials[spec.serial] = name
    arrived = watcher.scan().arrived
    found = {
        serials[device.serial]: (device.medium, device.encryption, device.model)
        for device in arrived
    }
    assert found == EXPECTED


def test_removal_is_reported_once(watched: tuple[UsbBus, DeviceWatcher]) -> None:
    bus, watcher = watched
    attachment = bus.plug(build_device(by_name("stick")))
    assert len(watcher.scan().arrived) == 1
    bus.unplug(attachment.busid)
    changes = watcher.scan()
    assert [device.serial for device in changes.removed] == [by_name("stick").serial]
    assert watcher.scan().removed == []
