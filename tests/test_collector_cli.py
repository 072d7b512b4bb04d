"""``secrmm-sim collector serve`` and ``secrmm-sim query``, driven as other tools drive them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID, DataCollectorClient

SIM = [sys.executable, "-m", "sim"]


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "workspace.key"
    path.write_text(SPEC_KEY + "\n")
    path.chmod(0o600)
    return path


def _serve(key_file: Path, *extra: str) -> subprocess.Popen[str]:
    command = [*SIM, "collector", "serve", "--port", "0", "--workspace-id", SPEC_WORKSPACE_ID,
               "--shared-key-file", str(key_file), *extra]  # fmt: skip
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def collector(
    key_file: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    database = tmp_path / "workspace.duckdb"
    process = _serve(key_file, "--db", str(database))
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.startswith("listening on http://127.0.0.1:"), first
    yield process, first.removeprefix("listening on ").strip(), database
    if process.poll() is None:
        process.kill()
        process.wait()


def _query(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SIM, "query", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_announces_its_url_and_stops_cleanly_on_signals(
    collector: tuple[subprocess.Popen[str], str, Path], signum: int
) -> None:
    process, url, _ = collector
    assert DataCollectorClient(url).post([{"Event": "ONLINE"}]).status_code == 200
    process.send_signal(signum)
    assert process.wait(timeout=20) == 0


def test_query_reads_what_the_collector_stored(
    collector: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, url, database = collector
    client = DataCollectorClient(url)
    assert client.post([{"Event": "ONLINE", "User": "CONTOSO\\ann"}]).status_code == 200
    live = _query("--collector", url, "--workspace-id", SPEC_WORKSPACE_ID, "--format", "json",
                  "secRMM_CL | project Event_s, User_s")  # fmt: skip
    assert json.loads(live.stdout) == [{"Event_s": "ONLINE", "User_s": "CONTOSO\\ann"}]

    locked = _query("--db", str(database), "secRMM_CL")
    assert locked.returncode == 2
    assert "--collector URL" in locked.stderr

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    table = _query("--db", str(database), "secRMM_CL | project Event_s, User_s")
    assert table.returncode == 0
    assert table.stdout.splitlines() == [
        "Event_s  User_s",
        "-------  -----------",
        "ONLINE   CONTOSO\\ann",
        "(1 row)",
    ]
    rejected = _query(
        "--db", str(database), "--format", "json", "IngestionRequests | project Status"
    )
    assert json.loads(rejected.stdout) == [{"Status": 200}]


def test_query_errors_read_like_log_analytics(
    collector: tuple[subprocess.Popen[str], str, Path],
) -> None:
    _, url, _ = collector
    DataCollectorClient(url).post([{"Event": "ONLINE"}])
    answer = _query(
        "--collector",
        url,
        "--workspace-id",
        SPEC_WORKSPACE_ID,
        "secRMM_CL | where event_s == 1",
    )
    assert answer.returncode == 1
    assert answer.stderr.strip() == (
        "SemanticError: 'where' operator: Failed to resolve scalar expression named 'event_s'"
    )


def test_query_of_a_missing_database_says_how_to_make_one(tmp_path: Path) -> None:
    answer = _query("--db", str(tmp_path / "none.duckdb"), "secRMM_CL")
    assert answer.returncode == 2
    assert "start a collector with --db" in answer.stderr


def test_serve_refuses_a_key_that_is_not_base64(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not base64!!")
    process = _serve(bad)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "not valid base64" in stderr
    assert "not base64!!" not in stderr


def test_serve_refuses_a_bad_fault_spec(key_file: Path) -> None:
    process = _serve(key_file, "--fault", "503:5")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "between 0 and 1" in stderr


def test_faults_given_at_start_are_in_force(key_file: Path) -> None:
    process = _serve(key_file, "--fault", "503:1,retry-after=4")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().removeprefix("listening on ").strip()
        answer = DataCollectorClient(url).post([{"Event": "ONLINE"}])
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "4")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_serve_with_a_dcr_and_an_application_takes_logs_ingestion_posts(
    key_file: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "client.secret"
    secret.write_text("cli~secret~value\n")
    process = _serve(key_file, "--dcr", "dcr-cli", "--client-id", "app-1",
                     "--client-secret-file", str(secret))  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().removeprefix("listening on ").strip()
        token = requests.post(
            f"{url}/{SPEC_WORKSPACE_ID}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "app-1",
                "client_secret": "cli~secret~value",
                "scope": "https://monitor.azure.com/.default",
            },
            timeout=10,
        ).json()["access_token"]
        answer = requests.post(
            f"{url}/dataCollectionRules/dcr-cli/streams/Custom-secRMM_CL?api-version=2023-01-01",
            json=[{"Event": "ONLINE"}],
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 204
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_serve_needs_both_client_id_and_secret(key_file: Path) -> None:
    process = _serve(key_file, "--client-id", "app-1")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "--client-id and --client-secret-file go together" in stderr
