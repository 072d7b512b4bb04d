"""Simulated USB devices (sticks, encrypted sticks, phones) and two ways in.

Device models (``device``, ``bot``, ``scsi``, ``sticks``) know nothing of a
transport. ``pyusb_backend`` serves them to pyusb in-process; the USB/IP
server exports them to real kernels. The catalogue declares the device kinds.
"""

from .bus import UsbBus
from .catalogue import CATALOGUE, DeviceKind, DeviceSpec, by_name
from .pyusb_backend import InProcessBackend

__all__ = [
    "CATALOGUE",
    "DeviceKind",
    "DeviceSpec",
    "InProcessBackend",
    "UsbBus",
    "by_name",
]
