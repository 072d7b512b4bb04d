"""Every row of Azure's Data Collector return-code table, over real HTTP."""

from __future__ import annotations

import base64
import email.utils
import json
from datetime import UTC, datetime, timedelta

import pytest
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID, DataCollectorClient

from sim.workspace.faults import parse_fault
from sim.workspace.keys import SharedKey
from sim.workspace.server import CollectorServer
from sim.workspace.wire import MAX_POST_BYTES
from sim.workspace.workspace import Workspace, WorkspaceSettings

FORBIDDEN = {
    "Error": "InvalidAuthorization",
    "Message": "An invalid signature was specified in the Authorization header",
}
RECORD = [{"Event": "ONLINE", "Computer": "pc1.contoso.com"}]


def _error(code: str, message: str | None = None) -> dict[str, str | None]:
    return {"Error": code, "Message": message}


def test_accepted_post_answers_200_with_empty_body_and_request_id(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    answer = client.post(RECORD)
    assert answer.status_code == 200
    assert answer.content == b""
    (entry,) = workspace.requests()
    assert answer.headers["x-ms-request-id"] == entry.request_id
    assert entry.verdict == "accepted"
    assert entry.rows_stored == 1


@pytest.mark.parametrize(
    ("overrides", "query", "status", "body"),
    [
        ({}, "", 400, _error("MissingApiVersion")),
        ({}, "api-version=2023-01-01", 400, _error("InvalidApiVersion")),
        ({"Content-Type": None}, None, 400, _error("MissingContentType")),
        ({"Content-Type": "text/plain"}, None, 400, _error("UnsupportedContentType")),
        ({"Content-Type": "application/json; charset=utf-8"}, None, 403, FORBIDDEN),
        ({"Log-Type": None}, None, 400, _error("MissingLogType")),
        ({"Log-Type": "sec-RMM"}, None, 400, _error("InvalidLogType")),
        ({"Log-Type": "a" * 101}, None, 400, _error("InvalidLogType")),
        (
            {"Authorization": "SharedKey not-a-guid:abc="},
            None,
            400,
            _error("InvalidCustomerId"),
        ),
        (
            {"Authorization": "SharedKey 99999999-2222-3333-4444-555555555555:abc="},
            None,
            403,
            FORBIDDEN,
        ),
        ({"Authorization": None}, None, 403, FORBIDDEN),
        (
            {"Authorization": f"SharedKey {SPEC_WORKSPACE_ID}:bm90IGl0"},
            None,
            403,
            FORBIDDEN,
        ),
        ({"x-ms-date": None}, None, 403, FORBIDDEN),
        ({"x-ms-date": "yesterday"}, None, 403, FORBIDDEN),
    ],
    ids=[
        "missing-api-version",
        "invalid-api-version",
        "missing-content-type",
        "unsupported-content-type",
        "charset-in-content-type",
        "missing-log-type",
        "log-type-with-dash",
        "log-type-over-100",
        "workspace-id-not-guid",
        "other-workspace-id",
        "missing-authorization",
        "wrong-signature",
        "missing-date",
        "unparseable-date",
    ],
)
def test_header_faults_get_azures_answer(
    client: DataCollectorClient,
    workspace: Workspace,
    overrides: dict[str, str | None],
    query: str | None,
    status: int,
    body: dict[str, str | None],
) -> None:
    kwargs = {} if query is None else {"query": query}
    answer = client.post(RECORD, headers=overrides, **kwargs)
    assert answer.status_code == status
    assert answer.json() == body
    (entry,) = workspace.requests()
    assert entry.verdict == "rejected"
    assert entry.reasons, "every refusal keeps a reason for people"
    assert entry.body is not None
    assert json.loads(entry.body) == RECORD
    assert workspace.store.row_count("secRMM_CL") == 0


def test_date_outside_skew_window_is_forbidden(client: DataCollectorClient) -> None:
    stale = email.utils.format_datetime(
        datetime.now(UTC) - timedelta(minutes=16), usegmt=True
    )
    body = json.dumps(RECORD).encode()
    headers = client.headers(body)
    signature = client.headers(body, date=stale)["Authorization"]
    answer = client.post(
        body=body, headers={**headers, "x-ms-date": stale, "Authorization": signature}
    )
    assert answer.status_code == 403


def test_host_naming_another_workspace_is_invalid_customer(
    server: CollectorServer,
) -> None:
    client = DataCollectorClient(server.url)
    other = "99999999-2222-3333-4444-555555555555"
    answer = client.post(RECORD, headers={"Host": f"{other}.ods.opinsights.azure.com"})
    assert answer.status_code == 400
    assert answer.json() == _error("InvalidCustomerId")


def test_host_and_header_workspace_ids_must_agree(server: CollectorServer) -> None:
    other = "99999999-2222-3333-4444-555555555555"
    client = DataCollectorClient(server.url, workspace_id=other)
    answer = client.post(
        RECORD, headers={"Host": f"{SPEC_WORKSPACE_ID}.ods.opinsights.azure.com"}
    )
    assert answer.status_code == 403


def test_host_naming_this_workspace_is_accepted(client: DataCollectorClient) -> None:
    answer = client.post(
        RECORD, headers={"Host": f"{SPEC_WORKSPACE_ID}.ods.opinsights.azure.com"}
    )
    assert answer.status_code == 200


def test_closed_workspace_answers_inactive_customer() -> None:
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY)], active=False
    )
    with CollectorServer(Workspace(settings)) as server:
        answer = DataCollectorClient(server.url).post(RECORD)
        server.check()
    assert answer.status_code == 400
    assert answer.json() == _error("InactiveCustomer")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'"just a string"',
        b"[1, 2]",
        b"[{}, []]",
        b"\xff\xfe",
        b'[{"a": NaN}]',
    ],
    ids=["broken", "scalar", "numbers", "nested-array", "not-utf8", "nan"],
)
def test_body_that_is_not_records_is_invalid_data_format(
    client: DataCollectorClient, workspace: Workspace, body: bytes
) -> None:
    answer = client.post(body=body)
    assert answer.status_code == 400
    assert answer.json() == _error("InvalidDataFormat")
    (entry,) = workspace.requests()
    assert entry.body == body


def test_empty_array_is_accepted_and_stores_nothing(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    assert client.post([]).status_code == 200
    assert workspace.store.row_count("secRMM_CL") == 0


def test_single_object_body_is_one_record(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    assert client.post({"Event": "ONLINE"}).status_code == 200
    assert workspace.query("secRMM_CL | project Event_s").rows == [("ONLINE",)]


def test_wrong_path_is_404_with_empty_body(client: DataCollectorClient) -> None:
    answer = client.post(RECORD, path="/api/log")
    assert answer.status_code == 404
    assert answer.content == b""


def test_post_over_30_mb_is_404_and_kept(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    filler = "x" * 30_000
    count = MAX_POST_BYTES // 30_000 + 1
    body = ("[" + ",".join([f'{{"F":"{filler}"}}'] * count) + "]").encode()
    assert len(body) > MAX_POST_BYTES
    answer = client.post(body=body)
    assert answer.status_code == 404
    assert answer.content == b""
    (entry,) = workspace.requests()
    assert entry.body_bytes == len(body)
    assert entry.body == body
    assert "split it" in entry.reasons[0]


@pytest.mark.parametrize(
    ("spec", "status", "body", "retry_after"),
    [
        ("429", 429, b"", "1"),
        ("429:1,no-retry-after", 429, b"", None),
        ("500", 500, b'{"Error":"UnspecifiedError","Message":null}', None),
        (
            "503:1,retry-after=7",
            503,
            b'{"Error":"ServiceUnavailable","Message":null}',
            "7",
        ),
    ],
)
def test_throttling_and_server_errors_answer_as_azure(
    client: DataCollectorClient,
    workspace: Workspace,
    spec: str,
    status: int,
    body: bytes,
    retry_after: str | None,
) -> None:
    workspace.faults.set([parse_fault(spec)])
    answer = client.post(RECORD)
    assert answer.status_code == status
    assert answer.content == body
    assert answer.headers.get("Retry-After") == retry_after
    (entry,) = workspace.requests()
    assert entry.verdict == "fault"
    assert entry.body is not None


def test_every_reason_is_logged_but_the_first_is_answered(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    answer = client.post(
        RECORD, headers={"Log-Type": None, "x-ms-date": None}, query=""
    )
    assert answer.json() == _error("MissingApiVersion")
    (entry,) = workspace.requests()
    assert len(entry.reasons) >= 3
    assert entry.error == "MissingApiVersion"


def test_request_log_never_holds_the_signature(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    sent = client.post(RECORD).request.headers["Authorization"]
    (entry,) = workspace.requests()
    assert entry.headers["authorization"] == "*****"
    logged = workspace.query("IngestionRequests | project Headers").rows[0][0]
    assert sent.split(":")[-1] not in logged
    assert base64.b64decode(SPEC_KEY).hex() not in logged
