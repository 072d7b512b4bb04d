"""Every KQL query the product must answer, as the vendor and Microsoft ship them.

Sources (``shared/spec/secrmm.md`` §4): the vendor's Azure Sentinel guide (G),
the packaged analytic rule (R), the data connector's samples (C) and health
queries (H), and the workbook (W). Tests, benchmarks and the demo all read
this one table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VENDOR_QUERIES", "VendorQuery", "vendor_query"]


@dataclass(frozen=True, kw_only=True)
class VendorQuery:
    id: str
    title: str
    kql: str


def _q(id: str, title: str, kql: str) -> VendorQuery:
    return VendorQuery(id=id, title=title, kql=kql.strip())


VENDOR_QUERIES: tuple[VendorQuery, ...] = (
    _q("G1", "ONLINE events (event id 400)", 'secRMM_CL | where Event_s == "ONLINE"'),
    _q(
        "G2",
        "Count failed write attempts",
        """
secRMM_CL
| extend count1=iff(Event_s == "SERIAL # AUTHORIZATION", 1, 0)
| summarize ERRORS=sum(count1)""",
    ),
    _q(
        "G3",
        "Which users write files to removable storage",
        'secRMM_CL | where Event_s == "WRITE COMPLETED" | summarize count() by User_s',
    ),
    _q(
        "G4",
        "Microsoft BitLocker activity",
        'secRMM_CL | where DeviceDescription_s contains "ENCRYPTED BitLocker"',
    ),
    _q(
        "G5",
        "Microsoft Windows Defender activity",
        'secRMM_CL | where ((Event_s == "EXTERNAL") and (Message contains "Microsoft Defender"))',
    ),
    _q(
        "G6",
        "Hardware-encrypted device activity",
        'secRMM_CL | where DeviceDescription_s contains " ENCRYPTED Removable Media"',
    ),
    _q(
        "G7",
        "Users who tried to run macros or programs from a device",
        'secRMM_CL | where ((Event_s == "BLOCK MACROS ON DEVICE ACTIVE") or '
        '(Event_s == "BLOCK PROGRAMS ON DEVICE ACTIVE")) | summarize count() by User_s',
    ),
    _q(
        "G8",
        "Devices that are not encrypted (hardware or software)",
        'secRMM_CL | where ((Event_s == "ONLINE") and (DeviceDescription_s !contains "ENCRYPTED"))',
    ),
    _q(
        "G9",
        "Device mounted into a VM: event on the physical machine",
        'secRMM_CL | where ((Event_s == "EXTERNAL") and (Message contains "ONLINE") and '
        '(Message contains "Virtual Machine"))',
    ),
    _q(
        "G10",
        "Device mounted into a VM: event on the virtual machine",
        'secRMM_CL | where ((Event_s == "ONLINE") and (Drive_s contains "^"))',
    ),
    _q(
        "G11",
        "Mobile devices being USB mounted",
        'secRMM_CL | where ((Event_s == "ONLINE") and (DeviceDescription_s contains "MOBILE"))',
    ),
    _q(
        "G12",
        "Mobile devices USB mounted but not MDM (Intune) enrolled",
        'secRMM_CL | where ((Event_s == "ONLINE") and '
        '(AdditionalProgramInfo_s contains "Mobile device is not MDM enrolled"))',
    ),
    _q(
        "G13",
        "Rule query from the guide's Analytics section",
        """
secRMM_CL | where Event_s == "ONLINE"
| extend AccountCustomEntity = User_s
| extend HostCustomEntity = Computer""",
    ),
    _q(
        "R1",
        "Analytic rule: Removable Storage ONLINE",
        """
secRMM_CL | where Event_s == "ONLINE"
| extend AccountCustomEntity = User_s
| extend HostCustomEntity = Computer""",
    ),
    _q(
        "C1",
        "Alert on USB removable storage devices ONLINE events",
        "secRMM_CL | where Event_s == 'ONLINE'",
    ),
    _q(
        "C2",
        "Which users are writing files to removable storage devices",
        "secRMM_CL | where Event_s == 'WRITE COMPLETED' | summarize count() by User_s",
    ),
    _q(
        "C3",
        "Microsoft BitLocker Activity for removable storage devices",
        "secRMM_CL | where DeviceDescription_s contains 'ENCRYPTED BitLocker'",
    ),
    _q(
        "C4",
        "Microsoft Windows Defender Activity for removable storage devices",
        "secRMM_CL | where ((Event_s == 'EXTERNAL') and (Message contains 'Microsoft Defender'))",
    ),
    _q(
        "C5",
        "Hardware Encrypted Device Activity",
        "secRMM_CL | where DeviceDescription_s contains ' ENCRYPTED Removable Media'",
    ),
    _q(
        "C6",
        "Users who have tried to execute macros or programs from a removable storage device",
        "secRMM_CL | where ((Event_s == 'BLOCK MACROS ON DEVICE ACTIVE') or "
        "(Event_s == 'BLOCK PROGRAMS ON DEVICE ACTIVE')) | summarize count() by User_s",
    ),
    _q(
        "C7",
        "Removable storage devices that are not encrypted (hardware or software)",
        "secRMM_CL | where ((Event_s == 'ONLINE') and (DeviceDescription_s !contains 'ENCRYPTED'))",
    ),
    _q(
        "C8",
        "Removable storage devices mounted into a Virtual Machine (from physical)",
        "secRMM_CL | where ((Event_s == 'EXTERNAL') and (Message contains 'ONLINE') and "
        "(Message contains 'Virtual Machine'))",
    ),
    _q(
        "C9",
        "Removable storage devices mounted into a Virtual Machine (from virtual)",
        "secRMM_CL | where ((Event_s == 'ONLINE') and (Drive_s contains '^'))",
    ),
    _q(
        "C10",
        "Show mobile devices that are being USB mounted",
        "secRMM_CL | where ((Event_s == 'ONLINE') and (DeviceDescription_s contains 'MOBILE'))",
    ),
    _q(
        "C11",
        "Show mobile devices that are being USB mounted but are not MDM (Intune) enrolled",
        "secRMM_CL | where ((Event_s == 'ONLINE') and "
        "(AdditionalProgramInfo_s contains 'Mobile device is not MDM enrolled'))",
    ),
    _q(
        "H1",
        "Connector health: last data received",
        "secRMM_CL | summarize Time = max(TimeGenerated) | where isnotempty(Time)",
    ),
    _q(
        "H2",
        "Connector health: is connected",
        """
secRMM_CL
 | summarize LastLogReceived = max(TimeGenerated)
 | project IsConnected = LastLogReceived > ago(30d)""",
    ),
    _q(
        "W1",
        "File writes to removable storage by User",
        'secRMM_CL | where Event_s == "WRITE COMPLETED" | summarize count() by User_s '
        "| render barchart",
    ),
    _q(
        "W2",
        "File writes to removable storage by Computer",
        """
secRMM_CL
| where TimeGenerated > ago(1d)
| where Event_s == "WRITE COMPLETED"
| summarize count() by Computer, bin(TimeGenerated, 1h)
| render piechart""",
    ),
    _q(
        "W3",
        "Removable storage devices used",
        """
secRMM_CL
| where SerialNumber_s <> ""
| summarize count() by strcat(SerialNumber_s, ", ", Model_s)
| render piechart""",
    ),
    _q(
        "W4",
        "Microsoft BitLocker Activity",
        """
secRMM_CL
| where DeviceDescription_s contains "ENCRYPTED BitLocker"
| summarize count() by User_s
| render piechart""",
    ),
    _q(
        "W5",
        "Microsoft Windows Defender Activity",
        """
secRMM_CL
| where ((Event_s == "EXTERNAL") and (Message contains "Microsoft Defender"))
| project Message""",
    ),
    _q(
        "W6",
        "Mobile devices that are being USB mounted",
        """
secRMM_CL
| where ((Event_s == "ONLINE") and (DeviceDescription_s contains "MOBILE"))
| project SerialNumber_s, User_s, DeviceDescription_s""",
    ),
    _q(
        "W7",
        "Removable storage security events",
        """
secRMM_CL
| where isnotempty(Event_s)
| summarize count() by Event_s
| render piechart""",
    ),
)


def vendor_query(query_id: str) -> VendorQuery:
    for query in VENDOR_QUERIES:
        if query.id == query_id:
            return query
    raise KeyError(
        f"no vendor query {query_id!r}; ids are G1-G13, R1, C1-C11, H1-H2, W1-W7"
    )
