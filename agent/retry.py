"""What an answer from Azure means, and how long to wait before trying again.

:func:`classify` is the one place that decides: every status, error code and
transport failure of both ingestion APIs maps to an :class:`Action` with an
explanation a person can act on (spec ``azure-ingestion.md`` §2.7, §3.2, §5.2).
"""

from __future__ import annotations

import email.utils
import enum
import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "Action",
    "Answer",
    "Backoff",
    "Verdict",
    "classify",
    "retry_after_seconds",
]

#: Statuses that mean "not now": retried without limit (spec §5.2).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: DCA 400 codes that mean the agent's settings are wrong, not the data.
CONFIG_ERRORS = {
    "InactiveCustomer": "the workspace is closed; point the agent at an active one",
    "InvalidApiVersion": "the API version is wrong; this is an agent bug, report it",
    "MissingApiVersion": "the API version is missing; this is an agent bug, report it",
    "InvalidCustomerId": "the workspace id is not valid; check workspace_id",
    "InvalidLogType": "the log type is not valid; use letters, digits and _ only",
    "MissingLogType": "the log type is missing; set log_type",
    "MissingContentType": "Content-Type was not sent; this is an agent bug, report it",
    "UnsupportedContentType": "Content-Type was refused; this is an agent bug",
}
#: A DCA 404 on a body smaller than this cannot be "too large": the URL is wrong.
SMALL_BODY_BYTES = 1_000_000

ADVICE_DCA_403 = (
    "Azure refused the signature: check the workspace id and the shared key "
    "(it may have been regenerated), and that this computer's clock is right"
)
ADVICE_LIA_401 = (
    "the token was refused: check tenant_id, client_id and the client secret, "
    "and that this computer's clock is right"
)
ADVICE_LIA_403 = (
    "the application lacks the 'Monitoring Metrics Publisher' role on the data "
    "collection rule; grant it, then run 'secrmm-agent requeue'"
)
ADVICE_WRONG_URL = (
    "nothing answers at this URL: check the endpoint, the workspace id, the DCR "
    "immutable id and the stream name"
)
ADVICE_TOO_LARGE = "the record alone is over the API's request limit; it cannot be sent"
ADVICE_NO_ANSWER = (
    "no answer: check the endpoint URL, DNS, any proxy or firewall, and that "
    "outbound HTTPS is allowed; spooled records are retried without limit"
)
ADVICE_TLS = (
    "the server's TLS certificate is not trusted: check the endpoint, and give "
    "ca_bundle if it uses a private CA (the mock's test CA, say)"
)
ADVICE_BUSY = (
    "the service is throttling or unavailable; spooled records are retried "
    "without limit, honouring Retry-After"
)
ADVICE_BAD_DATA = (
    "Azure refused the record's data; fix or drop it, then 'secrmm-agent requeue'"
)


class Action(enum.Enum):
    DONE = "done"
    #: Try the same request again after ``wait`` (or the backoff).
    RETRY = "retry"
    #: Send the batch in halves; a single record goes to quarantine.
    SPLIT = "split"
    #: Keep the data spooled, stop this destination, reload secrets, alert.
    HOLD = "hold"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """What came back for one request: a response, or a transport failure."""

    status: int | None
    headers: Mapping[str, str]
    body: bytes = b""
    #: Set when no response arrived (timeout, refused or reset connection).
    failure: str | None = None
    #: The server's TLS certificate was not trusted: not a passing fault.
    untrusted: bool = False
    request_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Verdict:
    action: Action
    #: Seconds the server asked us to wait (Retry-After), if it did.
    wait: float | None = None
    error: str = ""
    message: str = ""
    advice: str = ""


def classify(answer: Answer, *, api: str, body_bytes: int) -> Verdict:
    """Decide what an answer means. ``api`` is ``data-collector`` or ``logs-ingestion``."""
    if answer.status is None and answer.untrusted:
        return Verdict(
            action=Action.HOLD,
            error="UntrustedCertificate",
            message=answer.failure or "",
            advice=ADVICE_TLS,
        )
    if answer.status is None:
        return Verdict(
            action=Action.RETRY,
            error="transport",
            message=answer.failure or "",
            advice=ADVICE_NO_ANSWER,
        )
    status = answer.status
    error, message = _error_of(answer.body)
    success = 204 if api == "logs-ingestion" else 200
    if status == success:
        return Verdict(action=Action.DONE)
    wait = retry_after_seconds(answer.headers)
    if status in TRANSIENT_STATUSES or (status >= 400 and wait is not None):
        return Verdict(
            action=Action.RETRY,
            wait=wait,
            error=error or str(status),
            message=message,
            advice=ADVICE_BUSY,
        )
    if 200 <= status < 300:
        # A success code the API does not use: nothing proves the rows landed.
        return Verdict(
            action=Action.RETRY, error=str(status), message="unexpected success code"
        )
    return _permanent(status, error, message, api=api, body_bytes=body_bytes)


def _permanent(
    status: int, error: str, message: str, *, api: str, body_bytes: int
) -> Verdict:
    code = error or str(status)

    def verdict(action: Action, advice: str) -> Verdict:
        return Verdict(action=action, error=code, message=message, advice=advice)

    if status == 401:
        return verdict(Action.HOLD, ADVICE_LIA_401)
    if status == 403:
        return verdict(
            Action.HOLD, ADVICE_LIA_403 if api == "logs-ingestion" else ADVICE_DCA_403
        )
    if error in CONFIG_ERRORS:
        return verdict(Action.HOLD, CONFIG_ERRORS[error])
    if status == 413:
        return verdict(Action.SPLIT, ADVICE_TOO_LARGE)
    if status == 404:
        # The DCA answers 404 for an oversized post as for a wrong URL (spec §2.7).
        too_large = api == "data-collector" and body_bytes >= SMALL_BODY_BYTES
        return (
            verdict(Action.SPLIT, ADVICE_TOO_LARGE)
            if too_large
            else verdict(Action.HOLD, ADVICE_WRONG_URL)
        )
    if status >= 500:
        return Verdict(
            action=Action.RETRY, error=code, message=message, advice=ADVICE_BUSY
        )
    return verdict(Action.SPLIT, ADVICE_BAD_DATA)


def _error_of(body: bytes) -> tuple[str, str]:
    """Azure's error code and message: DCA ``{"Error","Message"}``, LIA
    ``{"error":{"code","message"}}``, Entra ``{"error","error_description"}``."""
    try:
        value = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return "", body[:300].decode("utf-8", errors="replace")
    if not isinstance(value, dict):
        return "", ""
    inner = value.get("error")
    if isinstance(inner, dict):
        return str(inner.get("code") or ""), str(inner.get("message") or "")
    if isinstance(inner, str):
        # OAuth2 token endpoint: {"error": "invalid_client", "error_description": ...}
        return inner, str(value.get("error_description") or "")
    return str(value.get("Error") or ""), str(value.get("Message") or "")


def retry_after_seconds(
    headers: Mapping[str, str], now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """The wait a server asked for: ``retry-after-ms``, ``x-ms-retry-after-ms``,
    or ``Retry-After`` in seconds or as an HTTP date. None if it asked for none."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        millis = _number(lowered.get(name))
        if millis is not None:
            return millis / 1000
    text = lowered.get("retry-after")
    if not text:
        return None
    seconds = _number(text)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def _number(text: str | None) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


class Backoff:
    """Capped exponential backoff with full jitter: uniform(0, min(cap, base*2**n))."""

    def __init__(
        self, base: float, cap: float, rng: random.Random | None = None
    ) -> None:
        self.base = base
        self.cap = cap
        self._random = rng or random.Random()

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 32))
        return self._random.uniform(0, ceiling)

    def wait(self, attempt: int, verdict: Verdict) -> float:
        """Retry-After when given (never less, never capped), else the backoff."""
        if verdict.wait is not None:
            return verdict.wait
        return self.delay(attempt)
