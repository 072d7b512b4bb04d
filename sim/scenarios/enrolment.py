"""Intune enrolments for a scenario's phones: deterministic from the seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sim.hosts.mdm import ManagedDevice
from sim.usb.catalogue import DeviceKind, DeviceSpec

__all__ = ["managed_device"]


def managed_device(
    spec: DeviceSpec, user: str, start: datetime, seed: int
) -> ManagedDevice:
    rng = random.Random(f"mdm:{spec.serial}:{seed}")
    apple = spec.kind is DeviceKind.IPHONE
    digits = "".join(str(rng.randrange(10)) for _ in range(14))
    return ManagedDevice(
        serial=spec.serial,
        device_name=f"{user}_{'iPhone' if apple else 'Android'}",
        user_display_name=user.replace(".", " ").title(),
        user_principal_name=f"{user}@contoso.com",
        operating_system="iOS" if apple else "Android",
        os_version="17.6.1" if apple else "14",
        imei=digits,
        meid=digits,
        phone_number=f"+1425555{rng.randrange(10000):04d}",
        carrier=rng.choice(("Verizon", "AT&T", "T-Mobile")),
        wifi_mac=f"{rng.getrandbits(48):012x}",
        enrolled=(start - timedelta(days=rng.randrange(30, 400))).replace(tzinfo=None),
        last_sync=(start - timedelta(hours=rng.randrange(1, 48))).replace(tzinfo=None),
    )
