"""The Logs Ingestion API (api-version 2023-01-01): OAuth2 bearer token, gzip, DCR.

A token comes from the client-credentials grant of Microsoft Entra ID (or the
mock's token endpoint), is cached, and is renewed well before it expires
(spec azure-ingestion.md §3).
"""

from __future__ import annotations

import gzip
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import requests

from ..config import Secret, Settings
from ..retry import Answer
from . import json_array
from .data_collector import (
    pooled_session,
    send,
    tls_verify,
    untrusted_certificate,
)

__all__ = ["MAX_REQUEST_BYTES", "LogsIngestionSink", "TokenError", "TokenSource"]

logger = logging.getLogger(__name__)

LOGS_INGESTION_API_VERSION = "2023-01-01"
#: Azure's limit is 1 MB per call "compressed or not"; we count the
#: uncompressed array, separators included, so any reading holds (spec §3.3).
MAX_REQUEST_BYTES = 1_000_000
#: Field values over 64 KB are truncated by Azure; we cut them first.
FIELD_LIMIT_BYTES = 65_536
#: Renew a token this long before it expires, or at half its life if shorter.
TOKEN_EARLY_SECONDS = 300.0
#: Speed over size: the limit is counted before compression anyway.
GZIP_LEVEL = 1


class TokenError(RuntimeError):
    """The token endpoint refused or did not answer; carries its answer."""

    def __init__(self, message: str, answer: Answer) -> None:
        super().__init__(message)
        self.answer = answer


@dataclass(frozen=True)
class _Token:
    value: Secret
    renew_at: float


class TokenSource:
    """Client-credentials tokens, cached until shortly before they expire."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        authority = settings.authority or settings.cloud_endpoints.authority
        self.url = (
            f"{authority.rstrip('/')}/{quote(settings.tenant_id)}/oauth2/v2.0/token"
        )
        self._scope = settings.cloud_endpoints.scope
        self._session = session
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._secret = settings.client_secret()

    def reload(self) -> None:
        with self._lock:
            self._secret = self._settings.client_secret()
            self._token = None

    def token(self) -> Secret:
        with self._lock:
            if self._token is None or self._clock() >= self._token.renew_at:
                self._token = self._fetch()
            return self._token.value

    def _fetch(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._settings.client_id,
            "client_secret": self._secret.reveal(),
            "scope": self._scope,
        }
        started = self._clock()
        try:
            response = self._session.post(
                self.url,
                data=form,
                timeout=(self._settings.connect_timeout, self._settings.read_timeout),
                verify=tls_verify(self._settings),
            )
        except requests.RequestException as err:
            answer = Answer(
                status=None,
                headers={},
                failure=type(err).__name__,
                untrusted=untrusted_certificate(err),
            )
            raise TokenError("the token endpoint did not answer", answer) from None
        answer = Answer(
            status=response.status_code,
            headers=dict(response.headers),
            body=response.content,
        )
        try:
            payload = response.json()
            value = str(payload["access_token"])
            lifetime = float(payload["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise TokenError(
                f"the token endpoint answered {response.status_code} without a token",
                answer,
            ) from None
        early = min(TOKEN_EARLY_SECONDS, lifetime / 2)
        logger.info("got a token valid for %.0f s", lifetime)
        return _Token(Secret(value), started + lifetime - early)


class LogsIngestionSink:
    """Posts gzip-compressed batches to a data collection rule's stream."""

    api = "logs-ingestion"
    max_request_bytes = MAX_REQUEST_BYTES
    field_limit = FIELD_LIMIT_BYTES
    numbers_as_text = True

    def __init__(
        self,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        tokens: TokenSource | None = None,
    ) -> None:
        self._session = session or pooled_session(settings)
        self._tokens = tokens or TokenSource(settings, self._session)
        self.url = (
            f"{settings.endpoint.rstrip('/')}/dataCollectionRules/"
            f"{quote(settings.dcr_id, safe='')}/streams/"
            f"{quote(settings.resolved_stream, safe='')}"
            f"?api-version={LOGS_INGESTION_API_VERSION}"
        )
        self._timeout = (settings.connect_timeout, settings.read_timeout)
        self._verify = tls_verify(settings)

    def reload(self) -> None:
        self._tokens.reload()
        logger.info("re-read the client secret and dropped the cached token")

    def post(self, records: Sequence[bytes]) -> Answer:
        request_id = str(uuid.uuid4())
        try:
            token = self._tokens.token()
        except TokenError as err:
            logger.warning("token request failed: %s", err)
            return _token_answer(err.answer, request_id)
        body = gzip.compress(json_array(records), compresslevel=GZIP_LEVEL)
        headers = {
            "Authorization": f"Bearer {token.reveal()}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
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


def _token_answer(answer: Answer, request_id: str) -> Answer:
    """A token failure as an ingestion answer: refusals become 401 (hold)."""
    if answer.status is None or answer.status >= 500 or answer.status == 429:
        return Answer(
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            failure=answer.failure,
            untrusted=answer.untrusted,
            request_id=request_id,
        )
    return Answer(status=401, headers={}, body=answer.body, request_id=request_id)
