"""The workspace over real HTTP (aiohttp), with optional TLS.

Handlers only translate: an aiohttp request becomes an :class:`IngestRequest`,
the workspace answers, the :class:`Outcome` becomes a response (or a dropped
connection). Besides the ingestion endpoint the server has:

- ``POST /v1/workspaces/{id}/query`` with ``{"query": "<KQL>"}``: the Log
  Analytics query API's request and answer shape, unauthenticated (loopback).
- ``GET`` / ``PUT /_mock/faults``: the faults in force, changeable while running.

An exception inside a handler answers 500 and is kept; :meth:`check` raises it
in the test that caused it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from aiohttp import web

from ..background import BackgroundServer, listen
from .faults import FaultSpecError, parse_fault
from .kql import KqlQueryError
from .wire import MAX_POST_BYTES, Delivery, IngestRequest, Outcome
from .workspace import Workspace

__all__ = ["CollectorServer", "ServerError", "serve_forever", "tls_context"]

logger = logging.getLogger(__name__)

#: Bodies up to this size are read whole, so an oversized post still gets
#: Azure's 404 and is kept in the request log.
_READ_LIMIT = 4 * MAX_POST_BYTES
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServerError(RuntimeError):
    """A handler failed inside the server; raised by :meth:`CollectorServer.check`."""


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context allowing TLS 1.2 and newer, as Azure does since 2026."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class _Application:
    """The aiohttp application around one workspace."""

    def __init__(self, workspace: Workspace, executor: ThreadPoolExecutor) -> None:
        self.workspace = workspace
        self.executor = executor
        self.errors: list[BaseException] = []
        self.app = web.Application(
            client_max_size=_READ_LIMIT, middlewares=[self._keep_errors]
        )
        self.app.router.add_post("/v1/workspaces/{workspace}/query", self._query)
        self.app.router.add_get("/_mock/faults", self._get_faults)
        self.app.router.add_put("/_mock/faults", self._put_faults)
        self.app.router.add_route("*", "/{tail:.*}", self._ingest)

    @web.middleware
    async def _keep_errors(
        self, request: web.Request, handler: _Handler
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as err:
            self.errors.append(err)
            logger.exception("handler failed for %s %s", request.method, request.path)
            return web.json_response(
                {
                    "Error": "InternalError",
                    "Message": f"mock workspace failure: {err!r}",
                },
                status=500,
            )

    async def _ingest(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        ingest = IngestRequest(
            method=request.method,
            path=request.path,
            query={key: request.query[key] for key in request.query},
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            host=request.host,
            received_at=self.workspace.now(),
            client=request.remote or "",
        )
        loop = asyncio.get_running_loop()
        outcome: Outcome = await loop.run_in_executor(
            self.executor, self.workspace.handle, ingest
        )
        if outcome.delay_seconds:
            await asyncio.sleep(outcome.delay_seconds)
        if outcome.delivery is Delivery.DROP:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        return web.Response(
            status=outcome.status, body=outcome.body, headers=outcome.headers
        )

    async def _query(self, request: web.Request) -> web.StreamResponse:
        if (
            request.match_info["workspace"].lower()
            != self.workspace.workspace_id.lower()
        ):
            return _query_error(404, "WorkspaceNotFoundError", "no such workspace here")
        try:
            payload = await request.json(loads=orjson.loads)
            text = payload["query"]
        except (ValueError, KeyError, TypeError):
            return _query_error(400, "BadArgumentError", 'send {"query": "<KQL>"}')
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self.executor, self.workspace.query, text
            )
        except KqlQueryError as err:
            return _query_error(400, err.code, err.message)
        table = {
            "name": "PrimaryResult",
            "columns": [{"name": name, "type": kind} for name, kind in result.columns],
            "rows": [list(row.values()) for row in result.as_objects()],
        }
        return web.json_response(
            {"tables": [table]}, dumps=lambda v: orjson.dumps(v).decode()
        )

    async def _get_faults(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"faults": [f.spec() for f in self.workspace.faults.faults]}
        )

    async def _put_faults(self, request: web.Request) -> web.StreamResponse:
        try:
            payload = await request.json(loads=orjson.loads)
            faults = [parse_fault(spec) for spec in payload.get("faults", [])]
            seed = payload.get("seed")
        except (ValueError, AttributeError, TypeError) as err:
            message = (
                str(err)
                if isinstance(err, FaultSpecError)
                else 'send {"faults": [...]}'
            )
            return web.json_response({"error": message}, status=400)
        self.workspace.faults.set(faults, seed=seed)
        return web.json_response({"faults": [f.spec() for f in faults]})


def _query_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status
    )


class CollectorServer(BackgroundServer):
    """A workspace served over HTTP from a background thread (tests, demos).

    Use as a context manager; ``url`` is the base URL once started, and
    :meth:`check` raises any error a handler met.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        workers: int = 4,
    ) -> None:
        self.workspace = workspace
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="collector"
        )
        self._application = _Application(workspace, self._executor)
        super().__init__(self._application.app, host=host, port=port, tls=tls)

    @property
    def errors(self) -> list[BaseException]:
        return self._application.errors

    def stop(self) -> None:
        super().stop()
        self._executor.shutdown(wait=True)

    def check(self) -> None:
        """Raise the first error a handler met, so the test that caused it fails."""
        if self.errors:
            raise ServerError(
                f"{len(self.errors)} handler error(s) in the server"
            ) from (self.errors[0])


def serve_forever(
    workspace: Workspace,
    *,
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    on_listening: Callable[[str], Any],
) -> None:
    """Serve in this thread until SIGINT or SIGTERM (the command line's way)."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        with ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="collector"
        ) as executor:
            application = _Application(workspace, executor)
            runner, bound = await listen(application.app, host, port, tls)
            scheme = "https" if tls else "http"
            shown = f"[{host}]" if ":" in host else host
            on_listening(f"{scheme}://{shown}:{bound}")
            await stopping.wait()
            await runner.cleanup()

    asyncio.run(main())
