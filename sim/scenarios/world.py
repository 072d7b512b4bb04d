"""The hosts and devices of one scenario run, and what each timeline action does.

The runner decides when things happen; :func:`act` makes them happen on the
simulated computers, which tell their agents as Windows would.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from typing import Any

from agent.undocumented import PROPERTY_CHANGED_BY_CONSOLE
from sim.hosts.computer import HostError, WindowsComputer
from sim.hosts.defender import eicar
from sim.usb.catalogue import DeviceSpec, by_name
from sim.usb.factory import build_device
from sim.usb.fat32 import FileSpec

from .loader import ScenarioError
from .model import Scenario, Step

__all__ = ["SimulatedClock", "World", "act"]

OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance_to(self, moment: datetime) -> None:
        self.current = max(self.current, moment)


class World:
    """The hosts, devices and agents of one run."""

    def __init__(self, scenario: Scenario, seed: int, clock: SimulatedClock) -> None:
        self.scenario = scenario
        self.seed = seed
        self.clock = clock
        self.random = random.Random(seed)
        self.hosts: dict[str, WindowsComputer] = {}
        self.declared = dict(scenario.devices)
        self.specs: dict[str, DeviceSpec] = {}
        self.devices: dict[str, Any] = {}

    def spec(self, name: str) -> DeviceSpec:
        if name not in self.specs:
            declared = self.declared[name]
            try:
                spec = by_name(declared.catalogue)
            except KeyError as err:
                raise ScenarioError(
                    f"{self.scenario.path}:{declared.line}: {err.args[0]}"
                ) from None
            if declared.serial:
                spec = dataclasses.replace(spec, serial=declared.serial)
            if declared.infected:
                test_file = FileSpec(path="tools/eicar.com", content=eicar())
                spec = dataclasses.replace(spec, files=(*spec.files, test_file))
            self.specs[name] = spec
        return self.specs[name]

    def device(self, name: str) -> tuple[DeviceSpec, Any]:
        spec = self.spec(name)
        if name not in self.devices:
            self.devices[name] = build_device(spec)
        return spec, self.devices[name]


def act(world: World, step: Step, host_name: str | None) -> timedelta | None:
    """Do one step; return the length of an outage it starts."""
    arguments = step.arguments
    if step.action == "wait":
        return None
    if step.action == "outage":
        return timedelta(minutes=float(arguments["minutes"]))
    if host_name is None or host_name not in world.hosts:
        known = ", ".join(sorted(world.hosts))
        raise HostError(f"step needs a host: say host: NAME (one of {known})")
    host = world.hosts[host_name]
    action = step.action
    if action == "log_on":
        host.log_on(str(arguments["user"]))
    elif action == "log_off":
        host.log_off(str(arguments["user"]))
    elif action == "plug":
        spec, device = world.device(str(arguments["device"]))
        host.plug(spec, device)
    elif action == "unplug":
        host.unplug(world.spec(str(arguments["device"])).serial)
    elif action == "change_media":
        name = str(arguments["device"])
        spec, device = world.device(name)
        host.change_media(spec.serial, device, seed=world.random.randrange(1 << 30))
    elif action == "unlock":
        host.unlock_bitlocker(world.spec(str(arguments["device"])).serial)
    elif action == "copy":
        modified = arguments.get("modified")
        last_write = (
            datetime.fromisoformat(str(modified))
            if modified
            else world.clock.now() - timedelta(days=3)
        )
        host.copy_file(
            str(arguments["user"]),
            str(arguments["drive"]),
            str(arguments["file"]),
            int(arguments.get("size", world.random.randrange(2_000, 9_000_000))),
            last_write.replace(tzinfo=None),
            str(arguments.get("program", "C:\\WINDOWS\\Explorer.EXE")),
        )
    elif action == "run":
        host.run_program(str(arguments["user"]), str(arguments["path"]))
    elif action == "open":
        host.open_document(
            str(arguments["user"]),
            str(arguments["path"]),
            str(arguments.get("program", OFFICE)),
        )
    elif action == "defender":
        host.defender_finding(
            str(arguments["drive"]),
            str(arguments["threat"]),
            str(arguments["path"]),
            str(arguments.get("action", "quarantined")),
        )
    elif action == "pass_through":
        guest = world.hosts.get(str(arguments["to"]))
        if guest is None or not guest.virtual:
            raise HostError(
                f"no virtual machine {arguments['to']!r}; list it under the host's guests"
            )
        host.pass_through(
            world.spec(str(arguments["device"])).serial,
            guest,
            str(arguments.get("hypervisor", "Hyper-V")),
        )
    elif action == "set":
        host.set_property(
            str(arguments["user"]),
            str(arguments["property"]),
            str(arguments.get("value", "")),
            str(arguments.get("program", PROPERTY_CHANGED_BY_CONSOLE)),
        )
    elif action == "test_connection":
        host.test_connection(str(arguments["user"]))
    return None
