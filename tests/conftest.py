"""Fixtures shared by the workspace tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dca_client import SPEC_KEY, SPEC_WORKSPACE_ID, DataCollectorClient

from sim.workspace.keys import SharedKey
from sim.workspace.server import CollectorServer
from sim.workspace.workspace import Workspace, WorkspaceSettings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLE_ROWS = SHARED / "reference" / "secRMM_CL.sample.json"


@pytest.fixture
def sample_rows() -> list[dict[str, Any]]:
    if not SAMPLE_ROWS.exists():
        pytest.fail(
            f"the reference rows are missing: {SAMPLE_ROWS} (CI lays ../shared)"
        )
    rows: list[dict[str, Any]] = json.loads(SAMPLE_ROWS.read_text(encoding="utf-8"))
    return rows


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    settings = WorkspaceSettings(
        workspace_id=SPEC_WORKSPACE_ID, keys=[SharedKey(SPEC_KEY)]
    )
    ws = Workspace(settings)
    yield ws
    ws.store.close()


@pytest.fixture
def server(workspace: Workspace) -> Iterator[CollectorServer]:
    with CollectorServer(workspace) as running:
        yield running
        running.check()


@pytest.fixture
def client(server: CollectorServer) -> DataCollectorClient:
    return DataCollectorClient(server.url)
