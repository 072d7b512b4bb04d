"""The request log: every request the workspace saw, with its verdict and reasons.

Tests query it instead of reading log output, and it is a table like any
other, so ``IngestionRequests | where Status != 200`` works in KQL too. A
refused or faulted request keeps its body: nothing sent is silently lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "REQUEST_LOG_COLUMNS",
    "REQUEST_LOG_DDL",
    "REQUEST_LOG_TABLE",
    "RequestEntry",
    "Verdict",
]

REQUEST_LOG_TABLE = "IngestionRequests"
#: The columns a new entry fills; ``Sequence`` numbers itself.
REQUEST_LOG_COLUMNS = (
    "RequestId", "TimeReceived", "Api", "Method", "Path", "Client", "ClientRequestId",
    "Headers", "Status", "Error", "Verdict", "Reasons", "Warnings", "TableName",
    "Records", "RowsStored", "TruncatedValues", "BodyBytes", "Body",
)  # fmt: skip

#: Header values never written to the log, whoever asks.
_SECRET_HEADERS = frozenset({"authorization"})


class Verdict:
    """What became of a request (plain strings, so KQL can filter on them)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAULT = "fault"
    #: Answered with success by an injected fault, rows deliberately not stored.
    LOST = "lost"


REQUEST_LOG_DDL = f"""
CREATE SEQUENCE IF NOT EXISTS request_sequence;
CREATE TABLE IF NOT EXISTS {REQUEST_LOG_TABLE} (
    Sequence BIGINT DEFAULT nextval('request_sequence'),
    RequestId VARCHAR,
    TimeReceived TIMESTAMP,
    Api VARCHAR,
    Method VARCHAR,
    Path VARCHAR,
    Client VARCHAR,
    ClientRequestId VARCHAR,
    Headers VARCHAR,
    Status INTEGER,
    Error VARCHAR,
    Verdict VARCHAR,
    Reasons VARCHAR,
    Warnings VARCHAR,
    TableName VARCHAR,
    Records INTEGER,
    RowsStored INTEGER,
    TruncatedValues INTEGER,
    BodyBytes BIGINT,
    Body BLOB
)
"""


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as logged: secrets replaced, so the log can be shared."""
    return {
        name: "*****" if name.lower() in _SECRET_HEADERS else value
        for name, value in headers.items()
    }


@dataclass(frozen=True, kw_only=True)
class RequestEntry:
    """One row of the request log."""

    request_id: str
    time_received: datetime
    api: str
    method: str
    path: str
    status: int
    verdict: str
    client: str = ""
    client_request_id: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    reasons: Sequence[str] = ()
    warnings: Mapping[str, int] = field(default_factory=dict)
    table: str = ""
    records: int = 0
    rows_stored: int = 0
    truncated_values: int = 0
    body_bytes: int = 0
    #: The body as received; kept whenever the rows were not stored.
    body: bytes | None = None
    sequence: int = 0

    def row(self) -> tuple[Any, ...]:
        """Values for :data:`REQUEST_LOG_COLUMNS`, in that order."""
        return (
            self.request_id,
            self.time_received,
            self.api,
            self.method,
            self.path,
            self.client,
            self.client_request_id,
            json.dumps(redact_headers(self.headers)),
            self.status,
            self.error,
            self.verdict,
            json.dumps(list(self.reasons)),
            json.dumps(dict(self.warnings)),
            self.table,
            self.records,
            self.rows_stored,
            self.truncated_values,
            self.body_bytes,
            self.body,
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RequestEntry:
        (
            sequence, request_id, time_received, api, method, path, client,
            client_request_id, headers, status, error, verdict, reasons, warnings,
            table, records, rows_stored, truncated, body_bytes, body,
        ) = row  # fmt: skip
        return cls(
            sequence=sequence,
            request_id=request_id,
            time_received=time_received,
            api=api,
            method=method,
            path=path,
            client=client,
            client_request_id=client_request_id,
            headers=json.loads(headers),
            status=status,
            error=error,
            verdict=verdict,
            reasons=json.loads(reasons),
            warnings=json.loads(warnings),
            table=table,
            records=records,
            rows_stored=rows_stored,
            truncated_values=truncated,
            body_bytes=body_bytes,
            body=bytes(body) if body is not None else None,
        )
