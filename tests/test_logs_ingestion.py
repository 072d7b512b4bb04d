"""The Logs Ingestion API door and its Entra-style token endpoint, over HTTP."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID, DataCollectorClient

from sim.workspace.faults import parse_fault
from sim.workspace.keys import ClientSecret, SharedKey
from sim.workspace.logs_ingestion import DataCollectionRule
from sim.workspace.server import CollectorServer
from sim.workspace.workspace import Workspace, WorkspaceSettings

DCR = "dcr-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CLIENT_ID = "7c2f9e0a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
CLIENT_SECRET = "Qx8~not-a-real-secret.but-long-enough"
SCOPE = "https://monitor.azure.com/.default"
RECORD = {"Event": "ONLINE", "Computer": "PC1.contoso.com", "User": "CONTOSO\\ann"}


def _settings(**overrides: Any) -> WorkspaceSettings:
    values: dict[str, Any] = {
        "workspace_id": SPEC_WORKSPACE_ID,
        "keys": [SharedKey(SPEC_KEY)],
        "clients": {CLIENT_ID: ClientSecret(CLIENT_SECRET)},
        "rules": [DataCollectionRule(immutable_id=DCR)],
    }
    values.update(overrides)
    return WorkspaceSettings(**values)


@pytest.fixture
def lia() -> Iterator[tuple[Workspace, str]]:
    workspace = Workspace(_settings())
    with CollectorServer(workspace) as server:
        yield workspace, server.url
        server.check()


def _token(url: str, **form: str) -> requests.Response:
    data = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": SCOPE,
        **form,
    }
    tenant = (
        form.pop("tenant", SPEC_WORKSPACE_ID) if "tenant" in form else SPEC_WORKSPACE_ID
    )
    data.pop("tenant", None)
    return requests.post(f"{url}/{tenant}/oauth2/v2.0/token", data=data, timeout=10)


def _bearer(url: str) -> str:
    answer = _token(url)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _upload(
    url: str,
    records: Any,
    *,
    token: str | None = None,
    stream: str = "Custom-secRMM_CL",
    dcr: str = DCR,
    compress: bool = True,
    query: str = "api-version=2023-01-01",
    body: bytes | None = None,
) -> requests.Response:
    data = body if body is not None else json.dumps(records).encode()
    headers = {"Content-Type": "application/json"}
    if compress:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        f"{url}/dataCollectionRules/{dcr}/streams/{stream}?{query}",
        data=data,
        headers=headers,
        timeout=10,
    )


def test_token_endpoint_answers_as_entra_id(lia: tuple[Workspace, str]) -> None:
    workspace, url = lia
    answer = _token(url)
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["token_type"] == "Bearer"
    assert payload["expires_in"] == 3599
    assert payload["access_token"].count(".") == 2
    (entry,) = workspace.requests()
    assert entry.api == "Token"


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        (
            {"tenant": "00000000-0000-0000-0000-00000000abcd"},
            400,
            "invalid_request",
            90002,
        ),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"client_id": "unknown-app"}, 400, "unauthorized_client", 700016),
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"scope": "https://monitor.azure.com"}, 400, "invalid_scope", 1002012),
    ],
)
def test_token_refusals_carry_entra_codes(
    lia: tuple[Workspace, str], form: dict[str, str], status: int, error: str, code: int
) -> None:
    workspace, url = lia
    answer = _token(url, **form)
    assert answer.status_code == status
    payload = answer.json()
    assert payload["error"] == error
    assert payload["error_codes"] == [code]
    assert payload["error_description"].startswith(f"AADSTS{code}: ")
    (entry,) = workspace.requests()
    assert entry.body is not None
    assert CLIENT_SECRET.encode() not in entry.body
    assert b"client_secret=%2A%2A%2A%2A%2A" in entry.body


def test_upload_lands_in_secrmm_cl_with_vendor_columns(
    lia: tuple[Workspace, str],
) -> None:
    workspace, url = lia
    answer = _upload(
        url,
        [RECORD, {**RECORD, "Event": "OFFLINE", "SourceFileSize": 9140}],
        token=_bearer(url),
    )
    assert answer.status_code == 204
    assert answer.content == b""
    rows = workspace.query(
        "secRMM_CL | project Event_s, Computer, User_s, SourceFileSize_s"
    ).rows
    assert rows == [
        ("ONLINE", "PC1.contoso.com", "CONTOSO\\ann", ""),
        ("OFFLINE", "PC1.contoso.com", "CONTOSO\\ann", "9140"),
    ]
    columns = [
        name
        for (name,) in workspace.query(
            "secRMM_CL | getschema | project ColumnName"
        ).rows
    ]
    assert len(columns) == 33, "Sentinel's published secRMM_CL schema has 33 columns"
    assert columns[:8] == ["TenantId", "SourceSystem", "MG", "ManagementGroupName", "TimeGenerated",
                           "Computer", "RawData", "Event_s"]  # fmt: skip
    assert columns[-2:] == ["Type", "_ResourceId"]


def test_both_apis_fill_the_same_table(lia: tuple[Workspace, str]) -> None:
    workspace, url = lia
    assert (
        DataCollectorClient(url).post([{"Event": "ONLINE", "Extra": 1}]).status_code
        == 200
    )
    assert (
        _upload(
            url,
            [{"Event": "OFFLINE", "Extra": "2", "Event_s": None}],
            token=_bearer(url),
        ).status_code
        == 204
    )
    rows = workspace.query("secRMM_CL | project Event_s, Extra_d").rows
    assert rows == [("ONLINE", 1.0), ("OFFLINE", 2.0)]


def test_uncompressed_bodies_and_the_preview_version_are_accepted(
    lia: tuple[Workspace, str],
) -> None:
    workspace, url = lia
    answer = _upload(
        url,
        [RECORD],
        token=_bearer(url),
        compress=False,
        query="api-version=2021-11-01-preview",
    )
    assert answer.status_code == 204
    assert workspace.store.row_count("secRMM_CL") == 1


def test_time_generated_is_taken_from_the_record(lia: tuple[Workspace, str]) -> None:
    workspace, url = lia
    now = workspace.now().replace(microsecond=0, tzinfo=None)
    sent = (now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (
        _upload(
            url, [{**RECORD, "TimeGenerated": sent}], token=_bearer(url)
        ).status_code
        == 204
    )
    assert workspace.query("secRMM_CL | project TimeGenerated").rows == [
        (now - timedelta(hours=5),)
    ]


def test_unknown_fields_are_dropped_with_a_warning(lia: tuple[Workspace, str]) -> None:
    workspace, url = lia
    assert (
        _upload(url, [{**RECORD, "Colour": "red"}], token=_bearer(url)).status_code
        == 204
    )
    columns = {
        name
        for (name,) in workspace.query(
            "secRMM_CL | getschema | project ColumnName"
        ).rows
    }
    assert not any(name.startswith("Colour") for name in columns)
    warnings = workspace.requests()[-1].warnings
    assert any("'Colour'" in warning for warning in warnings)


def test_values_are_truncated_at_64_kb(lia: tuple[Workspace, str]) -> None:
    workspace, url = lia
    assert (
        _upload(
            url, [{**RECORD, "Message": "m" * 70_000}], token=_bearer(url)
        ).status_code
        == 204
    )
    assert workspace.query("secRMM_CL | project n = strlen(Message)").rows == [
        (65_536,)
    ]


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"query": ""}, 400, "UnsupportedApiVersion"),
        ({"token": None}, 401, "InvalidToken"),
        ({"token": "a.b.c"}, 401, "InvalidToken"),
        ({"dcr": "dcr-unknown"}, 404, "NotFound"),
        ({"stream": "Microsoft-Syslog"}, 404, "NotFound"),
        ({"stream": "Custom-Unknown_CL"}, 404, "NotFound"),
        ({"body": b"{broken", "compress": False}, 400, "InvalidPayload"),
        ({"body": b"[1, 2]"}, 400, "InvalidPayload"),
    ],
    ids=[
        "no-version",
        "no-token",
        "forged-token",
        "unknown-dcr",
        "not-custom",
        "no-table",
        "bad-json",
        "not-objects",
    ],
)
def test_refusals_use_the_azure_core_error_shape(
    lia: tuple[Workspace, str], kwargs: dict[str, Any], status: int, code: str
) -> None:
    workspace, url = lia
    kwargs.setdefault("token", _bearer(url))
    answer = _upload(url, [RECORD], **kwargs)
    assert answer.status_code == status
    assert answer.headers["x-ms-error-code"] == code
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    assert workspace.store.row_count("secRMM_CL") == 0


def test_body_over_1_mb_on_the_wire_is_too_large(lia: tuple[Workspace, str]) -> None:
    _, url = lia
    body = json.dumps([{"Message": "x" * 1_100_000}]).encode()
    answer = _upload(url, None, token=_bearer(url), body=body, compress=False)
    assert answer.status_code == 413
    assert answer.headers["x-ms-error-code"] == "PayloadTooLarge"


def test_token_for_another_audience_is_refused(lia: tuple[Workspace, str]) -> None:
    _, url = lia
    other = _token(url, scope="https://management.azure.com/.default").json()[
        "access_token"
    ]
    answer = _upload(url, [RECORD], token=other)
    assert answer.status_code == 401
    assert "monitor.azure.com/.default" in answer.json()["error"]["message"]


def test_token_of_another_tenant_is_refused(lia: tuple[Workspace, str]) -> None:
    _, url = lia
    foreign = Workspace(_settings(tenant_id="99999999-0000-0000-0000-000000000001"))
    token, _ = foreign.tokens.issue(CLIENT_ID, "https://monitor.azure.com")
    answer = _upload(url, [RECORD], token=token)
    assert answer.status_code == 401
    assert "foreign" in answer.json()["error"]["message"]


def test_expired_token_is_refused() -> None:
    workspace = Workspace(_settings(token_lifetime=timedelta(seconds=0)))
    with CollectorServer(workspace) as server:
        answer = _upload(server.url, [RECORD], token=_bearer(server.url))
        server.check()
    assert answer.status_code == 401
    assert "expired" in answer.json()["error"]["message"]


def test_application_without_publisher_role_is_forbidden() -> None:
    rule = DataCollectionRule(immutable_id=DCR, publishers=frozenset({"someone-else"}))
    with CollectorServer(Workspace(_settings(rules=[rule]))) as server:
        answer = _upload(server.url, [RECORD], token=_bearer(server.url))
        server.check()
    assert answer.status_code == 403
    assert answer.headers["x-ms-error-code"] == "Forbidden"


def test_non_array_body_is_answered_204_and_stores_nothing(
    lia: tuple[Workspace, str],
) -> None:
    workspace, url = lia
    answer = _upload(url, RECORD, token=_bearer(url))
    assert answer.status_code == 204
    assert workspace.store.row_count("secRMM_CL") == 0
    assert any(
        "not a JSON array" in warning for warning in workspace.requests()[-1].warnings
    )


def test_strict_mode_refuses_non_arrays_and_unknown_fields() -> None:
    with CollectorServer(Workspace(_settings(strict=True))) as server:
        token = _bearer(server.url)
        assert _upload(server.url, RECORD, token=token).status_code == 400
        assert (
            _upload(server.url, [{**RECORD, "Colour": "red"}], token=token).status_code
            == 400
        )
        server.check()


def test_throttling_answers_with_retry_after_in_azure_core_shape(
    lia: tuple[Workspace, str],
) -> None:
    workspace, url = lia
    token = _bearer(url)
    workspace.faults.set([parse_fault("429:1,retry-after=2")])
    answer = _upload(url, [RECORD], token=token)
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "2")
    assert answer.json()["error"]["code"] == "TooManyRequests"


def test_token_endpoint_is_not_subject_to_ingestion_faults(
    lia: tuple[Workspace, str],
) -> None:
    workspace, url = lia
    workspace.faults.set([parse_fault("503")])
    assert _token(url).status_code == 200
