"""A Log Analytics workspace without the cloud: its doors, its store, its log.

:meth:`Workspace.handle` takes a transport-neutral request, finds the door
(API) it is for, applies injected faults, lets the door decide, and writes the
request log; no socket is involved, so the HTTP server and the ``responses``
adapter are thin doors onto the same checks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .data_collector import DataCollectorDoor
from .door import Door, DoorAnswer
from .faults import Fault, FaultPlan
from .keys import ClientSecret, SharedKey
from .kql import QueryResult, run_query, schema_of
from .logs_ingestion import DataCollectionRule, LogsIngestionDoor
from .requestlog import RequestEntry, Verdict
from .store import Store
from .tokens import DEFAULT_LIFETIME, TokenDoor, TokenIssuer
from .verify import VerifierSettings
from .wire import Delivery, IngestRequest, Outcome

__all__ = ["Workspace", "WorkspaceSettings"]

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class WorkspaceSettings:
    """A workspace's identity, its two doors' configuration and the mock's switches.

    ``strict`` refuses what Azure's behaviour leaves undocumented and the mock
    otherwise accepts with a warning. ``tenant_id`` is the Entra tenant of the
    token endpoint (default: the workspace id). ``clients`` maps application
    (client) ids to their secrets; ``rules`` are the DCRs the Logs Ingestion
    API serves.
    """

    workspace_id: str
    keys: Sequence[SharedKey]
    active: bool = True
    date_skew: timedelta | None = timedelta(minutes=15)
    strict: bool = False
    tenant_id: str | None = None
    clients: Mapping[str, ClientSecret] = field(default_factory=dict)
    rules: Sequence[DataCollectionRule] = ()
    token_lifetime: timedelta = DEFAULT_LIFETIME

    def __post_init__(self) -> None:
        for name, value in (
            ("workspace id", self.workspace_id),
            ("tenant id", self.tenant_id),
        ):
            if value is None:
                continue
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError(
                    f"{name} {value!r} is not a GUID; use the form "
                    "11111111-2222-3333-4444-555555555555"
                ) from None
        if not self.keys:
            raise ValueError("a workspace needs at least one shared key")


class Workspace:
    """One workspace: its doors, its store and its request log."""

    def __init__(
        self,
        settings: WorkspaceSettings,
        *,
        store: Store | None = None,
        faults: FaultPlan | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self.store = store or Store(settings.workspace_id)
        self.faults = faults or FaultPlan()
        self._clock = clock
        verifier = VerifierSettings(
            workspace_id=settings.workspace_id,
            keys=settings.keys,
            active=settings.active,
            date_skew=settings.date_skew,
        )
        self.tokens = TokenIssuer(
            settings.tenant_id or settings.workspace_id,
            settings.clients,
            lifetime=settings.token_lifetime,
            clock=clock,
        )
        self._doors: tuple[Door, ...] = (
            DataCollectorDoor(verifier, self.store, strict=settings.strict),
            LogsIngestionDoor(
                settings.rules, self.tokens, self.store, strict=settings.strict
            ),
            TokenDoor(self.tokens, clock),
        )

    @property
    def workspace_id(self) -> str:
        return self.settings.workspace_id

    def now(self) -> datetime:
        return self._clock()

    def handle(self, request: IngestRequest) -> Outcome:
        """Answer one request as Azure would, recording it in the request log."""
        request_id = str(uuid.uuid4())
        door = next((door for door in self._doors if door.matches(request)), None)
        if door is None:
            answer = DoorAnswer(
                status=404,
                verdict=Verdict.REJECTED,
                reasons=["no such endpoint; post to /api/logs or a DCR stream"],
            )
            return self._finish(request, request_id, "None", answer)
        fault = self.faults.draw() if door.faultable else None
        if fault is not None and fault.kind not in ("delay", "lose"):
            return self._fault(request, request_id, door, fault)
        answer = door.handle(request, lose=fault is not None and fault.kind == "lose")
        delay = fault.seconds if fault is not None and fault.kind == "delay" else 0.0
        return self._finish(request, request_id, door.api, answer, delay)

    def query(self, text: str, *, now: datetime | None = None) -> QueryResult:
        """Run KQL over the stored tables (and the request log).

        ``now`` pins what ``now()`` and ``ago()`` mean (a simulated day's end).
        """
        with self.store.cursor() as cursor:
            return run_query(cursor, text, schema_of(cursor), now=now)

    def requests(
        self, where: str = "TRUE", params: Sequence[Any] = ()
    ) -> list[RequestEntry]:
        return self.store.requests(where, params)

    def _fault(
        self, request: IngestRequest, request_id: str, door: Door, fault: Fault
    ) -> Outcome:
        answer = DoorAnswer(
            status=fault.status or 0,
            verdict=Verdict.FAULT,
            reasons=[f"injected fault {fault.spec()}"],
        )
        self._log(request, request_id, door.api, answer)
        if fault.kind == "drop":
            return Outcome(status=0, delivery=Delivery.DROP)
        assert fault.status is not None
        body, headers = door.fault_answer(fault.status)
        headers = {**headers, "x-ms-request-id": request_id}
        if fault.retry_after is not None and fault.status in (429, 503):
            headers["Retry-After"] = f"{fault.retry_after:g}"
        return Outcome(status=fault.status, body=body, headers=headers)

    def _finish(
        self,
        request: IngestRequest,
        request_id: str,
        api: str,
        answer: DoorAnswer,
        delay: float = 0.0,
    ) -> Outcome:
        if answer.verdict == Verdict.REJECTED:
            logger.info(
                "refused a %s request with %d %s: %s",
                api,
                answer.status,
                answer.error or "",
                answer.reasons[0] if answer.reasons else "",
            )
        self._log(request, request_id, api, answer)
        return Outcome(
            status=answer.status,
            body=answer.body,
            headers={**answer.headers, "x-ms-request-id": request_id},
            delay_seconds=delay,
        )

    def _log(
        self, request: IngestRequest, request_id: str, api: str, answer: DoorAnswer
    ) -> None:
        batch = answer.batch
        body = answer.logged_body if answer.logged_body is not None else request.body
        self.store.log(
            RequestEntry(
                request_id=request_id,
                time_received=request.received_at.astimezone(UTC).replace(tzinfo=None),
                api=api,
                method=request.method,
                path=request.path,
                client=request.client,
                client_request_id=request.header("x-ms-client-request-id") or "",
                headers=request.headers,
                status=answer.status,
                error=answer.error,
                verdict=answer.verdict,
                reasons=answer.reasons,
                warnings=dict(batch.warnings) if batch else {},
                table=answer.table,
                records=answer.records,
                rows_stored=answer.rows_stored,
                truncated_values=batch.truncated_values if batch else 0,
                body_bytes=len(request.body),
                body=None if answer.rows_stored else body,
            )
        )
