"""``secrmm-sim usbip serve`` and ``secrmm-sim devices list``: a contract."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import Any

from ..console import fail
from .bus import UsbBus
from .catalogue import CATALOGUE, DeviceSpec
from .devicefile import DeviceFileError
from .factory import build_device, resolve_device
from .usbip_server import UsbipServer
from .usbip_wire import DEFAULT_PORT

__all__ = ["register"]


def register(subcommands: Any) -> None:
    usbip = subcommands.add_parser("usbip", help="export simulated devices over USB/IP")
    actions = usbip.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", help="serve devices over USB/IP until SIGINT or SIGTERM"
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: loopback)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"TCP port; 0 picks a free one (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "devices",
        nargs="+",
        metavar="DEVICE",
        help="a catalogue name (see `devices list`) or a device file (*.json); "
        "bus ids 1-1, 1-2, ... follow the argument order",
    )
    serve.set_defaults(handler=_serve)

    devices = subcommands.add_parser("devices", help="the simulated device catalogue")
    device_actions = devices.add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    listing = device_actions.add_parser("list", help="print the catalogue")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)


def _serve(args: argparse.Namespace) -> int:
    bus = UsbBus()
    if len(args.devices) > bus.ports:
        return fail(f"one bus has {bus.ports} ports: serve at most {bus.ports} devices")
    try:
        specs = [resolve_device(argument) for argument in args.devices]
        devices = [build_device(spec) for spec in specs]
    except (DeviceFileError, ValueError) as err:
        return fail(str(err))
    try:
        server = UsbipServer(bus, host=args.host, port=args.port)
    except OSError as err:
        return fail(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")
    for port, (spec, device) in enumerate(zip(specs, devices, strict=True), start=1):
        where = bus.plug(device, port=port)
        print(f"{where.busid} {spec.vid_pid} {spec.kind.value} {spec.serial}")
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    with server:
        print(f"listening on {server.host}:{server.port}", flush=True)
        while not stopping.wait(0.5):
            pass
    return 0


def _summary(spec: DeviceSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "kind": spec.kind.value,
        "vid_pid": spec.vid_pid,
        "manufacturer": spec.manufacturer,
        "product": spec.product,
        "serial": spec.serial,
        "capacity_mib": spec.capacity_mib if spec.kind.is_storage else None,
        "read_only": spec.read_only,
        "description": spec.description,
    }


def _list(args: argparse.Namespace) -> int:
    rows = [_summary(spec) for spec in CATALOGUE]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['name']:<16} {row['vid_pid']}  {row['kind']:<16} "
            f"{row['serial']:<26} {row['description']}"
        )
    return 0
