"""pyusb programs see simulated devices through the in-process backend."""

from __future__ import annotations

import struct

import pytest
import usb.core
import usb.util

from sim.usb.bot_host import BotHost
from sim.usb.bus import UsbBus
from sim.usb.catalogue import README_TEXT, by_name
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.sticks import MassStorageStick, build_stick


def test_find_all_enumerates_every_plugged_stick_with_its_identity(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    other = build_stick(by_name("readonly-stick"))
    bus.plug(stick)
    bus.plug(other)

    found = list(usb.core.find(find_all=True, backend=InProcessBackend(bus)))

    assert [(d.idVendor, d.idProduct) for d in found] == [(0x0781, 0x5567)] * 2
    assert [d.serial_number for d in found] == [stick.serial, other.serial]
    assert len({(d.bus, d.address) for d in found}) == 2
    assert all(d.speed == usb.util.SPEED_HIGH for d in found)


def test_strings_and_langids_read_like_hardware(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    device = usb.core.find(backend=InProcessBackend(bus), idVendor=0x0781)

    assert device.langids == (0x0409,)
    assert device.manufacturer == "SanDisk"
    assert device.product == "Cruzer Blade"
    assert device.serial_number == "4C530001230815115470"


def test_interface_is_mass_storage_bulk_only_with_high_speed_endpoints(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    device = usb.core.find(backend=InProcessBackend(bus))
    device.set_configuration()

    interface = device.get_active_configuration()[(0, 0)]
    endpoints = {e.bEndpointAddress: e.wMaxPacketSize for e in interface}

    assert (
        interface.bInterfaceClass,
        interface.bInterfaceSubClass,
        interface.bInterfaceProtocol,
    ) == (0x08, 0x06, 0x50)
    assert endpoints == {0x81: 512, 0x02: 512}


def test_unknown_descriptor_request_stalls(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    device = usb.core.find(backend=InProcessBackend(bus))

    with pytest.raises(usb.core.USBError) as raised:
        device.ctrl_transfer(0x80, 0x06, 0x0F00, 0, 64)  # BOS: a USB 2.0 stick has none

    assert raised.value.errno == 32


def test_unplugged_device_disappears_and_its_handle_fails(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    backend = InProcessBackend(bus)
    where = bus.plug(stick)
    device = usb.core.find(backend=backend)

    bus.unplug(where.busid)

    assert usb.core.find(backend=backend) is None
    with pytest.raises(usb.core.USBError) as raised:
        device.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
    assert raised.value.errno == 19


def test_first_command_after_configuration_reports_unit_attention(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))

    assert host.command(bytes(6)).status == 1
    assert host.sense() == (0x06, 0x29, 0x00)
    assert host.command(bytes(6)).status == 0


def test_inquiry_and_unit_serial_page(bus: UsbBus, stick: MassStorageStick) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))

    standard = host.command(bytes([0x12, 0, 0, 0, 36, 0]), data_in=36).data
    serial_page = host.command(bytes([0x12, 1, 0x80, 0, 255, 0]), data_in=255).data

    assert standard[0] == 0x00  # a disk
    assert standard[1] & 0x80  # removable
    assert standard[8:16] == b"SanDisk "
    assert standard[16:32] == b"Cruzer Blade    "
    assert serial_page[1] == 0x80
    assert serial_page[4 : 4 + serial_page[3]] == stick.serial.encode()


def test_capacities_agree_with_the_medium(bus: UsbBus, stick: MassStorageStick) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()
    blocks = stick.medium.blocks if stick.medium else 0

    capacity10 = host.command(bytes([0x25] + [0] * 9), data_in=8).data
    capacity16 = host.command(
        bytes([0x9E, 0x10] + [0] * 8 + [0, 0, 0, 32, 0, 0]), data_in=32
    ).data
    formats = host.command(bytes([0x23, 0, 0, 0, 0, 0, 0, 0, 252, 0]), data_in=252)

    assert struct.unpack(">II", capacity10) == (blocks - 1, 512)
    assert struct.unpack_from(">QI", capacity16) == (blocks - 1, 512)
    assert struct.unpack_from(">I", formats.data, 4)[0] == blocks
    assert formats.residue == 252 - 12


def test_read_returns_the_image_and_write_changes_it(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()
    assert stick.medium is not None

    first_sectors = host.read_blocks(0, 64)
    written = host.write_blocks(5000, b"\xa5" * 1024)

    assert first_sectors == stick.medium.read(0, 64)
    assert first_sectors[510:512] == b"\x55\xaa"
    assert written.status == 0
    assert stick.medium.read(5000, 2) == b"\xa5" * 1024
    assert host.read_blocks(5000, 2) == b"\xa5" * 1024


def test_files_on_the_stick_read_back_from_its_fat32_volume(
    stick: MassStorageStick,
) -> None:
    files = stick.volume_files()

    assert files["README.TXT"] == README_TEXT
    assert set(files) >= {"Quarterly report.docx", "Photos/IMG_0001.JPG"}


def test_write_protected_stick_refuses_writes_and_says_so_in_mode_sense(
    bus: UsbBus,
) -> None:
    bus.plug(build_stick(by_name("readonly-stick")))
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()

    mode6 = host.command(bytes([0x1A, 0, 0x3F, 0, 192, 0]), data_in=192).data
    mode10 = host.command(bytes([0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 192, 0]), data_in=192)
    write = host.write_blocks(100, bytes(512))

    assert mode6[2] & 0x80
    assert mode10.data[3] & 0x80
    assert write.status == 1
    assert host.sense() == (0x07, 0x27, 0x00)


def test_read_past_the_end_fails_with_lba_out_of_range(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()
    blocks = stick.medium.blocks if stick.medium else 0

    outcome = host.command(
        struct.pack(">BBIBHB", 0x28, 0, blocks - 1, 0, 2, 0), data_in=1024
    )

    assert outcome.status == 1
    assert outcome.residue == 1024
    assert host.sense() == (0x05, 0x21, 0x00)


def test_unknown_opcode_fails_with_invalid_command(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()

    assert host.command(bytes([0xC7, 0, 0, 0, 0, 0])).status == 1
    assert host.sense() == (0x05, 0x20, 0x00)


def test_prevented_eject_fails_and_allowed_eject_removes_the_medium(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()
    eject = bytes([0x1B, 0, 0, 0, 0x02, 0])

    host.command(bytes([0x1E, 0, 0, 0, 1, 0]))
    refused = host.command(eject)
    refused_sense = host.sense()
    host.command(bytes([0x1E, 0, 0, 0, 0, 0]))
    ejected = host.command(eject)

    assert refused.status == 1
    assert refused_sense == (0x05, 0x53, 0x02)
    assert ejected.status == 0
    assert host.command(bytes(6)).status == 1
    assert host.sense() == (0x02, 0x3A, 0x00)


def test_media_change_from_code_raises_unit_attention(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()

    stick.change_medium(None)
    absent = host.command(bytes(6)).status, host.sense()
    stick.change_medium(build_stick(by_name("readonly-stick")).medium)
    changed = host.command(bytes(6)).status, host.sense()

    assert absent == (1, (0x02, 0x3A, 0x00))
    assert changed == (1, (0x06, 0x28, 0x00))
    assert host.command(bytes(6)).status == 0


def test_sync_cache_and_verify_pass_in_range(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()

    assert host.command(bytes([0x35, 0, 0, 0, 0, 0, 0, 0, 8, 0])).status == 0
    assert host.command(bytes([0x2F, 0, 0, 0, 0, 0, 0, 0, 8, 0])).status == 0


def test_write_protect_switch_flipped_from_code_reaches_the_host(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()
    mode_sense = bytes([0x1A, 0, 0x3F, 0, 192, 0])

    stick.set_write_protect(True)
    attention = host.command(bytes(6)).status, host.sense()
    protected = host.command(mode_sense, data_in=192).data[2] & 0x80
    refused = host.write_blocks(200, bytes(512)).status
    stick.set_write_protect(False)
    host.clear_attention()
    allowed = host.write_blocks(200, bytes(512)).status

    assert attention == (1, (0x06, 0x28, 0x00))
    assert protected
    assert refused == 1
    assert allowed == 0


def test_windows_probe_sequence_succeeds_after_one_sense(
    bus: UsbBus, stick: MassStorageStick
) -> None:
    """Get Max LUN, INQUIRY, READ FORMAT CAPACITIES, READ CAPACITY, READ(10) LBA 0."""
    bus.plug(stick)
    device = usb.core.find(backend=InProcessBackend(bus))
    host = BotHost(device)

    max_lun = bytes(device.ctrl_transfer(0xA1, 0xFE, 0, 0, 1))
    inquiry = host.command(bytes([0x12, 0, 0, 0, 36, 0]), data_in=36).status
    formats = host.command(bytes([0x23] + [0] * 6 + [0, 252, 0]), data_in=252)
    attention = host.sense()
    retried = host.command(bytes([0x23] + [0] * 6 + [0, 252, 0]), data_in=252)
    capacity = host.command(bytes([0x25] + [0] * 9), data_in=8).status
    boot_sector = host.read_blocks(0, 1)

    assert max_lun == b"\x00"
    assert inquiry == 0
    assert formats.status == 1
    assert attention == (0x06, 0x29, 0x00)
    assert retried.status == 0
    assert capacity == 0
    assert boot_sector[510:] == b"\x55\xaa"
