"""A Log Analytics workspace without the cloud: its rules, its store, its log.

:meth:`Workspace.handle` takes a transport-neutral request and returns what
Azure would answer; no socket is involved, so the HTTP server and the
``responses`` adapter are thin doors onto the same checks.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .faults import Fault, FaultPlan
from .keys import SharedKey
from .kql import QueryResult, run_query, schema_of
from .requestlog import RequestEntry, Verdict
from .schema import Batch, plan_batch
from .store import Store
from .verify import VerifierSettings, verify_headers
from .wire import (
    DATA_COLLECTOR_PATH,
    MAX_POST_BYTES,
    Delivery,
    IngestRequest,
    Outcome,
    Rejection,
)

__all__ = ["Workspace", "WorkspaceSettings"]

logger = logging.getLogger(__name__)

_RESOURCE_ID = re.compile(
    r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/.+", re.I
)
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_]+")
_FAULT_BODIES = {
    500: {"Error": "UnspecifiedError", "Message": None},
    503: {"Error": "ServiceUnavailable", "Message": None},
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class WorkspaceSettings:
    """A workspace's identity and the mock's switches.

    ``strict`` refuses what Azure's behaviour leaves undocumented and the mock
    otherwise accepts with a warning (property names outside letters, digits
    and underscores).
    """

    workspace_id: str
    keys: Sequence[SharedKey]
    active: bool = True
    date_skew: timedelta | None = timedelta(minutes=15)
    strict: bool = False

    def __post_init__(self) -> None:
        try:
            uuid.UUID(self.workspace_id)
        except ValueError:
            raise ValueError(
                f"workspace id {self.workspace_id!r} is not a GUID; use the form "
                "11111111-2222-3333-4444-555555555555"
            ) from None
        if not self.keys:
            raise ValueError("a workspace needs at least one shared key")


@dataclass
class _Handling:
    """What is learnt about one request on its way through the checks."""

    request: IngestRequest
    request_id: str
    delay: float = 0.0
    lose: bool = False
    table: str = ""
    records: int = 0
    batch: Batch | None = None
    warnings: dict[str, int] = field(default_factory=dict)


class Workspace:
    """One workspace: verifies posts, stores rows, logs every request."""

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
        self._verifier = VerifierSettings(
            workspace_id=settings.workspace_id,
            keys=settings.keys,
            active=settings.active,
            date_skew=settings.date_skew,
        )

    @property
    def workspace_id(self) -> str:
        return self.settings.workspace_id

    def now(self) -> datetime:
        return self._clock()

    def handle(self, request: IngestRequest) -> Outcome:
        """Answer one request as Azure would, recording it in the request log."""
        handling = _Handling(request=request, request_id=str(uuid.uuid4()))
        if request.method != "POST" or request.path != DATA_COLLECTOR_PATH:
            return self._reject(
                handling,
                [
                    Rejection(
                        status=404,
                        error=None,
                        reason="no such endpoint; post to /api/logs",
                    )
                ],
            )
        fault = self.faults.draw()
        if fault is not None:
            outcome = self._apply_fault(handling, fault)
            if outcome is not None:
                return outcome
        return self._data_collector(handling)

    def query(self, text: str) -> QueryResult:
        """Run KQL over the stored tables (and the request log)."""
        with self.store.cursor() as cursor:
            return run_query(cursor, text, schema_of(cursor))

    def requests(
        self, where: str = "TRUE", params: Sequence[Any] = ()
    ) -> list[RequestEntry]:
        return self.store.requests(where, params)

    def _apply_fault(self, handling: _Handling, fault: Fault) -> Outcome | None:
        reason = f"injected fault {fault.spec()}"
        if fault.kind == "delay":
            handling.delay = fault.seconds
            return None
        if fault.kind == "lose":
            handling.lose = True
            return None
        self._log(
            handling, status=fault.status or 0, verdict=Verdict.FAULT, reasons=[reason]
        )
        if fault.kind == "drop":
            return Outcome(status=0, delivery=Delivery.DROP)
        assert fault.status is not None
        headers = {"x-ms-request-id": handling.request_id}
        if fault.retry_after is not None and fault.status in (429, 503):
            headers["Retry-After"] = f"{fault.retry_after:g}"
        body = _FAULT_BODIES.get(fault.status)
        if body is not None:
            headers["Content-Type"] = "application/json"
        return Outcome(
            status=fault.status,
            body=orjson.dumps(body) if body is not None else b"",
            headers=headers,
        )

    def _data_collector(self, handling: _Handling) -> Outcome:
        request = handling.request
        verdict = verify_headers(request, self._verifier)
        if verdict.rejections:
            # Azure never reads the body of a post whose headers fail.
            return self._reject(handling, verdict.rejections)
        assert verdict.log_type is not None
        handling.table = f"{verdict.log_type}_CL"
        if len(request.body) > MAX_POST_BYTES:
            return self._reject(
                handling,
                [
                    Rejection(
                        status=404,
                        error=None,
                        reason=f"the post is {len(request.body)} bytes, over Azure's "
                        f"{MAX_POST_BYTES}; split it into smaller posts",
                    )
                ],
            )
        records = _parse_records(request.body)
        if isinstance(records, Rejection):
            return self._reject(handling, [records])
        handling.records = len(records)
        time_field = request.header("time-generated-field") or None
        resource_id = request.header("x-ms-azureresourceid") or None
        with self.store.lock:
            batch = plan_batch(
                self.store.schema(handling.table),
                records,
                received_at=request.received_at.astimezone(UTC).replace(tzinfo=None),
                time_field=time_field,
                strict_names=self.settings.strict,
            )
            handling.batch = batch
            rejections = [
                *batch.rejections,
                *_check_time_field(time_field, records, batch),
                *_check_resource_id(resource_id),
            ]
            if rejections:
                return self._reject(handling, rejections)
            if not handling.lose:
                self.store.append(batch, (resource_id or "").lower())
        return self._accept(handling)

    def _accept(self, handling: _Handling) -> Outcome:
        batch = handling.batch
        assert batch is not None
        stored = 0 if handling.lose else batch.row_count
        verdict = Verdict.LOST if handling.lose else Verdict.ACCEPTED
        reasons = (
            ["injected fault lose: answered 200, rows not stored"]
            if handling.lose
            else []
        )
        self._log(
            handling, status=200, verdict=verdict, reasons=reasons, rows_stored=stored
        )
        logger.debug("stored %d rows in %s", stored, handling.table)
        return Outcome(
            status=200,
            headers={"x-ms-request-id": handling.request_id},
            delay_seconds=handling.delay,
        )

    def _reject(self, handling: _Handling, rejections: Sequence[Rejection]) -> Outcome:
        first = rejections[0]
        logger.info(
            "refused a post with %d %s: %s",
            first.status,
            first.error or "",
            first.reason,
        )
        self._log(
            handling,
            status=first.status,
            verdict=Verdict.REJECTED,
            reasons=[rejection.reason for rejection in rejections],
            error=first.error,
        )
        outcome = Outcome.rejected(first, {"x-ms-request-id": handling.request_id})
        if handling.delay:
            return Outcome(
                status=outcome.status,
                body=outcome.body,
                headers=outcome.headers,
                delay_seconds=handling.delay,
            )
        return outcome

    def _log(
        self,
        handling: _Handling,
        *,
        status: int,
        verdict: str,
        reasons: Sequence[str],
        error: str | None = None,
        rows_stored: int = 0,
    ) -> None:
        request = handling.request
        batch = handling.batch
        self.store.log(
            RequestEntry(
                request_id=handling.request_id,
                time_received=request.received_at.astimezone(UTC).replace(tzinfo=None),
                api="DataCollector",
                method=request.method,
                path=request.path,
                client=request.client,
                client_request_id=request.header("x-ms-client-request-id") or "",
                headers=request.headers,
                status=status,
                error=error,
                verdict=verdict,
                reasons=reasons,
                warnings=dict(batch.warnings) if batch else {},
                table=handling.table,
                records=handling.records,
                rows_stored=rows_stored,
                truncated_values=batch.truncated_values if batch else 0,
                body_bytes=len(request.body),
                body=None if rows_stored else request.body,
            )
        )


def _parse_records(body: bytes) -> list[Mapping[str, Any]] | Rejection:
    """The body's records: one JSON object, or an array of objects."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses integers beyond 64 bits, which are valid JSON.
        try:
            value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as err:
            return _invalid_data(f"the body is not valid UTF-8 JSON ({err})")
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        return _invalid_data(
            f"the body is a JSON {type(value).__name__}; send an object or an array of objects"
        )
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            return _invalid_data(
                f"element {index} of the array is a JSON {type(item).__name__}, "
                "not an object; every record must be an object"
            )
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _invalid_data(reason: str) -> Rejection:
    return Rejection(status=400, error="InvalidDataFormat", reason=reason)


def _check_time_field(
    time_field: str | None, records: Sequence[Mapping[str, Any]], batch: Batch
) -> list[Rejection]:
    if time_field is None:
        return []
    if _PROPERTY_NAME.fullmatch(time_field) is None:
        return [
            _invalid_data(
                f"time-generated-field {time_field[:60]!r} is not a property name; name "
                "the record field that holds the ISO 8601 time"
            )
        ]
    if records and not any(time_field in record for record in records):
        batch.warnings[
            f"time-generated-field {time_field!r} names no property of any record"
        ] += 1
    return []


def _check_resource_id(resource_id: str | None) -> list[Rejection]:
    # Azure's answer to a malformed id is undocumented; refusing it is a mock choice.
    if resource_id is None or _RESOURCE_ID.fullmatch(resource_id):
        return []
    return [
        _invalid_data(
            f"x-ms-AzureResourceId {resource_id[:80]!r} is not an Azure resource id "
            "such as /subscriptions/<id>/resourceGroups/<group>/providers/<type>/<name>"
        )
    ]
