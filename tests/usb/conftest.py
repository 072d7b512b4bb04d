"""Shared fixtures for the USB simulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.sticks import MassStorageStick, build_stick


@pytest.fixture
def stick() -> MassStorageStick:
    return build_stick(by_name("stick"))


@pytest.fixture
def bus() -> Iterator[UsbBus]:
    bus = UsbBus()
    yield bus
    for attachment in bus.attachments():
        bus.unplug(attachment.busid)
