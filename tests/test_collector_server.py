"""The HTTP server itself: TLS, concurrency, the query API, surfaced errors."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import trustme
from dca_client import SPEC_WORKSPACE_ID, DataCollectorClient

from sim.workspace.server import CollectorServer, ServerError, tls_context
from sim.workspace.wire import IngestRequest, Outcome
from sim.workspace.workspace import Workspace


@pytest.fixture
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(
    workspace: Workspace, certificate_authority: trustme.CA, tmp_path: Path
) -> Iterator[CollectorServer]:
    certificate = certificate_authority.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    with CollectorServer(workspace, tls=tls_context(str(cert), str(key))) as server:
        yield server
        server.check()


def test_tls_serves_https_to_clients_trusting_its_ca(
    tls_server: CollectorServer,
    certificate_authority: trustme.CA,
    tmp_path: Path,
    workspace: Workspace,
) -> None:
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    session.verify = str(bundle)
    assert tls_server.url.startswith("https://")
    answer = DataCollectorClient(tls_server.url, session=session).post(
        [{"Event": "ONLINE"}]
    )
    assert answer.status_code == 200
    assert workspace.store.row_count("secRMM_CL") == 1


def test_tls_floor_is_1_2_and_1_2_clients_connect(
    tls_server: CollectorServer, certificate_authority: trustme.CA
) -> None:
    assert tls_server.tls is not None
    assert tls_server.tls.minimum_version is ssl.TLSVersion.TLSv1_2
    context = ssl.create_default_context()
    certificate_authority.configure_trust(context)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
    ):
        assert wrapped.version() == "TLSv1.2"


def test_concurrent_posts_all_land(
    client: DataCollectorClient, workspace: Workspace
) -> None:
    def post(worker: int) -> int:
        records = [
            {"Worker": worker, "N": n, f"Only{worker % 5}": "x"} for n in range(50)
        ]
        return DataCollectorClient(client.base_url).post(records).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(40)))
    assert statuses == [200] * 40
    assert workspace.query("secRMM_CL | summarize dcount(Worker_d), count()").rows == [
        (40, 2000)
    ]
    columns = {
        name
        for (name,) in workspace.query(
            "secRMM_CL | getschema | project ColumnName"
        ).rows
    }
    assert {f"Only{i}_s" for i in range(5)} <= columns


def test_query_api_answers_in_log_analytics_shape(
    server: CollectorServer, client: DataCollectorClient
) -> None:
    client.post([{"Event": "ONLINE", "Size": 3}])
    url = f"{server.url}/v1/workspaces/{SPEC_WORKSPACE_ID}/query"
    answer = requests.post(
        url, json={"query": "secRMM_CL | project Event_s, Size_d"}, timeout=10
    )
    assert answer.json() == {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [
                    {"name": "Event_s", "type": "string"},
                    {"name": "Size_d", "type": "real"},
                ],
                "rows": [["ONLINE", 3.0]],
            }
        ]
    }
    bad = requests.post(url, json={"query": "secRMM_CL | where nope == 1"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "SemanticError"


def test_handler_errors_reach_the_test_through_check(workspace: Workspace) -> None:
    class Broken(Workspace):
        def handle(self, request: IngestRequest) -> Outcome:
            raise RuntimeError("boom in the server thread")

    broken = Broken(workspace.settings, store=workspace.store)
    with CollectorServer(broken) as server:
        answer = DataCollectorClient(server.url).post([{"Event": "ONLINE"}])
        assert answer.status_code == 500
        with pytest.raises(ServerError) as raised:
            server.check()
    assert "boom in the server thread" in str(raised.value.__cause__)
