"""Fleets of Windows computers with realistic, seeded identities (faker).

The same seed gives the same fleet, byte for byte: faker is pinned exactly in
pyproject.toml because its data changes between releases.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from faker import Faker

from agent.host import Account

from .computer import User

__all__ = ["FleetPlan", "domain_users", "plan_fleet"]

_DEPARTMENTS = ("FIN", "ENG", "HR", "SAL", "OPS", "LEG", "MKT", "IT")
_FORMS = ("LT", "WS", "DT")


@dataclass(frozen=True)
class FleetPlan:
    """Computers (NetBIOS name, primary user) and every user of the domain."""

    computers: tuple[tuple[str, str], ...]
    users: tuple[User, ...]


def _domain_sid(seed: int, domain: str) -> str:
    rng = random.Random(f"sid:{domain}:{seed}")
    return "S-1-5-21-" + "-".join(
        str(rng.randrange(10**9, 4 * 10**9)) for _ in range(3)
    )


def domain_users(names: Sequence[str], domain: str, seed: int) -> list[User]:
    """Accounts for short names (``alice``), ``Administrator`` getting RID 500."""
    netbios = domain.split(".", 1)[0].upper()
    sid = _domain_sid(seed, domain)
    users = []
    for index, name in enumerate(names):
        rid = 500 if name.lower() == "administrator" else 1100 + index
        users.append(
            User(
                account=Account(name=f"{netbios}\\{name}", sid=f"{sid}-{rid}"),
                display_name=name.replace(".", " ").title(),
                upn=f"{name.lower()}@{domain}",
            )
        )
    return users


def plan_fleet(computers: int, users: int, domain: str, seed: int) -> FleetPlan:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    names: list[str] = []
    while len(names) < users:
        candidate = f"{fake.first_name()}.{fake.last_name()}".lower()
        if candidate not in names:
            names.append(candidate)
    people = domain_users([*names, "Administrator"], domain, seed)
    rng = random.Random(seed)
    hosts = []
    for index in range(computers):
        name = f"{rng.choice(_DEPARTMENTS)}-{rng.choice(_FORMS)}{index + 1:03d}"
        hosts.append((name, names[index % len(names)]))
    return FleetPlan(computers=tuple(hosts), users=tuple(people))
