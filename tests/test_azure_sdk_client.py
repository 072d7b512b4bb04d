"""Microsoft's ``azure-monitor-ingestion`` client, unmodified, against the mock.

Over HTTPS (the SDK refuses bearer tokens over plain HTTP), with a credential
that fetches its token from the mock's Entra-style token endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.monitor.ingestion import LogsIngestionClient
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID

from sim.workspace.faults import parse_fault
from sim.workspace.keys import ClientSecret, SharedKey
from sim.workspace.logs_ingestion import DataCollectionRule
from sim.workspace.server import CollectorServer, tls_context
from sim.workspace.workspace import Workspace, WorkspaceSettings

DCR = "dcr-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
CLIENT_ID = "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0102"
CLIENT_SECRET = "another~made-up~secret"


class ClientCredential:
    """Client credentials against the mock's token endpoint (a test's stand-in for
    azure-identity, which would also need Entra's discovery endpoints)."""

    def __init__(self, authority: str, ca_bundle: str) -> None:
        self.authority = authority
        self.ca_bundle = ca_bundle
        self.requests = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests += 1
        answer = requests.post(
            f"{self.authority}/{SPEC_WORKSPACE_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": " ".join(scopes),
            },
            verify=self.ca_bundle,
            timeout=10,
        )
        answer.raise_for_status()
        payload = answer.json()
        return AccessToken(
            payload["access_token"], int(payload["expires_in"]) + int(time.time())
        )


@pytest.fixture
def https(
    tmp_path: Path,
) -> Iterator[tuple[Workspace, LogsIngestionClient, ClientCredential]]:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key, bundle = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(bundle))
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID,
        keys=[SharedKey(SPEC_KEY)],
        clients={CLIENT_ID: ClientSecret(CLIENT_SECRET)},
        rules=[DataCollectionRule(immutable_id=DCR)],
    )
    workspace = Workspace(settings)
    with CollectorServer(workspace, tls=tls_context(str(cert), str(key))) as server:
        credential = ClientCredential(server.url, str(bundle))
        client = LogsIngestionClient(
            endpoint=server.url, credential=credential, connection_verify=str(bundle)
        )
        with client:
            yield workspace, client, credential
        server.check()


def _records(count: int) -> list[dict[str, Any]]:
    return [
        {"Event": "WRITE COMPLETED", "Computer": f"PC{n % 7}.contoso.com", "User": "CONTOSO\\zoë",
         "TargetFile": f"E:\\Übersicht {n}.xlsx", "SourceFileSize": 9140 + n}
        for n in range(count)
    ]  # fmt: skip


def test_sdk_upload_lands_every_record(
    https: tuple[Workspace, LogsIngestionClient, ClientCredential],
) -> None:
    workspace, client, credential = https
    client.upload(rule_id=DCR, stream_name="Custom-secRMM_CL", logs=_records(50))
    rows = workspace.query(
        'secRMM_CL | where Event_s == "WRITE COMPLETED" | summarize n = count(), '
        "users = dcount(User_s), smallest = min(SourceFileSize_s)"
    ).rows
    assert rows == [(50, 1, "9140")]
    assert workspace.query("secRMM_CL | take 1 | project User_s").rows == [
        ("CONTOSO\\zoë",)
    ]
    entries = workspace.requests("Api = 'LogsIngestion'")
    assert entries
    assert all(entry.status == 204 for entry in entries)
    assert all(entry.headers.get("content-encoding") == "gzip" for entry in entries)
    assert credential.requests == 1, "the SDK caches its token"


def test_sdk_chunks_large_uploads_under_the_limit(
    https: tuple[Workspace, LogsIngestionClient, ClientCredential],
) -> None:
    workspace, client, _ = https
    records = [{**record, "Message": "x" * 20_000} for record in _records(120)]
    client.upload(rule_id=DCR, stream_name="Custom-secRMM_CL", logs=records)
    assert workspace.store.row_count("secRMM_CL") == 120
    assert len(workspace.requests("Api = 'LogsIngestion'")) >= 2


def test_sdk_retries_throttling_that_carries_retry_after(
    https: tuple[Workspace, LogsIngestionClient, ClientCredential],
) -> None:
    workspace, client, _ = https
    # Seed 1 throttles the first post and lets the second through.
    workspace.faults.set([parse_fault("429:0.5,retry-after=0.1")], seed=1)
    client.upload(rule_id=DCR, stream_name="Custom-secRMM_CL", logs=_records(10))
    verdicts = [entry.verdict for entry in workspace.requests("Api = 'LogsIngestion'")]
    assert verdicts == ["fault", "accepted"]
    assert workspace.store.row_count("secRMM_CL") == 10


def test_sdk_reports_refused_chunks_through_on_error(
    https: tuple[Workspace, LogsIngestionClient, ClientCredential],
) -> None:
    _, client, _ = https
    failures: list[Any] = []
    client.upload(
        rule_id=DCR,
        stream_name="Custom-Nope_CL",
        logs=_records(3),
        on_error=failures.append,
    )
    (failure,) = failures
    assert isinstance(failure.error, HttpResponseError)
    assert failure.error.status_code == 404
    assert len(failure.failed_logs) == 3
