"""Run a scenario: hosts act on a simulated clock, the agent ships, queries answer.

The simulated clock drives the hosts (``Time``), the embedded workspace
(``TimeGenerated`` = the time of the post plus a seeded ingestion delay of
0.6-5.3 s, as in the real rows) and the queries' ``now()``. So the same
scenario and seed give the same rows on any machine.
"""

from __future__ import annotations

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
from sim.hosts.computer import HostError, WindowsComputer
from sim.hosts.fleet import domain_users, plan_fleet
from sim.hosts.mdm import MdmInventory, MdmServer
from sim.vendor_queries import VENDOR_QUERIES

from .destination import Destination
from .enrolment import managed_device
from .loader import ScenarioError
from .model import HostDecl, Scenario, Step
from .pipeline import AgentPipeline
from .workday import fleet_devices, workday_steps
from .world import SimulatedClock, World, act

__all__ = ["RunSummary", "run_scenario"]


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
    world = World(scenario, seed, clock)
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


def _allow_corporate_sticks(world: World, fleet: list[tuple[str, str]]) -> None:
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
    world: World,
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
    world: World,
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
            outage = act(world, step, host)
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
