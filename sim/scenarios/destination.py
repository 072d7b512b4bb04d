"""Where a scenario's agent ships: the embedded mock workspace, or a given collector."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from sim.workspace.faults import parse_fault
from sim.workspace.keys import SharedKey, generate_key
from sim.workspace.server import CollectorServer
from sim.workspace.store import Store
from sim.workspace.workspace import Workspace, WorkspaceSettings

__all__ = ["Destination", "EmbeddedWorkspace", "Endpoint", "ExternalCollector"]

SCENARIO_WORKSPACE_ID = "5ce0a210-0000-4000-8000-00000000a11d"
#: A collector outage: every post answered 503, retry after a minute.
OUTAGE = "503:1,retry-after=60"


@dataclass
class Endpoint:
    """What a run talks to once the destination is open."""

    agent_settings: dict[str, Any]
    workspace: Workspace | None
    begin_outage: Callable[[], None]
    end_outage: Callable[[], None]

    def stored(self) -> int | None:
        return (
            None
            if self.workspace is None
            else self.workspace.store.row_count("secRMM_CL")
        )


class Destination(Protocol):
    def open(self, clock: Callable[[], datetime], folder: Path) -> Any: ...


class EmbeddedWorkspace:
    """A mock workspace on loopback, on the scenario's clock (``--db`` keeps it)."""

    def __init__(self, db: str | None = None) -> None:
        self.db = db

    @contextmanager
    def open(self, clock: Callable[[], datetime], folder: Path) -> Iterator[Endpoint]:
        key = generate_key()
        key_file = _key_file(folder, key)
        # The agent signs with the real clock, the workspace lives on the
        # scenario's: the skew check would compare the two, so it is off.
        settings = WorkspaceSettings(
            workspace_id=SCENARIO_WORKSPACE_ID, keys=[key], date_skew=None
        )
        store = Store(SCENARIO_WORKSPACE_ID, self.db)
        workspace = Workspace(settings, store=store, clock=clock)
        with CollectorServer(workspace) as server:
            yield Endpoint(
                agent_settings=_dca(server.url, SCENARIO_WORKSPACE_ID, key_file),
                workspace=workspace,
                begin_outage=lambda: workspace.faults.set([parse_fault(OUTAGE)]),
                end_outage=workspace.faults.clear,
            )
            server.check()
        store.close()


class ExternalCollector:
    """A collector someone else runs: our mock, or a real workspace."""

    def __init__(self, url: str, workspace_id: str, key_file: str) -> None:
        self.url = url.rstrip("/")
        self.workspace_id = workspace_id
        self.key_file = key_file

    @contextmanager
    def open(self, clock: Callable[[], datetime], folder: Path) -> Iterator[Endpoint]:
        yield Endpoint(
            agent_settings=_dca(self.url, self.workspace_id, Path(self.key_file)),
            workspace=None,
            begin_outage=lambda: self._faults([OUTAGE]),
            end_outage=lambda: self._faults([]),
        )

    def _faults(self, specs: list[str]) -> None:
        try:
            answer = requests.put(
                f"{self.url}/_mock/faults", json={"faults": specs}, timeout=10
            )
            answer.raise_for_status()
        except requests.RequestException as err:
            raise RuntimeError(
                f"an outage step needs a secrmm-sim collector at {self.url} "
                f"(PUT /_mock/faults failed: {err})"
            ) from None


def _key_file(folder: Path, key: SharedKey) -> Path:
    path = folder / "workspace.key"
    path.write_text(key.encoded())
    os.chmod(path, 0o600)
    return path


def _dca(url: str, workspace_id: str, key_file: Path) -> dict[str, Any]:
    return {
        "api": "data-collector",
        "endpoint": url,
        "workspace_id": workspace_id,
        "shared_key_file": str(key_file),
    }
