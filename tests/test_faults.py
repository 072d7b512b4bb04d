"""Fault injection, at start and while running, as clients meet it."""

from __future__ import annotations

import time

import pytest
import requests
from dca_client import DataCollectorClient

from sim.workspace.faults import FaultPlan, FaultSpecError, parse_fault
from sim.workspace.server import CollectorServer
from sim.workspace.workspace import Workspace

RECORD = [{"Event": "ONLINE"}]


def test_fault_specs_parse_with_defaults_and_options() -> None:
    assert parse_fault("503").spec() == "503:1,retry-after=1"
    assert parse_fault("429:0.25,no-retry-after").spec() == "429:0.25,no-retry-after"
    assert parse_fault("delay:0.5,seconds=2").spec() == "delay:0.5,seconds=2"
    assert parse_fault("drop:0.1").share == 0.1


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("404", "unknown fault"),
        ("503:2", "between 0 and 1"),
        ("503:x", "not a number"),
        ("503,retry-after=-1", "must not be negative"),
        ("503,colour=red", "unknown option"),
    ],
)
def test_bad_fault_specs_say_what_is_wrong(spec: str, complaint: str) -> None:
    with pytest.raises(FaultSpecError, match=complaint):
        parse_fault(spec)


def test_same_seed_draws_the_same_faults() -> None:
    faults = [parse_fault("503:0.3")]
    first = [FaultPlan(faults, seed=7).draw() is not None for _ in range(1)]
    plan_a, plan_b = FaultPlan(faults, seed=7), FaultPlan(faults, seed=7)
    draws_a = [plan_a.draw() is not None for _ in range(200)]
    draws_b = [plan_b.draw() is not None for _ in range(200)]
    assert draws_a == draws_b
    assert 30 < sum(draws_a) < 90, "a 30% share should hit roughly 60 of 200"
    assert first


def test_dropped_connection_stores_nothing(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    workspace.faults.set([parse_fault("drop")])
    with pytest.raises(requests.ConnectionError):
        client.post(RECORD)
    assert workspace.store.row_count("secRMM_CL") == 0
    (entry,) = workspace.requests()
    assert entry.verdict == "fault"


def test_delay_holds_the_answer_then_stores(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    workspace.faults.set([parse_fault("delay:1,seconds=0.4")])
    started = time.monotonic()
    assert client.post(RECORD).status_code == 200
    assert time.monotonic() - started >= 0.4
    assert workspace.store.row_count("secRMM_CL") == 1


def test_lose_answers_200_but_stores_nothing(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    workspace.faults.set([parse_fault("lose")])
    assert client.post(RECORD).status_code == 200
    assert workspace.store.row_count("secRMM_CL") == 0
    (entry,) = workspace.requests()
    assert entry.verdict == "lost"
    assert entry.body is not None


def test_faults_change_over_http_while_running(
    server: CollectorServer, client: DataCollectorClient
) -> None:
    url = f"{server.url}/_mock/faults"
    assert (
        requests.put(
            url, json={"faults": ["503:1,retry-after=3"]}, timeout=5
        ).status_code
        == 200
    )
    assert requests.get(url, timeout=5).json() == {"faults": ["503:1,retry-after=3"]}
    answer = client.post(RECORD)
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "3")
    assert requests.put(url, json={"faults": []}, timeout=5).status_code == 200
    assert client.post(RECORD).status_code == 200


def test_bad_fault_update_is_refused_with_the_reason(server: CollectorServer) -> None:
    answer = requests.put(
        f"{server.url}/_mock/faults", json={"faults": ["418"]}, timeout=5
    )
    assert answer.status_code == 400
    assert "unknown fault" in answer.json()["error"]


def test_a_share_of_posts_fails_and_the_rest_are_stored(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    workspace.faults.set([parse_fault("503:0.5")], seed=3)
    statuses = [client.post(RECORD).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    assert workspace.store.row_count("secRMM_CL") == statuses.count(200)
