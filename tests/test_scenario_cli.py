"""``secrmm-sim scenario run``, driven as CI and QA drive it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID

from sim.workspace.server import CollectorServer
from sim.workspace.workspace import Workspace

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sim", "scenario", "run", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=180, check=False
    )


def test_json_summary_for_machines(tmp_path: Path) -> None:
    done = _run(
        str(SCENARIOS / "g05-defender.yaml"),
        "--json",
        "--db",
        str(tmp_path / "w.duckdb"),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["events"] == summary["delivered"] == summary["stored"] == 3
    assert summary["queries"]["G5"] == 1
    assert (tmp_path / "w.duckdb").exists()


def test_a_failed_expectation_exits_1_and_says_which(tmp_path: Path) -> None:
    scenario = (SCENARIOS / "g01-online.yaml").read_text().replace("G1: 1", "G1: 5")
    path = tmp_path / "wrong.yaml"
    path.write_text(scenario)
    done = _run(str(path))
    assert done.returncode == 1
    assert "MISMATCH   G1: expected 5 rows, got 1" in done.stdout


def test_a_broken_scenario_exits_2_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        (SCENARIOS / "g01-online.yaml")
        .read_text()
        .replace("plug: stick", "plug: nothing")
    )
    done = _run(str(path))
    assert done.returncode == 2
    assert f"{path}:11: no device 'nothing'" in done.stderr


def test_scenarios_ship_to_a_given_collector(
    tmp_path: Path, workspace: Workspace
) -> None:
    key = tmp_path / "key"
    key.write_text(SPEC_KEY)
    key.chmod(0o600)
    with CollectorServer(workspace) as server:
        done = _run(
            str(SCENARIOS / "g03-writes.yaml"),
            "--json",
            "--collector",
            server.url,
            "--workspace-id",
            SPEC_WORKSPACE_ID,
            "--shared-key-file",
            str(key),
        )
        server.check()
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["stored"] is None, "only the collector knows what it stored"
    assert summary["delivered"] == 5
    rows = workspace.query(
        'secRMM_CL | where Event_s == "WRITE COMPLETED" | count'
    ).rows
    assert rows == [(3,)]


def test_fleet_steps_must_say_when_they_happen(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "scenario: f\nfleet: {computers: 2}\ntimeline:\n  - outage: {minutes: 5}\n"
    )
    done = _run(str(path))
    assert done.returncode == 2
    assert (
        f"{path}:4: in a fleet scenario every step says when it happens" in done.stderr
    )
