"""The agent's shipping pipeline, driven step by step on simulated time.

Records the monitors emit go through the agent's own intake (category filter,
checks), its durable spool, shipper and sink, exactly as ``secrmm-agent send``
sends them; only the waiting is simulated: a shipper that meets a retryable
answer stops at its first backoff and leaves the records spooled, to be sent
at the next step, as a real agent would after its wait.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import orjson

from agent.config import Settings, load_settings
from agent.intake import spool_lines
from agent.running import make_sink, sink_class
from agent.shipper import RunResult, Shipper
from agent.spool import Spool

__all__ = ["AgentPipeline"]


class AgentPipeline:
    """One agent's spool and shipper (secRMMCentral: many computers, one agent)."""

    def __init__(self, overrides: Mapping[str, Any]) -> None:
        self.settings: Settings = load_settings(
            None, {"linger": 0.0, **overrides}
        ).check()
        self.spool = Spool(self.settings.spool, fsync=self.settings.fsync)
        self._sink = make_sink(self.settings)
        self._kind = sink_class(self.settings)
        self._pending: list[dict[str, str | int]] = []
        self.emitted = 0
        self.delivered = 0
        self.requests = 0
        self.retries = 0

    def emit(self, record: dict[str, str | int]) -> None:
        """A monitor's ``emit``: kept until the next :meth:`flush`."""
        self._pending.append(record)
        self.emitted += 1

    def flush(self) -> None:
        """Spool what was emitted, durably."""
        if not self._pending:
            return
        lines = [orjson.dumps(record) for record in self._pending]
        self._pending.clear()
        spool_lines(
            self.spool,
            lines,
            field_limit=self._kind.field_limit,
            categories=self.settings.categories,
            numbers_as_text=self._kind.numbers_as_text,
        )

    def ship(self) -> RunResult:
        """Send what the spool holds; stop at the first wait a failure asks for."""
        self.flush()
        stop = threading.Event()

        def wait(_seconds: float) -> bool:
            stop.set()
            return True

        shipper = Shipper(self.spool, self._sink, self.settings, stop=stop, sleep=wait)
        result = shipper.run()
        self.delivered += result.delivered
        self.requests += result.requests
        self.retries += result.retries
        return result

    @property
    def depth(self) -> int:
        return self.spool.stats().depth

    def close(self) -> None:
        self._sink.close()
        self.spool.close()
