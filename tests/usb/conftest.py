"""Shared fixtures for the USB simulator tests."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from sim.usb.bus import UsbBus
from sim.usb.catalogue import by_name
from sim.usb.sticks import MassStorageStick, build_stick

# Built by ../shared/tools/kernel-initramfs.sh (.ci/install-kernel-deps.sh runs it).
KERNEL_DIR = Path(os.environ.get("KDIR", Path(tempfile.gettempdir()) / "usbip-kernel"))
GUEST_LIMIT_S = 150
QEMU = (
    "qemu-system-x86_64",
    "-machine",
    "q35,accel=tcg",  # nested KVM hangs on these machines; TCG boots in seconds
    "-cpu",
    "max",
    "-m",
    "512",
    "-smp",
    "1",
    "-nographic",
    "-no-reboot",
    "-nic",
    "user,model=virtio-net-pci",
)
KERNEL_ARGS = "console=ttyS0 quiet loglevel=3 panic=-1"

GuestRunner = Callable[..., dict[str, str]]


@pytest.fixture
def stick() -> MassStorageStick:
    return build_stick(by_name("stick"))


@pytest.fixture
def bus() -> Iterator[UsbBus]:
    bus = UsbBus()
    yield bus
    for attachment in bus.attachments():
        bus.unplug(attachment.busid)


def _missing(programs: Sequence[str]) -> list[str]:
    tools = ("qemu-system-x86_64", "busybox", *programs)
    missing = [
        tool
        for tool in tools
        if shutil.which(tool) is None and not Path(tool).is_file()
    ]
    missing += [
        f"{KERNEL_DIR / name}"
        for name in ("vmlinuz", "initrd.gz")
        if not (KERNEL_DIR / name).is_file()
    ]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def _copy_program(program: str, root: Path) -> None:
    """The host's ``program`` and the shared libraries it loads, into ``root``."""
    path = Path(shutil.which(program) or program)
    libraries = subprocess.run(
        ["ldd", str(path)], capture_output=True, text=True, check=True
    ).stdout
    for source in [str(path)] + [w for w in libraries.split() if w.startswith("/")]:
        target = root / source.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def _overlay(
    script: str,
    programs: Sequence[str],
    trees: Sequence[str],
    files: Mapping[str, str],
) -> bytes:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "e2e.sh").write_text(script)
        (root / "e2e.sh").chmod(0o755)
        for program in programs:
            _copy_program(program, root)
        for tree in trees:
            shutil.copytree(tree, root / tree.lstrip("/"), dirs_exist_ok=True)
        for source, target in files.items():
            (root / target.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / target.lstrip("/"))
        listing = subprocess.run(
            ["find", "."], cwd=root, capture_output=True, check=True
        ).stdout
        archive = subprocess.run(
            ["busybox", "cpio", "-o", "-H", "newc"],
            cwd=root,
            input=listing,
            capture_output=True,
            check=True,
        ).stdout
    return gzip.compress(archive, compresslevel=1)


@pytest.fixture
def kernel_modules() -> Path:
    """The guest kernel's module tree (``.../lib/modules/VERSION/kernel``)."""
    trees = sorted((KERNEL_DIR / "kroot/lib/modules").glob("*/kernel"))
    if not trees:
        pytest.skip(
            f"no kernel modules under {KERNEL_DIR}: run .ci/install-kernel-deps.sh"
        )
    return trees[-1]


@pytest.fixture
def run_guest(tmp_path: Path) -> GuestRunner:
    """Boot the kernel under qemu with ``script`` as /e2e.sh; its ``E2E`` lines.

    ``programs`` (host binaries, with their libraries), ``trees`` (host
    directories) and ``files`` (host path to guest path) are copied into the
    guest. Lines come back as a mapping of
    first word to the rest. The guest reaches this host as 10.0.2.2.
    """

    def run(
        script: str,
        *,
        programs: Sequence[str] = (),
        trees: Sequence[str] = (),
        files: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        missing = _missing([*programs, *(files or {})])
        if missing:
            pytest.skip(
                f"a kernel test needs {', '.join(missing)}: run .ci/install-kernel-deps.sh"
            )
        initrd = tmp_path / "initrd.gz"
        base = (KERNEL_DIR / "initrd.gz").read_bytes()
        initrd.write_bytes(base + _overlay(script, programs, trees, files or {}))
        kernel = ("-kernel", str(KERNEL_DIR / "vmlinuz"), "-append", KERNEL_ARGS)
        booted = subprocess.run(
            [*QEMU, *kernel, "-initrd", str(initrd)],
            capture_output=True,
            timeout=GUEST_LIMIT_S,
            check=False,
        )
        output = booted.stdout.decode(errors="replace").replace("\r", "")
        lines = [line[4:] for line in output.splitlines() if line.startswith("E2E ")]
        assert "done" in lines, output[-4000:]
        print("\n".join(lines))  # shown by pytest when an assertion fails
        return dict(line.partition(" ")[::2] for line in lines)

    return run
