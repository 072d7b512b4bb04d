"""BitLocker To Go images, checked by two independent BitLocker parsers."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pybde
import pytest
from dissect.fve.bde import BDE
from dissect.fve.bde.c_bde import FVE_KEY_PROTECTOR

from sim.usb.bitlocker import BITLOCKER_GUID, bitlocker_to_go_disk
from sim.usb.catalogue import by_name
from sim.usb.disk import first_partition
from sim.usb.fatread import read_fat32_files


@pytest.fixture(scope="module")
def volume() -> bytes:
    disk, _ = bitlocker_to_go_disk(by_name("bitlocker-stick"))
    return disk[first_partition(disk).byte_range]


def test_same_seed_gives_the_same_image() -> None:
    spec = by_name("bitlocker-stick")

    assert bitlocker_to_go_disk(spec)[0] == bitlocker_to_go_disk(spec)[0]


def test_boot_sector_is_a_discovery_volume_pointing_at_fve_blocks(
    volume: bytes,
) -> None:
    _, layout = bitlocker_to_go_disk(by_name("bitlocker-stick"))

    assert volume[3:11] == b"MSWIN4.1"
    assert volume[82:90] == b"FAT32   "
    assert volume[424:440] == BITLOCKER_GUID.bytes_le
    for offset in layout.metadata_offsets:
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
        assert reader.get_number_of_key_protectors() == 1
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


def test_dissect_fve_parses_every_metadata_block(volume: bytes) -> None:
    parsed = BDE(io.BytesIO(volume))

    assert len(parsed._valid_information) == 3  # every copy passes its CRC32
    assert parsed.version == 2
    assert parsed.encrypted
    assert not parsed.unlocked
    assert parsed.has_passphrase()
    assert [d.priority for d in parsed.information.dataset.find_vmk()] == [
        FVE_KEY_PROTECTOR.PASSPHRASE
    ]


def test_locked_volume_shows_only_the_discovery_files(volume: bytes) -> None:
    files = read_fat32_files(volume)

    assert set(files) == {"README.TXT", "BitLockerToGo.exe", "COV 0000. BL"}
    assert b"BitLocker To Go" in files["README.TXT"]


def test_discovery_volume_passes_fsck(volume: bytes, tmp_path: Path) -> None:
    fsck = shutil.which("fsck.fat")
    if fsck is None:
        pytest.skip("fsck.fat is missing: apt-get install dosfstools")
    image = tmp_path / "discovery.img"
    image.write_bytes(volume)

    checked = subprocess.run(
        [fsck, "-n", str(image)], capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stdout
