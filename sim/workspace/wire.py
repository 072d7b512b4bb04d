"""Transport-neutral requests and answers, and Azure's wire vocabulary.

The workspace's rules work on :class:`IngestRequest` and produce :class:`Outcome`;
the HTTP server and the ``responses`` adapter only translate to and from these,
so both doors check exactly the same things.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import orjson

__all__ = [
    "DATA_COLLECTOR_API_VERSION",
    "DATA_COLLECTOR_PATH",
    "MAX_POST_BYTES",
    "Delivery",
    "IngestRequest",
    "Outcome",
    "Rejection",
]

#: The only api-version the HTTP Data Collector API ever published.
DATA_COLLECTOR_API_VERSION = "2016-04-01"
#: The Data Collector API's one path; also the last line of the string to sign.
DATA_COLLECTOR_PATH = "/api/logs"
#: Largest accepted post: the yokawasa gem's 30 MiB reading of the documented
#: "30 MB". Larger posts are answered 404 (spec §2.6, a mock choice).
MAX_POST_BYTES = 31_457_280


@dataclass(frozen=True, kw_only=True)
class IngestRequest:
    """One HTTP request as the workspace sees it, whatever door it came through.

    ``headers`` keys are lower case: HTTP header names are case-insensitive and
    real shippers (Vector) send them in lower case.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    host: str
    received_at: datetime
    client: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """Why a request was refused: Azure's answer on the wire, and a reason for people.

    ``error`` and ``message`` are exactly what Azure puts in its
    ``{"Error": ..., "Message": ...}`` body; ``error`` is None for the statuses
    Azure answers with an empty body (404, 429). ``reason`` says what happened
    and what to do next; it goes to the request log, never to the wire.
    """

    status: int
    error: str | None
    reason: str
    message: str | None = None

    def body(self) -> bytes:
        if self.error is None:
            return b""
        return orjson.dumps({"Error": self.error, "Message": self.message})


class Delivery(enum.Enum):
    """How the transport must deliver an outcome."""

    #: Send the response.
    RESPOND = "respond"
    #: Close the connection without any response (an injected fault).
    DROP = "drop"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """The workspace's answer to one request, for a transport to deliver."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    delivery: Delivery = Delivery.RESPOND

    @classmethod
    def rejected(cls, rejection: Rejection, headers: Mapping[str, str]) -> Outcome:
        content = {"Content-Type": "application/json"} if rejection.error else {}
        return cls(
            status=rejection.status,
            body=rejection.body(),
            headers={**content, **headers},
        )
