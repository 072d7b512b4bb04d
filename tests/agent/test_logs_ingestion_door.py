"""The agent end to end through the mock workspace's Logs Ingestion door, over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import orjson
import pytest

from agent.intake import spool_lines
from agent.shipper import Shipper
from agent.sinks.logs_ingestion import LogsIngestionSink
from agent.spool import Spool
from sim.workspace.keys import ClientSecret, SharedKey
from sim.workspace.logs_ingestion import DataCollectionRule
from sim.workspace.server import CollectorServer
from sim.workspace.workspace import Workspace, WorkspaceSettings

from .conftest import WORKSPACE_ID, stored_messages, write_secret

DCR = "dcr-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CLIENT_ID = "7c2f9e0a-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
CLIENT_SECRET = "Qx8~agent-test-secret.long-enough-1234"
OTHER_CLIENT = "00000000-1111-2222-3333-444444444444"


def _records(count):
    return [
        orjson.dumps(
            {
                "Event": "WRITE COMPLETED",
                "Computer": "PC1.contoso.com",
                "User": "CONTOSO\\ann",
                "SourceFileSize": 9140,
                "ProgramPID": 9736,
                "InternalID": "USBSTOR\\DISK&amp;VEN_X&amp;0",
                "Message": f"n={i}",
            }
        )
        for i in range(count)
    ]


def _door(shared_key, publishers=None):
    return Workspace(
        WorkspaceSettings(
            workspace_id=WORKSPACE_ID,
            keys=[SharedKey(shared_key)],
            clients={CLIENT_ID: ClientSecret(CLIENT_SECRET)},
            rules=[DataCollectionRule(immutable_id=DCR, publishers=publishers)],
        )
    )


@pytest.fixture
def lia_flags(tmp_path):
    secret = write_secret(tmp_path / "client.secret", CLIENT_SECRET)

    def flags(url):
        return {
            "api": "logs-ingestion",
            "endpoint": url,
            "authority": url,
            "tenant_id": WORKSPACE_ID,
            "client_id": CLIENT_ID,
            "client_secret_file": str(secret),
            "dcr_id": DCR,
        }

    return flags


def _ship(settings, lines):
    with Spool(settings.spool) as spool:
        spool_lines(
            spool,
            lines,
            field_limit=LogsIngestionSink.field_limit,
            categories=settings.categories,
            numbers_as_text=True,
        )
        sink = LogsIngestionSink(settings)
        try:
            result = Shipper(spool, sink, settings).run()
        finally:
            sink.close()
        return result, spool.stats(), spool.quarantined(limit=10_000)


def test_records_arrive_through_the_logs_ingestion_door(
    make_settings, lia_flags, shared_key
):
    workspace = _door(shared_key)
    with CollectorServer(workspace) as server:
        settings = make_settings(**lia_flags(server.url), batch_records=10_000)
        result, stats, quarantined = _ship(settings, _records(6000))
        server.check()
    assert quarantined == []
    assert stats.depth == 0
    assert result.delivered == 6000
    assert result.requests > 1  # the 1 MB cap splits 6,000 records
    assert sorted(stored_messages(workspace)) == sorted(f"n={i}" for i in range(6000))
    row = workspace.query(
        "secRMM_CL | take 1 | project Event_s, SourceFileSize_s, ProgramPID_s, "
        "InternalID_s, Computer"
    ).rows[0]
    assert row == (
        "WRITE COMPLETED",
        "9140",
        "9736",
        "USBSTOR\\DISK&amp;VEN_X&amp;0",
        "PC1.contoso.com",
    )
    accepted = workspace.requests("Status = 204")
    assert len(accepted) == result.requests
    assert all(entry.client_request_id for entry in accepted)
    assert all(entry.body_bytes <= 1_000_000 for entry in accepted)


def test_missing_publisher_role_quarantines_with_role_advice(
    make_settings, lia_flags, shared_key
):
    workspace = _door(shared_key, publishers=frozenset({OTHER_CLIENT}))
    with CollectorServer(workspace) as server:
        settings = make_settings(**lia_flags(server.url), batch_records=100)
        result, stats, quarantined = _ship(settings, _records(300))
        server.check()
    assert result.held is not None
    assert {entry.status for entry in quarantined} == {403}
    assert "Monitoring Metrics Publisher" in quarantined[0].advice
    assert len(quarantined) + stats.depth == 300
    assert stats.depth == 200


def test_wrong_client_secret_holds_with_credential_advice(
    make_settings, lia_flags, shared_key, tmp_path
):
    workspace = _door(shared_key)
    wrong = write_secret(tmp_path / "wrong.secret", "not-the-secret")
    with CollectorServer(workspace) as server:
        settings = make_settings(
            **{**lia_flags(server.url), "client_secret_file": str(wrong)}
        )
        result, _, quarantined = _ship(settings, _records(10))
        server.check()
    assert result.held is not None
    assert "client secret" in quarantined[0].advice
    assert stored_messages(workspace) == []


def test_cli_test_and_send_work_against_the_door(lia_flags, shared_key, tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_bytes(b"\n".join(_records(500)) + b"\n")
    workspace = _door(shared_key)
    with CollectorServer(workspace) as server:
        flags = [
            f"--{k.replace('_', '-')}={v}" for k, v in lia_flags(server.url).items()
        ]
        flags.append(f"--spool={tmp_path / 'spool.db'}")
        run = [sys.executable, "-m", "agent"]
        tested = subprocess.run(
            [*run, "test", "--json", *flags], capture_output=True, text=True
        )
        sent = subprocess.run(
            [*run, "send", str(records), "--wait", *flags],
            capture_output=True,
            text=True,
        )
        server.check()
    assert json.loads(tested.stdout)["status"] == 204, tested.stderr
    assert sent.returncode == 0, sent.stderr
    assert len(stored_messages(workspace)) == 501  # the test row and 500 records
    assert (
        CLIENT_SECRET not in tested.stdout + tested.stderr + sent.stdout + sent.stderr
    )
