"""Fixtures for the agent's tests: a mock workspace, its key, and settings."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.config import Settings, load_settings
from sim.workspace.faults import FaultPlan, parse_fault
from sim.workspace.keys import SharedKey
from sim.workspace.workspace import Workspace, WorkspaceSettings

WORKSPACE_ID = "11111111-2222-3333-4444-555555555555"


def write_secret(path: Path, text: str) -> Path:
    path.write_text(text, encoding="ascii")
    path.chmod(0o600)
    return path


@pytest.fixture
def shared_key() -> str:
    return base64.b64encode(os.urandom(64)).decode("ascii")


@pytest.fixture
def key_file(tmp_path: Path, shared_key: str) -> Path:
    return write_secret(tmp_path / "shared.key", shared_key)


@pytest.fixture
def make_workspace(shared_key: str) -> Callable[..., Workspace]:
    def make(*faults: str, seed: int = 0) -> Workspace:
        return Workspace(
            WorkspaceSettings(workspace_id=WORKSPACE_ID, keys=[SharedKey(shared_key)]),
            faults=FaultPlan([parse_fault(spec) for spec in faults], seed=seed),
        )

    return make


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace()


@pytest.fixture
def make_settings(tmp_path: Path, key_file: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "workspace_id": WORKSPACE_ID,
            "shared_key_file": str(key_file),
            "endpoint": "https://mock.invalid",
            "spool": str(tmp_path / "spool.db"),
            "backoff_base": 0.001,
            "backoff_cap": 0.01,
            "hold_seconds": 0.001,
            "linger": 0.0,
        }
        values.update(overrides)
        return load_settings(None, values)

    return make


def stored_messages(workspace: Workspace) -> list[str]:
    """Every stored row's Message, duplicates included."""
    if "secRMM_CL" not in workspace.store.tables():
        return []
    result = workspace.query("secRMM_CL | project Message")
    return [row[0] for row in result.rows]
