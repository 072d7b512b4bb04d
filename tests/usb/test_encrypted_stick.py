"""A hardware-encrypted stick: an unlocker CD-ROM until the PIN, then the data disk."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import usb.core

from sim.usb.bot_host import BotHost
from sim.usb.bus import UsbBus
from sim.usb.catalogue import README_TEXT, by_name
from sim.usb.encrypted import MAX_FAILED_ATTEMPTS, build_encrypted_stick, unlocker_disc
from sim.usb.pyusb_backend import InProcessBackend

INQUIRY = bytes([0x12, 0, 0, 0, 36, 0])
READ_CAPACITY = bytes([0x25] + [0] * 9)


def test_locked_stick_is_a_read_only_cdrom_with_2048_byte_blocks(bus: UsbBus) -> None:
    stick = build_encrypted_stick(by_name("encrypted-stick"))
    bus.plug(stick)
    host = BotHost(usb.core.find(backend=InProcessBackend(bus)))
    host.clear_attention()

    inquiry = host.command(INQUIRY, data_in=36).data
    _, block = struct.unpack(">II", host.command(READ_CAPACITY, data_in=8).data)
    volume_descriptor = host.command(
        bytes([0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0]), data_in=2048
    ).data
    write = host.command(bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0]), data_out=bytes(2048))

    assert stick.locked
    assert volume_descriptor[1:6] == b"CD001"
    assert inquiry[0] == 0x05
    assert block == 2048
    assert write.status == 1
    assert host.sense() == (0x07, 0x27, 0x00)
    assert stick.volume_files() == {}


def test_correct_pin_re_enumerates_the_stick_with_its_data_disk(bus: UsbBus) -> None:
    stick = build_encrypted_stick(by_name("encrypted-stick"))
    bus.plug(stick)
    backend = InProcessBackend(bus)
    locked = usb.core.find(backend=backend)
    BotHost(locked).clear_attention()

    assert not stick.unlock("0000000")
    assert stick.unlock(by_name("encrypted-stick").unlock_code)
    with pytest.raises(usb.core.USBError) as gone:
        locked.ctrl_transfer(0x80, 0x06, 0x0100, 0, 18)
    unlocked = usb.core.find(backend=backend)
    host = BotHost(unlocked)
    host.clear_attention()
    inquiry = host.command(INQUIRY, data_in=36).data
    _, block = struct.unpack(">II", host.command(READ_CAPACITY, data_in=8).data)

    assert gone.value.errno == 19
    assert unlocked.address != locked.address
    assert unlocked.serial_number == stick.serial
    assert inquiry[0] == 0x00
    assert block == 512
    assert stick.volume_files()["README.TXT"] == README_TEXT


def test_unplugging_locks_the_stick_again(bus: UsbBus) -> None:
    stick = build_encrypted_stick(by_name("encrypted-stick"))
    where = bus.plug(stick)
    stick.unlock(by_name("encrypted-stick").unlock_code)

    bus.unplug(where.busid)
    bus.plug(stick)

    assert stick.locked


def test_too_many_wrong_pins_erase_the_key() -> None:
    stick = build_encrypted_stick(by_name("encrypted-stick"))

    for _ in range(MAX_FAILED_ATTEMPTS):
        stick.unlock("9999999")

    assert stick.erased
    assert not stick.unlock(by_name("encrypted-stick").unlock_code)
    assert stick.locked


def test_unlocker_disc_is_iso9660_that_isoinfo_lists(tmp_path: Path) -> None:
    isoinfo = shutil.which("isoinfo")
    if isoinfo is None:
        pytest.skip("isoinfo is missing: apt-get install genisoimage")
    disc = tmp_path / "unlocker.iso"
    disc.write_bytes(unlocker_disc(by_name("encrypted-stick")))

    listing = subprocess.run(
        [isoinfo, "-f", "-i", str(disc)], capture_output=True, text=True, check=True
    ).stdout.split()
    readme = subprocess.run(
        [isoinfo, "-i", str(disc), "-x", "/README.TXT;1"],
        capture_output=True,
        check=True,
    ).stdout

    assert listing == ["/AUTORUN.INF;1", "/UNLOCK.EXE;1", "/README.TXT;1"]
    assert readme.startswith(b"Enter the PIN to unlock your Aegis Secure Key")


def test_unlocking_a_stick_that_no_bus_holds_just_unlocks_it(bus: UsbBus) -> None:
    stick = build_encrypted_stick(by_name("encrypted-stick"))
    bus.plug(stick)
    bus.detach("1-1")  # taken by a hypervisor, not yet given to a guest

    assert stick.unlock(by_name("encrypted-stick").unlock_code)
    assert not stick.locked
