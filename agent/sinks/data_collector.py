"""The HTTP Data Collector API (api-version 2016-04-01), signed with SharedKey.

The body is serialised once to UTF-8 bytes; its byte length is signed and
exactly those bytes are sent (spec azure-ingestion.md §2.3, §5.2). Content-Type
is exactly ``application/json``, and no optional header is ever sent empty.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

import requests

from ..config import ConfigError, Secret, Settings
from ..retry import Answer
from . import json_array

__all__ = [
    "DATA_COLLECTOR_PATH",
    "MAX_REQUEST_BYTES",
    "DataCollectorSink",
    "pooled_session",
    "send",
    "sign",
    "string_to_sign",
    "tls_verify",
    "untrusted_certificate",
]

logger = logging.getLogger(__name__)

DATA_COLLECTOR_API_VERSION = "2016-04-01"
#: The API's only path; also the last line of the string to sign.
DATA_COLLECTOR_PATH = "/api/logs"
#: Azure documents 30 MB; clients read it as anything from 29.99 MB to 30 MiB.
#: We stay at the lowest reading (spec §2.6).
MAX_REQUEST_BYTES = 30_000_000
#: Field values over 32 KB are truncated by Azure; we cut them first.
FIELD_LIMIT_BYTES = 32_768
#: The one media type Azure accepts; a charset parameter draws 403 (spec §2.2).
CONTENT_TYPE = "application/json"


def string_to_sign(content_length: int, date: str) -> str:
    """The SharedKey string to sign: LF-separated, no trailing newline (spec §2.3)."""
    return f"POST\n{content_length}\n{CONTENT_TYPE}\nx-ms-date:{date}\n{DATA_COLLECTOR_PATH}"


def sign(workspace_id: str, key: bytes, content_length: int, date: str) -> str:
    """The ``Authorization`` value for a body of ``content_length`` bytes."""
    digest = hmac.new(
        key, string_to_sign(content_length, date).encode("utf-8"), hashlib.sha256
    ).digest()
    return f"SharedKey {workspace_id}:{base64.b64encode(digest).decode('ascii')}"


def _decode_key(secret: Secret) -> bytes:
    try:
        key = base64.b64decode(secret.reveal(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "the shared key is not valid base64; copy the workspace's primary or "
            "secondary key exactly as the Azure portal shows it"
        ) from None
    if not key:
        raise ConfigError("the shared key is empty")
    return key


def _rfc1123_now() -> str:
    return email.utils.formatdate(usegmt=True)


class DataCollectorSink:
    """Posts batches to ``<endpoint>/api/logs`` over one pooled session."""

    api = "data-collector"
    max_request_bytes = MAX_REQUEST_BYTES
    field_limit = FIELD_LIMIT_BYTES
    numbers_as_text = False

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], str] = _rfc1123_now,
    ) -> None:
        self._settings = settings
        self._workspace_id = settings.workspace_id
        self._log_type = settings.log_type
        base = settings.endpoint or (
            f"https://{settings.workspace_id}.{settings.cloud_endpoints.dca_domain}"
        )
        self.url = (
            f"{base.rstrip('/')}{DATA_COLLECTOR_PATH}"
            f"?api-version={DATA_COLLECTOR_API_VERSION}"
        )
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._verify = tls_verify(settings)
        self._session = session or pooled_session(settings)
        self._clock = clock
        self._key = _decode_key(settings.shared_key())

    def reload(self) -> None:
        self._key = _decode_key(self._settings.shared_key())
        logger.info("re-read the shared key")

    def post(self, records: Sequence[bytes]) -> Answer:
        body = json_array(records)
        date = self._clock()
        request_id = str(uuid.uuid4())
        headers = {
            "Authorization": sign(self._workspace_id, self._key, len(body), date),
            "Content-Type": CONTENT_TYPE,
            "Log-Type": self._log_type,
            "x-ms-date": date,
            "x-ms-client-request-id": request_id,
        }
        return send(
            self._session,
            self.url,
            body,
            headers,
            timeout=self._timeout,
            verify=self._verify,
            request_id=request_id,
        )

    def close(self) -> None:
        self._session.close()


def pooled_session(settings: Settings) -> requests.Session:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=max(settings.concurrency, 1), max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def tls_verify(settings: Settings) -> bool | str:
    """``verify=`` for every request: the CA bundle if one is set.

    Passed per request because requests lets ``REQUESTS_CA_BUNDLE`` replace a
    session's own ``verify``, which would silently ignore ``ca_bundle``.
    """
    return settings.ca_bundle or True


def send(
    session: requests.Session,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: tuple[float, float],
    verify: bool | str,
    request_id: str,
) -> Answer:
    """POST and turn whatever happens into an :class:`Answer` (never raises on I/O)."""
    try:
        response = session.post(
            url, data=body, headers=headers, timeout=timeout, verify=verify
        )
    except requests.exceptions.SSLError as err:
        failed = _failed(f"TLS failed ({type(err).__name__})", request_id)
        return replace(failed, untrusted=untrusted_certificate(err))
    except requests.Timeout as err:
        return _failed(f"timed out ({type(err).__name__})", request_id)
    except requests.ConnectionError as err:
        return _failed(f"connection failed ({type(err).__name__})", request_id)
    except requests.RequestException as err:
        return _failed(f"request failed ({type(err).__name__})", request_id)
    logger.debug(
        "request %s: %d %s", request_id, response.status_code, response.content[:200]
    )
    return Answer(
        status=response.status_code,
        headers=dict(response.headers),
        body=response.content,
        request_id=response.headers.get("x-ms-request-id") or request_id,
    )


def untrusted_certificate(err: BaseException) -> bool:
    """Whether a TLS failure is a certificate this client does not trust.

    requests wraps OpenSSL's verdict several exceptions deep; its text is the
    one stable mark.
    """
    return "CERTIFICATE_VERIFY_FAILED" in str(err)


def _failed(reason: str, request_id: str) -> Answer:
    logger.debug("request %s: %s", request_id, reason)
    return Answer(status=None, headers={}, failure=reason, request_id=request_id)
