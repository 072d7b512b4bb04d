"""The vendor's, connector's, workbook's and rule's queries on the 32 real rows.

The rows travel as posts through the real HTTP endpoint; expectations were
worked out by hand from ``shared/reference/secRMM_CL.sample.json`` (row numbers
in the comments are positions in that file).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from dca_client import DataCollectorClient, sample_records

from sim.vendor_queries import VENDOR_QUERIES, vendor_query
from sim.workspace.workspace import Workspace

ADMIN = "CONTOSO\\Administrator"
HOST = "secRMMDemo1.CONTOSO.com"
SANDISK = "4C530001060623106322"
BITLOCKER = "02B1DF9B"
APRICORN = "09840330132300001299"
MOTOROLA = "TA96507VNX"
PIXEL = "FA7951A01459"

# Rows 2, 6, 11, 14, 18, 23, 26, 28.
ONLINE_SERIALS = Counter({SANDISK: 3, MOTOROLA: 1, PIXEL: 1, BITLOCKER: 2, APRICORN: 1})


@pytest.fixture
def loaded(
    client: DataCollectorClient, workspace: Workspace, sample_rows: list[dict[str, Any]]
) -> Workspace:
    records = sample_records(sample_rows)
    for start in range(0, len(records), 10):  # four posts, as an agent would batch
        assert client.post(records[start : start + 10]).status_code == 200
    assert workspace.store.row_count("secRMM_CL") == 32
    return workspace


def _run(workspace: Workspace, query_id: str) -> list[dict[str, Any]]:
    return workspace.query(vendor_query(query_id).kql).as_objects()


def _serials(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(row["SerialNumber_s"] for row in rows)


@pytest.mark.parametrize("query_id", ["G1", "C1"])
def test_online_events(loaded: Workspace, query_id: str) -> None:
    rows = _run(loaded, query_id)
    assert _serials(rows) == ONLINE_SERIALS
    assert {row["Event_s"] for row in rows} == {"ONLINE"}


def test_failed_write_attempts_are_counted(loaded: Workspace) -> None:
    (row,) = _run(loaded, "G2")  # rows 13, 16, 20
    assert row == {"ERRORS": 3}
    assert isinstance(row["ERRORS"], int), "KQL's sum of a long is a long"


@pytest.mark.parametrize("query_id", ["G3", "C2", "W1"])
def test_users_writing_files(loaded: Workspace, query_id: str) -> None:
    assert _run(loaded, query_id) == [{"User_s": ADMIN, "count_": 1}]  # row 21


@pytest.mark.parametrize("query_id", ["G4", "C3"])
def test_bitlocker_activity(loaded: Workspace, query_id: str) -> None:
    rows = _run(loaded, query_id)  # rows 18, 23, 24
    assert sorted(row["Event_s"] for row in rows) == ["OFFLINE", "ONLINE", "ONLINE"]
    assert _serials(rows) == Counter({BITLOCKER: 3})


@pytest.mark.parametrize("query_id", ["G5", "C4", "W5", "G9", "C8", "G10", "C9"])
def test_queries_the_sample_has_no_rows_for(loaded: Workspace, query_id: str) -> None:
    # Defender, VM-from-physical and VM-from-guest events are absent from the sample.
    assert _run(loaded, query_id) == []


@pytest.mark.parametrize("query_id", ["G6", "C5"])
def test_hardware_encrypted_activity_excludes_bitlocker(
    loaded: Workspace, query_id: str
) -> None:
    rows = _run(loaded, query_id)  # rows 19, 28
    assert _serials(rows) == Counter({APRICORN: 2})


@pytest.mark.parametrize("query_id", ["G7", "C6"])
def test_users_running_programs_from_devices(loaded: Workspace, query_id: str) -> None:
    assert _run(loaded, query_id) == [{"User_s": ADMIN, "count_": 1}]  # row 3


@pytest.mark.parametrize("query_id", ["G8", "C7"])
def test_unencrypted_devices(loaded: Workspace, query_id: str) -> None:
    rows = _run(loaded, query_id)  # rows 2, 6, 11, 14, 26: phones count as unencrypted
    assert _serials(rows) == Counter({SANDISK: 3, MOTOROLA: 1, PIXEL: 1})


@pytest.mark.parametrize("query_id", ["G11", "C10"])
def test_mobile_devices(loaded: Workspace, query_id: str) -> None:
    rows = _run(loaded, query_id)  # rows 6, 11
    assert sorted(row["Model_s"] for row in rows) == ["Pixel 2", "XT1028"]


@pytest.mark.parametrize("query_id", ["G12", "C11"])
def test_mobile_devices_not_mdm_enrolled(loaded: Workspace, query_id: str) -> None:
    (row,) = _run(loaded, query_id)  # row 11
    assert row["SerialNumber_s"] == PIXEL
    assert row["AdditionalProgramInfo_s"].startswith(
        "MDM Info: ERROR: SerialNumber: FA7951A01459"
    )


@pytest.mark.parametrize("query_id", ["G13", "R1"])
def test_rule_query_maps_entities(loaded: Workspace, query_id: str) -> None:
    rows = _run(loaded, query_id)
    assert len(rows) == 8
    assert {(row["AccountCustomEntity"], row["HostCustomEntity"]) for row in rows} == {
        (ADMIN, HOST)
    }
    assert list(rows[0])[-2:] == ["AccountCustomEntity", "HostCustomEntity"]


def test_health_queries_see_fresh_data(loaded: Workspace) -> None:
    (newest,) = _run(loaded, "H1")
    received = max(entry.time_received for entry in loaded.requests())
    assert newest["Time"].startswith(received.strftime("%Y-%m-%dT%H:%M"))
    assert _run(loaded, "H2") == [{"IsConnected": True}]


def test_writes_by_computer_in_the_last_day(loaded: Workspace) -> None:
    received = {
        entry.time_received.strftime("%Y-%m-%dT%H:00:00Z")
        for entry in loaded.requests()
    }
    assert len(received) == 1, "the posts straddled an hour; rerun"
    (hour,) = received
    assert _run(loaded, "W2") == [
        {"Computer": HOST, "TimeGenerated": hour, "count_": 1}
    ]


def test_devices_used(loaded: Workspace) -> None:
    rows = _run(loaded, "W3")
    assert {row["Column1"]: row["count_"] for row in rows} == {
        f"{SANDISK}, SanDisk Cruzer Glide USB Device": 11,
        f"{BITLOCKER}, Generic Flash Disk USB Device": 3,
        f"{APRICORN}, Apricorn Secure Key USB Device": 2,
        f"{MOTOROLA}, XT1028": 2,
        f"{PIXEL}, Pixel 2": 2,
    }


def test_bitlocker_activity_by_user(loaded: Workspace) -> None:
    assert _run(loaded, "W4") == [{"User_s": ADMIN, "count_": 3}]


def test_mobile_devices_projected(loaded: Workspace) -> None:
    rows = _run(loaded, "W6")
    assert sorted(rows, key=lambda row: row["SerialNumber_s"]) == [
        {
            "SerialNumber_s": PIXEL,
            "User_s": ADMIN,
            "DeviceDescription_s": "Google MOBILE Win32ext_WPD USB2.0",
        },
        {
            "SerialNumber_s": MOTOROLA,
            "User_s": ADMIN,
            "DeviceDescription_s": "motorola MOBILE Win32ext_WPD USB2.0",
        },
    ]


def test_security_events_by_kind_skip_the_connection_test(loaded: Workspace) -> None:
    rows = _run(loaded, "W7")
    assert {row["Event_s"]: row["count_"] for row in rows} == {
        "Property change": 11,
        "ONLINE": 8,
        "OFFLINE": 7,
        "SERIAL # AUTHORIZATION": 3,
        "WRITE COMPLETED": 1,
        "BLOCK PROGRAMS ON DEVICE ACTIVE": 1,
    }


def test_every_vendor_query_is_covered_here() -> None:
    covered = {"G1", "C1", "G2", "G3", "C2", "W1", "G4", "C3", "G5", "C4", "W5", "G9", "C8",
               "G10", "C9", "G6", "C5", "G7", "C6", "G8", "C7", "G11", "C10", "G12", "C11",
               "G13", "R1", "H1", "H2", "W2", "W3", "W4", "W6", "W7"}  # fmt: skip
    assert covered == {query.id for query in VENDOR_QUERIES}


def test_stored_rows_match_the_real_rows_column_for_column(
    loaded: Workspace, sample_rows: list[dict[str, Any]]
) -> None:
    stored = loaded.query("secRMM_CL").as_objects()
    real_columns = [name for name in sample_rows[0] if name != "SerialNumber_g"]
    assert list(stored[0]) == real_columns
    volatile = {"TenantId", "TimeGenerated"}
    for real, ours in zip(sample_rows, stored, strict=True):
        for column in real_columns:
            if column not in volatile:
                assert ours[column] == str(real[column]), column
