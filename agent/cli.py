"""``secrmm-agent``: test, send, drain, status, requeue (a contract, see issue #3).

Every setting is also a flag named after it (``--workspace-id``); secrets are
never flags: ``--shared-key`` and ``--client-secret`` are refused without
echoing their value.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from typing import Any

import orjson

from .config import ConfigError, Settings, load_settings
from .intake import IntakeResult, spool_lines
from .records import connection_test_record
from .retry import Action, classify
from .running import make_sink, ship, ship_lock, sink_class, start_background
from .shipper import RunResult
from .spool import Spool, SpoolError
from .status import status_data, status_text

__all__ = ["main"]

EXIT_OK = 0
#: Something needs a person: a refused test, a held destination, quarantined records.
EXIT_ATTENTION = 1
#: The command line or the settings are wrong.
EXIT_USAGE = 2


#: Flags people try for secrets, and what to use instead.
_SECRET_FLAGS = {
    "--shared-key": "--shared-key-file",
    "--key": "--shared-key-file",
    "--client-secret": "--client-secret-file",
}


class _RefuseSecret(argparse.Action):
    """A secret given on the command line: refuse it, never echo it."""

    def __call__(
        self, parser: Any, namespace: Any, values: Any, option: Any = None
    ) -> None:
        instead = _SECRET_FLAGS[str(option)]
        parser.error(
            f"{option} is not accepted: secrets never go on the command line, where "
            f"other users can read them. Put it in an owner-only file and give "
            f"{instead}, or set the environment variable"
        )


def _settings_flags() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="TOML settings file"
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more log output on stderr",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="machine-readable output",
    )
    group = common.add_argument_group("settings (each is also a key of the TOML file)")
    for setting in fields(Settings):
        flag = "--" + setting.name.replace("_", "-")
        help_text = setting.metadata.get("help")
        if setting.type in ("bool", bool):
            group.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            group.add_argument(
                flag, metavar="VALUE", default=argparse.SUPPRESS, help=help_text
            )
    for secret in _SECRET_FLAGS:
        common.add_argument(
            secret, nargs="?", action=_RefuseSecret, help=argparse.SUPPRESS
        )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _settings_flags()
    parser = argparse.ArgumentParser(
        prog="secrmm-agent",
        parents=[common],
        allow_abbrev=False,
        description="Ship secRMM records to Azure Log Analytics without losing any.",
        epilog="Every setting of the TOML file is also a flag: --workspace-id, "
        "--shared-key-file, --endpoint, --spool, --api, --dcr-id, ...",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=text, parents=[common], allow_abbrev=False
        )

    command("test", "post the connection test record, as secRMM's Test button does")
    send = command("send", "spool records from a JSON-lines file, then ship them")
    send.add_argument(
        "records", metavar="RECORDS.jsonl", help="one posted-field object a line"
    )
    send.add_argument("--no-ship", action="store_true", help="only spool")
    for name in ("send", "drain", "requeue"):
        sub = (
            send
            if name == "send"
            else command(
                name,
                "ship what the spool holds"
                if name == "drain"
                else "send quarantined records again",
            )
        )
        sub.add_argument(
            "--wait",
            action="store_true",
            help="return once every record is accepted or quarantined",
        )
    command("status", "spool depth, in flight, quarantined, last error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = vars(args)
    _configure_logging(options.get("verbose", 0))
    names = {f.name for f in fields(Settings)}
    try:
        settings = load_settings(
            options.get("config"),
            {k: v for k, v in options.items() if k in names},
            destination=args.command != "status",
        )
    except ConfigError as err:
        return _fail(str(err))
    handler = {
        "test": _test,
        "send": _send,
        "drain": _drain,
        "status": _status,
        "requeue": _requeue,
    }
    try:
        return handler[args.command](settings, args)
    except (ConfigError, SpoolError) as err:
        return _fail(str(err))


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s secrmm-agent %(levelname)s %(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)


def _fail(message: str) -> int:
    print(f"secrmm-agent: {message}", file=sys.stderr)
    return EXIT_USAGE


def _wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def _output(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if _wants_json(args):
        print(json.dumps(data, sort_keys=True))
    else:
        print(text)


def _test(settings: Settings, args: argparse.Namespace) -> int:
    sink = make_sink(settings)
    computer = settings.test_computer or socket.gethostname().split(".")[0].upper()
    record = connection_test_record(computer, settings.test_user or getpass.getuser())
    try:
        answer = sink.post([orjson.dumps(record)])
    finally:
        sink.close()
    verdict = classify(answer, api=sink.api, body_bytes=0)
    ok = verdict.action is Action.DONE
    data = {
        "ok": ok,
        "api": sink.api,
        "status": answer.status,
        "error": verdict.error,
        "message": verdict.message,
        "advice": verdict.advice,
        "request_id": answer.request_id,
    }
    if ok:
        text = (
            f"connection test accepted ({answer.status}, request {answer.request_id})"
        )
    else:
        if answer.status is None:
            what = f"no answer ({verdict.message})"
        else:
            what = f"{answer.status} {verdict.error}"
            what += f": {verdict.message}" if verdict.message else ""
        advice = verdict.advice or "the answer was unexpected; try again later"
        text = f"connection test failed: {what}\n{advice}"
    _output(args, data, text)
    return EXIT_OK if ok else EXIT_ATTENTION


def _send(settings: Settings, args: argparse.Namespace) -> int:
    sink_kind = sink_class(settings)
    intake: list[IntakeResult] = []

    def produce() -> None:
        with _open_records(args.records) as lines:
            intake.append(
                spool_lines(
                    spool,
                    lines,
                    field_limit=sink_kind.field_limit,
                    categories=settings.categories,
                    numbers_as_text=sink_kind.numbers_as_text,
                )
            )
        if not _wants_json(args):
            # The producer's acknowledgement: everything above is on disk.
            print(_intake_text(intake[0]), flush=True)

    with Spool(settings.spool, fsync=settings.fsync) as spool:
        if args.no_ship or not args.wait:
            produce()
            spooled = {"spooled": asdict(intake[0])}
            if args.no_ship:
                if _wants_json(args):
                    _output(args, spooled, "")
                return EXIT_OK
            return _background(settings, args, spooled)
        with ship_lock(settings.spool, wait=False) as mine:
            if mine:
                result = ship(settings, spool, produce=produce)
        if not mine:
            # Another shipper is busy: acknowledge the records first, then queue.
            produce()
            with ship_lock(settings.spool):
                result = ship(settings, spool)
        depth = spool.stats().depth
    return _report(args, result, depth, {"spooled": asdict(intake[0])})


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _intake_text(result: IntakeResult) -> str:
    return (
        f"spooled {_count(result.spooled, 'record')} durably ({result.filtered} filtered out by "
        f"category, {result.invalid} invalid kept in quarantine, "
        f"{result.truncated_values} values truncated)"
    )


@contextmanager
def _open_records(path: str) -> Iterator[Iterator[bytes]]:
    try:
        handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as err:
        raise ConfigError(f"cannot read {path!r} ({err.strerror})") from None
    with handle:
        yield iter(handle)


def _drain(settings: Settings, args: argparse.Namespace) -> int:
    return _ship(settings, args)


def _requeue(settings: Settings, args: argparse.Namespace) -> int:
    with Spool(settings.spool, fsync=settings.fsync) as spool:
        moved = spool.requeue()
        spool.set_state(held=None)
    if not _wants_json(args):
        print(f"moved {moved} quarantined records back into the spool", flush=True)
    return _ship(settings, args, {"requeued": moved})


def _ship(
    settings: Settings, args: argparse.Namespace, extra: dict[str, Any] | None = None
) -> int:
    if not args.wait:
        return _background(settings, args, extra)
    with Spool(settings.spool, fsync=settings.fsync) as spool:
        with ship_lock(settings.spool):
            result = ship(settings, spool)
        depth = spool.stats().depth
    return _report(args, result, depth, extra)


def _background(
    settings: Settings, args: argparse.Namespace, extra: dict[str, Any] | None = None
) -> int:
    pid = start_background(settings)
    data = {**(extra or {}), "shipper_pid": pid}
    _output(args, data, f"shipping in the background (pid {pid})")
    return EXIT_OK


def _report(
    args: argparse.Namespace,
    result: RunResult,
    depth: int,
    extra: dict[str, Any] | None = None,
) -> int:
    """One summary: text for people, or a single JSON object with ``extra``."""
    data = {**(extra or {}), **asdict(result), "depth": depth}
    lines = [
        f"delivered {_count(result.delivered, 'record')} in "
        f"{_count(result.requests, 'request')} "
        f"({result.retries} retried), {result.quarantined} quarantined, {depth} still spooled"
    ]
    if result.possible_duplicates:
        lines.append(
            f"{result.possible_duplicates} records a stopped shipper had in flight "
            "were sent again; Azure may have had them already, so they may appear "
            "twice"
        )
    if result.held:
        lines.append(f"destination held: {result.held}")
    if result.quarantined:
        lines.append(
            "see 'secrmm-agent status' for the reasons; fix them, then 'secrmm-agent requeue'"
        )
    _output(args, data, "\n".join(lines))
    return EXIT_ATTENTION if result.held or result.quarantined else EXIT_OK


def _status(settings: Settings, args: argparse.Namespace) -> int:
    with Spool(settings.spool, fsync=settings.fsync) as spool:
        data = status_data(spool)
    _output(args, data, status_text(data))
    return EXIT_OK
