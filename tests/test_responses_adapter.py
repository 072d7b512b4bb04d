"""The workspace reached through ``requests`` without a socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from dca_client import SPEC_WORKSPACE_ID, DataCollectorClient, encode

from sim.workspace.faults import parse_fault
from sim.workspace.responses_adapter import install
from sim.workspace.workspace import Workspace

BASE = f"https://{SPEC_WORKSPACE_ID}.ods.opinsights.azure.com"


@pytest.fixture
def mocked(workspace: Workspace) -> Iterator[DataCollectorClient]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(mock, workspace, BASE)
        yield DataCollectorClient(BASE)


def test_posts_reach_the_same_checks_and_store(
    mocked: DataCollectorClient, workspace: Workspace
) -> None:
    assert mocked.post([{"Event": "ONLINE"}]).status_code == 200
    assert mocked.post([{"Event": "x"}], headers={"Log-Type": None}).json() == {
        "Error": "MissingLogType",
        "Message": None,
    }
    assert workspace.query("secRMM_CL | project Event_s").rows == [("ONLINE",)]
    assert [entry.client for entry in workspace.requests()] == [
        "responses",
        "responses",
    ]


def test_str_bodies_are_sent_as_latin_1_like_http_client(
    mocked: DataCollectorClient,
) -> None:
    body = encode([{"User": "Zoë"}])
    headers = mocked.headers(body)
    # The classic bug: the string is sent, signed over its character count.
    text = body.decode()
    wrong = mocked.headers(text.encode("latin-1"), date=headers["x-ms-date"])
    answer = requests.post(
        f"{BASE}/api/logs?api-version=2016-04-01", data=text, headers=wrong, timeout=5
    )
    # The signature matches (one Latin-1 byte per character) but the bytes are
    # not UTF-8, so the body is refused as Azure refuses it.
    assert answer.json() == {"Error": "InvalidDataFormat", "Message": None}
    with pytest.raises(UnicodeEncodeError):
        requests.post(
            f"{BASE}/api/logs?api-version=2016-04-01",
            data="日本",
            headers=wrong,
            timeout=5,
        )


def test_dropped_connection_is_a_connection_error(
    mocked: DataCollectorClient, workspace: Workspace
) -> None:
    workspace.faults.set([parse_fault("drop")])
    with pytest.raises(requests.ConnectionError):
        mocked.post([{"Event": "ONLINE"}])
