"""The throughput benchmark still runs end to end (tiny sizes, so CI can afford it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "agent_throughput.py"


def test_throughput_benchmark_runs_and_reports_every_sender(tmp_path):
    out = tmp_path / "result.md"
    command = [sys.executable, str(BENCH), "--records", "500", "--repeat", "1"]
    command += ["--baseline-batches", "2:20,100:0", "--latency", "0"]
    command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    for sender in (
        "secrmm-agent, Data Collector API | 500 |",
        "Microsoft sample: 2/post, no spool | 20 |",
        "Microsoft sample: 100/post, no spool | 500 |",
        "secrmm-agent, Logs Ingestion API (gzip, 1 MB) | 500 |",
    ):
        assert sender in report
    assert "nproc" in report
