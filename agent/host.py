"""What the agent needs from the Windows computer it runs on, and what it is told.

The agent never imports the simulator. A simulated host implements
:class:`HostView` and calls the :class:`~agent.monitor.Monitor` when a user
acts; a real Windows integration would do the same from WMI and a minifilter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "Account",
    "DefenderFinding",
    "DocumentOpen",
    "FileWrite",
    "HostView",
    "Mount",
    "ProgramStart",
]


@dataclass(frozen=True, kw_only=True)
class Account:
    """A Windows account: ``CONTOSO\\alice`` and its SID."""

    name: str
    sid: str


@dataclass(frozen=True, kw_only=True)
class Mount:
    """How Windows presents a removable device it has mounted.

    ``drive`` is ``E:`` for a volume, or the storage name and a colon for a
    phone (``Internal shared storage:``). ``volume`` is the NT device name
    (``\\Device\\HarddiskVolume6`` or ``\\Device\\000000ad``); ``instance_id``
    is the PnP instance id of a disk or the device-interface path of a phone.
    """

    drive: str
    volume: str
    instance_id: str


@dataclass(frozen=True, kw_only=True)
class FileWrite:
    """A program is about to write a file to a removable drive."""

    account: Account
    drive: str
    target: str
    source: str
    size: int
    last_write: datetime
    program: str
    pid: int
    operation: str = "COPY"


@dataclass(frozen=True, kw_only=True)
class ProgramStart:
    """A program on a removable drive is about to start."""

    account: Account
    drive: str
    path: str
    pid: int


@dataclass(frozen=True, kw_only=True)
class DocumentOpen:
    """An Office document with macros on a removable drive is being opened."""

    account: Account
    drive: str
    path: str
    program: str
    pid: int


@dataclass(frozen=True, kw_only=True)
class DefenderFinding:
    """What Microsoft Defender reports about one file on a removable drive."""

    threat: str
    path: str
    action: str = "quarantined"


class HostView(Protocol):
    """The agent's questions to its host."""

    @property
    def computer(self) -> str:
        """The fully qualified name, as ``Computer`` shows it."""
        ...

    @property
    def in_virtual_machine(self) -> bool: ...

    def now(self) -> datetime:
        """The host's clock (the time secRMM stamps an event with)."""
        ...

    def logged_on(self) -> Sequence[Account]:
        """Interactive users, console first."""
        ...

    def mount_of(self, serial: str) -> Mount | None:
        """Where the removable device with USB serial ``serial`` is mounted."""
        ...

    def defender_scan(self, drive: str) -> Sequence[DefenderFinding]:
        """Have Microsoft Defender scan ``drive`` now (secRMM's ScanDevice)."""
        ...
