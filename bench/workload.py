"""Seeded secRMM-shaped records for benchmarks: a plausible mix of events.

Records are built with the agent's own record type, so their fields and value
formats are exactly what the agent posts. Same seed, same records.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from agent.records import SecRMMRecord

_DEVICES = (
    ("Removable Disk Removable Media Win32_LogicalDisk USB2.0", "SanDisk Cruzer Glide USB Device",
     "USBSTOR\\DISK&VEN_SANDISK&PROD_CRUZER_GLIDE&REV_1.00\\{serial}&0", "E:"),
    ("Removable Disk ENCRYPTED BitLocker Removable Media Win32_LogicalDisk USB2.0",
     "Generic Flash Disk USB Device",
     "USBSTOR\\DISK&VEN_GENERIC&PROD_FLASH_DISK&REV_8.07\\{serial}&0", "F:"),
    ("Removable Disk ENCRYPTED Removable Media Win32_LogicalDisk USB2.0",
     "Apricorn Secure Key USB Device",
     "USBSTOR\\DISK&VEN_APRICORN&PROD_SECURE_KEY&REV_0463\\{serial}&0", "E:"),
    ("Google MOBILE Win32ext_WPD USB2.0", "Pixel 7",
     "\\\\?\\usb#vid_18d1&pid_4ee1&mi_00#{serial}#{{6ac27878-a6fa-4155-ba85-f98f491d4f33}}",
     "Internal shared storage:"),
)  # fmt: skip
_EVENTS = (
    ("ONLINE", 20), ("OFFLINE", 20), ("WRITE COMPLETED", 40), ("SERIAL # AUTHORIZATION", 8),
    ("BLOCK PROGRAMS ON DEVICE ACTIVE", 3), ("BLOCK MACROS ON DEVICE ACTIVE", 2),
    ("EXTERNAL", 2), ("Property change", 5),
)  # fmt: skip


def secrmm_records(count: int, seed: int = 1) -> list[dict[str, str | int]]:
    """``count`` posted secRMM records from 50 computers and 200 users."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    names, weights = zip(*_EVENTS, strict=True)
    records = []
    for index in range(count):
        event = rng.choices(names, weights)[0]
        host = rng.randrange(50)
        user = rng.randrange(200)
        description, model, internal, drive = rng.choice(_DEVICES)
        serial = f"{rng.getrandbits(40):010X}"
        moment = start + timedelta(seconds=index * 3 + rng.randrange(3))
        base = {
            "event": event,
            "time": moment,
            "user": f"CONTOSO\\user{user:03d}",
            "computer": f"PC{host:03d}.contoso.com",
        }
        if event == "Property change":
            record = SecRMMRecord(
                **base,
                user_sid=f"S-1-5-21-194330278-343332919-2867172138-{1000 + user}",
                property_name="AllowedSerialNumbers",
                property_action="changed",
                property_value=serial,
                configuration_target="Computer",
                property_operation_status="Completed",
                additional_program_info="powershell",
            )
        else:
            device = {
                "drive": drive,
                "volume": f"\\Device\\HarddiskVolume{rng.randrange(5, 30)}",
                "device_description": description,
                "serial_number": serial,
                "model": model,
                "internal_id": internal.format(serial=serial),
            }
            writes = event in ("WRITE COMPLETED", "SERIAL # AUTHORIZATION")
            record = SecRMMRecord(
                **base,
                **device,
                user_sid=""
                if event in ("ONLINE", "OFFLINE")
                else f"S-1-5-21-1-{1000 + user}",
                target_file=f"{drive}\\Report {index}.xlsx" if writes else "",
                source_file=f"C:\\Users\\user{user:03d}\\Report {index}.xlsx"
                if writes
                else "",
                source_file_size=rng.randrange(1_000, 5_000_000) if writes else None,
                source_file_last_write=moment - timedelta(days=3) if writes else None,
                program_name="C:\\WINDOWS\\Explorer.EXE" if writes else "",
                program_pid=rng.randrange(1_000, 20_000) if writes else None,
                message=(
                    "Authorized Serial Numbers List: secRMM_is_locked_down"
                    if event == "SERIAL # AUTHORIZATION"
                    else "Microsoft Defender found no threats on ONLINE device"
                    if event == "EXTERNAL"
                    else ""
                ),
                additional_program_info="COPY" if writes else "",
            )
        records.append(record.posted())
    return records
