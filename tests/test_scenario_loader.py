"""Scenario files: mistakes are reported with their line and what to do."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sim.scenarios.loader import ScenarioError, load_scenario, parse_duration

GOOD = """\
scenario: ok
hosts:
  - name: PC1
    users: [alice]
devices:
  stick: {catalogue: stick}
timeline:
  - {host: PC1, log_on: alice}
  - plug: stick
  - wait: 5m
"""


def _load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return load_scenario(path)


def test_a_good_scenario_loads_with_its_defaults(tmp_path: Path) -> None:
    scenario = _load(tmp_path, GOOD)
    assert scenario.seed == 0  # type: ignore[attr-defined]
    steps = scenario.timeline  # type: ignore[attr-defined]
    assert [step.action for step in steps] == ["log_on", "plug", "wait"]
    assert steps[1].arguments == {"device": "stick"}
    assert steps[2].after == timedelta(minutes=5)
    assert [step.line for step in steps] == [8, 9, 10]


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (
            ("  - plug: stick", "  - plgu: stick"),
            9,
            "unknown step key 'plgu'; did you mean 'plug'?",
        ),
        (
            ("  - plug: stick", "  - plug: phone"),
            9,
            "no device 'phone'; declare it under devices",
        ),
        (("  - wait: 5m", "  - wait: soon"), 10, "'soon' is not a duration"),
        (
            ("    users: [alice]", "    usres: [alice]"),
            4,
            "unknown host key 'usres'; did you mean 'users'?",
        ),
        (
            ("{host: PC1, log_on: alice}", "{host: PC1, copy: {user: alice}}"),
            8,
            "copy needs 'drive'",
        ),
        (
            ("{host: PC1, log_on: alice}", "{at: 8pm, log_on: alice}"),
            8,
            "must be a time of day",
        ),
        (
            ("  stick: {catalogue: stick}", "  stick: {catalog: stick}"),
            6,
            "did you mean 'catalogue'?",
        ),
        (("scenario: ok", "scenario: [ok"), 2, "not valid YAML"),
    ],
)
def test_mistakes_point_at_their_line(
    tmp_path: Path, change: tuple[str, str], line: int, message: str
) -> None:
    with pytest.raises(ScenarioError) as raised:
        _load(tmp_path, GOOD.replace(*change))
    text = str(raised.value)
    assert text.startswith(f"{tmp_path / 'scenario.yaml'}:{line}: "), text
    assert message in text


def test_a_scenario_needs_hosts_or_a_fleet(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="needs hosts or a fleet"):
        _load(tmp_path, "scenario: empty\n")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1.5h", 5400), ("250ms", 0.25), ("x", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    parsed = parse_duration(text)
    assert (parsed.total_seconds() if parsed else None) == seconds
