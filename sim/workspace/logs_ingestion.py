"""The Logs Ingestion API door (``azure-ingestion.md`` §3).

``POST /dataCollectionRules/<dcr>/streams/Custom-<Table>?api-version=2023-01-01``
with a bearer token from this workspace's token endpoint, a JSON array body
(gzip allowed), at most 1 MB on the wire; success is 204 with no body, errors
use the Azure.Core shape plus ``x-ms-error-code``.

Mock choices where Azure documents nothing, each in one place here:

- A DCR accepts every stream ``Custom-<Table>`` and writes into ``<Table>``,
  whose columns are fixed: a table the Data Collector API created, or
  ``secRMM_CL`` from the catalogue. The stream takes secRMM's posted names
  (``Event`` lands in ``Event_s``, as the transformation of a migrated table
  does) as well as the stored column names.
- Checks run in this order: api-version, token (401), DCR and stream (404),
  publisher role (403), size (413), encoding and JSON (400).
- A body that is not an array is answered 204 and stores nothing, as Azure was
  seen doing (``azure-sdk-for-python#32562``); ``strict`` answers 400.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC

import orjson

from .catalog import table_declaration
from .data_collector import parse_json
from .door import DoorAnswer, stored_answer
from .requestlog import Verdict
from .schema import LOGS_INGESTION_RULES, Batch, TableSchema, plan_batch
from .store import Store
from .tokens import Claims, TokenIssuer
from .wire import IngestRequest

__all__ = [
    "LOGS_INGESTION_API_VERSIONS",
    "MAX_INGESTION_BYTES",
    "DataCollectionRule",
    "LogsIngestionDoor",
]

#: The stable version, and the preview older shippers (Fluent Bit) still send.
LOGS_INGESTION_API_VERSIONS = ("2023-01-01", "2021-11-01-preview")
#: Largest body on the wire, compressed or not.
MAX_INGESTION_BYTES = 1_048_576
#: The token audience of the public cloud's Logs Ingestion API.
MONITOR_AUDIENCE = "https://monitor.azure.com"

_PATH = re.compile(r"/dataCollectionRules/(?P<dcr>[^/]+)/streams/(?P<stream>[^/]+)")
_STREAM = re.compile(r"Custom-(?P<table>[A-Za-z0-9_]{1,100})")
_FAULT_CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


@dataclass(frozen=True, kw_only=True)
class DataCollectionRule:
    """A DCR by immutable id; ``publishers`` are the client ids holding the
    Monitoring Metrics Publisher role on it (None: every registered app)."""

    immutable_id: str
    publishers: frozenset[str] | None = None


class _RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error_body(code: str, message: str) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"error": {"code": code, "message": message}})
    return body, {"Content-Type": "application/json", "x-ms-error-code": code}


class LogsIngestionDoor:
    api = "LogsIngestion"
    faultable = True

    def __init__(
        self,
        rules: Iterable[DataCollectionRule],
        issuer: TokenIssuer,
        store: Store,
        *,
        strict: bool,
    ) -> None:
        self.rules = {rule.immutable_id: rule for rule in rules}
        self.issuer = issuer
        self.store = store
        self.strict = strict

    def matches(self, request: IngestRequest) -> bool:
        return request.method == "POST" and _PATH.fullmatch(request.path) is not None

    def fault_answer(self, status: int) -> tuple[bytes, Mapping[str, str]]:
        code = _FAULT_CODES.get(status, "InternalServerError")
        return _error_body(code, f"The service answered {status}; retry later.")

    def handle(self, request: IngestRequest, *, lose: bool) -> DoorAnswer:
        table = ""
        try:
            table = self._admit(request)
            records = self._records(request)
            return self._store(request, table, records, lose)
        except _RefusedError as refusal:
            body, headers = _error_body(refusal.code, refusal.message)
            return DoorAnswer(
                status=refusal.status,
                verdict=Verdict.REJECTED,
                body=body,
                headers=headers,
                reasons=[refusal.message],
                error=refusal.code,
                table=table,
            )

    def _admit(self, request: IngestRequest) -> str:
        """Check version, token, rule, stream and role; return the target table."""
        version = request.query.get("api-version")
        if version not in LOGS_INGESTION_API_VERSIONS:
            raise _RefusedError(
                400,
                "UnsupportedApiVersion",
                f"api-version {version!r} is not supported; use "
                f"{' or '.join(LOGS_INGESTION_API_VERSIONS)}",
            )
        claims = self._claims(request)
        match = _PATH.fullmatch(request.path)
        assert match is not None
        rule = self.rules.get(match["dcr"])
        if rule is None:
            raise _RefusedError(
                404,
                "NotFound",
                f"data collection rule {match['dcr']!r} does not exist here; use the "
                "DCR's immutable id (dcr-...)",
            )
        stream = _STREAM.fullmatch(match["stream"])
        if stream is None:
            raise _RefusedError(
                404,
                "NotFound",
                f"stream {match['stream']!r} is not declared; custom streams are "
                "named Custom-<Table>",
            )
        table = stream["table"]
        if not self.store.has_table(table) and table_declaration(table) is None:
            raise _RefusedError(
                404,
                "NotFound",
                f"table {table} has no columns yet; the Logs Ingestion API creates none. "
                "Create it first (one Data Collector API post does)",
            )
        if rule.publishers is not None and claims.client_id not in rule.publishers:
            raise _RefusedError(
                403,
                "Forbidden",
                f"application {claims.client_id} lacks the Monitoring Metrics Publisher "
                f"role on {rule.immutable_id}",
            )
        return table

    def _claims(self, request: IngestRequest) -> Claims:
        authorization = request.header("authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _RefusedError(
                401,
                "InvalidToken",
                "no bearer token; send Authorization: Bearer <token>",
            )
        claims = self.issuer.check(token.strip())
        if isinstance(claims, str):
            raise _RefusedError(401, "InvalidToken", claims)
        if claims.audience.rstrip("/") != MONITOR_AUDIENCE:
            raise _RefusedError(
                401,
                "InvalidToken",
                f"the token is for {claims.audience!r}; ask for scope "
                f"{MONITOR_AUDIENCE}/.default",
            )
        return claims

    def _records(self, request: IngestRequest) -> list[Mapping[str, object]] | None:
        """The body's records; None when it is a JSON value but not an array."""
        if len(request.body) > MAX_INGESTION_BYTES:
            raise _RefusedError(
                413,
                "PayloadTooLarge",
                f"the body is {len(request.body)} bytes on the wire, over "
                f"{MAX_INGESTION_BYTES}; send smaller chunks",
            )
        body = _decoded(request)
        value = parse_json(body)
        if isinstance(value, str):
            raise _RefusedError(400, "InvalidPayload", value)
        if not isinstance(value, list):
            if self.strict:
                raise _RefusedError(
                    400, "InvalidPayload", "the body must be a JSON array of objects"
                )
            return None
        if not all(isinstance(item, dict) for item in value):
            raise _RefusedError(
                400, "InvalidPayload", "every element of the array must be an object"
            )
        return value

    def _store(
        self,
        request: IngestRequest,
        table: str,
        records: list[Mapping[str, object]] | None,
        lose: bool,
    ) -> DoorAnswer:
        if records is None:
            batch = Batch(table=table, row_count=0)
            batch.warnings[
                "the body is not a JSON array; answered 204, nothing stored"
            ] += 1
            return DoorAnswer(
                status=204, verdict=Verdict.ACCEPTED, table=table, batch=batch
            )
        with self.store.lock:
            declared = None if self.store.has_table(table) else table_declaration(table)
            schema = self.store.schema(table)
            if declared is not None:
                schema = TableSchema(name=table)
                for column, column_type, prop in declared:
                    schema.add(column, column_type, prop)
            batch = plan_batch(
                schema,
                records,
                received_at=request.received_at.astimezone(UTC).replace(tzinfo=None),
                time_field="TimeGenerated",
                strict_names=self.strict,
                rules=LOGS_INGESTION_RULES,
            )
            if batch.rejections:
                first = batch.rejections[0]
                raise _RefusedError(400, first.error or "InvalidPayload", first.reason)
            if declared is not None:
                # The catalogue's columns: the store creates them with the rows.
                batch.new_columns = list(declared)
            if not lose:
                self.store.append(batch)
        return stored_answer(204, batch, len(records), lose=lose)


def _decoded(request: IngestRequest) -> bytes:
    encoding = (request.header("content-encoding") or "").strip().lower()
    if not encoding:
        return request.body
    if encoding != "gzip":
        raise _RefusedError(
            400,
            "InvalidPayload",
            f"Content-Encoding {encoding!r}: only gzip is allowed",
        )
    try:
        return gzip.decompress(request.body)
    except (OSError, EOFError, zlib.error) as err:
        raise _RefusedError(
            400, "InvalidPayload", f"the gzip body cannot be read ({err})"
        ) from None
