"""The command-line contract: `usbip serve` and `devices list`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import usb.core

from sim.usb.catalogue import CATALOGUE
from sim.usb.devicefile import DeviceFileError, load_device_file
from sim.usb.usbip_client import UsbipClientBackend

ROOT = Path(__file__).resolve().parents[2]
DEVICE_FILE = ROOT / "fixtures/devices/kingston-finance-stick.json"


def _secrmm_sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def test_devices_list_json_names_every_catalogue_device() -> None:
    listed = subprocess.run(
        _secrmm_sim("devices", "list", "--json"),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )

    rows = json.loads(listed.stdout)

    assert [row["name"] for row in rows] == [spec.name for spec in CATALOGUE]
    required = {
        "stick",
        "bitlocker-stick",
        "encrypted-stick",
        "android-phone",
        "iphone",
    }
    assert required <= {row["name"] for row in rows}


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_prints_devices_then_listens_and_stops_on_signal(stop: int) -> None:
    serving = subprocess.Popen(
        _secrmm_sim("usbip", "serve", "--port", "0", "stick", str(DEVICE_FILE)),
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert serving.stdout is not None
        lines = [serving.stdout.readline().strip() for _ in range(3)]
        host, _, port = lines[2].removeprefix("listening on ").rpartition(":")
        with UsbipClientBackend(host, int(port)) as backend:
            serials = [
                d.serial_number for d in usb.core.find(find_all=True, backend=backend)
            ]
    finally:
        serving.send_signal(stop)
        status = serving.wait(timeout=20)

    assert lines[0] == "1-1 0781:5567 stick 4C530001230815115470"
    assert lines[1] == "1-2 0951:1666 stick E0D55EA574E8F1A0B94A0F2B"
    assert host == "127.0.0.1"
    assert serials == ["4C530001230815115470", "E0D55EA574E8F1A0B94A0F2B"]
    assert status == 0


def test_serve_rejects_an_unknown_device_naming_the_known_ones() -> None:
    refused = subprocess.run(
        _secrmm_sim("usbip", "serve", "--port", "0", "floppy"),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )

    assert refused.returncode == 2
    assert "no device 'floppy'" in refused.stderr
    assert "bitlocker-stick" in refused.stderr


def test_device_file_loads_ids_and_files() -> None:
    spec = load_device_file(DEVICE_FILE)

    assert spec.vid_pid == "0951:1666"
    assert [f.path for f in spec.files] == [
        "README.TXT",
        "Budget 2027.xlsx",
        "Payroll/December payroll.csv",
    ]
    assert len(spec.files[1].content) == 30000


def test_device_file_errors_name_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"name": "x", "kind": "floppy"}))

    with pytest.raises(DeviceFileError, match="missing vendor_id"):
        load_device_file(broken)
