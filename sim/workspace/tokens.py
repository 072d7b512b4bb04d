"""A Microsoft Entra ID stand-in: client-credentials tokens for the Logs Ingestion API.

``POST /<tenant>/oauth2/v2.0/token`` answers as Entra ID does: a bearer token
with ``expires_in``, or Entra's error body (``error``, ``error_description``
starting with the AADSTS code, ``error_codes``, trace and correlation ids).

Tokens are JWT-shaped and signed (HS256) with a secret of this process, so the
ingestion door can tell an expired, foreign or wrong-audience token from a good
one without a token table. Clients must treat them as opaque, as with Entra.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

from .door import DoorAnswer
from .keys import ClientSecret
from .requestlog import Verdict
from .wire import IngestRequest

__all__ = ["TOKEN_PATH", "Claims", "TokenDoor", "TokenIssuer"]

TOKEN_PATH = re.compile(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
#: Entra's default access-token lifetime as ``expires_in`` reports it.
DEFAULT_LIFETIME = timedelta(seconds=3599)


@dataclass(frozen=True)
class Claims:
    tenant: str
    audience: str
    client_id: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and checks this workspace's access tokens."""

    def __init__(
        self,
        tenant_id: str,
        clients: Mapping[str, ClientSecret],
        *,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Callable[[], datetime],
    ) -> None:
        self.tenant_id = str(uuid.UUID(tenant_id))
        self.clients = dict(clients)
        self.lifetime = lifetime
        self._clock = clock
        self._signing_key = os.urandom(32)

    def issue(self, client_id: str, audience: str) -> tuple[str, int]:
        now = self._clock()
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            "appid": client_id,
            "tid": self.tenant_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
        }
        header = _b64(orjson.dumps({"typ": "JWT", "alg": "HS256"}))
        payload = _b64(orjson.dumps(claims))
        signature = _b64(self._sign(f"{header}.{payload}"))
        return f"{header}.{payload}.{signature}", int(self.lifetime.total_seconds())

    def check(self, token: str) -> Claims | str:
        """The token's claims, or why it is refused."""
        parts = token.split(".")
        if len(parts) != 3:
            return "the bearer token is not a token this tenant issued"
        expected = _b64(self._sign(f"{parts[0]}.{parts[1]}"))
        if not hmac.compare_digest(expected, parts[2]):
            return "the bearer token was not issued by this workspace's tenant (foreign token)"
        claims = orjson.loads(_unb64(parts[1]))
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        if self._clock() >= expires:
            return f"the bearer token expired at {expires:%Y-%m-%dT%H:%M:%SZ}; get a new one"
        return Claims(
            tenant=claims["tid"],
            audience=claims["aud"],
            client_id=claims["appid"],
            expires=expires,
        )

    def _sign(self, text: str) -> bytes:
        return hmac.new(
            self._signing_key, text.encode("ascii"), hashlib.sha256
        ).digest()


class TokenDoor:
    """``POST /<tenant>/oauth2/v2.0/token`` with the client-credentials grant."""

    api = "Token"
    faultable = False

    def __init__(self, issuer: TokenIssuer, clock: Callable[[], datetime]) -> None:
        self.issuer = issuer
        self._clock = clock

    def matches(self, request: IngestRequest) -> bool:
        return (
            request.method == "POST" and TOKEN_PATH.fullmatch(request.path) is not None
        )

    def fault_answer(self, status: int) -> tuple[bytes, Mapping[str, str]]:
        return b"", {}

    def handle(self, request: IngestRequest, *, lose: bool) -> DoorAnswer:
        match = TOKEN_PATH.fullmatch(request.path)
        assert match is not None
        form = dict(
            parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        logged = urlencode(
            {k: "*****" if k == "client_secret" else v for k, v in form.items()}
        )
        answer = self._decide(match["tenant"], form)
        answer.logged_body = logged.encode()
        return answer

    def _decide(self, tenant: str, form: Mapping[str, str]) -> DoorAnswer:
        tenant_ok = _same_guid(tenant, self.issuer.tenant_id)
        client_id = form.get("client_id", "")
        scope = form.get("scope", "")
        if not tenant_ok:
            return self._error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check the tenant id.",
            )
        if form.get("grant_type") != "client_credentials":
            return self._error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type; use client_credentials.",
            )
        secret = self.issuer.clients.get(client_id)
        if secret is None:
            return self._error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.issuer.tenant_id}'.",
            )
        if not secret.matches(form.get("client_secret", "")):
            return self._error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for app '{client_id}'.",
            )
        if not scope.endswith("/.default") or " " in scope.strip():
            return self._error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope!r} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier.",
            )
        token, lifetime = self.issuer.issue(client_id, scope.removesuffix("/.default"))
        body = {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
        return DoorAnswer(
            status=200,
            verdict=Verdict.ACCEPTED,
            body=orjson.dumps(body),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Cache-Control": "no-store",
            },
        )

    def _error(self, status: int, error: str, code: int, text: str) -> DoorAnswer:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = self._clock().strftime("%Y-%m-%d %H:%M:%SZ")
        body: dict[str, Any] = {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        }
        return DoorAnswer(
            status=status,
            verdict=Verdict.REJECTED,
            body=orjson.dumps(body),
            headers={"Content-Type": "application/json; charset=utf-8"},
            reasons=[f"AADSTS{code}: {text}"],
            error=error,
        )


def _same_guid(text: str, guid: str) -> bool:
    try:
        return str(uuid.UUID(text)) == guid
    except ValueError:
        return False
