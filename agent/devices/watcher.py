"""Device arrival and removal, found by scanning pyusb: any backend will do."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import usb.core

from .classify import classify
from .model import RemovableDevice

__all__ = ["Changes", "DeviceWatcher"]

logger = logging.getLogger(__name__)


@dataclass
class Changes:
    arrived: list[RemovableDevice] = field(default_factory=list)
    removed: list[RemovableDevice] = field(default_factory=list)


class DeviceWatcher:
    """Compares what pyusb enumerates now with what it enumerated last time."""

    def __init__(self, backend: Any = None) -> None:
        self.backend = backend
        self._known: dict[tuple[int, int], RemovableDevice | None] = {}

    def scan(self) -> Changes:
        changes = Changes()
        present = {
            (int(device.bus or 0), int(device.address or 0)): device
            for device in usb.core.find(find_all=True, backend=self.backend)
        }
        for key in list(self._known):
            if key not in present:
                gone = self._known.pop(key)
                if gone is not None:
                    changes.removed.append(gone)
        for key, device in present.items():
            if key in self._known:
                continue
            found = classify(device)
            self._known[key] = found
            if found is not None:
                logger.info("removable device %s arrived at %s", found.serial, key)
                changes.arrived.append(found)
        return changes
