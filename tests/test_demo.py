"""``secrmm-sim demo``: the README's first command, end to end, on both APIs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Rows each vendor query returns on the demo's story (sim/demo_story.py), by hand:
# ONLINE: SanDisk, Kingston, BitLocker x2, Apricorn, SanDisk in the VM, Pixel, iPhone.
EXPECTED = {
    "G1": 8, "G2": 1, "G3": 1, "G4": 3, "G5": 1, "G6": 2, "G7": 1, "G8": 5, "G9": 1,
    "G10": 1, "G11": 2, "G12": 1, "G13": 8, "R1": 8, "C1": 8, "C2": 1, "C3": 3, "C4": 1,
    "C5": 2, "C6": 1, "C7": 5, "C8": 1, "C9": 1, "C10": 2, "C11": 1, "H1": 1, "H2": 1,
    "W1": 1, "W2": 1, "W3": 6, "W4": 1, "W5": 1, "W6": 2, "W7": 8,
}  # fmt: skip


@pytest.mark.parametrize("api", ["data-collector", "logs-ingestion"])
def test_demo_ships_through_the_agent_and_every_vendor_query_finds_its_rows(
    api: str,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", "demo", "--json", "--api", api],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["agent_exit_codes"] == {"test": 0, "send": 0}
    assert summary["stored"] == summary["records"] + 1 == 22
    assert {query["id"]: query["rows"] for query in summary["queries"]} == EXPECTED


def test_demo_text_output_never_shows_a_secret() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "never shown" in done.stdout
    assert "SharedKey" not in done.stdout + done.stderr
    assert "Bearer" not in done.stdout + done.stderr


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # the reader goes away, as `| head -1` does
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 0
    assert "Traceback" not in stderr
