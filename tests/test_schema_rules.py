"""Azure's rules for Data Collector tables: suffixes, conversion, limits, columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID, DataCollectorClient

from sim.workspace.keys import SharedKey
from sim.workspace.server import CollectorServer
from sim.workspace.store import Store
from sim.workspace.workspace import Workspace, WorkspaceSettings

GUID = "8f1f2a6e-5b0d-4c3e-9a7b-1d2e3f4a5b6c"


def _columns(workspace: Workspace, table: str = "secRMM_CL") -> dict[str, str]:
    return dict(
        workspace.query(f"{table} | getschema | project ColumnName, ColumnType").rows
    )


def _warnings(workspace: Workspace) -> dict[str, int]:
    merged: dict[str, int] = {}
    for entry in workspace.requests():
        merged.update(entry.warnings)
    return merged


def test_each_json_type_gets_its_suffix(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    record = {
        "Text": "hello",
        "Ratio": 1.5,
        "Count": 3,
        "Flag": True,
        "When": "2019-09-12T20:00:00.625Z",
        "Id": GUID,
        "IdNoDashes": GUID.replace("-", "").upper(),
    }
    assert client.post([record]).status_code == 200
    columns = _columns(workspace)
    assert {
        name: columns[name] for name in columns if name not in _system_columns()
    } == {
        "Text_s": "string",
        "Ratio_d": "real",
        "Count_d": "real",
        "Flag_b": "bool",
        "When_t": "datetime",
        "Id_g": "guid",
        "IdNoDashes_g": "guid",
    }
    (row,) = workspace.query(
        "secRMM_CL | project Text_s, Ratio_d, Count_d, Flag_b, When_t, Id_g, IdNoDashes_g"
    ).as_objects()
    assert row == {
        "Text_s": "hello",
        "Ratio_d": 1.5,
        "Count_d": 3.0,
        "Flag_b": True,
        "When_t": "2019-09-12T20:00:00.625Z",
        "Id_g": GUID,
        "IdNoDashes_g": GUID,
    }


def _system_columns() -> set[str]:
    return {"TenantId", "SourceSystem", "MG", "ManagementGroupName", "TimeGenerated",
            "Computer", "RawData", "Type", "_ResourceId"}  # fmt: skip


def test_values_convert_into_existing_columns(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post(
        [{"number": 1, "boolean": True, "string": "a", "when": "2020-01-01T00:00:00Z"}]
    )
    client.post(
        [
            {
                "number": "2.5",
                "boolean": "FALSE",
                "string": 7,
                "when": "2020-01-02T03:04:05Z",
            }
        ]
    )
    columns = set(_columns(workspace)) - _system_columns()
    assert columns == {"number_d", "boolean_b", "string_s", "when_t"}
    rows = workspace.query(
        "secRMM_CL | project number_d, boolean_b, string_s | order by number_d asc"
    )
    assert rows.rows == [(1.0, True, "a"), (2.5, False, "7")]


def test_values_that_do_not_convert_create_columns_of_their_own(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"number": 1, "boolean": True}])
    client.post([{"number": "many", "boolean": "maybe"}])
    columns = set(_columns(workspace)) - _system_columns()
    assert columns == {"number_d", "boolean_b", "number_s", "boolean_s"}


def test_strings_first_make_string_columns(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"number": "1", "boolean": "true", "string": "a"}])
    client.post([{"number": 2, "boolean": False, "string": "b"}])
    assert set(_columns(workspace)) - _system_columns() == {
        "number_s",
        "boolean_s",
        "string_s",
    }
    rows = workspace.query(
        "secRMM_CL | project number_s, boolean_s | order by number_s asc"
    ).rows
    assert rows == [("1", "true"), ("2", "false")]


def test_guid_column_first_then_strings_beside_it(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    # How the real secRMM_CL came to have both SerialNumber_g and SerialNumber_s.
    client.post([{"SerialNumber": GUID}])
    client.post(
        [{"SerialNumber": "4C530001060623106322"}, {"SerialNumber": GUID.upper()}]
    )
    rows = workspace.query(
        "secRMM_CL | project SerialNumber_g, SerialNumber_s"
    ).as_objects()
    assert [(row["SerialNumber_g"], row["SerialNumber_s"]) for row in rows] == [
        (GUID, ""),
        (None, "4C530001060623106322"),
        (GUID, ""),
    ]


def test_numbers_land_in_string_columns_created_from_empty_strings(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    # secRMM posts "" for an unused size and a JSON number for a real one.
    client.post([{"SourceFileSize": ""}, {"SourceFileSize": 9140}])
    rows = workspace.query("secRMM_CL | project SourceFileSize_s").rows
    assert rows == [("",), ("9140",)]


def test_null_values_are_left_out(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"Kept": "x", "Dropped": None}])
    assert set(_columns(workspace)) - _system_columns() == {"Kept_s"}


def test_computer_and_message_are_stored_bare_in_azures_column_order(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post(
        [{"Event": "ONLINE", "Message": "hello", "Computer": "pc1", "User": "u"}]
    )
    client.post([{"Event": "OFFLINE", "Later": 1}])
    assert list(_columns(workspace)) == [
        "TenantId", "SourceSystem", "MG", "ManagementGroupName", "TimeGenerated",
        "Computer", "RawData", "Event_s", "Message", "User_s", "Later_d", "Type", "_ResourceId",
    ]  # fmt: skip
    rows = workspace.query(
        "secRMM_CL | project Computer, Message, Event_s, Later_d"
    ).rows
    assert rows == [("pc1", "hello", "ONLINE", None), ("", "", "OFFLINE", 1.0)]


def test_system_columns_are_filled_as_azure_fills_them(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    client.post([{"Event": "ONLINE"}])
    after = datetime.now(UTC).replace(tzinfo=None)
    row = workspace.query("secRMM_CL").as_objects()[0]
    assert row["TenantId"] == SPEC_WORKSPACE_ID
    assert row["SourceSystem"] == "RestAPI"
    assert (row["MG"], row["ManagementGroupName"], row["RawData"]) == ("", "", "")
    assert row["Type"] == "secRMM_CL"
    assert row["_ResourceId"] == ""
    (stored,) = workspace.query("secRMM_CL | project TimeGenerated").rows[0]
    assert before - timedelta(seconds=1) <= stored <= after


def test_posted_system_names_are_stored_suffixed_with_a_warning(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"Type": "mine", "TenantId": "x"}])
    assert {"Type_s", "TenantId_s"} <= set(_columns(workspace))
    assert workspace.query("secRMM_CL | project Type, Type_s").rows == [
        ("secRMM_CL", "mine")
    ]
    assert any("system column" in warning for warning in _warnings(workspace))


def test_nested_values_are_stored_as_compact_json(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"Detail": {"a": [1, 2], "b": "c"}}])
    assert workspace.query("secRMM_CL | project Detail_s").rows == [
        ('{"a":[1,2],"b":"c"}',)
    ]


@pytest.mark.parametrize(
    ("value", "stored_length"),
    [("a" * 40_000, 32_768), ("é" * 20_000, 16_384), ("a" + "日" * 11_000, 10_923)],
    ids=["ascii", "two-byte", "three-byte-boundary"],
)
def test_long_values_are_truncated_at_32_kb_on_a_character_boundary(
    client: DataCollectorClient, workspace: Workspace, value: str, stored_length: int
) -> None:
    assert client.post([{"Big": value}]).status_code == 200
    (stored,) = workspace.query("secRMM_CL | project Big_s").rows[0]
    assert stored == value[:stored_length]
    assert len(stored.encode()) <= 32_768
    (entry,) = workspace.requests()
    assert entry.truncated_values == 1


@pytest.mark.parametrize("name", ["tenant", "TimeGenerated", "RawData", "TENANT"])
def test_reserved_property_names_are_refused(
    client: DataCollectorClient, name: str
) -> None:
    answer = client.post([{name: "x"}])
    assert answer.status_code == 400
    assert answer.json() == {
        "Error": "InvalidDataFormat",
        "Message": f"Reserved property name: {name}",
    }


def test_column_names_may_have_45_characters_suffix_included(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    assert client.post([{"a" * 43: "x"}]).status_code == 200
    answer = client.post([{"b" * 44: "x"}])
    assert answer.status_code == 400
    assert "over Azure's 45" in workspace.requests()[-1].reasons[0]


def test_a_table_holds_at_most_500_columns(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    assert client.post([{f"p{i}": "x" for i in range(491)}]).status_code == 200
    assert len(_columns(workspace)) == 500
    answer = client.post([{"one_more": "x"}])
    assert answer.status_code == 400
    assert "over Azure's 500" in workspace.requests()[-1].reasons[0]


def test_odd_property_names_are_kept_with_a_warning(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    assert client.post([{"@timestamp": "x"}]).status_code == 200
    assert "@timestamp_s" in _columns(workspace)
    assert any("@timestamp" in warning for warning in _warnings(workspace))


def test_strict_mode_refuses_odd_property_names() -> None:
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY)], strict=True
    )
    with CollectorServer(Workspace(settings)) as server:
        answer = DataCollectorClient(server.url).post([{"@timestamp": "x"}])
        server.check()
    assert answer.status_code == 400


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_time_generated_field_sets_time_generated_within_the_window(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    inside = now - timedelta(days=1, hours=12)
    too_old = now - timedelta(days=3)
    too_new = now + timedelta(days=2)
    records = [
        {"EventTime": _iso(moment), "N": i}
        for i, moment in enumerate((inside, too_old, too_new))
    ]
    assert (
        client.post(records, headers={"time-generated-field": "EventTime"}).status_code
        == 200
    )
    rows = workspace.query(
        "secRMM_CL | project N_d, TimeGenerated, EventTime_t | order by N_d asc"
    ).rows
    assert rows[0][1] == inside
    for _, generated, _ in rows[1:]:
        assert abs(generated - now) < timedelta(minutes=1)
    assert [event_time for _, _, event_time in rows] == [inside, too_old, too_new]


def test_empty_optional_headers_count_as_absent(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    headers = {"time-generated-field": "", "x-ms-AzureResourceId": ""}
    assert client.post([{"Event": "ONLINE"}], headers=headers).status_code == 200
    assert workspace.query("secRMM_CL | project _ResourceId").rows == [("",)]


def test_invalid_time_generated_field_is_refused(client: DataCollectorClient) -> None:
    answer = client.post(
        [{"Event": "ONLINE"}], headers={"time-generated-field": "Event Time"}
    )
    assert answer.status_code == 400


def test_resource_id_fills_resource_id_column(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    resource = (
        "/subscriptions/0000/resourceGroups/Sec"
        "/providers/Microsoft.Compute/virtualMachines/PC1"
    )
    assert (
        client.post(
            [{"Event": "ONLINE"}], headers={"x-ms-AzureResourceId": resource}
        ).status_code
        == 200
    )
    assert workspace.query("secRMM_CL | project _ResourceId").rows == [
        (resource.lower(),)
    ]


def test_malformed_resource_id_is_refused(client: DataCollectorClient) -> None:
    answer = client.post([{"Event": "ONLINE"}], headers={"x-ms-AzureResourceId": "pc1"})
    assert answer.status_code == 400


def test_migrated_table_fills_existing_columns_but_creates_none(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    client.post([{"Event": "ONLINE"}])
    workspace.store.set_migrated("secRMM_CL")
    assert client.post([{"Event": "OFFLINE", "Brand": "new"}]).status_code == 200
    assert "Brand_s" not in _columns(workspace)
    assert workspace.query("secRMM_CL | project Event_s").rows == [
        ("ONLINE",),
        ("OFFLINE",),
    ]
    assert any("migrated" in warning for warning in _warnings(workspace))


def _file_workspace(path: Path) -> Workspace:
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY)]
    )
    return Workspace(settings, store=Store(SPEC_WORKSPACE_ID, str(path)))


def _post(workspace: Workspace, records: list[dict[str, Any]]) -> int:
    with CollectorServer(workspace) as server:
        status = DataCollectorClient(server.url).post(records).status_code
        server.check()
    return status


def test_a_file_store_keeps_rows_schema_and_migration_across_restarts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "workspace.duckdb"
    first = _file_workspace(path)
    assert _post(first, [{"SerialNumber": GUID}, {"SerialNumber": "ABC"}]) == 200
    first.store.set_migrated("secRMM_CL")
    first.store.close()

    second = _file_workspace(path)
    assert (
        _post(second, [{"SerialNumber": GUID}, {"SerialNumber": "DEF", "New": 1}])
        == 200
    )
    rows = second.query("secRMM_CL | project SerialNumber_g, SerialNumber_s").rows
    assert [(str(g) if g else None, s) for g, s in rows] == [
        (GUID, ""), (None, "ABC"), (GUID, ""), (None, "DEF"),
    ]  # fmt: skip
    assert "New_d" not in _columns(second)
    second.store.close()
