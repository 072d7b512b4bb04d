"""A scripted morning at Contoso for the demo: every vendor query gets rows.

Four computers, three users, seven devices. Times are anchored to the run so
health and last-day queries see fresh data; everything else is fixed. The
records are written out as the agent's monitor would emit them, so that the
demo can show ``secrmm-agent send`` shipping a file of them; the wording of
undocumented events comes from :mod:`agent.undocumented`, as the monitor's does.
(``fixtures/scenarios`` drives the monitor itself.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.records import SecRMMRecord
from agent.undocumented import defender_message, passthrough_message, vm_drive

__all__ = ["demo_records"]

_FINANCE = "FIN-LT042.contoso.com"
_ENGINEERING = "ENG-WS007.contoso.com"
_HYPERVISOR = "HV-HOST01.contoso.com"
_GUEST = "VM-BUILD01.contoso.com"
_ALICE = ("CONTOSO\\alice", "S-1-5-21-3623811015-3361044348-30300820-1104")
_BOB = ("CONTOSO\\bob", "S-1-5-21-3623811015-3361044348-30300820-1107")
_ADMIN = ("CONTOSO\\Administrator", "S-1-5-21-3623811015-3361044348-30300820-500")
_WPD = "{6ac27878-a6fa-4155-ba85-f98f491d4f33}"


def _disk(
    vendor: str, product: str, rev: str, serial: str, model: str, **extra: str
) -> dict[str, str]:
    description = extra.pop(
        "description", "Removable Disk Removable Media Win32_LogicalDisk USB2.0"
    )
    return {
        "drive": extra.pop("drive", "E:"),
        "volume": extra.pop("volume", "\\Device\\HarddiskVolume6"),
        "device_description": description,
        "serial_number": serial,
        "model": model,
        "internal_id": f"USBSTOR\\DISK&VEN_{vendor}&PROD_{product}&REV_{rev}\\{serial}&0",
    }


_SANDISK = _disk(
    "SANDISK",
    "CRUZER_GLIDE",
    "1.00",
    "4C530001060623106322",
    "SanDisk Cruzer Glide USB Device",
)
_KINGSTON = _disk(
    "KINGSTON",
    "DATATRAVELER_3.0",
    "PMAP",
    "60A44C413A8CF1A0B9A10136",
    "Kingston DataTraveler 3.0 USB Device",
    volume="\\Device\\HarddiskVolume8",
)
_BITLOCKER = _disk(
    "GENERIC",
    "FLASH_DISK",
    "8.07",
    "02B1DF9B",
    "Generic Flash Disk USB Device",
    description="Removable Disk ENCRYPTED BitLocker Removable Media "
    "Win32_LogicalDisk USB2.0",
    volume="\\Device\\HarddiskVolume10",
)
_APRICORN = _disk(
    "APRICORN",
    "SECURE_KEY",
    "0463",
    "09840330132300001299",
    "Apricorn Secure Key USB Device",
    description="Removable Disk ENCRYPTED Removable Media Win32_LogicalDisk USB2.0",
)
_PIXEL = {
    "drive": "Internal shared storage:",
    "volume": "\\Device\\000000b0",
    "device_description": "Google MOBILE Win32ext_WPD USB2.0",
    "serial_number": "29031FDH2006XY",
    "model": "Pixel 7",
    "internal_id": f"\\\\?\\usb#vid_18d1&pid_4ee1&mi_00#7&2a1b3c4d&0&0000#{_WPD}",
}
_IPHONE = {
    "drive": "Internal storage:",
    "volume": "\\Device\\000000b4",
    "device_description": "Apple Inc. MOBILE Win32ext_WPD USB2.0",
    "serial_number": "00008110001E2D3A0C01801E",
    "model": "iPhone 14",
    "internal_id": f"\\\\?\\usb#vid_05ac&pid_12a8&mi_00#7&1f2e3d4c&0&0000#{_WPD}",
}


def _story() -> list[tuple[int, str, tuple[str, str], dict[str, object]]]:
    """(minute offset, computer, (user, sid), record fields) in time order."""
    copy = {
        "program_name": "C:\\WINDOWS\\Explorer.EXE",
        "program_pid": 7412,
        "additional_program_info": "COPY",
    }
    return [
        (
            0,
            _FINANCE,
            _ADMIN,
            {
                "event": "Property change",
                "property_name": "AllowedSerialNumbers",
                "property_action": "created",
                "property_value": _SANDISK["serial_number"],
                "configuration_target": "Computer",
                "property_operation_status": "Completed",
                "additional_program_info": "powershell",
            },
        ),
        (4, _FINANCE, _ALICE, {"event": "ONLINE", **_SANDISK}),
        (
            5,
            _FINANCE,
            _ALICE,
            {
                "event": "WRITE COMPLETED",
                **_SANDISK,
                **copy,
                "target_file": "E:\\Q4 forecast.xlsx",
                "source_file": "C:\\Users\\alice\\Documents\\Q4 forecast.xlsx",
                "source_file_size": 48213,
                "source_file_last_write": datetime(2026, 11, 28, 17, 2, 44),
            },
        ),
        (7, _FINANCE, _ALICE, {"event": "OFFLINE", **_SANDISK}),
        (12, _ENGINEERING, _BOB, {"event": "ONLINE", **_KINGSTON}),
        (
            13,
            _ENGINEERING,
            _BOB,
            {
                "event": "SERIAL # AUTHORIZATION",
                **_KINGSTON,
                **copy,
                "target_file": "E:\\schematics.zip",
                "source_file": "C:\\Projects\\schematics.zip",
                "source_file_size": 7340032,
                "source_file_last_write": datetime(2026, 12, 1, 9, 15, 3),
                "message": "Authorized Serial Numbers List: 4C530001060623106322",
            },
        ),
        (
            14,
            _ENGINEERING,
            _BOB,
            {
                "event": "BLOCK PROGRAMS ON DEVICE ACTIVE",
                **_KINGSTON,
                "program_name": '"E:\\tools\\setup.exe"',
                "additional_program_info": "Command Line: E:\\tools",
            },
        ),
        (
            15,
            _ENGINEERING,
            _BOB,
            {
                "event": "BLOCK MACROS ON DEVICE ACTIVE",
                **_KINGSTON,
                "program_name": '"E:\\budget.xlsm"',
                "additional_program_info": "Command Line: E:\\",
            },
        ),
        (
            16,
            _ENGINEERING,
            _BOB,
            {
                "event": "EXTERNAL",
                **_KINGSTON,
                "message": defender_message(
                    "Trojan:Win32/Wacatac.B!ml", "E:\\tools\\setup.exe", "quarantined"
                ),
            },
        ),
        (18, _ENGINEERING, _BOB, {"event": "OFFLINE", **_KINGSTON}),
        (
            25,
            _FINANCE,
            _ALICE,
            {
                "event": "ONLINE",
                **_BITLOCKER,
                "additional_program_info": (
                    "BitLocker ProtectionStatus = Waiting for authentication."
                ),
            },
        ),
        (
            26,
            _FINANCE,
            _ALICE,
            {
                "event": "ONLINE",
                **_BITLOCKER,
                "additional_program_info": "BitLocker Authentication performed.",
            },
        ),
        (31, _FINANCE, _ALICE, {"event": "OFFLINE", **_BITLOCKER}),
        (40, _ENGINEERING, _BOB, {"event": "ONLINE", **_APRICORN}),
        (44, _ENGINEERING, _BOB, {"event": "OFFLINE", **_APRICORN}),
        (
            50,
            _HYPERVISOR,
            _ADMIN,
            {
                "event": "EXTERNAL",
                **_SANDISK,
                "message": passthrough_message(
                    "SanDisk Cruzer Glide USB Device", "VM-BUILD01", "Hyper-V"
                ),
            },
        ),
        (51, _GUEST, _ADMIN, {"event": "ONLINE", **_SANDISK, "drive": vm_drive("E:")}),
        (
            60,
            _ENGINEERING,
            _BOB,
            {
                "event": "ONLINE",
                **_PIXEL,
                "additional_program_info": "MDM Info: ERROR: SerialNumber: "
                "29031FDH2006XY Mobile device is not MDM enrolled.",
            },
        ),
        (63, _ENGINEERING, _BOB, {"event": "OFFLINE", **_PIXEL}),
        (
            70,
            _FINANCE,
            _ALICE,
            {
                "event": "ONLINE",
                **_IPHONE,
                "additional_program_info": "MDM Info: Intune MDM Name: "
                "alice_iPhone (3f2a9c1e-0d4b-4e8a-9b7c-5a6d1e2f3b4c), "
                "Compliant: compliant, JailBroken: false",
            },
        ),
        (72, _FINANCE, _ALICE, {"event": "OFFLINE", **_IPHONE}),
    ]


def demo_records(now: datetime) -> list[dict[str, str | int]]:
    """The story's records as secRMM posts them; the last one a few minutes before ``now``."""
    story = _story()
    start = now - timedelta(minutes=story[-1][0] + 3)
    records = []
    for minute, computer, (user, sid), fields in story:
        online = fields["event"] in ("ONLINE", "OFFLINE")
        record = SecRMMRecord(
            time=start + timedelta(minutes=minute),
            computer=computer,
            user=user,
            user_sid="" if online else sid,
            **fields,  # type: ignore[arg-type]
        )
        records.append(record.posted())
    return records
