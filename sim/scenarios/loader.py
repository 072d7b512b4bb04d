"""Read a scenario file; every mistake is reported with its line and a fix.

The language (``fixtures/scenarios/*.yaml`` are examples)::

    scenario: A stick on a finance laptop        # a title
    seed: 7                                       # optional, default 0
    start: 2026-12-01T08:00:00Z                   # when the timeline starts
    step: 30s                                     # time between steps (default 30s)
    domain: contoso.com                           # default domain of hosts
    hosts:
      - name: FIN-LT042
        users: [alice, admin]                     # accounts CONTOSO\\alice, ...
        guests: [VM-BUILD01]                      # virtual machines it runs
        policy: {AllowedSerialNumbers: 4C530001060623106322}
    fleet: {computers: 50, users: 120}            # generated hosts instead
    devices:
      alice-stick: {catalogue: stick, serial: 4C530001060623106322}
      pixel: {catalogue: android-phone, mdm: bob} # enrolled in Intune to bob
      found: {catalogue: stick, infected: true}   # holds the EICAR test file
    timeline:
      - {at: "08:05", host: FIN-LT042, log_on: alice}
      - plug: alice-stick                         # the host carries over
      - copy: {user: alice, drive: "E:", file: "C:\\\\Q4.xlsx", size: 48213}
      - change_media: alice-stick                 # a card reader gets a new card
      - wait: 5m
    expect: {G1: 1}                               # rows per vendor query
    expect_rows: {G12: [{SerialNumber_s: FA7951A01459}]}  # by the columns given
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from .model import ACTIONS, DeviceDecl, FleetDecl, HostDecl, Scenario, Step

__all__ = ["ScenarioError", "load_scenario", "parse_duration"]

_DURATION = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME_OF_DAY = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")
_TOP = {"scenario", "seed", "start", "step", "domain", "hosts", "fleet", "devices",
        "timeline", "expect", "expect_rows"}  # fmt: skip
_HOST_KEYS = {"name", "users", "guests", "policy", "virtual", "domain"}
_DEVICE_KEYS = {"catalogue", "serial", "mdm", "infected"}
_STEP_KEYS = {"at", "after", "host"}


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message points at the line."""


class _Map(dict[str, Any]):
    line = 0
    key_lines: dict[str, int]


class _List(list[Any]):
    line = 0


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers where each mapping and sequence starts."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        pairs = super().construct_mapping(node, deep=True)
        mapping = _Map({str(key): value for key, value in pairs.items()})
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> Any:
        sequence = _List(super().construct_sequence(node, deep=True))
        sequence.line = node.start_mark.line + 1
        return sequence


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_sequence)


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, line: int, message: str) -> ScenarioError:
        return ScenarioError(f"{self.path}:{line}: {message}")

    def mapping(self, value: Any, line: int, what: str) -> _Map:
        if not isinstance(value, _Map):
            raise self.fail(
                getattr(value, "line", line), f"{what} must be a mapping (key: value)"
            )
        return value

    def keys(self, mapping: _Map, allowed: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = difflib.get_close_matches(key, sorted(allowed), n=1)
                advice = (
                    f"; did you mean {hint[0]!r}?"
                    if hint
                    else f"; known: {', '.join(sorted(allowed))}"
                )
                raise self.fail(
                    mapping.key_lines.get(key, mapping.line),
                    f"unknown {what} key {key!r}{advice}",
                )

    def required(self, mapping: _Map, key: str, what: str) -> Any:
        if key not in mapping:
            raise self.fail(mapping.line, f"{what} needs {key!r}")
        return mapping[key]


def parse_duration(text: Any) -> timedelta | None:
    match = _DURATION.fullmatch(str(text).strip())
    if match is None:
        return None
    return timedelta(seconds=float(match["amount"]) * _UNITS[match["unit"]])


def load_scenario(path: str | Path) -> Scenario:
    """Parse and check the scenario at ``path``."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(
            f"{where}: cannot read the scenario ({err.strerror})"
        ) from None
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ScenarioError(
            f"{where}:{line}: not valid YAML ({getattr(err, 'problem', err)})"
        ) from None
    reader = _Reader(where)
    top = reader.mapping(document, 1, "a scenario")
    reader.keys(top, _TOP, "scenario")
    return _scenario(reader, top)


def _scenario(reader: _Reader, top: _Map) -> Scenario:
    start = _start(reader, top)
    step_gap = parse_duration(top.get("step", "30s"))
    if step_gap is None:
        raise reader.fail(
            top.key_lines["step"], "step must be a duration such as 30s, 5m or 1h"
        )
    domain = str(top.get("domain", "contoso.com"))
    hosts = tuple(_host(reader, item, domain) for item in _items(reader, top, "hosts"))
    fleet = _fleet(reader, top, domain)
    if not hosts and fleet is None:
        raise reader.fail(top.line, "a scenario needs hosts or a fleet")
    devices = {
        name: _device(reader, name, value, top["devices"].key_lines.get(name, 0))
        for name, value in reader.mapping(
            top.get("devices", _Map()), top.line, "devices"
        ).items()
    }
    timeline = tuple(
        _step(reader, item, start.date(), devices)
        for item in _items(reader, top, "timeline")
    )
    expect = reader.mapping(top.get("expect", _Map()), top.line, "expect")
    for key, value in expect.items():
        if not isinstance(value, int):
            raise reader.fail(
                expect.key_lines[key], f"expect {key} must be a number of rows"
            )
    expect_rows = reader.mapping(
        top.get("expect_rows", _Map()), top.line, "expect_rows"
    )
    for key, rows in expect_rows.items():
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise reader.fail(
                expect_rows.key_lines[key],
                f"expect_rows {key} must be a list of {{column: value}}",
            )
    return Scenario(
        name=str(top.get("scenario", Path(reader.path).stem)),
        path=reader.path,
        seed=int(top.get("seed", 0)),
        start=start,
        step_gap=step_gap,
        hosts=hosts,
        fleet=fleet,
        devices=devices,
        timeline=timeline,
        expect=dict(expect),
        expect_rows={
            key: [dict(row) for row in rows] for key, rows in expect_rows.items()
        },
    )


def _start(reader: _Reader, top: _Map) -> datetime:
    value = top.get("start", "2026-12-01T08:00:00Z")
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise reader.fail(
                top.key_lines.get("start", top.line),
                f"start {value!r} is not an ISO 8601 time such as 2026-12-01T08:00:00Z",
            ) from None
    return (
        moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    )


def _items(reader: _Reader, top: _Map, key: str) -> list[Any]:
    value = top.get(key, _List())
    if not isinstance(value, list):
        raise reader.fail(top.key_lines.get(key, top.line), f"{key} must be a list")
    return list(value)


def _host(reader: _Reader, item: Any, domain: str) -> HostDecl:
    host = reader.mapping(item, 0, "a host")
    reader.keys(host, _HOST_KEYS, "host")
    users = host.get("users", [])
    if not isinstance(users, list) or not users:
        raise reader.fail(host.line, "a host needs users: [name, ...]")
    policy = reader.mapping(host.get("policy", _Map()), host.line, "policy")
    return HostDecl(
        name=str(reader.required(host, "name", "a host")),
        domain=str(host.get("domain", domain)),
        users=tuple(str(user) for user in users),
        guests=tuple(str(guest) for guest in host.get("guests", [])),
        policy={str(k): str(v) for k, v in policy.items()},
        virtual=bool(host.get("virtual", False)),
        line=host.line,
    )


def _fleet(reader: _Reader, top: _Map, domain: str) -> FleetDecl | None:
    if "fleet" not in top:
        return None
    fleet = reader.mapping(top["fleet"], top.key_lines["fleet"], "fleet")
    reader.keys(fleet, {"computers", "users", "policy"}, "fleet")
    policy = reader.mapping(fleet.get("policy", _Map()), fleet.line, "policy")
    return FleetDecl(
        computers=int(reader.required(fleet, "computers", "a fleet")),
        users=int(fleet.get("users", 2 * int(fleet["computers"]))),
        domain=domain,
        policy={str(k): str(v) for k, v in policy.items()},
    )


def _device(reader: _Reader, name: str, value: Any, line: int) -> DeviceDecl:
    device = reader.mapping(value, line, f"device {name!r}")
    reader.keys(device, _DEVICE_KEYS, "device")
    return DeviceDecl(
        name=name,
        catalogue=str(reader.required(device, "catalogue", f"device {name!r}")),
        serial=str(device["serial"]) if "serial" in device else None,
        mdm_user=str(device["mdm"]) if "mdm" in device else None,
        infected=bool(device.get("infected", False)),
        line=device.line,
    )


def _step(
    reader: _Reader, item: Any, day: Any, devices: Mapping[str, DeviceDecl]
) -> Step:
    step = reader.mapping(item, 0, "a timeline step")
    actions = [key for key in step if key not in _STEP_KEYS]
    if len(actions) != 1:
        reader.keys(step, _STEP_KEYS | set(ACTIONS), "step")
        raise reader.fail(
            step.line, f"a step does one action, this one has {actions or 'none'}"
        )
    (action,) = actions
    reader.keys(step, _STEP_KEYS | set(ACTIONS), "step")
    arguments = _arguments(reader, step, action)
    if "device" in arguments and arguments["device"] not in devices:
        raise reader.fail(
            step.line, f"no device {arguments['device']!r}; declare it under devices"
        )
    return Step(
        action=action,
        arguments=arguments,
        host=str(step["host"]) if "host" in step else None,
        at=_time_of_day(reader, step, day),
        after=_after(reader, step, action),
        line=step.line,
    )


def _arguments(reader: _Reader, step: _Map, action: str) -> dict[str, Any]:
    required, optional = ACTIONS[action]
    value = step[action]
    if action == "wait":
        return {}
    if not isinstance(value, dict):
        if len(required) != 1:
            raise reader.fail(
                step.line, f"{action} needs {', '.join(sorted(required))}"
            )
        return {next(iter(required)): value}
    arguments = dict(value)
    for missing in sorted(required - set(arguments)):
        raise reader.fail(step.line, f"{action} needs {missing!r}")
    for unknown in sorted(set(arguments) - required - optional):
        raise reader.fail(
            step.line,
            f"{action} takes no {unknown!r}; it takes {', '.join(sorted(required | optional))}",
        )
    return arguments


def _time_of_day(reader: _Reader, step: _Map, day: Any) -> datetime | None:
    if "at" not in step:
        return None
    match = _TIME_OF_DAY.fullmatch(str(step["at"]))
    if match is None:
        raise reader.fail(
            step.line, f"at {step['at']!r} must be a time of day such as 08:05"
        )
    return datetime(day.year, day.month, day.day, int(match["h"]), int(match["m"]),
                    int(match["s"] or 0), tzinfo=UTC)  # fmt: skip


def _after(reader: _Reader, step: _Map, action: str) -> timedelta | None:
    text = step.get("after", step[action] if action == "wait" else None)
    if text is None:
        return None
    duration = parse_duration(text)
    if duration is None:
        raise reader.fail(
            step.line, f"{text!r} is not a duration such as 30s, 5m or 1h"
        )
    return duration
