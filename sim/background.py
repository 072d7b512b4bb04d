"""An aiohttp application served from a thread of its own: for tests, demos, scenarios."""

from __future__ import annotations

import asyncio
import ssl
import threading
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["BackgroundServer", "listen"]


async def listen(
    app: web.Application, host: str, port: int, tls: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    """Start serving ``app``; return its runner and the port it is bound to."""
    # Bodies reach handlers exactly as sent: the Logs Ingestion API's 1 MB
    # limit is on the compressed size, and its door decompresses itself.
    runner = web.AppRunner(app, access_log=None, auto_decompress=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=tls).start()
    for address in runner.addresses:
        return runner, int(address[1])
    await runner.cleanup()
    raise OSError(f"nothing is listening on {host}:{port}")


class BackgroundServer:
    """Use as a context manager; ``url`` is the base URL once started."""

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.tls = tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            listen(self.app, self.host, self.port, self.tls), self._loop
        )
        self._runner, self.port = future.result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            cleanup = asyncio.run_coroutine_threadsafe(
                self._runner.cleanup(), self._loop
            )
            cleanup.result(timeout=30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
