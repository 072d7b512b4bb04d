"""The HTTP Data Collector API door: ``POST /api/logs?api-version=2016-04-01``.

Checks run in Azure's order (``azure-ingestion.md`` §2): headers and signature
(``verify.py``), post size, JSON body, then the schema rules (``schema.py``),
``time-generated-field`` and ``x-ms-AzureResourceId``. Azure never reads the
body of a post whose headers fail, so neither does this door.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

import orjson

from .door import DoorAnswer, stored_answer
from .requestlog import Verdict
from .schema import Batch, plan_batch
from .store import Store
from .verify import VerifierSettings, verify_headers
from .wire import DATA_COLLECTOR_PATH, MAX_POST_BYTES, IngestRequest, Rejection

__all__ = ["DataCollectorDoor", "parse_json"]

_RESOURCE_ID = re.compile(
    r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/.+", re.I
)
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_]+")
_FAULT_ERRORS = {500: "UnspecifiedError", 503: "ServiceUnavailable"}


class DataCollectorDoor:
    api = "DataCollector"
    faultable = True

    def __init__(
        self, verifier: VerifierSettings, store: Store, *, strict: bool
    ) -> None:
        self.verifier = verifier
        self.store = store
        self.strict = strict

    def matches(self, request: IngestRequest) -> bool:
        return request.method == "POST" and request.path == DATA_COLLECTOR_PATH

    def fault_answer(self, status: int) -> tuple[bytes, Mapping[str, str]]:
        error = _FAULT_ERRORS.get(status)
        if error is None:
            return b"", {}
        body = orjson.dumps({"Error": error, "Message": None})
        return body, {"Content-Type": "application/json"}

    def handle(self, request: IngestRequest, *, lose: bool) -> DoorAnswer:
        verdict = verify_headers(request, self.verifier)
        if verdict.rejections:
            return _refused(verdict.rejections)
        assert verdict.log_type is not None
        table = f"{verdict.log_type}_CL"
        if len(request.body) > MAX_POST_BYTES:
            return _refused(
                [
                    Rejection(
                        status=404,
                        error=None,
                        reason=f"the post is {len(request.body)} bytes, over Azure's "
                        f"{MAX_POST_BYTES}; split it into smaller posts",
                    )
                ],
                table=table,
            )
        records = parse_json(request.body)
        if isinstance(records, str):
            return _refused([_invalid_data(records)], table=table)
        records = _as_records(records)
        if isinstance(records, str):
            return _refused([_invalid_data(records)], table=table)
        return self._store(request, table, records, lose)

    def _store(
        self,
        request: IngestRequest,
        table: str,
        records: Sequence[Mapping[str, Any]],
        lose: bool,
    ) -> DoorAnswer:
        time_field = request.header("time-generated-field") or None
        resource_id = request.header("x-ms-azureresourceid") or None
        with self.store.lock:
            batch = plan_batch(
                self.store.schema(table),
                records,
                received_at=request.received_at.astimezone(UTC).replace(tzinfo=None),
                time_field=time_field,
                strict_names=self.strict,
            )
            rejections = [
                *batch.rejections,
                *_check_time_field(time_field, records, batch),
                *_check_resource_id(resource_id),
            ]
            if rejections:
                return _refused(
                    rejections, table=table, records=len(records), batch=batch
                )
            if not lose:
                self.store.append(batch, (resource_id or "").lower())
        return stored_answer(200, batch, len(records), lose=lose)


def _refused(
    rejections: Sequence[Rejection],
    *,
    table: str = "",
    records: int = 0,
    batch: Batch | None = None,
) -> DoorAnswer:
    first = rejections[0]
    return DoorAnswer(
        status=first.status,
        verdict=Verdict.REJECTED,
        body=first.body(),
        headers={"Content-Type": "application/json"} if first.error else {},
        reasons=[rejection.reason for rejection in rejections],
        error=first.error,
        table=table,
        records=records,
        batch=batch,
    )


def parse_json(body: bytes) -> Any:
    """The parsed body, or a reason (str) it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses integers beyond 64 bits, which are valid JSON.
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as err:
        return f"the body is not valid UTF-8 JSON ({err})"


def _as_records(value: Any) -> list[Mapping[str, Any]] | str:
    """One JSON object, or an array of objects, as records; else a reason."""
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        return f"the body is a JSON {type(value).__name__}; send an object or an array of objects"
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            return (
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
