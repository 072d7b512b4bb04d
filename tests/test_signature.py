"""SharedKey signing: the spec's independent vector, byte lengths, both keys."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from dca_client import (
    SPEC_KEY,
    SPEC_WORKSPACE_ID,
    DataCollectorClient,
    encode,
    shared_key_signature,
)

from sim.workspace.keys import SharedKey
from sim.workspace.server import CollectorServer
from sim.workspace.verify import parse_rfc1123, sign
from sim.workspace.wire import IngestRequest
from sim.workspace.workspace import Workspace, WorkspaceSettings

# azure-ingestion.md §2.3, "Worked example": computed outside this code base.
SPEC_BODY = '[{"Host":"web01","City":"Zürich"}]'.encode()
SPEC_DATE = "Mon, 04 Apr 2016 08:00:00 GMT"
SPEC_SIGNATURE = "buGwzc0T1uwr5QG1dzeoyhziEUcCWac38Hr4+I0eUxk="
SPEC_SIGNATURE_OF_CHARACTER_COUNT = "cZf/pdPxXjwDKtq1c4LwGm7eopOfyhiosiCywmCydBk="


def _spec_request(signature: str, body: bytes = SPEC_BODY) -> IngestRequest:
    return IngestRequest(
        method="POST",
        path="/api/logs",
        query={"api-version": "2016-04-01"},
        headers={
            "content-type": "application/json",
            "log-type": "Spec",
            "x-ms-date": SPEC_DATE,
            "authorization": f"SharedKey {SPEC_WORKSPACE_ID}:{signature}",
        },
        body=body,
        host="127.0.0.1",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def skewless() -> Workspace:
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY)], date_skew=None
    )
    return Workspace(settings)


def test_spec_body_is_35_bytes_of_34_characters() -> None:
    assert len(SPEC_BODY.decode()) == 34
    assert len(SPEC_BODY) == 35


def test_mock_signer_reproduces_the_spec_vector() -> None:
    assert sign(base64.b64decode(SPEC_KEY), 35, SPEC_DATE) == SPEC_SIGNATURE


def test_test_client_signer_reproduces_the_spec_vector() -> None:
    assert shared_key_signature(SPEC_KEY, 35, SPEC_DATE) == SPEC_SIGNATURE
    assert (
        shared_key_signature(SPEC_KEY, 34, SPEC_DATE)
        == SPEC_SIGNATURE_OF_CHARACTER_COUNT
    )


def test_spec_vector_is_accepted_with_skew_check_off(skewless: Workspace) -> None:
    outcome = skewless.handle(_spec_request(SPEC_SIGNATURE))
    assert outcome.status == 200
    assert skewless.query("Spec_CL | project City_s").rows == [("Zürich",)]


def test_signature_over_character_count_is_forbidden(skewless: Workspace) -> None:
    outcome = skewless.handle(_spec_request(SPEC_SIGNATURE_OF_CHARACTER_COUNT))
    assert outcome.status == 403
    assert outcome.body == (
        b'{"Error":"InvalidAuthorization","Message":'
        b'"An invalid signature was specified in the Authorization header"}'
    )


def test_spec_vector_date_is_refused_with_skew_check_on(workspace: Workspace) -> None:
    outcome = workspace.handle(_spec_request(SPEC_SIGNATURE))
    assert outcome.status == 403
    (entry,) = workspace.requests()
    assert any("from the workspace's clock" in reason for reason in entry.reasons)


def test_trailing_newline_on_signature_is_tolerated(skewless: Workspace) -> None:
    assert skewless.handle(_spec_request(SPEC_SIGNATURE + "\n")).status == 200


def test_secondary_key_signs_as_well_as_primary() -> None:
    secondary = base64.b64encode(bytes(range(64, 128))).decode()
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY), SharedKey(secondary)]
    )
    workspace = Workspace(settings)
    with CollectorServer(workspace) as server:
        for key in (SPEC_KEY, secondary):
            answer = DataCollectorClient(server.url, key_b64=key).post(
                [{"Key": key[:4]}]
            )
            assert answer.status_code == 200
        server.check()
    assert workspace.store.row_count("secRMM_CL") == 2


def test_non_ascii_body_signed_over_bytes_is_stored_over_http(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    records = [{"User": "CONTOSO\\Zoë", "File": "E:\\Übersicht 日本.xlsx"}]
    assert client.post(records).status_code == 200
    rows = workspace.query("secRMM_CL | project User_s, File_s").rows
    assert rows == [("CONTOSO\\Zoë", "E:\\Übersicht 日本.xlsx")]


def test_non_ascii_body_signed_over_characters_is_forbidden_over_http(
    client: DataCollectorClient,
) -> None:
    body = encode([{"User": "Zoë"}])
    headers = client.headers(body)
    wrong = shared_key_signature(SPEC_KEY, len(body.decode()), headers["x-ms-date"])
    answer = client.post(
        body=body, headers={"Authorization": f"SharedKey {SPEC_WORKSPACE_ID}:{wrong}"}
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("Mon, 04 Apr 2016 08:00:00 GMT", True),
        ("Tue, 04 Apr 2016 08:00:00 GMT", False),  # 4 April 2016 was a Monday
        ("Mon, 4 Apr 2016 08:00:00 GMT", False),
        ("Mon, 04 Apr 2016 08:00:00 UTC", False),
        ("2016-04-04T08:00:00Z", False),
        ("Mon, 31 Apr 2016 08:00:00 GMT", False),
    ],
)
def test_x_ms_date_must_be_rfc1123(text: str, valid: bool) -> None:
    assert (parse_rfc1123(text) is not None) is valid


def test_shared_key_never_shows_its_secret() -> None:
    key = SharedKey(SPEC_KEY)
    assert SPEC_KEY not in repr(key)
    assert SPEC_KEY not in str(key)
    assert SPEC_KEY not in f"{[key]}"
