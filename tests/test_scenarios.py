"""Scenario files end to end: hosts, agent, pipeline, workspace and vendor queries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sim.scenarios.destination import EmbeddedWorkspace
from sim.scenarios.loader import load_scenario
from sim.scenarios.runner import RunSummary, run_scenario
from sim.workspace.kql import run_query, schema_of
from sim.workspace.store import open_readonly

SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"
GUIDE_SCENARIOS = sorted(SCENARIOS.glob("g*.yaml"))


def _run(path: Path, folder: Path, db: Path | None = None) -> RunSummary:
    destination = EmbeddedWorkspace(str(db) if db else None)
    return run_scenario(load_scenario(path), destination, folder=folder)


def test_there_is_a_scenario_for_every_guide_query() -> None:
    assert [path.name[:3] for path in GUIDE_SCENARIOS] == [
        f"g{n:02d}" for n in range(1, 14)
    ]


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[RunSummary, list[dict[str, Any]]]]:
    """Every guide scenario and the admin one, run once for the module."""
    results = {}
    for path in [*GUIDE_SCENARIOS, SCENARIOS / "admin-settings.yaml"]:
        folder = tmp_path_factory.mktemp(path.stem)
        summary = _run(path, folder, folder / "workspace.duckdb")
        results[path.stem] = (summary, _rows(folder / "workspace.duckdb"))
    return results


@pytest.mark.parametrize("path", GUIDE_SCENARIOS, ids=lambda path: path.stem)
def test_guide_scenario_gives_each_vendor_query_the_expected_rows(
    path: Path, runs: dict[str, tuple[RunSummary, list[dict[str, Any]]]]
) -> None:
    scenario = load_scenario(path)
    target = f"G{int(path.name[1:3])}"
    assert target in scenario.expect or target in scenario.expect_rows, (
        "a scenario checks its query"
    )
    summary, _ = runs[path.stem]
    assert summary.failed_expectations == {}
    # The expect block is complete: every query it does not list returns nothing.
    assert summary.queries == {
        query: scenario.expect.get(query, 0) for query in summary.queries
    }
    assert summary.still_spooled == 0
    assert summary.delivered == summary.events == summary.stored
    assert summary.queries[target] > 0 or scenario.expect.get(target) == 0


def _rows(db: Path) -> list[dict[str, Any]]:
    con = open_readonly(str(db))
    try:
        return run_query(con, "secRMM_CL", schema_of(con)).as_objects()
    finally:
        con.close()


def test_same_scenario_and_seed_give_identical_rows(
    tmp_path: Path, runs: dict[str, tuple[RunSummary, list[dict[str, Any]]]]
) -> None:
    path = SCENARIOS / "g08-unencrypted.yaml"
    _run(path, tmp_path, tmp_path / "again.duckdb")
    _, first = runs[path.stem]
    assert len(first) == 4
    assert first == _rows(tmp_path / "again.duckdb")


def test_another_seed_gives_other_rows(
    tmp_path: Path, runs: dict[str, tuple[RunSummary, list[dict[str, Any]]]]
) -> None:
    path = SCENARIOS / "g07-blocked-programs-and-macros.yaml"
    db = tmp_path / "other.duckdb"
    run_scenario(
        load_scenario(path), EmbeddedWorkspace(str(db)), seed=99, folder=tmp_path
    )
    _, first = runs[path.stem]
    other = _rows(db)
    assert [row["Event_s"] for row in first] == [row["Event_s"] for row in other]
    assert first != other, "user SIDs, PIDs and ingestion delays come from the seed"


# One pattern per column: every real value and every simulated value must match it.
def _any(*patterns: str) -> str:
    return "|".join(patterns)


ENCRYPTION = r"Removable Disk (ENCRYPTED (BitLocker )?)?Removable Media Win32_LogicalDisk USB2\.0"
PROPERTY_VALUE = _any(
    r"on",
    r"on .+",
    r"secRMM_is_locked_down",
    r"[0-9A-Z ]+",
    r"[0-9a-f-]{36} \*{5} [A-Z ,]+",
)
FORMATS = {
    "TimeGenerated": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z",
    "Computer": _any(r"[A-Za-z0-9-]+\.[A-Za-z0-9.-]+", r"[A-Z0-9-]+"),
    "Event_s": _any(
        "ONLINE",
        "OFFLINE",
        "WRITE COMPLETED",
        "SERIAL # AUTHORIZATION",
        "EXTERNAL",
        "BLOCK (PROGRAMS|MACROS) ON DEVICE ACTIVE",
        "Property change",
    ),
    "Time_s": r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)",
    "User_s": _any(r"([A-Z]+\\[^,\\]+)(, [A-Z]+\\[^,\\]+)*", r"[A-Za-z]+"),
    "UserSID_s": r"S-1-5-21-\d+-\d+-\d+-\d+",
    "Drive_s": _any(r"[A-Z]:\^?", r"[A-Za-z ]+ storage:"),
    "Volume_s": _any(r"\\Device\\HarddiskVolume\d+", r"\\Device\\[0-9a-f]{8}"),
    "DeviceDescription_s": _any(ENCRYPTION, r"\S.* MOBILE Win32ext_WPD USB2\.0"),
    "SerialNumber_s": r"[0-9A-Z]+",
    "Model_s": _any(r".+ USB Device", r"[\w .-]+"),
    "InternalID_s": _any(
        r"USBSTOR\\DISK&amp;VEN_[A-Z0-9_]+&amp;PROD_[A-Z0-9_.]+&amp;REV_[A-Z0-9.]+"
        r"\\[0-9A-Z]+&amp;0",
        r"\\\\\?\\usb#vid_[0-9a-f]{4}&amp;pid_[0-9a-f]{4}&amp;mi_00#[0-9a-z&;]+"
        r"#\{6ac27878-a6fa-4155-ba85-f98f491d4f33\}",
    ),
    "TargetFile_s": r"[A-Z]:\\.+",
    "SourceFile_s": r"[A-Z]:\\.+",
    "SourceFileSize_s": r"\d+",
    "SourceFileLastWrite_s": r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}",
    "ProgramName_s": _any(r"[A-Z]:\\.+", r"&quot;[A-Z]:\\.+&quot;", "ProcessSendTest"),
    "ProgramPID_s": r"\d+",
    "Message": _any(
        r"Authorized Serial Numbers List: .+",
        r"Microsoft Defender .+",
        r"ONLINE: .+ Virtual Machine .+",
    ),
    "PropertyName_s": _any(
        "AllowedSerialNumbers",
        "BlockOfficeMacrosOnDevice",
        "BlockProgramsOnDevice",
        "ScanDevice",
        "RequireMDMEnrollment",
        "SendToAzureLog",
    ),
    "PropertyAction_s": "created|changed|cleared|unchanged",
    "PropertyValue_s": PROPERTY_VALUE,
    "PreviousPropertyValue_s": PROPERTY_VALUE,
    "ConfigurationTarget_s": "Computer",
    "PropertyOperationStatus_s": "Completed",
    "AdditionalProgramInfo_s": _any(
        "COPY",
        r"Command Line: [A-Z]:\\.*",
        "powershell",
        r"&quot;C:\\.+",
        "Test Connection to Azure Log Analytics",
        r"BitLocker ProtectionStatus = Waiting for authentication\.",
        r"BitLocker Authentication performed\.",
        r"MDM Info: ERROR: SerialNumber: \S+ Mobile device is not MDM enrolled\.",
        r"MDM Info: Intune MDM Name: .+\n//===Intune Data===\n\{&quot;@odata\.context&quot;(.|\n)+",
    ),
}


def test_simulated_rows_have_the_real_columns_and_formats(
    runs: dict[str, tuple[RunSummary, list[dict[str, Any]]]],
    sample_rows: list[dict[str, Any]],
) -> None:
    simulated = [row for _, rows in runs.values() for row in rows]
    real_columns = [column for column in sample_rows[0] if column != "SerialNumber_g"]
    assert all(list(row) == real_columns for row in simulated)
    for column, pattern in FORMATS.items():
        compiled = re.compile(pattern)
        for origin, rows in (("real", sample_rows), ("simulated", simulated)):
            for row in rows:
                value = str(row[column])
                if value:
                    assert compiled.fullmatch(value), (
                        f"{origin} {column}: {value[:120]!r}"
                    )
    kinds = {row["Event_s"] for row in simulated}
    assert kinds >= {"ONLINE", "OFFLINE", "WRITE COMPLETED", "SERIAL # AUTHORIZATION", "EXTERNAL",
                     "BLOCK PROGRAMS ON DEVICE ACTIVE", "BLOCK MACROS ON DEVICE ACTIVE",
                     "Property change", ""}  # fmt: skip
