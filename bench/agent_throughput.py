"""Records per second delivered by secrmm-agent vs the way Microsoft's sample posts.

Delivered means: read from a JSON-lines file, (agent only: spooled with fsync),
signed, posted over real HTTP to the mock workspace running in its own process,
verified and stored there, and counted back with KQL.

The baseline follows the Python tab of Microsoft's Data Collector API article:
build the body with ``json.dumps``, sign it, ``requests.post`` it with no
session, no timeout and no retry, one post per batch, nothing kept on disk. It
runs at several batch sizes, since the sample leaves batching to its caller.

    python bench/agent_throughput.py --records 100000 \
        --out bench/results/agent_throughput.md
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from agent.config import Settings

WORKSPACE_ID = "11111111-2222-3333-4444-555555555555"
DCR_ID = "dcr-00112233445566778899aabbccddeeff"
CLIENT_ID = "22222222-3333-4444-5555-666666666666"
#: One sample-shaped WRITE COMPLETED record; Message makes each one unique.
TEMPLATE = {
    "Event": "WRITE COMPLETED",
    "Time": "2/9/2020 4:06:04 PM",
    "User": "CONTOSO\\Administrator",
    "UserSID": "S-1-5-21-194330278-343332919-2867172138-500",
    "Drive": "E:",
    "Volume": "\\Device\\HarddiskVolume6",
    "DeviceDescription": "Removable Disk Removable Media Win32_LogicalDisk USB2.0",
    "SerialNumber": "4C530001060623106322",
    "Model": "SanDisk Cruzer Glide USB Device",
    "InternalID": "USBSTOR\\DISK&amp;VEN_SANDISK&amp;PROD_CRUZER_GLIDE&amp;"
    "REV_1.00\\4C530001060623106322&amp;0",
    "TargetFile": "E:\\Sales for Q4 2019.xlsx",
    "SourceFile": "C:\\_MyCorporation\\Sales for Q4 2019.xlsx",
    "SourceFileSize": 9140,
    "SourceFileLastWrite": "04/03/2017 10:33:28",
    "ProgramName": "C:\\WINDOWS\\Explorer.EXE",
    "ProgramPID": 9736,
    "AdditionalProgramInfo": "COPY",
    "Computer": "secRMMDemo1.CONTOSO.com",
}


#: The agent's default settings, which the benchmark runs with.
DEFAULTS = Settings()


def write_records(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps({**TEMPLATE, "Message": f"record {i}"}) + "\n")


def start_mock(key_file: Path, *faults: str) -> tuple[subprocess.Popen[str], str]:
    fault_flags = [flag for fault in faults for flag in ("--fault", fault)]
    mock = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "collector",
            "serve",
            "--port",
            "0",
            "--workspace-id",
            WORKSPACE_ID,
            "--shared-key-file",
            str(key_file),
            "--dcr",
            DCR_ID,
            "--client-id",
            CLIENT_ID,
            "--client-secret-file",
            str(key_file.with_name("client.secret")),
            *fault_flags,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert mock.stdout is not None
    line = mock.stdout.readline().strip()
    if not line.startswith("listening on "):
        mock.kill()
        raise SystemExit(f"the mock did not start: {line!r}")
    return mock, line.removeprefix("listening on ")


def stored(url: str, table: str) -> int:
    answer = requests.post(
        f"{url}/v1/workspaces/{WORKSPACE_ID}/query",
        json={"query": f"{table} | count"},
        timeout=120,
    )
    if answer.status_code != 200:
        return 0
    return int(answer.json()["tables"][0]["rows"][0][0])


def run_agent(url: str, key_file: Path, records: Path, spool: Path, api: str) -> float:
    """Wall seconds for ``secrmm-agent send --wait`` over ``api``."""
    if api == "logs-ingestion":
        destination = [
            "--api", api, "--endpoint", url, "--authority", url,
            "--tenant-id", WORKSPACE_ID, "--client-id", CLIENT_ID,
            "--client-secret-file", str(key_file.with_name("client.secret")),
            "--dcr-id", DCR_ID,
        ]  # fmt: skip
    else:
        destination = [
            "--workspace-id", WORKSPACE_ID, "--shared-key-file", str(key_file),
            "--endpoint", url,
        ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "send",
            str(records),
            "--wait",
            "--spool",
            str(spool),
            "--fsync",
            *destination,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


# --- the baseline: Microsoft's documented Python sample, restated -------------


def sample_signature(workspace_id: str, key: str, date: str, length: int) -> str:
    text = f"POST\n{length}\napplication/json\nx-ms-date:{date}\n/api/logs"
    digest = hmac.new(
        base64.b64decode(key), text.encode("utf-8"), hashlib.sha256
    ).digest()
    return f"SharedKey {workspace_id}:{base64.b64encode(digest).decode()}"


def sample_post(url: str, key: str, body: str, log_type: str) -> None:
    date = datetime.datetime.now(datetime.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    headers = {
        "content-type": "application/json",
        "Authorization": sample_signature(WORKSPACE_ID, key, date, len(body)),
        "Log-Type": log_type,
        "x-ms-date": date,
    }
    response = requests.post(  # noqa: S113 (the sample sets no timeout)
        f"{url}/api/logs?api-version=2016-04-01", data=body, headers=headers
    )
    if not 200 <= response.status_code <= 299:
        print(f"baseline post failed: {response.status_code}", file=sys.stderr)


def run_baseline(url: str, key: str, records: Path, batch: int) -> float:
    log_type = f"Baseline{batch}"
    started = time.perf_counter()
    with records.open(encoding="utf-8") as handle:
        pending: list[object] = []
        for line in handle:
            pending.append(json.loads(line))
            if len(pending) == batch:
                sample_post(url, key, json.dumps(pending), log_type)
                pending = []
        if pending:
            sample_post(url, key, json.dumps(pending), log_type)
    return time.perf_counter() - started


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--baseline-batches",
        default="2:1000,5000:0",
        help="BATCH:RECORDS pairs for the sample; RECORDS 0 means --records "
        "(default: the sample's own two records a post, and our batch size)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.1,
        help="seconds the mock waits before answering in the second run, like a "
        "round trip to an Azure region (0 skips that run)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per scenario; the median is shown"
    )
    parser.add_argument("--out", help="write the Markdown results here")
    args = parser.parse_args()

    scenarios = [("loopback, no added latency", 0.0, args.baseline_batches, True)]
    if args.latency:
        title = f"{args.latency * 1000:.0f} ms added per request"
        scenarios.append((title, args.latency, "5000:0", False))
    tables = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        key = base64.b64encode(os.urandom(64)).decode()
        key_file = work / "shared.key"
        key_file.write_text(key)
        key_file.chmod(0o600)
        secret_file = key_file.with_name("client.secret")
        secret_file.write_text(base64.b64encode(os.urandom(30)).decode())
        secret_file.chmod(0o600)
        records = work / "records.jsonl"
        write_records(records, args.records)
        for number, (title, latency, batches, lia) in enumerate(scenarios):
            faults = [f"delay:1,seconds={latency:g}"] if latency else []
            runs = []
            for repeat in range(args.repeat):
                # A fresh mock per run, so each run counts only its own rows.
                mock, url = start_mock(key_file, *faults)
                try:
                    run = work / f"run{number}-{repeat}"
                    run.mkdir()
                    runs.append(
                        measure(
                            args.records, batches, lia, run, key, key_file, records, url
                        )
                    )
                finally:
                    mock.terminate()
                    mock.wait(timeout=30)
            tables.append((title, summarise(runs)))
    load = (load_before, os.getloadavg()[0])
    report = render(args, tables, load)
    print(report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")
    return 0


@dataclass(frozen=True)
class Summary:
    """One sender over every run of a scenario."""

    name: str
    count: int
    rates: list[float]

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def summarise(runs: list[list[tuple[str, int, float]]]) -> list[Summary]:
    """Each sender's records/s in every run (runs list senders in one order)."""
    return [
        Summary(name, count, [run[index][1] / run[index][2] for run in runs])
        for index, (name, count, _) in enumerate(runs[0])
    ]


def measure(
    count: int,
    batches: str,
    lia: bool,
    work: Path,
    key: str,
    key_file: Path,
    records: Path,
    url: str,
) -> list[tuple[str, int, float]]:
    seconds = run_agent(url, key_file, records, work / "dca.db", "data-collector")
    arrived = stored(url, "secRMM_CL")
    if arrived != count:
        raise SystemExit(f"only {arrived} of the agent's {count} records arrived")
    rows = [("secrmm-agent, Data Collector API", arrived, seconds)]
    for pair in batches.split(","):
        batch_text, _, limit_text = pair.partition(":")
        batch = int(batch_text)
        subset = work / f"baseline-{batch}.jsonl"
        write_records(subset, int(limit_text or 0) or count)
        seconds = run_baseline(url, key, subset, batch)
        arrived = stored(url, f"Baseline{batch}_CL")
        rows.append((f"Microsoft sample: {batch}/post, no spool", arrived, seconds))
    if lia:
        seconds = run_agent(url, key_file, records, work / "lia.db", "logs-ingestion")
        arrived = stored(url, "secRMM_CL") - count
        rows.append(("secrmm-agent, Logs Ingestion API (gzip, 1 MB)", arrived, seconds))
    return rows


def render(
    args: argparse.Namespace,
    tables: list[tuple[str, list[Summary]]],
    load: tuple[float, float],
) -> str:
    command = (
        f"python bench/agent_throughput.py --records {args.records} "
        f"--baseline-batches {args.baseline_batches} --latency {args.latency:g} "
        f"--repeat {args.repeat}" + (f" --out {args.out}" if args.out else "")
    )
    lines = [
        "# secrmm-agent throughput vs Microsoft's Python sample",
        "",
        f"- Command: `{command}`",
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: nproc {os.cpu_count()}, {cpu_model()}, Python "
        f"{platform.python_version()}; the mock workspace runs in its own process "
        "on the same machine, which other work was sharing (1-minute load "
        f"average {load[0]:.1f} before, {load[1]:.1f} after)",
        f"- secrmm-agent runs with its defaults: spool fsync {'on' if DEFAULTS.fsync else 'off'}, "
        f"up to {DEFAULTS.batch_records} records or {DEFAULTS.batch_bytes // 1_000_000} MB "
        f"a post, {DEFAULTS.concurrency} post(s) in flight; `send --wait` spools and "
        "ships at once.",
        "- Delivered = read from JSON lines, (agent: validated and spooled with "
        "fsync), signed, posted over HTTP, verified and stored by the mock, "
        "counted back with KQL, in wall time, process start included. "
        f"{args.repeat} runs, each on a fresh mock, senders interleaved; the best "
        "run is the one least disturbed by the other work on the machine.",
    ]
    for title, rows in tables:
        agent = rows[0]
        lines += [
            "",
            f"## {title}",
            "",
            "| Sender | Records | Records/s, best | Records/s, median | Every run "
            "| Agent (Data Collector API) over it, best / median |",
            "|---|---:|---:|---:|---|---:|",
        ]
        for row in rows:
            every = ", ".join(f"{rate:,.0f}" for rate in row.rates)
            speed_up = ""
            if not row.name.startswith("secrmm"):
                speed_up = (
                    f"{agent.best / row.best:.1f}x / {agent.median / row.median:.1f}x"
                )
            lines.append(
                f"| {row.name} | {row.count} | {row.best:,.0f} | {row.median:,.0f} "
                f"| {every} | {speed_up} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
