"""``secrmm-sim collector serve`` and ``secrmm-sim query``: a contract other tools drive."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

import orjson
import requests

from ..console import fail
from .faults import FaultPlan, FaultSpecError, parse_fault
from .keys import ClientSecret, KeyFileError, SharedKey
from .kql import KqlQueryError, QueryResult, json_value, run_query, schema_of
from .logs_ingestion import DataCollectionRule
from .server import serve_forever, tls_context
from .store import Store, StoreError, open_readonly
from .workspace import Workspace, WorkspaceSettings

__all__ = ["register"]

DEFAULT_PORT = 8088
_CELL_WIDTH = 60


def register(subcommands: Any) -> None:
    collector = subcommands.add_parser(
        "collector", help="the mock Log Analytics workspace"
    )
    actions = collector.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve the Data Collector and Logs Ingestion APIs until SIGINT or SIGTERM",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: loopback)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"0 picks a free port (default {DEFAULT_PORT})",
    )
    serve.add_argument("--workspace-id", required=True, help="the workspace GUID")
    serve.add_argument(
        "--shared-key-file", required=True, help="file holding the base64 primary key"
    )
    serve.add_argument(
        "--secondary-key-file", help="file holding the base64 secondary key"
    )
    serve.add_argument("--db", help="DuckDB file to keep rows in (default: memory)")
    serve.add_argument("--tls-cert", help="PEM certificate chain; serve HTTPS")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. 503:0.3 or 429:0.1,no-retry-after (repeatable)",
    )
    serve.add_argument("--fault-seed", type=int, default=0, help="seed for fault draws")
    serve.add_argument(
        "--date-skew",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="allowed x-ms-date skew; 0 switches the check off (default 900)",
    )
    serve.add_argument(
        "--strict", action="store_true", help="refuse what Azure leaves undocumented"
    )
    serve.add_argument(
        "--migrated",
        action="append",
        default=[],
        metavar="TABLE",
        help="treat TABLE (e.g. secRMM_CL) as migrated: no new columns (repeatable)",
    )
    serve.add_argument(
        "--inactive", action="store_true", help="answer InactiveCustomer"
    )
    serve.add_argument(
        "--dcr",
        action="append",
        default=[],
        metavar="IMMUTABLE_ID",
        help="serve the Logs Ingestion API for this DCR; it accepts streams "
        "Custom-<Table> into <Table> (repeatable)",
    )
    serve.add_argument("--client-id", help="an application the token endpoint accepts")
    serve.add_argument(
        "--client-secret-file", help="file holding that application's client secret"
    )
    serve.add_argument(
        "--tenant-id",
        help="Entra tenant of the token endpoint (default: the workspace id)",
    )
    serve.set_defaults(handler=_serve)

    query = subcommands.add_parser("query", help="run KQL against a stored workspace")
    source = query.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", help="DuckDB file a collector wrote")
    source.add_argument(
        "--collector", metavar="URL", help="a running collector's base URL"
    )
    query.add_argument("--workspace-id", help="workspace GUID (with --collector)")
    query.add_argument("--format", choices=["table", "json"], default="table")
    query.add_argument("kql", help="the KQL query")
    query.set_defaults(handler=_query)


def _serve(args: argparse.Namespace) -> int:
    if bool(args.tls_cert) != bool(args.tls_key):
        return fail("--tls-cert and --tls-key go together")
    if bool(args.client_id) != bool(args.client_secret_file):
        return fail("--client-id and --client-secret-file go together")
    try:
        clients = {}
        if args.client_id:
            clients[args.client_id] = ClientSecret.from_file(args.client_secret_file)
        keys = [SharedKey.from_file(args.shared_key_file)]
        if args.secondary_key_file:
            keys.append(SharedKey.from_file(args.secondary_key_file))
        faults = FaultPlan(
            [parse_fault(spec) for spec in args.fault], seed=args.fault_seed
        )
        settings = WorkspaceSettings(
            workspace_id=args.workspace_id,
            keys=keys,
            active=not args.inactive,
            date_skew=timedelta(seconds=args.date_skew) if args.date_skew > 0 else None,
            strict=args.strict,
            tenant_id=args.tenant_id,
            clients=clients,
            rules=[DataCollectionRule(immutable_id=dcr) for dcr in args.dcr],
        )
        store = Store(settings.workspace_id, args.db)
    except (KeyFileError, FaultSpecError, ValueError, StoreError) as err:
        return fail(str(err))
    tls = tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    for table in args.migrated:
        store.set_migrated(table)
    workspace = Workspace(settings, store=store, faults=faults)

    def announce(url: str) -> None:
        print(f"listening on {url}", flush=True)

    try:
        serve_forever(
            workspace, host=args.host, port=args.port, tls=tls, on_listening=announce
        )
    except OSError as err:
        return fail(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")
    finally:
        store.close()
    return 0


def _query(args: argparse.Namespace) -> int:
    try:
        result = _run(args)
    except (StoreError, requests.RequestException) as err:
        return fail(str(err))
    except KqlQueryError as err:
        print(f"{err.code}: {err.message}", file=sys.stderr)
        return 1
    if args.format == "json":
        sys.stdout.write(
            orjson.dumps(result.as_objects(), option=orjson.OPT_INDENT_2).decode()
        )
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_table(result))
    return 0


def _run(args: argparse.Namespace) -> QueryResult:
    if args.db:
        con = open_readonly(args.db)
        try:
            return run_query(con, args.kql, schema_of(con))
        finally:
            con.close()
    if not args.workspace_id:
        raise StoreError("--collector needs --workspace-id")
    url = f"{args.collector.rstrip('/')}/v1/workspaces/{args.workspace_id}/query"
    answer = requests.post(url, json={"query": args.kql}, timeout=60)
    payload = answer.json()
    if answer.status_code != 200:
        error = payload.get("error", {})
        raise KqlQueryError(
            error.get("code", "Error"), error.get("message", answer.text)
        )
    table = payload["tables"][0]
    return QueryResult(
        [(column["name"], column["type"]) for column in table["columns"]],
        rows=[tuple(row) for row in table["rows"]],
    )


def _cell(value: Any) -> str:
    value = json_value(value)
    text = (
        ""
        if value is None
        else value
        if isinstance(value, str)
        else orjson.dumps(value).decode()
    )
    text = text.replace("\n", " ")
    return text if len(text) <= _CELL_WIDTH else text[: _CELL_WIDTH - 1] + "…"


def _table(result: QueryResult) -> str:
    header = [name for name, _ in result.columns]
    cells = [[_cell(value) for value in row] for row in result.rows]
    widths = [
        max([len(name), *(len(row[i]) for row in cells)])
        for i, name in enumerate(header)
    ]
    lines = [
        "  ".join(name.ljust(width) for name, width in zip(header, widths, strict=True))
    ]
    lines.append("  ".join("-" * width for width in widths))
    for row in cells:
        lines.append(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines) + "\n"
