"""The durable spool: SQLite in WAL mode, one row per record.

A record is acknowledged only after its transaction committed (with
``synchronous=FULL`` when fsync is on, so the commit survives power loss); it
leaves ``records`` only after the workspace accepted it, or moves to
``quarantine`` together with Azure's answer. Every move is one transaction, so
a crash at any instant leaves each record in exactly one place.

Only appends need fsync: they are what a producer is told is safe. Every other
move (delivered, quarantined, requeued) commits without waiting for the disk,
which in WAL mode still survives a killed process; a power cut can undo such a
move, and the record is then sent again: a duplicate, never a loss.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["QuarantineEntry", "Spool", "SpoolError", "SpoolStats"]

_SCHEMA = """
-- AUTOINCREMENT: an id is never reused, even once the table was emptied, so a
-- shipper's cursor ("every id above N") never skips a newer record.
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    enqueued REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    record_id INTEGER,
    body BLOB NOT NULL,
    enqueued REAL NOT NULL,
    quarantined REAL NOT NULL,
    status INTEGER,
    error TEXT NOT NULL,
    message TEXT NOT NULL,
    advice TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


#: Free space in the spool file above which an idle shipper gives it back.
COMPACT_OVER_BYTES = 256 * 1024 * 1024


class SpoolError(RuntimeError):
    """The spool file cannot be opened or written."""


@dataclass(frozen=True, kw_only=True)
class QuarantineEntry:
    id: int
    body: bytes
    status: int | None
    error: str
    message: str
    advice: str
    request_id: str
    quarantined: float


@dataclass(frozen=True, kw_only=True)
class SpoolStats:
    depth: int
    oldest_age: float | None
    quarantined: int
    counters: dict[str, int]
    state: dict[str, Any]


class Spool:
    """Thread-safe. Writes share one connection under a lock, each method one
    transaction; :meth:`take` reads through a second connection, which WAL lets
    proceed while a write is under way, so leasing never waits for a commit."""

    def __init__(self, path: str, *, fsync: bool = True) -> None:
        self.path = path
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Records name users, hosts and files: only the owner may read them.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
            # Lets compact() give free pages back; takes effect on a new file.
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._fsync = fsync
            self._db.executescript(_SCHEMA)
            self._reader = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=30
            )
        except (OSError, sqlite3.Error) as err:
            raise SpoolError(
                f"cannot open the spool {path!r} ({err}); check the directory exists "
                "and this user may write it, or choose another with --spool"
            ) from None
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._reader.close()
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable`` fsyncs its commit (if fsync is on)."""
        level = "NORMAL"
        if not self._fsync:
            level = "OFF"
        elif durable:
            level = "FULL"
        with self._lock:
            self._db.execute(f"PRAGMA synchronous={level}")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def append(self, bodies: Iterable[bytes], *, truncated: int = 0) -> int:
        """Store records durably; return how many. Returns only after the commit."""
        now = time.time()
        with self._transaction(durable=True) as db:
            cursor = db.executemany(
                "INSERT INTO records (body, enqueued) VALUES (?, ?)",
                ((body, now) for body in bodies),
            )
            count = cursor.rowcount
            _bump(db, "spooled", count)
            _bump(db, "truncated_values", truncated)
        return count

    def take(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` records with ids above ``after``, oldest first."""
        # sqlite3 already returns INTEGER as int and BLOB as bytes: no copies.
        with self._read_lock:
            return self._reader.execute(
                "SELECT id, body FROM records WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()

    def ack(self, ids: Sequence[int]) -> None:
        """The workspace accepted these: they leave the spool."""
        with self._transaction() as db:
            _delete(db, "records", ids)
            _bump(db, "delivered", len(ids))

    def quarantine(
        self,
        ids: Sequence[int],
        *,
        status: int | None,
        error: str,
        message: str,
        advice: str,
        request_id: str,
    ) -> None:
        """Move records the workspace refused for good, with its reasons."""
        now = time.time()
        with self._transaction() as db:
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                db.execute(
                    "INSERT INTO quarantine (record_id, body, enqueued, quarantined,"
                    " status, error, message, advice, request_id)"
                    " SELECT id, body, enqueued, ?,"
                    f" ?, ?, ?, ?, ? FROM records WHERE id IN ({marks})",
                    (now, status, error, message, advice, request_id, *chunk),
                )
            _delete(db, "records", ids)
            _bump(db, "quarantined", len(ids))

    def reject(self, bodies: Iterable[bytes], *, error: str, message: str) -> int:
        """Keep input that is not a record at all in quarantine, never drop it."""
        now = time.time()
        with self._transaction(durable=True) as db:
            cursor = db.executemany(
                "INSERT INTO quarantine (body, enqueued, quarantined, status, error,"
                " message, advice, request_id) VALUES (?, ?, ?, NULL, ?, ?, ?, '')",
                (
                    (body, now, now, error, message, "fix the line and send it again")
                    for body in bodies
                ),
            )
            _bump(db, "quarantined", cursor.rowcount)
        return cursor.rowcount

    def requeue(self) -> int:
        """Move every quarantined record back into the spool; return how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO records (body, enqueued) SELECT body, enqueued FROM"
                " quarantine WHERE status IS NOT NULL ORDER BY id"
            )
            moved = cursor.rowcount
            db.execute("DELETE FROM quarantine WHERE status IS NOT NULL")
            _bump(db, "requeued", moved)
        return moved

    def quarantined(self, limit: int = 20) -> list[QuarantineEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body, status, error, message, advice, request_id,"
                " quarantined FROM quarantine ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            QuarantineEntry(
                id=row[0],
                body=bytes(row[1]),
                status=row[2],
                error=row[3],
                message=row[4],
                advice=row[5],
                request_id=row[6],
                quarantined=row[7],
            )
            for row in rows
        ]

    def set_state(self, **values: Any) -> None:
        """Record the shipper's state (last error, hold) for ``status``."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT(name)"
                " DO UPDATE SET value = excluded.value",
                [(name, json.dumps(value)) for name, value in values.items()],
            )

    def compact(self, *, over_bytes: int = COMPACT_OVER_BYTES) -> int:
        """Give free space back to the file system once over ``over_bytes``.

        A burst leaves the file at its largest size; SQLite would reuse the
        pages, but an agent that once spooled an outage should not keep
        gigabytes. Returns the bytes given back.
        """
        with self._lock:
            (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
            (page,) = self._db.execute("PRAGMA page_size").fetchone()
            if free * page <= over_bytes:
                return 0
            # executescript steps the pragma to the end; execute frees one page.
            self._db.executescript("PRAGMA incremental_vacuum;")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (left,) = self._db.execute("PRAGMA freelist_count").fetchone()
        return int((free - left) * page)

    def quarantine_summary(self) -> list[dict[str, Any]]:
        """Quarantined records grouped by Azure's answer, largest group first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT error, status, advice, count(*) AS n FROM quarantine"
                " GROUP BY error, status, advice ORDER BY n DESC"
            ).fetchall()
        return [
            {"error": error, "status": status, "advice": advice, "count": count}
            for error, status, advice, count in rows
        ]

    def state(self) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute("SELECT name, value FROM state").fetchall()
        return {name: json.loads(value) for name, value in rows}

    def count_between(self, ranges: Iterable[Sequence[int]]) -> int:
        """How many spooled records have ids within these ``[first, last]`` ranges."""
        total = 0
        with self._lock:
            for first, last in ranges:
                (count,) = self._db.execute(
                    "SELECT count(*) FROM records WHERE id BETWEEN ? AND ?",
                    (first, last),
                ).fetchone()
                total += count
        return total

    def bump(self, name: str, amount: int) -> None:
        """Add to a counter shown by ``status``."""
        with self._transaction() as db:
            _bump(db, name, amount)

    def stats(self) -> SpoolStats:
        with self._lock:
            depth, oldest = self._db.execute(
                "SELECT count(*), min(enqueued) FROM records"
            ).fetchone()
            (quarantined,) = self._db.execute(
                "SELECT count(*) FROM quarantine"
            ).fetchone()
            counters = dict(self._db.execute("SELECT name, value FROM counters"))
        state = self.state()
        return SpoolStats(
            depth=depth,
            oldest_age=None if oldest is None else max(0.0, time.time() - oldest),
            quarantined=quarantined,
            counters=counters,
            state=state,
        )


_SQL_VARIABLES = 500


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _SQL_VARIABLES):
        yield ids[start : start + _SQL_VARIABLES]


def _delete(db: sqlite3.Connection, table: str, ids: Sequence[int]) -> None:
    db.executemany(f"DELETE FROM {table} WHERE id = ?", ((i,) for i in ids))


def _bump(db: sqlite3.Connection, name: str, amount: int) -> None:
    if amount:
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name)"
            " DO UPDATE SET value = value + excluded.value",
            (name, amount),
        )
