"""Benchmark the fleet scenario end to end: simulated, shipped over HTTP, verified, stored.

Run from the repository root:

    python bench/scenario_bench.py --output bench/results/scenarios.md

Each run starts the embedded mock workspace and MDM service, builds 50
computers with their agents, plays the working day (pyusb discovery of every
plug, policy decisions, records through the agent's spool and shipper, signed
posts over loopback HTTP, verification, DuckDB), then runs every vendor query.
Target: a working day of 50 computers (at least 10,000 events) in under 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sim.scenarios.destination import EmbeddedWorkspace
from sim.scenarios.loader import load_scenario
from sim.scenarios.runner import run_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe_machine

FLEET = (
    Path(__file__).resolve().parent.parent
    / "fixtures"
    / "scenarios"
    / "fleet-workday.yaml"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    machine = describe_machine()
    scenario = load_scenario(FLEET)
    timings = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            summary = run_scenario(scenario, EmbeddedWorkspace(), folder=Path(folder))
            elapsed = time.perf_counter() - started
        assert summary.still_spooled == 0
        assert summary.events == summary.delivered == summary.stored, summary
        timings.append(elapsed)
        print(
            f"run {run + 1}: {summary.events} events in {elapsed:.1f} s",
            file=sys.stderr,
        )
    median = statistics.median(timings)
    text = "\n".join(
        [
            "# Fleet scenario benchmark",
            "",
            f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {machine}",
            f"- Command: `python bench/scenario_bench.py {' '.join(sys.argv[1:])}`",
            "",
            "`fixtures/scenarios/fleet-workday.yaml`: a generated working day of 50 "
            f"computers and 120 users, seed {scenario.seed}. Every run delivered and stored "
            f"all **{summary.events:,} events** ({summary.requests} posts) and ran the 34 "
            "vendor queries.",
            "",
            "| run | seconds | events/s |",
            "|---:|---:|---:|",
            *[
                f"| {i + 1} | {t:.1f} | {summary.events / t:,.0f} |"
                for i, t in enumerate(timings)
            ],
            "",
            f"Median **{median:.1f} s** ({summary.events / median:,.0f} events/s); "
            "target: at least 10,000 events in under 60 s.",
            "",
        ]
    )
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
