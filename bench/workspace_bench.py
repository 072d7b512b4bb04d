"""Benchmark the mock workspace: verified rows/s over HTTP, and vendor queries on 1M rows.

Run from the repository root:

    python bench/workspace_bench.py --output bench/results/workspace.md

Part 1 starts ``secrmm-sim collector serve`` in its own process and posts
batches of 500 secRMM-shaped records from client threads over real HTTP; every
post is signed, verified, typed and stored. Bodies are encoded before the
clock starts (the agent's cost, not the workspace's); signing is timed. The
stored row count is checked through the query API afterwards.

Part 2 loads a million verified rows into an in-memory workspace and times
each vendor query (median and worst of several runs).
"""

from __future__ import annotations

import argparse
import email.utils
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe_machine
from workload import secrmm_records

from sim.vendor_queries import VENDOR_QUERIES
from sim.workspace.keys import SharedKey, generate_key
from sim.workspace.verify import sign
from sim.workspace.wire import IngestRequest
from sim.workspace.workspace import Workspace, WorkspaceSettings

WORKSPACE_ID = "5f0c1e4a-8d3b-4c2a-9e1f-7a6b5c4d3e2f"


def _headers(key: SharedKey, body: bytes) -> dict[str, str]:
    date = email.utils.formatdate(usegmt=True)
    return {
        "Content-Type": "application/json",
        "Log-Type": "secRMM",
        "x-ms-date": date,
        "Authorization": f"SharedKey {WORKSPACE_ID}:{sign(key.secret, len(body), date)}",
    }


def ingest_over_http(rows: int, batch: int, connections: int) -> dict[str, float]:
    key = generate_key()
    records = secrmm_records(rows, seed=1)
    bodies = [
        json.dumps(
            records[i : i + batch], ensure_ascii=False, separators=(",", ":")
        ).encode()
        for i in range(0, rows, batch)
    ]
    with tempfile.TemporaryDirectory() as folder:
        key_file = Path(folder) / "key"
        key_file.write_text(key.encoded())
        key_file.chmod(0o600)
        server = subprocess.Popen(
            [sys.executable, "-m", "sim", "collector", "serve", "--port", "0",
             "--workspace-id", WORKSPACE_ID, "--shared-key-file", str(key_file)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.stdout is not None
            url = server.stdout.readline().removeprefix("listening on ").strip()
            sessions = [requests.Session() for _ in range(connections)]

            def post(index: int) -> int:
                body = bodies[index]
                session = sessions[index % connections]
                answer = session.post(
                    f"{url}/api/logs?api-version=2016-04-01",
                    data=body,
                    headers=_headers(key, body),
                    timeout=120,
                )
                return answer.status_code

            post(0)  # warm up: creates the table and its columns
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=connections) as pool:
                statuses = list(pool.map(post, range(1, len(bodies))))
            elapsed = time.perf_counter() - started
            assert set(statuses) == {200}, set(statuses)
            counted = requests.post(
                f"{url}/v1/workspaces/{WORKSPACE_ID}/query",
                json={"query": "secRMM_CL | count"},
                timeout=60,
            ).json()["tables"][0]["rows"][0][0]
        finally:
            server.terminate()
            server.wait(timeout=30)
    timed_rows = (len(bodies) - 1) * batch
    assert counted == len(bodies) * batch, f"stored {counted} of {len(bodies) * batch}"
    return {
        "rows": timed_rows,
        "seconds": elapsed,
        "rows_per_second": timed_rows / elapsed,
    }


def load_million(total: int, batch: int) -> tuple[Workspace, float]:
    key = generate_key()
    workspace = Workspace(WorkspaceSettings(workspace_id=WORKSPACE_ID, keys=[key]))
    started = time.perf_counter()
    for offset in range(0, total, batch):
        body = json.dumps(
            secrmm_records(batch, seed=offset), separators=(",", ":")
        ).encode()
        headers = {name.lower(): value for name, value in _headers(key, body).items()}
        outcome = workspace.handle(
            IngestRequest(
                method="POST",
                path="/api/logs",
                query={"api-version": "2016-04-01"},
                headers=headers,
                body=body,
                host="127.0.0.1",
                received_at=datetime.now(UTC),
            )
        )
        assert outcome.status == 200, outcome.body
    return workspace, time.perf_counter() - started


def time_queries(workspace: Workspace, repeat: int) -> list[dict[str, object]]:
    results = []
    for query in VENDOR_QUERIES:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = workspace.query(query.kql)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        python_rows = len(result.rows)
        conversion = time.perf_counter() - started
        results.append(
            {
                "id": query.id,
                "title": query.title,
                "rows": python_rows,
                "median_s": statistics.median(times),
                "max_s": max(times),
                "python_rows_s": conversion,
            }
        )
    return results


def report(args: argparse.Namespace, ingest: dict[str, float], load_s: float,
           queries: list[dict[str, object]], machine: str) -> str:  # fmt: skip
    lines = [
        "# Mock workspace benchmark",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine}",
        f"- Command: `python bench/workspace_bench.py {' '.join(sys.argv[1:])}`",
        "",
        "## Verified rows per second over real HTTP",
        "",
        f"{ingest['rows']:,.0f} secRMM-shaped rows in batches of {args.batch}, "
        f"{args.connections} client connections, collector in its own process "
        f"(signature, headers, JSON, schema rules, DuckDB insert, request log):",
        "",
        f"**{ingest['rows_per_second']:,.0f} rows/s** ({ingest['seconds']:.2f} s; "
        "target at least 20,000 rows/s)",
        "",
        f"## Vendor queries on {args.million:,} stored rows",
        "",
        f"Loaded through the same verification in process in {load_s:.1f} s. "
        f"Each query run {args.repeat} times; target under 1 s each. A run is "
        "translation, execution and the complete result fetched as Arrow columns "
        "(what the query API and the CLI render from). The last column is the extra "
        "cost, paid once and only by callers that ask for Python row tuples.",
        "",
        "| query | title | rows | median s | worst s | + Python rows s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in queries:
        lines.append(
            f"| {row['id']} | {row['title']} | {row['rows']:,} | "
            f"{row['median_s']:.3f} | {row['max_s']:.3f} | {row['python_rows_s']:.3f} |"
        )
    worst = max(float(str(row["max_s"])) for row in queries)
    lines += ["", f"Slowest query, worst run: **{worst:.3f} s**.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="rows posted over HTTP"
    )
    parser.add_argument("--batch", type=int, default=500, help="records per post")
    parser.add_argument("--connections", type=int, default=2, help="client connections")
    parser.add_argument(
        "--million", type=int, default=1_000_000, help="rows for the queries"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query")
    parser.add_argument("--output", type=Path, help="write the Markdown report here")
    args = parser.parse_args()
    machine = describe_machine()
    ingest = ingest_over_http(args.rows, args.batch, args.connections)
    print(f"ingest: {ingest['rows_per_second']:,.0f} rows/s", file=sys.stderr)
    workspace, load_s = load_million(args.million, 10_000)
    print(f"loaded {args.million:,} rows in {load_s:.1f} s", file=sys.stderr)
    queries = time_queries(workspace, args.repeat)
    text = report(args, ingest, load_s, queries, machine)
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
