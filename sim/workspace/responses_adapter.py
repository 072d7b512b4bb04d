"""The workspace inside ``requests``, through the ``responses`` library: no socket.

Code that posts with ``requests`` is tested against the same checks and store
as over HTTP::

    with responses.RequestsMock() as mock:
        install(mock, workspace, "https://<id>.ods.opinsights.azure.com")
        ...  # requests.post(...) now reaches the workspace

Faults behave as on the wire: ``drop`` raises ``requests.ConnectionError`` and
``delay`` sleeps. A ``str`` body is encoded as ``http.client`` would encode it,
in Latin-1, so the classic character-count signing bug fails here as it does
against Azure.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import requests
import responses

from .wire import Delivery, IngestRequest
from .workspace import Workspace

__all__ = ["install"]


def install(mock: responses.RequestsMock, workspace: Workspace, base_url: str) -> None:
    """Route every request under ``base_url`` to ``workspace``."""
    pattern = re.compile(re.escape(base_url.rstrip("/")) + r"(/.*)?$")

    def callback(
        prepared: requests.PreparedRequest,
    ) -> tuple[int, dict[str, str], bytes]:
        outcome = workspace.handle(_ingest_request(prepared, workspace.now()))
        if outcome.delay_seconds:
            time.sleep(outcome.delay_seconds)
        if outcome.delivery is Delivery.DROP:
            raise requests.ConnectionError("connection dropped by an injected fault")
        return outcome.status, dict(outcome.headers), outcome.body

    for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        mock.add_callback(method, pattern, callback=callback)


def _ingest_request(prepared: requests.PreparedRequest, now: datetime) -> IngestRequest:
    url = urlsplit(prepared.url or "")
    body = prepared.body
    if isinstance(body, str):
        # What http.client does with a str body; raises for characters outside it.
        body = body.encode("iso-8859-1")
    return IngestRequest(
        method=prepared.method or "GET",
        path=url.path or "/",
        query=dict(parse_qsl(url.query, keep_blank_values=True)),
        headers={
            name.lower(): value if isinstance(value, str) else value.decode("latin-1")
            for name, value in prepared.headers.items()
        },
        body=body or b"",
        host=url.netloc,
        received_at=now,
        client="responses",
    )
