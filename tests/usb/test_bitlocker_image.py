"""BitLocker To Go images, checked by two independent BitLocker parsers."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import pybde
import pytest
from dissect.fve.bde import BDE
from dissect.fve.bde.c_bde import FVE_KEY_PROTECTOR

from sim.usb.bitlocker import BITLOCKER_GUID, bitlocker_to_go_disk, recovery_password
from sim.usb.catalogue import by_name
from sim.usb.disk import first_partition
from sim.usb.fatread import read_fat32_files


@pytest.fixture(scope="module")
def disk() -> bytes:
    return bitlocker_to_go_disk(by_name("bitlocker-stick"))[0]


@pytest.fixture(scope="module")
def volume(disk: bytes) -> bytes:
    return disk[first_partition(disk).byte_range]


@pytest.fixture(scope="module")
def decrypted(volume: bytes) -> bytes:
    """The volume as dissect.fve decrypts it with the passphrase (slow: once)."""
    parsed = BDE(io.BytesIO(volume))
    parsed.unlock_with_passphrase(by_name("bitlocker-stick").unlock_code)
    return bytes(parsed.open().read(len(volume)))


def test_same_seed_gives_the_same_image(disk: bytes) -> None:
    assert bitlocker_to_go_disk(by_name("bitlocker-stick"))[0] == disk


def test_boot_sector_is_a_discovery_volume_pointing_at_fve_blocks(
    volume: bytes,
) -> None:
    offsets = struct.unpack_from("<3Q", volume, 440)

    assert volume[3:11] == b"MSWIN4.1"
    assert volume[82:90] == b"FAT32   "
    assert volume[424:440] == BITLOCKER_GUID.bytes_le
    for offset in offsets:
        assert volume[offset : offset + 8] == b"-FVE-FS-"


def test_libbde_opens_the_volume_and_reports_it_locked(
    volume: bytes, tmp_path: Path
) -> None:
    image = tmp_path / "bitlocker.img"
    image.write_bytes(volume)
    reader = pybde.volume()

    reader.open(str(image))
    try:
        assert reader.is_locked()
        assert reader.get_encryption_method() == 0x8002  # AES-CBC 128-bit
        assert reader.get_number_of_key_protectors() == 2
        assert reader.get_description().startswith("DataTraveler G3")
    finally:
        reader.close()


def test_libbde_refuses_to_unlock_with_a_wrong_password(
    volume: bytes, tmp_path: Path
) -> None:
    image = tmp_path / "bitlocker.img"
    image.write_bytes(volume)
    reader = pybde.volume()
    reader.set_password("not the password")

    reader.open(str(image))
    try:
        assert reader.is_locked()
    finally:
        reader.close()


def test_libbde_unlocks_with_the_passphrase_and_reads_the_stick_files(
    volume: bytes, tmp_path: Path
) -> None:
    spec = by_name("bitlocker-stick")
    image = tmp_path / "bitlocker.img"
    image.write_bytes(volume)
    reader = pybde.volume()
    reader.set_password(spec.unlock_code)

    reader.open(str(image))
    try:
        unlocked = not reader.is_locked()
        plain = reader.read_buffer_at_offset(reader.get_size(), 0)
    finally:
        reader.close()

    assert unlocked
    assert read_fat32_files(plain) == {f.path: f.content for f in spec.files}


def test_dissect_fve_decrypts_the_stick_files(decrypted: bytes) -> None:
    spec = by_name("bitlocker-stick")

    assert decrypted[3:11] == b"MSDOS5.0"
    assert read_fat32_files(decrypted) == {f.path: f.content for f in spec.files}


def test_dissect_fve_refuses_a_wrong_passphrase(volume: bytes) -> None:
    parsed = BDE(io.BytesIO(volume))

    with pytest.raises(ValueError, match="passphrase"):
        parsed.unlock_with_passphrase("not the password")
    assert not parsed.unlocked


def test_dissect_fve_parses_every_metadata_block(volume: bytes) -> None:
    parsed = BDE(io.BytesIO(volume))

    assert len(parsed._valid_information) == 3  # every copy passes its CRC32
    assert parsed.version == 2
    assert parsed.description().startswith("DataTraveler G3")
    assert parsed.encrypted
    assert not parsed.unlocked
    assert parsed.has_passphrase()
    assert [d.priority for d in parsed.information.dataset.find_vmk()] == [
        FVE_KEY_PROTECTOR.PASSPHRASE,
        FVE_KEY_PROTECTOR.RECOVERY_PASSWORD,
    ]


def test_locked_volume_shows_only_the_discovery_files(volume: bytes) -> None:
    files = read_fat32_files(volume)

    assert set(files) == {"README.TXT", "BitLockerToGo.exe", "COV 0000. BL"}
    assert b"BitLocker To Go" in files["README.TXT"]


def test_discovery_and_decrypted_volumes_pass_fsck(
    volume: bytes, tmp_path: Path
) -> None:
    fsck = shutil.which("fsck.fat")
    if fsck is None:
        pytest.skip("fsck.fat is missing: apt-get install dosfstools")
    parsed = BDE(io.BytesIO(volume))
    parsed.unlock_with_passphrase(by_name("bitlocker-stick").unlock_code)
    discovery, decrypted = tmp_path / "discovery.img", tmp_path / "decrypted.img"
    discovery.write_bytes(volume)
    decrypted.write_bytes(parsed.open().read(len(volume)))

    for image in (discovery, decrypted):
        checked = subprocess.run(
            [fsck, "-n", str(image)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout


def test_recovery_password_unlocks_it_in_both_readers(
    volume: bytes, tmp_path: Path
) -> None:
    spec = by_name("bitlocker-stick")
    recovery = recovery_password(spec)
    image = tmp_path / "bitlocker.img"
    image.write_bytes(volume)
    reader = pybde.volume()
    reader.set_recovery_password(recovery)
    reader.open(str(image))
    try:
        libbde_unlocked = not reader.is_locked()
        boot_sector = reader.read_buffer_at_offset(512, 0)
    finally:
        reader.close()
    parsed = BDE(io.BytesIO(volume))

    parsed.unlock_with_recovery_password(recovery)

    assert libbde_unlocked
    assert boot_sector[3:11] == b"MSDOS5.0"
    assert parsed.unlocked
    assert read_fat32_files(parsed.open().read(len(volume)))["README.TXT"] == (
        spec.files[0].content
    )
