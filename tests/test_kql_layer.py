"""Where the KQL layer makes duckdb-kql answer as Log Analytics does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dca_client import DataCollectorClient

from sim.workspace.kql import KqlQueryError
from sim.workspace.workspace import Workspace


@pytest.fixture
def stored(client: DataCollectorClient, workspace: Workspace) -> Workspace:
    records = [
        {"Event": "ONLINE", "User": "CONTOSO\\ann", "Size": 10},
        {"Event": "online", "User": "CONTOSO\\bob", "Size": 20},
    ]
    assert client.post(records).status_code == 200
    return workspace


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            'secRMM_CL | where event_s == "ONLINE"',
            "'where' operator: Failed to resolve scalar expression named 'event_s'",
        ),
        (
            "secRMM_CL | project user_s",
            "'project' operator: Failed to resolve scalar expression named 'user_s'",
        ),
        (
            "secrmm_cl | take 1",
            "Failed to resolve table or column expression named 'secrmm_cl'",
        ),
        (
            "secRMM_CL | where Nope == 1",
            "'where' operator: Failed to resolve scalar expression named 'Nope'",
        ),
        (
            "Nope_CL | take 1",
            "Failed to resolve table or column expression named 'Nope_CL'",
        ),
        (
            "secRMM_CL | extend x = Size_d | project X",
            "'project' operator: Failed to resolve scalar expression named 'X'",
        ),
    ],
)
def test_names_resolve_case_sensitively_as_in_kql(
    stored: Workspace, query: str, message: str
) -> None:
    with pytest.raises(KqlQueryError) as raised:
        stored.query(query)
    assert raised.value.code == "SemanticError"
    assert raised.value.message == message


def test_syntax_errors_name_the_place(stored: Workspace) -> None:
    with pytest.raises(KqlQueryError) as raised:
        stored.query("secRMM_CL | wher Event_s == 1")
    assert raised.value.code == "SyntaxError"
    assert raised.value.message.startswith("Query could not be parsed at")
    assert "line [1," in raised.value.message


def test_equality_is_case_sensitive_and_contains_is_not(stored: Workspace) -> None:
    assert stored.query('secRMM_CL | where Event_s == "ONLINE" | count').rows == [(1,)]
    assert stored.query('secRMM_CL | where Event_s contains "onLINE" | count').rows == [
        (2,)
    ]
    assert stored.query(
        'secRMM_CL | where Event_s !contains "ONLINE" | count'
    ).rows == [(0,)]
    assert stored.query('secRMM_CL | where Event_s =~ "Online" | count').rows == [(2,)]


def test_names_the_query_defines_resolve(stored: Workspace) -> None:
    rows = stored.query(
        "secRMM_CL | extend Double = Size_d * 2 | summarize Total = sum(Double)"
    ).rows
    assert rows == [(60.0,)]


def test_results_carry_kql_types(stored: Workspace) -> None:
    result = stored.query(
        "secRMM_CL | summarize n = count(), total = sum(Size_d),"
        " newest = max(TimeGenerated) by Event_s"
    )
    assert result.columns == [
        ("Event_s", "string"),
        ("n", "long"),
        ("total", "real"),
        ("newest", "datetime"),
    ]


def test_request_log_is_queryable_in_kql(
    stored: Workspace, client: DataCollectorClient
) -> None:
    client.post([{"tenant": 1}])
    rows = stored.query(
        'IngestionRequests | where Verdict == "rejected" | project Status, Error'
    ).rows
    assert rows == [(400, "InvalidDataFormat")]


def test_cached_translations_still_read_the_clock_of_each_run(
    stored: Workspace,
) -> None:
    query = "secRMM_CL | where TimeGenerated > ago(1h) | count"
    received = stored.requests()[0].time_received
    assert stored.query(query, now=received + timedelta(minutes=30)).rows == [(2,)]
    assert stored.query(query, now=received + timedelta(hours=2)).rows == [(0,)]
    assert stored.query(query).rows == [(2,)], "unpinned, now() is the wall clock"
