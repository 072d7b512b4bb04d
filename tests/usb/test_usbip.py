"""The USB/IP server and our pyusb USB/IP client backend, over loopback TCP."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest
import usb.core

from sim.usb.bot_host import BotHost
from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.sticks import MassStorageStick, build_stick
from sim.usb.usbip_client import UsbipClientBackend, UsbipClientError
from sim.usb.usbip_server import UsbipServer


@pytest.fixture
def server(bus: UsbBus) -> Iterator[UsbipServer]:
    with UsbipServer(bus, port=0) as running:
        yield running


@pytest.fixture
def client(server: UsbipServer) -> Iterator[UsbipClientBackend]:
    with UsbipClientBackend(server.host, server.port, timeout=5) as backend:
        yield backend


def test_server_binds_loopback_by_default(server: UsbipServer) -> None:
    assert server.host == "127.0.0.1"


def test_device_list_matches_the_kernel_layout(
    bus: UsbBus, stick: MassStorageStick, server: UsbipServer
) -> None:
    bus.plug(stick)
    with socket.create_connection((server.host, server.port), timeout=5) as peer:
        peer.sendall(struct.pack(">HHI", 0x0111, 0x8005, 0))
        reply = b""
        while chunk := peer.recv(4096):
            reply += chunk

    version, code, status, count = struct.unpack_from(">HHII", reply)
    busid = reply[12 + 256 : 12 + 256 + 32].rstrip(b"\0")
    speed, vendor, product = struct.unpack_from(">IHH", reply, 12 + 0x128)
    interfaces = reply[12 + 0x138 :]

    assert (version, code, status, count) == (0x0111, 0x0005, 0, 1)
    assert busid == b"1-1"
    assert (speed, vendor, product) == (3, 0x0781, 0x5567)
    assert interfaces == b"\x08\x06\x50\x00"


def test_client_backend_enumerates_with_strings(
    bus: UsbBus, stick: MassStorageStick, client: UsbipClientBackend
) -> None:
    bus.plug(stick)

    found = list(usb.core.find(find_all=True, backend=client))

    assert len(found) == 1
    assert (found[0].idVendor, found[0].idProduct) == (0x0781, 0x5567)
    assert found[0].serial_number == stick.serial
    assert found[0].product == "Cruzer Blade"
    assert found[0].speed == usb.util.SPEED_HIGH


def test_scsi_read_and_write_round_trip_over_usbip(
    bus: UsbBus, stick: MassStorageStick, client: UsbipClientBackend
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=client))
    host.clear_attention()
    assert stick.medium is not None

    sectors = host.read_blocks(0, 128)
    written = host.write_blocks(9000, b"\x5a" * 4096)

    assert sectors == stick.medium.read(0, 128)
    assert written.status == 0
    assert stick.medium.read(9000, 8) == b"\x5a" * 4096


def test_failed_read_stalls_and_recovers_over_usbip(
    bus: UsbBus, stick: MassStorageStick, client: UsbipClientBackend
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=client))
    host.clear_attention()
    stick.change_medium(None)

    outcome = host.command(bytes([0x28] + [0] * 6 + [0, 1, 0]), data_in=512)

    assert outcome.status == 1
    assert host.sense() == (0x02, 0x3A, 0x00)


def test_read_with_nothing_to_send_times_out_and_is_unlinked(
    bus: UsbBus, stick: MassStorageStick, client: UsbipClientBackend
) -> None:
    bus.plug(stick)
    device = usb.core.find(backend=client)
    device.set_configuration()

    with pytest.raises(usb.core.USBTimeoutError):
        device.read(0x81, 512, timeout=100)
    # The session is still usable: the parked URB was cancelled, not answered.
    assert device.ctrl_transfer(0x80, 0x08, 0, 0, 1)[0] == 1


def test_unplug_closes_the_import_and_the_device_leaves_the_list(
    bus: UsbBus,
    stick: MassStorageStick,
    server: UsbipServer,
    client: UsbipClientBackend,
) -> None:
    where = bus.plug(stick)
    device = usb.core.find(backend=client)
    assert device.serial_number == stick.serial
    assert server.imported() == ["1-1"]

    bus.unplug(where.busid)

    with pytest.raises(usb.core.USBError) as raised:
        device.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
    assert raised.value.errno == 19
    assert list(usb.core.find(find_all=True, backend=client)) == []


def test_second_importer_is_refused_while_the_first_holds_the_device(
    bus: UsbBus,
    stick: MassStorageStick,
    server: UsbipServer,
    client: UsbipClientBackend,
) -> None:
    bus.plug(stick)
    assert usb.core.find(backend=client).serial_number == stick.serial

    with (
        UsbipClientBackend(server.host, server.port) as other,
        pytest.raises(UsbipClientError, match="refused to export 1-1"),
    ):
        usb.core.find(backend=other)


def test_client_says_what_to_do_when_no_server_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    with pytest.raises(UsbipClientError, match="usbip serve"):
        UsbipClientBackend("127.0.0.1", free_port).device_records()


def test_devices_plugged_later_appear_at_the_next_enumeration(
    bus: UsbBus, client: UsbipClientBackend
) -> None:
    assert list(usb.core.find(find_all=True, backend=client)) == []

    bus.plug(build_stick(by_name("readonly-stick")))

    assert [d.serial_number for d in usb.core.find(find_all=True, backend=client)] == [
        by_name("readonly-stick").serial
    ]
