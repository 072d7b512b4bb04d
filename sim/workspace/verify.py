"""Header and signature checks of the HTTP Data Collector API, in Azure's order.

Each check returns the :class:`Rejection` Azure would answer, or None. The
workspace runs them all and answers with the first failure, while its request
log keeps every reason (spec ``azure-ingestion.md`` §2.2-2.3, §2.7).

The signer in ``agent`` and this verifier are written independently on purpose:
each is tested against the spec's worked example, so a mistake in one cannot
hide behind the same mistake in the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .keys import SharedKey
from .wire import (
    DATA_COLLECTOR_API_VERSION,
    DATA_COLLECTOR_PATH,
    IngestRequest,
    Rejection,
)

__all__ = [
    "INVALID_SIGNATURE_MESSAGE",
    "HeaderVerdict",
    "VerifierSettings",
    "parse_rfc1123",
    "sign",
    "verify_headers",
]

#: Azure's confirmed message for every 403 (azure-docs #75777, #55583, #9539).
INVALID_SIGNATURE_MESSAGE = (
    "An invalid signature was specified in the Authorization header"
)

_LOG_TYPE = re.compile(r"[A-Za-z0-9_]{1,100}")
_MAX_LOG_TYPE = 100
_GUID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
_AUTHORIZATION = re.compile(r"SharedKey (?P<id>[^:\s]+):(?P<signature>\S+)")
_IMF_FIXDATE = re.compile(
    r"(?P<wkday>Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<day>\d{2}) (?P<month>[A-Z][a-z]{2}) "
    r"(?P<year>\d{4}) (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2}) GMT"
)
_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True, kw_only=True)
class VerifierSettings:
    """What the checks compare against.

    ``date_skew`` is how far ``x-ms-date`` may be from the receipt time; Azure's
    tolerance is undocumented, so ±15 minutes is a mock choice (spec §2.3).
    None switches the check off, as the spec's worked example needs.
    """

    workspace_id: str
    keys: Sequence[SharedKey]
    active: bool = True
    date_skew: timedelta | None = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True)
class HeaderVerdict:
    rejections: list[Rejection]
    log_type: str | None


def sign(secret: bytes, content_length: int, date: str) -> str:
    """The SharedKey signature of a post of ``content_length`` bytes dated ``date``."""
    string_to_sign = "\n".join(
        (
            "POST",
            str(content_length),
            _JSON_MEDIA_TYPE,
            f"x-ms-date:{date}",
            DATA_COLLECTOR_PATH,
        )
    )
    digest = hmac.new(secret, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def parse_rfc1123(value: str) -> datetime | None:
    """Parse an RFC 1123 date (``Mon, 04 Apr 2016 08:00:00 GMT``) strictly.

    The weekday must match the date, as .NET's parser insists. Anything else,
    including other time zones, gives None.
    """
    match = _IMF_FIXDATE.fullmatch(value)
    if match is None or match["month"] not in _MONTHS:
        return None
    try:
        moment = datetime(
            int(match["year"]),
            _MONTHS.index(match["month"]) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if _WEEKDAYS[moment.weekday()] != match["wkday"]:
        return None
    return moment


def verify_headers(request: IngestRequest, settings: VerifierSettings) -> HeaderVerdict:
    """Run every header check of a Data Collector post, in Azure's order."""
    log_type, log_type_rejection = _check_log_type(request)
    checks = (
        _check_api_version(request),
        _check_content_type(request),
        log_type_rejection,
        _check_workspace(request, settings),
        _check_date(request, settings),
        _check_signature(request, settings),
    )
    return HeaderVerdict(
        rejections=[rejection for rejection in checks if rejection is not None],
        log_type=log_type,
    )


def _forbidden(reason: str) -> Rejection:
    return Rejection(
        status=403,
        error="InvalidAuthorization",
        message=INVALID_SIGNATURE_MESSAGE,
        reason=reason,
    )


def _bad_request(error: str, reason: str) -> Rejection:
    return Rejection(status=400, error=error, reason=reason)


def _check_api_version(request: IngestRequest) -> Rejection | None:
    version = request.query.get("api-version")
    if version is None:
        return _bad_request(
            "MissingApiVersion",
            f"no api-version query parameter; post to "
            f"{DATA_COLLECTOR_PATH}?api-version={DATA_COLLECTOR_API_VERSION}",
        )
    if version != DATA_COLLECTOR_API_VERSION:
        return _bad_request(
            "InvalidApiVersion",
            f"api-version {version!r} is not served; the only version is "
            f"{DATA_COLLECTOR_API_VERSION}",
        )
    return None


def _check_content_type(request: IngestRequest) -> Rejection | None:
    content_type = request.header("content-type")
    if not content_type:
        return _bad_request(
            "MissingContentType",
            "no Content-Type header; send exactly application/json",
        )
    if content_type == _JSON_MEDIA_TYPE:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == _JSON_MEDIA_TYPE:
        # Observed, not documented: Azure answers 403 when the media type carries
        # parameters (azure-docs #99221, #114105), because it signs the literal.
        return _forbidden(
            f"Content-Type is {content_type!r}; Azure accepts exactly application/json "
            "and answers 403 to anything added, such as a charset"
        )
    return _bad_request(
        "UnsupportedContentType",
        f"Content-Type {content_type!r} is not supported; send exactly application/json",
    )


def _check_log_type(request: IngestRequest) -> tuple[str | None, Rejection | None]:
    log_type = request.header("log-type")
    if not log_type:
        return None, _bad_request(
            "MissingLogType", "no Log-Type header; name the record type, e.g. secRMM"
        )
    if _LOG_TYPE.fullmatch(log_type) is None:
        return None, _bad_request(
            "InvalidLogType",
            f"Log-Type {log_type[:120]!r} must be 1 to {_MAX_LOG_TYPE} letters, "
            "digits or underscores",
        )
    return log_type, None


def _parse_authorization(request: IngestRequest) -> tuple[str, str] | None:
    match = _AUTHORIZATION.fullmatch((request.header("authorization") or "").strip())
    if match is None:
        return None
    return match["id"], match["signature"]


def _normal_guid(text: str) -> str | None:
    if _GUID.fullmatch(text) is None:
        return None
    return str(uuid.UUID(text))


def _check_workspace(
    request: IngestRequest, settings: VerifierSettings
) -> Rejection | None:
    ours = str(uuid.UUID(settings.workspace_id))
    host_id = _normal_guid(request.host.split(".", 1)[0].split(":", 1)[0])
    authorization = _parse_authorization(request)
    header_id = None
    if authorization is not None:
        header_id = _normal_guid(authorization[0])
        if header_id is None:
            return _bad_request(
                "InvalidCustomerId",
                f"workspace id {authorization[0][:60]!r} in the Authorization header is "
                "not a GUID; use the workspace id from the Azure portal",
            )
    if host_id is not None and host_id != ours:
        return _bad_request(
            "InvalidCustomerId",
            f"this endpoint serves workspace {ours}, not {host_id}; check the host name",
        )
    if header_id is not None and host_id is not None and header_id != host_id:
        return _forbidden(
            f"the Authorization header names workspace {header_id} but the host is "
            f"workspace {host_id}; use one workspace id for both"
        )
    if header_id is not None and header_id != ours:
        return _forbidden(
            f"the Authorization header names workspace {header_id}, this is workspace "
            f"{ours}; check the workspace id"
        )
    if not settings.active:
        return _bad_request(
            "InactiveCustomer", "the workspace is closed; reopen it or send elsewhere"
        )
    return None


def _check_date(request: IngestRequest, settings: VerifierSettings) -> Rejection | None:
    value = request.header("x-ms-date")
    if not value:
        return _forbidden("no x-ms-date header; send the RFC 1123 date that was signed")
    sent = parse_rfc1123(value)
    if sent is None:
        return _forbidden(
            f"x-ms-date {value[:60]!r} is not an RFC 1123 date such as "
            "'Mon, 04 Apr 2016 08:00:00 GMT'"
        )
    if settings.date_skew is not None:
        skew = abs(request.received_at - sent)
        if skew > settings.date_skew:
            return _forbidden(
                f"x-ms-date is {skew.total_seconds():.0f} s from the workspace's clock "
                f"(allowed {settings.date_skew.total_seconds():.0f} s); set the "
                "sender's clock right"
            )
    return None


def _check_signature(
    request: IngestRequest, settings: VerifierSettings
) -> Rejection | None:
    authorization = _parse_authorization(request)
    if authorization is None:
        return _forbidden(
            "the Authorization header is missing or not 'SharedKey <workspace id>:<signature>'"
        )
    # Ruby's Base64.encode64 leaves a newline on the signature (spec §2.3).
    offered = authorization[1].strip()
    date = request.header("x-ms-date") or ""
    for key in settings.keys:
        expected = sign(key.secret, len(request.body), date)
        if hmac.compare_digest(
            expected.encode("ascii"), offered.encode("ascii", "replace")
        ):
            return None
    return _forbidden(
        f"the signature matches neither workspace key for a body of {len(request.body)} "
        "bytes; sign the UTF-8 byte length with the current primary or secondary key"
    )
