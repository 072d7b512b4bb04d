"""Running a shipper for the command line: one per spool, in front or detached.

A lock file beside the spool lets only one shipper work on it at a time, so a
record is never in two requests at once; a second shipper waits its turn.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from .config import API_LOGS_INGESTION, Settings
from .shipper import RunResult, Shipper
from .sinks import Sink
from .sinks.data_collector import DataCollectorSink
from .sinks.logs_ingestion import LogsIngestionSink
from .spool import Spool

__all__ = ["make_sink", "ship", "ship_lock", "sink_class", "start_background"]


def sink_class(settings: Settings) -> type[DataCollectorSink | LogsIngestionSink]:
    if settings.resolved_api == API_LOGS_INGESTION:
        return LogsIngestionSink
    return DataCollectorSink


def make_sink(settings: Settings) -> Sink:
    return sink_class(settings)(settings)


@contextmanager
def ship_lock(spool_path: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the spool's shipping lock; the kernel drops it if the process dies.

    Yields whether it is held: with ``wait`` False, False when another
    shipper has it.
    """
    descriptor = os.open(spool_path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    with os.fdopen(descriptor, "r+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ship(
    settings: Settings,
    spool: Spool,
    *,
    produce: Callable[[], Any] | None = None,
) -> RunResult:
    """Ship until the spool is empty (or held); SIGINT/SIGTERM stop it cleanly.

    With ``produce``, it runs in this thread while the shipper works beside it,
    so spooling and sending overlap; the spool is drained once it returns.
    Call with the shipping lock held.
    """
    spool.set_state(held=None)
    sink = make_sink(settings)
    stop = threading.Event()
    intake_open = threading.Event()
    shipper = Shipper(spool, sink, settings, stop=stop, intake_open=intake_open)
    with _stop_on_signals(stop), contextlib.closing(sink):
        return _run(shipper, stop, intake_open, produce)


def _run(
    shipper: Shipper,
    stop: threading.Event,
    intake_open: threading.Event,
    produce: Callable[[], Any] | None,
) -> RunResult:
    if produce is None:
        return shipper.run()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            shipper.run()
        except BaseException as err:  # re-raised in the calling thread below
            failures.append(err)
            stop.set()

    intake_open.set()
    worker = threading.Thread(target=run, name="shipper")
    worker.start()
    try:
        produce()
    finally:
        intake_open.clear()
        worker.join()
    if failures:
        raise failures[0]
    return shipper.result


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` while inside; the old handlers come back."""

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous = {
        signum: signal.signal(signum, handler)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def start_background(settings: Settings) -> int:
    """Start ``drain --wait`` detached with these settings; return its pid.

    Settings travel as flags; secrets stay in their files or the environment.
    Its log goes to ``<spool>.log``.
    """
    command = [sys.executable, "-m", "agent", "drain", "--wait", "-v"]
    for setting in fields(Settings):
        value = getattr(settings, setting.name)
        flag = "--" + setting.name.replace("_", "-")
        if isinstance(value, bool):
            command.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, tuple):
            command += [flag, ",".join(value)]
        else:
            command += [flag, str(value)]
    descriptor = os.open(
        settings.spool + ".log", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600
    )
    with os.fdopen(descriptor, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    return process.pid
