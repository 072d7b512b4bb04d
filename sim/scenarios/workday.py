"""A working day across a fleet: sessions of plugging, copying and unplugging.

Each computer's user logs on in the morning and works with a corporate stick
through the day; some also bring a personal stick, which the fleet's policy
(only corporate serials allowed) refuses to write to. Everything is drawn from
the seed, so the same seed gives the same day.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from .model import DeviceDecl, Scenario, Step

__all__ = ["fleet_devices", "workday_steps"]

SESSIONS = 14
COPIES = (8, 18)
DAY = timedelta(hours=9)


def _serial(rng: random.Random) -> str:
    return f"4C53{rng.getrandbits(64):016X}"


def fleet_devices(hosts: Sequence[str], seed: int) -> dict[str, DeviceDecl]:
    """A corporate stick per computer, and a personal one for one in five."""
    rng = random.Random(f"devices:{seed}")
    devices = {}
    for host in hosts:
        devices[f"{host}-stick"] = DeviceDecl(
            name=f"{host}-stick", catalogue="stick", serial=_serial(rng)
        )
        if rng.random() < 0.2:
            devices[f"{host}-personal"] = DeviceDecl(
                name=f"{host}-personal", catalogue="stick", serial=_serial(rng)
            )
    return devices


def _step(action: str, host: str, at: datetime, **arguments: object) -> Step:
    return Step(
        action=action, arguments=arguments, host=host, at=at, after=None, line=0
    )


def workday_steps(
    scenario: Scenario,
    hosts: Sequence[tuple[str, str]],
    devices: dict[str, DeviceDecl],
    seed: int,
) -> list[Step]:
    """Every computer's day, merged in time order. ``hosts``: (name, user)."""
    steps: list[Step] = []
    for host, user in hosts:
        rng = random.Random(f"day:{host}:{seed}")
        moment = scenario.start + timedelta(minutes=rng.randrange(0, 45))
        end = scenario.start + DAY
        steps.append(_step("log_on", host, moment, user=user))
        sticks = [
            name for name in (f"{host}-stick", f"{host}-personal") if name in devices
        ]
        for session in range(SESSIONS):
            moment += timedelta(minutes=rng.randrange(5, 30))
            stick = sticks[-1] if len(sticks) > 1 and session % 5 == 4 else sticks[0]
            steps.append(_step("plug", host, moment, device=stick))
            for number in range(rng.randrange(*COPIES)):
                moment += timedelta(seconds=rng.randrange(5, 90))
                source = f"C:\\Users\\{user}\\Documents\\report-{session:02d}-{number:02d}.xlsx"
                steps.append(
                    _step(
                        "copy",
                        host,
                        moment,
                        user=user,
                        drive="E:",
                        file=source,
                        size=rng.randrange(2_000, 9_000_000),
                    )
                )
            if rng.random() < 0.05:
                moment += timedelta(seconds=20)
                steps.append(
                    _step("run", host, moment, user=user, path="E:\\tools\\setup.exe")
                )
            if rng.random() < 0.02:
                moment += timedelta(seconds=20)
                steps.append(
                    _step(
                        "defender",
                        host,
                        moment,
                        drive="E:",
                        threat="Trojan:Win32/Wacatac.B!ml",
                        path="E:\\tools\\setup.exe",
                    )
                )
            moment += timedelta(seconds=rng.randrange(10, 120))
            steps.append(_step("unplug", host, min(moment, end), device=stick))
    steps.sort(key=lambda step: (step.at, step.host or ""))
    return steps
