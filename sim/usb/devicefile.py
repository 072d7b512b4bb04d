"""Device files: a JSON description of one device, mapped onto :class:`DeviceSpec`.

```json
{"name": "finance-stick", "kind": "stick", "vendor_id": "0x0951",
 "product_id": "0x1666", "manufacturer": "Kingston", "product": "DataTraveler 3.0",
 "serial": "E0D55EA574E8F1A0B94A0F2B", "seed": 42, "capacity_mib": 64,
 "files": [{"path": "Budget 2027.xlsx", "size": 30000},
           {"path": "README.TXT", "text": "hello"}]}
```
A file entry gives ``text`` (stored as UTF-8) or ``size`` (bytes drawn from the
seed). Other keys are the :class:`DeviceSpec` fields of the same name.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

from .catalogue import DeviceKind, DeviceSpec
from .fat32 import FileSpec

__all__ = ["DeviceFileError", "load_device_file"]

_ID_FIELDS = ("vendor_id", "product_id", "bcd_device")
_REQUIRED = (
    "name",
    "kind",
    "vendor_id",
    "product_id",
    "manufacturer",
    "product",
    "serial",
)


class DeviceFileError(ValueError):
    """A device file that cannot describe a device; the message says what to fix."""


def _number(path: Path, key: str, value: Any) -> int:
    try:
        return int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise DeviceFileError(f"{path}: {key} must be a number like 0x0781") from None


def _files(path: Path, entries: Any, seed: int) -> tuple[FileSpec, ...]:
    if not isinstance(entries, list):
        raise DeviceFileError(f"{path}: files must be a list of {{path, text|size}}")
    rng = random.Random(seed)
    files = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or "path" not in entry:
            raise DeviceFileError(f"{path}: files[{index}] needs a path")
        if "text" in entry:
            content = str(entry["text"]).encode()
        elif "size" in entry:
            content = rng.randbytes(
                _number(path, f"files[{index}].size", entry["size"])
            )
        else:
            raise DeviceFileError(f"{path}: files[{index}] needs text or size")
        files.append(FileSpec(path=str(entry["path"]), content=content))
    return tuple(files)


def load_device_file(path: Path) -> DeviceSpec:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DeviceFileError(f"cannot read device file {path}: {err}") from err
    if not isinstance(raw, dict):
        raise DeviceFileError(f"{path}: expected a JSON object")
    missing = [key for key in _REQUIRED if key not in raw]
    if missing:
        raise DeviceFileError(f"{path}: missing {', '.join(missing)}")
    known = {field.name for field in dataclasses.fields(DeviceSpec)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DeviceFileError(f"{path}: unknown keys {', '.join(unknown)}")
    try:
        kind = DeviceKind(raw["kind"])
    except ValueError:
        kinds = ", ".join(k.value for k in DeviceKind)
        raise DeviceFileError(f"{path}: kind must be one of {kinds}") from None
    values = dict(raw, kind=kind)
    for key in _ID_FIELDS:
        if key in values:
            values[key] = _number(path, key, values[key])
    values.setdefault("bcd_device", 0x0100)
    values["files"] = _files(path, raw.get("files", []), int(raw.get("seed", 0)))
    try:
        return DeviceSpec(**values)
    except TypeError as err:
        raise DeviceFileError(f"{path}: {err}") from err
