"""Fleet scenarios: the rows the vendor's queries return follow from the timeline.

Expected counts are derived from the generated steps (every plug is an ONLINE,
every copy to a personal stick a refused write, ...), independently of the
agent that turns those steps into records.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sim.hosts.fleet import plan_fleet
from sim.scenarios.destination import EmbeddedWorkspace
from sim.scenarios.loader import load_scenario
from sim.scenarios.runner import run_scenario
from sim.scenarios.workday import fleet_devices, workday_steps
from sim.workspace.kql import run_query, schema_of
from sim.workspace.store import open_readonly

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"


def _expected(path: Path) -> Counter[str]:
    scenario = load_scenario(path)
    assert scenario.fleet is not None
    plan = plan_fleet(
        scenario.fleet.computers,
        scenario.fleet.users,
        scenario.fleet.domain,
        scenario.seed,
    )
    devices = fleet_devices([name for name, _ in plan.computers], scenario.seed)
    steps = workday_steps(scenario, list(plan.computers), devices, scenario.seed)
    plugged: dict[str, str] = {}
    expected: Counter[str] = Counter()
    for step in steps:
        device = str(step.arguments.get("device", ""))
        if step.action == "plug":
            plugged[step.host or ""] = device
            expected["ONLINE"] += 1
        elif step.action == "unplug":
            expected["OFFLINE"] += 1
        elif step.action == "copy":
            personal = plugged[step.host or ""].endswith("-personal")
            expected["SERIAL # AUTHORIZATION" if personal else "WRITE COMPLETED"] += 1
        elif step.action == "run":
            blocks = scenario.fleet.policy.get("BlockProgramsOnDevice") == "on"
            expected["BLOCK PROGRAMS ON DEVICE ACTIVE"] += blocks
        elif step.action == "defender":
            expected["EXTERNAL"] += 1
    return +expected


@pytest.mark.parametrize("name", ["collector-outage.yaml"])
def test_outage_loses_nothing_and_every_event_kind_is_counted(
    name: str, tmp_path: Path
) -> None:
    path = SCENARIOS / name
    db = tmp_path / "workspace.duckdb"
    summary = run_scenario(
        load_scenario(path), EmbeddedWorkspace(str(db)), folder=tmp_path
    )
    expected = _expected(path)
    assert summary.still_spooled == 0
    assert (
        summary.events == summary.delivered == summary.stored == sum(expected.values())
    )
    con = open_readonly(str(db))
    try:
        rows = run_query(
            con, "secRMM_CL | summarize count() by Event_s", schema_of(con)
        ).rows
        statuses = run_query(
            con, "IngestionRequests | summarize count() by Status", schema_of(con)
        ).rows
    finally:
        con.close()
    assert dict(rows) == dict(expected)
    assert dict(statuses)[503] >= 1, "posts during the outage were refused"
    assert summary.queries["G2"] == 1
    assert summary.queries["G1"] == expected["ONLINE"]
    assert summary.queries["G5"] == expected["EXTERNAL"]
