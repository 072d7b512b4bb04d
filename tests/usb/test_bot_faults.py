"""Injected Bulk-Only Transport faults, and the host's way out of them."""

from __future__ import annotations

import pytest
import usb.core

from sim.usb.bot import BotFault
from sim.usb.bot_host import BotHost
from sim.usb.bus import UsbBus
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.sticks import MassStorageStick

INQUIRY = bytes([0x12, 0, 0, 0, 36, 0])


def _reset_recovery(host: BotHost) -> None:
    """BOT 5.3.4: class reset, then clear both halts."""
    host.device.ctrl_transfer(0x21, 0xFF, 0, 0, None)
    host.device.clear_halt(host.bulk_in)
    host.device.clear_halt(host.bulk_out)


@pytest.fixture
def host(bus: UsbBus, stick: MassStorageStick) -> BotHost:
    bus.plug(stick)
    return BotHost(usb.core.find(backend=InProcessBackend(bus)))


def test_phase_error_is_reported_in_the_csw(
    host: BotHost, stick: MassStorageStick
) -> None:
    stick.inject_fault(BotFault.PHASE_ERROR)

    failed = host.command(INQUIRY, data_in=36)
    _reset_recovery(host)
    recovered = host.command(INQUIRY, data_in=36)

    assert failed.status == 2
    assert failed.data == b""
    assert recovered.status == 0
    assert recovered.data[8:15] == b"SanDisk"


def test_stall_holds_until_reset_recovery(
    host: BotHost, stick: MassStorageStick
) -> None:
    stick.inject_fault(BotFault.STALL)

    with pytest.raises(usb.core.USBError) as raised:
        host.command(INQUIRY, data_in=36)
    host.device.clear_halt(host.bulk_in)  # not enough: BOT wants a class reset too
    with pytest.raises(usb.core.USBError):
        host.device.read(host.bulk_in, 13)
    _reset_recovery(host)

    assert raised.value.errno == 32
    assert host.command(INQUIRY, data_in=36).status == 0


def test_silence_times_out_and_reset_recovery_revives_the_stick(
    host: BotHost, stick: MassStorageStick
) -> None:
    stick.inject_fault(BotFault.SILENCE)

    with pytest.raises(usb.core.USBTimeoutError):
        host.command(bytes(6))
    _reset_recovery(host)

    assert host.command(INQUIRY, data_in=36).status == 0


def test_invalid_cbw_stalls_bulk_in_until_reset_recovery(host: BotHost) -> None:
    host.device.write(host.bulk_out, b"NOT A CBW".ljust(31, b"\0"))

    with pytest.raises(usb.core.USBError) as first:
        host.device.read(host.bulk_in, 13)
    host.device.clear_halt(host.bulk_in)
    with pytest.raises(usb.core.USBError) as second:
        host.device.read(host.bulk_in, 13)
    _reset_recovery(host)

    assert first.value.errno == second.value.errno == 32
    assert host.command(INQUIRY, data_in=36).status == 0
