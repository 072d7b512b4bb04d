"""``secrmm-sim demo``: the whole chain on one machine, on embedded defaults.

A mock Log Analytics workspace starts on loopback with a key made for this run
(never shown). The real ``secrmm-agent`` then sends secRMM's connection test
and a scripted morning of removable-storage events through its spool, signed,
over HTTP; the workspace verifies and stores them; every vendor query runs on
the result, as Microsoft Sentinel would run it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .demo_story import demo_records
from .vendor_queries import VENDOR_QUERIES
from .workspace.keys import ClientSecret, generate_key
from .workspace.logs_ingestion import DataCollectionRule
from .workspace.server import CollectorServer
from .workspace.workspace import Workspace, WorkspaceSettings

__all__ = ["register", "run_demo"]

WORKSPACE_ID = "c0ffee00-5ec2-4d11-9a5e-000000000001"
DCR_ID = "dcr-5ec2mdemo00000000000000000000001"
CLIENT_ID = "5ec2a9e7-0000-4000-8000-00000000d3m0"


@dataclass
class DemoResult:
    url: str
    records: int
    stored: int
    agent_exit_codes: dict[str, int]
    queries: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return (
            all(code == 0 for code in self.agent_exit_codes.values())
            and self.stored == self.records + 1
        )


def register(subcommands: Any) -> None:
    demo = subcommands.add_parser(
        "demo", help="run the agent against a mock workspace and every vendor query"
    )
    demo.add_argument(
        "--api",
        choices=["data-collector", "logs-ingestion"],
        default="data-collector",
        help="how the agent ships (default: data-collector, as secRMM does)",
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep the workspace running afterwards for your own queries",
    )
    demo.add_argument("--json", action="store_true", help="print a JSON summary")
    demo.set_defaults(handler=_demo)


def _agent(arguments: list[str], environment: dict[str, str]) -> tuple[int, str]:
    command = [sys.executable, "-m", "agent", *arguments]
    # Our own agent, run as a user runs it, with arguments built here.
    done = subprocess.run(  # noqa: S603
        command,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def run_demo(
    api: str, say: Callable[[str], None], folder: Path
) -> tuple[DemoResult, Workspace, CollectorServer]:
    key = generate_key()
    secret_text = os.urandom(18).hex()
    key_file, secret_file = folder / "workspace.key", folder / "client.secret"
    for path, text in ((key_file, key.encoded()), (secret_file, secret_text)):
        path.write_text(text)
        path.chmod(0o600)
    settings = WorkspaceSettings(
        workspace_id=WORKSPACE_ID,
        keys=[key],
        clients={CLIENT_ID: ClientSecret(secret_text)},
        rules=[DataCollectionRule(immutable_id=DCR_ID)],
    )
    workspace = Workspace(settings)
    server = CollectorServer(workspace).start()
    say(
        f"workspace  {server.url}  (id {WORKSPACE_ID}; key made for this run, never shown)"
    )

    common = [
        "--api",
        api,
        "--endpoint",
        server.url,
        "--spool",
        str(folder / "spool.db"),
    ]
    if api == "data-collector":
        common += ["--workspace-id", WORKSPACE_ID, "--shared-key-file", str(key_file)]
    else:
        common += ["--dcr-id", DCR_ID, "--tenant-id", WORKSPACE_ID, "--client-id", CLIENT_ID,
                   "--client-secret-file", str(secret_file), "--authority", server.url]  # fmt: skip
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    records = demo_records(datetime.now(UTC))
    events = folder / "morning.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(record) for record in records) + b"\n")

    codes = {}
    for name, arguments in (
        ("test", ["test", *common]),
        ("send", ["send", str(events), "--wait", *common]),
    ):
        code, output = _agent(arguments, environment)
        codes[name] = code
        say(f"agent      secrmm-agent {name} -> exit {code}")
        for line in output.splitlines()[-4:]:
            say(f"           {line}")

    stored = workspace.store.row_count("secRMM_CL")
    say(
        f"stored     {stored} rows in secRMM_CL ({len(records)} events + the connection test)"
    )
    queries = []
    for query in VENDOR_QUERIES:
        rows = workspace.query(query.kql).row_count
        queries.append({"id": query.id, "title": query.title, "rows": rows})
        say(f"query      {query.id:<4} {rows:>3} rows  {query.title}")
    summary = DemoResult(server.url, len(records), stored, codes, queries)
    return summary, workspace, server


def _demo(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        if not args.json:
            print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="secrmm-demo-") as folder:
        result, workspace, server = run_demo(args.api, say, Path(folder))
        try:
            if args.json:
                print(orjson.dumps({**result.__dict__, "ok": result.ok}).decode())
            if args.serve:
                _serve_until_stopped(result.url, say)
        finally:
            server.stop()
            workspace.store.close()
    if not result.ok:
        print(
            "secrmm-sim: the demo did not deliver every record; see above",
            file=sys.stderr,
        )
        return 1
    return 0


def _serve_until_stopped(url: str, say: Callable[[str], None]) -> None:
    say("")
    say("The workspace keeps running; query it from another terminal, for example:")
    say(f"  secrmm-sim query --collector {url} --workspace-id {WORKSPACE_ID} \\")
    say("    'secRMM_CL | summarize count() by Event_s'")
    say("Press Ctrl-C to stop.")
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    while not stopped.is_set():
        time.sleep(0.2)
