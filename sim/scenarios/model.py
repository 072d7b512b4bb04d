"""A scenario as data: what a YAML file says, checked and typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["ACTIONS", "DeviceDecl", "FleetDecl", "HostDecl", "Scenario", "Step"]

#: Every timeline action and the arguments it takes (required, optional).
ACTIONS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "log_on": (frozenset({"user"}), frozenset()),
    "log_off": (frozenset({"user"}), frozenset()),
    "plug": (frozenset({"device"}), frozenset()),
    "unplug": (frozenset({"device"}), frozenset()),
    "unlock": (frozenset({"device"}), frozenset()),
    "change_media": (frozenset({"device"}), frozenset()),
    "copy": (
        frozenset({"user", "drive", "file"}),
        frozenset({"size", "program", "modified"}),
    ),
    "run": (frozenset({"user", "path"}), frozenset()),
    "open": (frozenset({"user", "path"}), frozenset({"program"})),
    "defender": (frozenset({"drive", "threat", "path"}), frozenset({"action"})),
    "pass_through": (frozenset({"device", "to"}), frozenset({"hypervisor"})),
    "set": (frozenset({"user", "property"}), frozenset({"value", "program"})),
    "test_connection": (frozenset({"user"}), frozenset()),
    "outage": (frozenset({"minutes"}), frozenset()),
    "wait": (frozenset(), frozenset()),
}


@dataclass(frozen=True, kw_only=True)
class HostDecl:
    name: str
    domain: str
    users: tuple[str, ...]
    guests: tuple[str, ...] = ()
    policy: Mapping[str, str] = field(default_factory=dict)
    virtual: bool = False
    line: int = 0

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain}"


@dataclass(frozen=True, kw_only=True)
class FleetDecl:
    computers: int
    users: int
    domain: str
    policy: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DeviceDecl:
    name: str
    catalogue: str
    serial: str | None = None
    #: Intune's view of a phone: None when not enrolled.
    mdm_user: str | None = None
    #: Carries the EICAR test file (tools/eicar.com) for Defender to find.
    infected: bool = False
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class Step:
    action: str
    arguments: Mapping[str, Any]
    host: str | None
    at: datetime | None
    after: timedelta | None
    line: int


@dataclass(frozen=True, kw_only=True)
class Scenario:
    name: str
    path: str
    seed: int
    start: datetime
    step_gap: timedelta
    hosts: tuple[HostDecl, ...]
    fleet: FleetDecl | None
    devices: Mapping[str, DeviceDecl]
    timeline: tuple[Step, ...]
    #: Rows each vendor query returns.
    expect: Mapping[str, int] = field(default_factory=dict)
    #: Rows, by the columns listed, each vendor query returns (any order).
    expect_rows: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
