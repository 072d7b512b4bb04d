"""What every door of the workspace gives back, for the router to log and answer.

A door is one API the workspace serves (the Data Collector API, the Logs
Ingestion API, the token endpoint). It decides; the router in ``workspace.py``
applies faults, writes the request log and builds the transport's outcome, the
same way for every door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .requestlog import Verdict
from .schema import Batch
from .wire import IngestRequest

__all__ = ["Door", "DoorAnswer", "stored_answer"]


@dataclass(kw_only=True)
class DoorAnswer:
    """A door's decision on one request, with what the request log needs."""

    status: int
    verdict: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    error: str | None = None
    table: str = ""
    records: int = 0
    rows_stored: int = 0
    batch: Batch | None = None
    #: The body as the log keeps it when it differs from the wire (secrets cut).
    logged_body: bytes | None = None


class Door(Protocol):
    """One API of the workspace."""

    #: Name in the request log's ``Api`` column.
    api: str
    #: Whether injected faults apply (Entra ID is another service: they do not).
    faultable: bool

    def matches(self, request: IngestRequest) -> bool: ...

    def handle(self, request: IngestRequest, *, lose: bool) -> DoorAnswer:
        """Decide; with ``lose``, answer success without storing (a fault)."""
        ...

    def fault_answer(self, status: int) -> tuple[bytes, Mapping[str, str]]:
        """Body and headers for an injected ``status``, in this API's error shape."""
        ...


def stored_answer(status: int, batch: Batch, records: int, *, lose: bool) -> DoorAnswer:
    """Success for a planned batch: stored, or (an injected ``lose``) not."""
    reasons = (
        [f"injected fault lose: answered {status}, rows not stored"] if lose else []
    )
    return DoorAnswer(
        status=status,
        verdict=Verdict.LOST if lose else Verdict.ACCEPTED,
        reasons=reasons,
        table=batch.table,
        records=records,
        rows_stored=0 if lose else batch.row_count,
        batch=batch,
    )
