"""FAT32 images: deterministic, and clean by an independent checker."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from sim.usb.catalogue import by_name
from sim.usb.disk import first_partition
from sim.usb.fat32 import FileSpec, VolumeSpec, build_fat32
from sim.usb.fatread import read_fat32_files
from sim.usb.sticks import fat32_disk

FILES = (
    FileSpec(path="README.TXT", content=b"plain 8.3 name\r\n"),
    FileSpec(path="Quarterly report 2026 (final).docx", content=bytes(range(256)) * 90),
    FileSpec(path="Photos/Holiday/beach at sunset.jpg", content=b"\xff\xd8" * 7000),
    FileSpec(path="Photos/empty.txt", content=b""),
    FileSpec(
        path="Übersicht.txt",
        content=b"non-ASCII long name",
        modified=datetime(2025, 7, 1, 12, 30, 4),
    ),
)


def _volume(seed: int) -> bytes:
    return build_fat32(
        VolumeSpec(size_bytes=40 << 20, seed=seed, files=FILES, label="DATA")
    )


def test_same_seed_and_files_give_identical_bytes() -> None:
    assert hashlib.sha256(_volume(11)).digest() == hashlib.sha256(_volume(11)).digest()


def test_another_seed_changes_the_volume_serial() -> None:
    assert _volume(11)[67:71] != _volume(12)[67:71]


def test_every_file_reads_back_under_its_long_name() -> None:
    files = read_fat32_files(_volume(3))

    assert files == {spec.path: spec.content for spec in FILES}


def test_too_small_a_volume_is_refused_with_the_size_to_use() -> None:
    with pytest.raises(ValueError, match="at least 34 MiB"):
        build_fat32(VolumeSpec(size_bytes=16 << 20, seed=1))


@pytest.mark.parametrize("name", ["stick", "encrypted-stick"])
def test_fsck_fat_finds_nothing_to_fix(name: str, tmp_path: Path) -> None:
    fsck = shutil.which("fsck.fat") or shutil.which("fsck.vfat")
    if fsck is None:
        pytest.skip("fsck.fat is missing: apt-get install dosfstools")
    disk = fat32_disk(by_name(name))
    volume_file = tmp_path / "volume.img"
    volume_file.write_bytes(disk[first_partition(disk).byte_range])
    test_volume = tmp_path / "test.img"
    test_volume.write_bytes(_volume(5))

    for image in (volume_file, test_volume):
        checked = subprocess.run(
            [fsck, "-n", "-v", str(image)], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Free cluster summary" not in checked.stdout
        assert "differ" not in checked.stdout
