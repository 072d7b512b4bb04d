"""``secrmm-sim scenario run``: a contract CI and QA drive."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from agent.config import ConfigError

from ..console import fail
from .destination import Destination, EmbeddedWorkspace, ExternalCollector
from .loader import ScenarioError, load_scenario
from .runner import RunSummary, run_scenario

__all__ = ["register"]


def register(subcommands: Any) -> None:
    scenario = subcommands.add_parser("scenario", help="QA scenarios")
    actions = scenario.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run a scenario file and print a summary")
    run.add_argument("file", help="the scenario (YAML)")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    target = run.add_mutually_exclusive_group()
    target.add_argument("--db", help="keep the embedded workspace in this DuckDB file")
    target.add_argument(
        "--collector", metavar="URL", help="ship to this collector instead"
    )
    run.add_argument("--workspace-id", help="with --collector: the workspace GUID")
    run.add_argument("--shared-key-file", help="with --collector: the key file")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.collector and not (args.workspace_id and args.shared_key_file):
        return fail("--collector needs --workspace-id and --shared-key-file")
    destination: Destination = (
        ExternalCollector(args.collector, args.workspace_id, args.shared_key_file)
        if args.collector
        else EmbeddedWorkspace(args.db)
    )
    started = time.perf_counter()
    try:
        scenario = load_scenario(args.file)
        with tempfile.TemporaryDirectory(prefix="secrmm-scenario-") as folder:
            summary = run_scenario(
                scenario,
                destination,
                seed=args.seed,
                folder=Path(folder),
                progress=lambda line: (
                    None if args.json else print(line, file=sys.stderr)
                ),
            )
    except (ScenarioError, ConfigError, RuntimeError) as err:
        return fail(str(err))
    elapsed = time.perf_counter() - started
    if args.json:
        payload = {
            **dataclasses.asdict(summary),
            "ok": summary.ok,
            "seconds": round(elapsed, 3),
        }
        print(orjson.dumps(payload).decode())
    else:
        _print(summary, elapsed)
    return 0 if summary.ok else 1


def _print(summary: RunSummary, elapsed: float) -> None:
    print(f"scenario   {summary.scenario} (seed {summary.seed})")
    print(f"steps      {summary.steps}, events {summary.events}, in {elapsed:.1f} s")
    print(
        f"shipped    {summary.delivered} records in {summary.requests} requests, "
        f"{summary.still_spooled} still spooled"
    )
    if summary.stored is not None:
        print(f"stored     {summary.stored} rows in secRMM_CL")
    for query_id, rows in summary.queries.items():
        if rows:
            print(f"query      {query_id:<4} {rows:>6} rows")
    for query_id, problem in summary.failed_expectations.items():
        print(f"MISMATCH   {query_id}: {problem}")
