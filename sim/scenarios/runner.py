"""Run a scenario: hosts act on a simulated clock, the agent ships, queries answer.

The simulated clock drives the hosts (``Time``), the embedded workspace
(``TimeGenerated`` = the time of the post plus a seeded ingestion delay of
0.6-5.3 s, as in the real rows) and the queries' ``now()``. So the same
scenario and seed give the same rows on any machine.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.mdm import GraphMdmClient
from agent.monitor import Monitor
from agent.policy import Policy
from agent.undocumented import PROPERTY_CHANGED_BY_CONSOLE
from sim.hosts.computer import HostError, WindowsComputer
from sim.hosts.defender import eicar
from sim.hosts.fleet import domain_users, plan_fleet
from sim.hosts.mdm import MdmInventory, MdmServer
from sim.usb.catalogue import DeviceSpec, by_name
from sim.usb.factory import build_device
from sim.usb.fat32 import FileSpec
from sim.vendor_queries import VENDOR_QUERIES

from .destination import Destination
from .enrolment import managed_device
from .loader import ScenarioError
from .model import HostDecl, Scenario, Step
from .pipeline import AgentPipeline
from .workday import fleet_devices, workday_steps

__all__ = ["RunSummary", "SimulatedClock", "run_scenario"]

OFFICE = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"


class SimulatedClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance_to(self, moment: datetime) -> None:
        self.current = max(self.current, moment)


@dataclass
class RunSummary:
    scenario: str
    seed: int
    steps: int
    events: int
    delivered: int
    requests: int
    still_spooled: int
    stored: int | None
    queries: dict[str, int] = field(default_factory=dict)
    failed_expectations: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed_expectations and self.still_spooled == 0


class _World:
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


def _hosts(scenario: Scenario) -> list[HostDecl]:
    hosts = list(scenario.hosts)
    for host in scenario.hosts:
        hosts += [
            HostDecl(
                name=guest,
                domain=host.domain,
                users=host.users,
                policy=host.policy,
                virtual=True,
                line=host.line,
            )
            for guest in host.guests
        ]
    return hosts


def run_scenario(
    scenario: Scenario,
    destination: Destination,
    *,
    seed: int | None = None,
    folder: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> RunSummary:
    seed = scenario.seed if seed is None else seed
    clock = SimulatedClock(scenario.start)
    world = _World(scenario, seed, clock)
    latency = random.Random(f"latency:{seed}")
    with ExitStack() as stack:

        def workspace_clock() -> datetime:
            return clock.now() + timedelta(seconds=latency.uniform(0.6, 5.3))

        endpoint = stack.enter_context(destination.open(workspace_clock, folder))
        pipeline = AgentPipeline(
            {
                **endpoint.agent_settings,
                "spool": str(folder / "spool.db"),
                "concurrency": 1,
            }
        )
        stack.callback(pipeline.close)
        inventory = MdmInventory()
        for name, declared in scenario.devices.items():
            if declared.mdm_user:
                inventory.enrol(
                    managed_device(
                        world.spec(name),
                        declared.mdm_user,
                        scenario.start,
                        seed,
                    )
                )
        mdm = stack.enter_context(MdmServer(inventory))
        fleet = _install(world, scenario, pipeline, GraphMdmClient(mdm.graph_url), seed)
        steps = list(scenario.timeline)
        if fleet:
            for step in steps:
                if step.at is None:
                    raise ScenarioError(
                        f"{scenario.path}:{step.line}: in a fleet scenario every step "
                        "says when it happens (at: HH:MM), to fall into the generated day"
                    )
            world.declared.update(fleet_devices([name for name, _ in fleet], seed))
            _allow_corporate_sticks(world, fleet)
            steps = sorted(
                steps + workday_steps(scenario, fleet, world.declared, seed),
                key=lambda step: step.at or scenario.start,
            )
        _play(world, steps, pipeline, endpoint, 50 if fleet else 1, progress)
        pipeline.ship()
        summary = RunSummary(
            scenario=scenario.name,
            seed=seed,
            steps=len(steps),
            events=pipeline.emitted,
            delivered=pipeline.delivered,
            requests=pipeline.requests,
            still_spooled=pipeline.depth,
            stored=endpoint.stored(),
        )
        if endpoint.workspace is not None:
            _check(
                summary,
                endpoint.workspace,
                scenario,
                clock.now() + timedelta(minutes=10),
            )
        return summary


def _check(
    summary: RunSummary, workspace: Any, scenario: Scenario, now: datetime
) -> None:
    """Run every vendor query; compare with what the scenario expects."""
    for query in VENDOR_QUERIES:
        rows = workspace.query(query.kql, now=now).as_objects()
        summary.queries[query.id] = len(rows)
        expected_count = scenario.expect.get(query.id)
        if expected_count is not None and expected_count != len(rows):
            summary.failed_expectations[query.id] = (
                f"expected {expected_count} rows, got {len(rows)}"
            )
        expected_rows = scenario.expect_rows.get(query.id)
        if expected_rows is not None:
            columns = sorted({column for row in expected_rows for column in row})
            got = sorted(repr([row.get(c) for c in columns]) for row in rows)
            want = sorted(repr([row.get(c) for c in columns]) for row in expected_rows)
            if got != want:
                summary.failed_expectations[f"{query.id} rows"] = (
                    f"expected {want} on {columns}, got {got}"
                )


def _allow_corporate_sticks(world: _World, fleet: list[tuple[str, str]]) -> None:
    """The fleet's policy: only its corporate sticks may be written to."""
    serials = " ".join(
        decl.serial or ""
        for name, decl in world.declared.items()
        if name.endswith("-stick")
    )
    for name, _ in fleet:
        monitor = world.hosts[name].monitor
        assert monitor is not None
        monitor.policy = monitor.policy.with_property("AllowedSerialNumbers", serials)


def _install(
    world: _World,
    scenario: Scenario,
    pipeline: AgentPipeline,
    mdm: GraphMdmClient,
    seed: int,
) -> list[tuple[str, str]]:
    """Build every computer with its agent; return the fleet's (name, user)."""
    declared = _hosts(scenario)
    fleet: list[tuple[str, str]] = []
    if scenario.fleet is not None:
        plan = plan_fleet(
            scenario.fleet.computers, scenario.fleet.users, scenario.fleet.domain, seed
        )
        fleet = list(plan.computers)
        for name, user in plan.computers:
            declared.append(
                HostDecl(
                    name=name,
                    domain=scenario.fleet.domain,
                    users=(user, "Administrator"),
                    policy=scenario.fleet.policy,
                )
            )
    names = sorted({user for host in declared for user in host.users})
    for host in declared:
        users = [
            u
            for u in domain_users(names, host.domain, seed)
            if u.account.name.split("\\")[1] in host.users
        ]
        computer = WindowsComputer(
            fqdn=host.fqdn,
            users=users,
            clock=world.clock.now,
            seed=seed,
            virtual=host.virtual,
        )
        computer.install_agent(
            Monitor(computer, pipeline.emit, policy=Policy(dict(host.policy)), mdm=mdm)
        )
        world.hosts[host.name] = computer
    return fleet


def _play(
    world: _World,
    steps: list[Step],
    pipeline: AgentPipeline,
    endpoint: Any,
    ship_every: int,
    progress: Callable[[str], None],
) -> None:
    scenario = world.scenario
    host: str | None = None
    outage_until: datetime | None = None
    moment = scenario.start
    for index, step in enumerate(steps, start=1):
        moment = (
            step.at
            if step.at is not None
            else moment + (step.after or scenario.step_gap)
        )
        if moment < world.clock.now():
            raise ScenarioError(
                f"{scenario.path}:{step.line}: at {moment:%H:%M:%S} is before the previous step"
            )
        world.clock.advance_to(moment)
        if outage_until is not None and moment >= outage_until:
            endpoint.end_outage()
            outage_until = None
        host = step.host or host
        try:
            outage = _act(world, step, host)
        except (HostError, KeyError) as err:
            message = err.args[0] if err.args else str(err)
            raise ScenarioError(f"{scenario.path}:{step.line}: {message}") from None
        if outage is not None:
            endpoint.begin_outage()
            outage_until = moment + outage
        if index % ship_every == 0:
            pipeline.ship()
        if index % 500 == 0:
            progress(
                f"step {index}/{len(steps)} at {moment:%H:%M}, {pipeline.emitted} events"
            )
    if outage_until is not None:
        world.clock.advance_to(outage_until)
        endpoint.end_outage()


def _act(world: _World, step: Step, host_name: str | None) -> timedelta | None:
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
