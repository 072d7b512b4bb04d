"""HTTPS to the mock workspace: verified against a CA, untrusted certificates hold."""

from __future__ import annotations

import orjson
import pytest
import trustme

from agent.retry import Action, classify
from agent.shipper import Shipper
from agent.sinks.data_collector import DataCollectorSink
from agent.spool import Spool
from sim.workspace.server import CollectorServer, tls_context

from .conftest import stored_messages


@pytest.fixture
def https_server(workspace, tmp_path):
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    chain = tmp_path / "server.pem"
    key = tmp_path / "server.key"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(chain))
    ca = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca))
    with CollectorServer(workspace, tls=tls_context(str(chain), str(key))) as server:
        yield server, str(ca)
        server.check()


def test_records_arrive_over_https_verified_with_the_given_ca(
    make_settings, https_server, workspace
):
    server, ca = https_server
    settings = make_settings(endpoint=server.url, ca_bundle=ca)
    with Spool(settings.spool) as spool:
        spool.append([orjson.dumps({"Message": f"n={i}"}) for i in range(10)])
        result = Shipper(spool, DataCollectorSink(settings), settings).run()
    assert server.url.startswith("https://")
    assert result.delivered == 10
    assert len(stored_messages(workspace)) == 10


def test_an_untrusted_certificate_holds_with_advice_not_endless_retries(
    make_settings, https_server, workspace
):
    server, _ = https_server
    sink = DataCollectorSink(make_settings(endpoint=server.url))
    answer = sink.post([b'{"Message":"x"}'])
    verdict = classify(answer, api=sink.api, body_bytes=15)
    assert answer.untrusted
    assert verdict.action is Action.HOLD
    assert "ca_bundle" in verdict.advice
    assert stored_messages(workspace) == []
