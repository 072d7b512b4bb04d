"""Batches out of the spool, through a sink, into the workspace or quarantine.

Batches are bounded by count, by bytes (never over the API's request limit)
and by linger time. Each batch is retried as :mod:`agent.retry` decides: a
transient failure waits and tries again without limit; bad data is bisected so
only the records Azure refuses go to quarantine; an auth or configuration
fault holds the destination, with the rest of the data kept in the spool.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from .config import ConfigError, Settings
from .retry import ADVICE_TOO_LARGE, Action, Answer, Backoff, Verdict, classify
from .sinks import Sink, array_bytes
from .spool import Spool

__all__ = ["RunResult", "Shipper"]

logger = logging.getLogger(__name__)

_Batch = list[tuple[int, bytes]]
#: How often an idle shipper looks at the spool again, in seconds.
_POLL_SECONDS = 0.02


@dataclass
class RunResult:
    delivered: int = 0
    quarantined: int = 0
    requests: int = 0
    retries: int = 0
    #: Records a crashed shipper had in flight, sent again now: Azure may
    #: already have them, so they may arrive twice.
    possible_duplicates: int = 0
    #: Set when the destination was held: what is wrong and what to do.
    held: str | None = None
    errors: dict[str, int] = field(default_factory=dict)


class Shipper:
    """Drains a spool into one sink with ``concurrency`` requests in flight."""

    def __init__(
        self,
        spool: Spool,
        sink: Sink,
        settings: Settings,
        *,
        stop: threading.Event | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], object] | None = None,
        intake_open: threading.Event | None = None,
    ) -> None:
        self.spool = spool
        self.sink = sink
        self.settings = settings
        self.stop = stop or threading.Event()
        self.backoff = backoff or Backoff(settings.backoff_base, settings.backoff_cap)
        #: How waits happen; tests pass a recorder. Returns early when stopped.
        self.sleep = sleep or self.stop.wait
        #: Set while a producer is still spooling: an empty spool then means
        #: "wait for more", not "done".
        self.intake_open = intake_open or threading.Event()
        self.max_bytes = min(settings.batch_bytes, sink.max_request_bytes)
        self.result = RunResult()
        self._lock = threading.Lock()
        self._held = threading.Event()
        #: First and last spool id of each batch in flight, by first id.
        self._in_flight: dict[int, tuple[int, int, int]] = {}

    def run(self) -> RunResult:
        """Ship until the spool is empty, the destination is held, or ``stop`` is set."""
        self._recover()
        cursor = 0
        slots = threading.Semaphore(self.settings.concurrency)
        futures: list[Future[None]] = []
        with ThreadPoolExecutor(self.settings.concurrency, "shipper") as pool:
            while not (self.stop.is_set() or self._held.is_set()):
                producing = self.intake_open.is_set()
                batch, cursor = self._next_batch(cursor)
                if not batch:
                    if not producing:
                        break
                    self.stop.wait(_POLL_SECONDS)
                    continue
                slots.acquire()
                self._track(batch, leased=True)
                future = pool.submit(self._deliver, batch)
                future.add_done_callback(lambda _: slots.release())
                futures.append(future)
                futures = [f for f in futures if not f.done()]
            for future in futures:
                future.result()
        self.spool.set_state(in_flight=0, in_flight_ranges=[], shipper_pid=None)
        if not self.stop.is_set():
            freed = self.spool.compact()
            if freed:
                logger.info("gave %d bytes of free spool space back", freed)
        return self.result

    def _recover(self) -> None:
        """Count what a crashed shipper had in flight: it goes again, maybe twice.

        The caller holds the spool's shipping lock, so any earlier shipper is
        gone; one that ended cleanly left no ranges behind.
        """
        ranges = self.spool.state().get("in_flight_ranges") or []
        resent = self.spool.count_between(ranges) if ranges else 0
        if resent:
            logger.warning(
                "the previous shipper stopped with %d records in flight; they are "
                "sent again and may arrive twice",
                resent,
            )
            self.spool.bump("possible_duplicates", resent)
        self.result.possible_duplicates = resent

    def _next_batch(self, cursor: int) -> tuple[_Batch, int]:
        """The next batch after ``cursor``. While a producer is still spooling,
        a partial batch waits up to ``linger`` to fill; otherwise it goes now."""
        deadline = time.monotonic() + self.settings.linger
        while True:
            producing = self.intake_open.is_set()
            rows = self.spool.take(cursor, self.settings.batch_records)
            batch, oversized = self._fit(rows)
            for record in oversized:
                self._quarantine([record], _too_large(len(record[1])))
            if oversized and not batch:
                cursor = oversized[-1][0]
                continue
            cut_by_bytes = len(batch) + len(oversized) < len(rows)
            full = cut_by_bytes or len(rows) >= self.settings.batch_records
            if full or not producing or time.monotonic() >= deadline:
                break
            if self.stop.wait(min(_POLL_SECONDS, self.settings.linger)):
                break
        last = max([r[0] for r in batch] + [r[0] for r in oversized] + [cursor])
        return batch, last

    def _fit(self, rows: _Batch) -> tuple[_Batch, _Batch]:
        """The leading rows that fit the byte limit, and rows too big to ever fit."""
        batch: _Batch = []
        oversized: _Batch = []
        size = 2  # the brackets
        for row in rows:
            length = len(row[1])
            if length + 2 > self.max_bytes:
                if not batch:
                    oversized.append(row)
                    continue
                break
            extra = length + (1 if batch else 0)
            if size + extra > self.max_bytes:
                break
            batch.append(row)
            size += extra
        return batch, oversized

    def _deliver(self, batch: _Batch) -> None:
        pending: deque[_Batch] = deque([batch])
        attempt = 0
        holds = 0
        try:
            while pending and not (self._held.is_set() or self.stop.is_set()):
                part = pending.popleft()
                bodies = [body for _, body in part]
                answer = self.sink.post(bodies)
                verdict = classify(
                    answer,
                    api=self.sink.api,
                    body_bytes=array_bytes([len(b) for b in bodies]),
                )
                self._count(verdict)
                if verdict.action is Action.DONE:
                    self.spool.ack([record_id for record_id, _ in part])
                    with self._lock:
                        self.result.delivered += len(part)
                    attempt = 0
                elif verdict.action is Action.RETRY:
                    pending.appendleft(part)
                    self._note_error(verdict, answer)
                    self.sleep(self.backoff.wait(attempt, verdict))
                    attempt += 1
                elif verdict.action is Action.SPLIT:
                    if len(part) == 1:
                        self._quarantine(part, verdict, answer)
                    else:
                        middle = len(part) // 2
                        pending.extendleft([part[middle:], part[:middle]])
                else:
                    holds += 1
                    if self._hold(part, verdict, answer, holds):
                        pending.appendleft(part)
        finally:
            self._track(batch, leased=False)

    def _hold(self, part: _Batch, verdict: Verdict, answer: Answer, holds: int) -> bool:
        """Handle an auth or config fault; True to try the part again."""
        self._note_error(verdict, answer)
        logger.error(
            "ALERT: %s refused with %s: %s",
            self.sink.api,
            verdict.error,
            verdict.advice,
        )
        if holds < self.settings.hold_attempts:
            try:
                self.sink.reload()
            except ConfigError as err:
                logger.error("cannot re-read the secret: %s", err)
            self.sleep(self.settings.hold_seconds * 2 ** (holds - 1))
            return not self.stop.is_set()
        with self._lock:
            first = not self._held.is_set()
            self._held.set()
        if first:
            self._quarantine(part, verdict, answer)
            self.result.held = f"{verdict.error}: {verdict.advice}"
            self.spool.set_state(held=self.result.held)
        return False

    def _quarantine(
        self, part: _Batch, verdict: Verdict, answer: Answer | None = None
    ) -> None:
        logger.warning(
            "quarantined %d record(s): %s %s", len(part), verdict.error, verdict.advice
        )
        self.spool.quarantine(
            [record_id for record_id, _ in part],
            status=answer.status if answer else None,
            error=verdict.error,
            message=verdict.message,
            advice=verdict.advice,
            request_id=answer.request_id if answer else "",
        )
        with self._lock:
            self.result.quarantined += len(part)

    def _count(self, verdict: Verdict) -> None:
        with self._lock:
            self.result.requests += 1
            if verdict.action is Action.RETRY:
                self.result.retries += 1
            if verdict.action is not Action.DONE:
                key = verdict.error or verdict.action.value
                self.result.errors[key] = self.result.errors.get(key, 0) + 1

    def _note_error(self, verdict: Verdict, answer: Answer) -> None:
        text = f"{answer.status or 'no answer'} {verdict.error} {verdict.message}"
        logger.info("request %s: %s", answer.request_id, text.strip())
        self.spool.set_state(last_error=text.strip(), last_error_at=time.time())

    def _track(self, batch: _Batch, *, leased: bool) -> None:
        """Record which ids are in flight before they are sent (and after), so a
        restart after a crash knows which records Azure may already have."""
        first, last = batch[0][0], batch[-1][0]
        with self._lock:
            if leased:
                self._in_flight[first] = (first, last, len(batch))
            else:
                del self._in_flight[first]
            self.spool.set_state(
                in_flight=sum(n for _, _, n in self._in_flight.values()),
                in_flight_ranges=[[f, la] for f, la, _ in self._in_flight.values()],
                shipper_pid=os.getpid(),
            )


def _too_large(size: int) -> Verdict:
    return Verdict(
        action=Action.SPLIT,
        error="TooLarge",
        message=f"the record is {size} bytes, over the request limit",
        advice=ADVICE_TOO_LARGE,
    )
