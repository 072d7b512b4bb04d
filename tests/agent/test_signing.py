"""SharedKey signing, checked against the spec's worked example (azure-ingestion §2.3)."""

from __future__ import annotations

import json

import pytest
import responses

from agent.sinks import json_array
from agent.sinks.data_collector import DataCollectorSink, sign, string_to_sign
from sim.workspace.responses_adapter import install

from .conftest import WORKSPACE_ID

# The worked example's values, copied from the spec, not computed by our code.
SPEC_KEY = bytes(range(64))
SPEC_DATE = "Mon, 04 Apr 2016 08:00:00 GMT"
SPEC_SIGNATURE = "buGwzc0T1uwr5QG1dzeoyhziEUcCWac38Hr4+I0eUxk="
SPEC_WRONG_SIGNATURE = "cZf/pdPxXjwDKtq1c4LwGm7eopOfyhiosiCywmCydBk="


def test_spec_body_is_35_bytes_when_serialised_the_agent_way():
    record = json.dumps({"Host": "web01", "City": "Zürich"}, ensure_ascii=False)
    body = json_array([record.replace(", ", ",").replace(": ", ":").encode()])
    assert body == '[{"Host":"web01","City":"Zürich"}]'.encode()
    assert len(body) == 35


def test_string_to_sign_matches_the_spec_example():
    assert string_to_sign(35, SPEC_DATE) == (
        "POST\n35\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs"
    )


def test_signature_matches_the_spec_worked_example():
    assert sign(WORKSPACE_ID, SPEC_KEY, 35, SPEC_DATE) == (
        f"SharedKey {WORKSPACE_ID}:{SPEC_SIGNATURE}"
    )


def test_signing_the_character_count_gives_the_spec_wrong_signature():
    assert sign(WORKSPACE_ID, SPEC_KEY, 34, SPEC_DATE).endswith(SPEC_WRONG_SIGNATURE)


@pytest.fixture
def captured():
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://mock.invalid/api/logs", status=200)
        yield mock


def test_request_carries_exact_headers_and_no_empty_ones(make_settings, captured):
    sink = DataCollectorSink(make_settings(), clock=lambda: SPEC_DATE)
    record = '{"Host":"web01","City":"Zürich"}'.encode()
    answer = sink.post([record])
    request = captured.calls[0].request
    assert answer.status == 200
    assert request.url == "https://mock.invalid/api/logs?api-version=2016-04-01"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Log-Type"] == "secRMM"
    assert request.headers["x-ms-date"] == SPEC_DATE
    assert request.headers["x-ms-client-request-id"] == answer.request_id
    assert request.body == b"[" + record + b"]"
    assert all(value != "" for value in request.headers.values())
    for optional in ("time-generated-field", "x-ms-AzureResourceId"):
        assert optional not in request.headers


@pytest.mark.parametrize(
    ("cloud", "host"),
    [
        ("public", "ods.opinsights.azure.com"),
        ("usgov", "ods.opinsights.azure.us"),
        ("china", "ods.opinsights.azure.cn"),
    ],
)
def test_sovereign_clouds_post_to_their_own_domain(make_settings, cloud, host):
    sink = DataCollectorSink(make_settings(endpoint="", cloud=cloud))
    assert sink.url == f"https://{WORKSPACE_ID}.{host}/api/logs?api-version=2016-04-01"


def test_non_ascii_batch_is_accepted_by_the_mock_verifier(make_settings, workspace):
    base = f"https://{WORKSPACE_ID}.ods.opinsights.azure.com"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        install(mock, workspace, base)
        sink = DataCollectorSink(make_settings(endpoint=""))
        answer = sink.post(['{"Message":"Grüße aus Zürich ✓"}'.encode()])
    assert answer.status == 200
    assert workspace.query("secRMM_CL | project Message").rows == [
        ("Grüße aus Zürich ✓",)
    ]
