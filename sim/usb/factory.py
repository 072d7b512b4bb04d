"""From a catalogue name or device file to a running device model."""

from __future__ import annotations

from pathlib import Path

from .catalogue import DeviceKind, DeviceSpec, by_name
from .device import UsbDevice
from .devicefile import DeviceFileError, load_device_file
from .encrypted import build_encrypted_stick
from .phones import build_phone
from .sticks import build_stick

__all__ = ["build_device", "resolve_device"]


def resolve_device(argument: str) -> DeviceSpec:
    """A catalogue name (``stick``) or the path of a device file (``*.json``)."""
    if argument.endswith(".json") or "/" in argument:
        return load_device_file(Path(argument))
    try:
        return by_name(argument)
    except KeyError as err:
        raise DeviceFileError(str(err.args[0])) from None


def build_device(spec: DeviceSpec) -> UsbDevice:
    if spec.kind in (DeviceKind.STICK, DeviceKind.BITLOCKER_STICK):
        return build_stick(spec)
    if spec.kind is DeviceKind.ENCRYPTED_STICK:
        return build_encrypted_stick(spec)
    return build_phone(spec)
