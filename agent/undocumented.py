"""Every secRMM behaviour the public evidence leaves open, decided once.

``shared/spec/secrmm.md`` §5 lists what no public source settles. The agent
must still post something, so each choice is made once, used everywhere, and
never presented as the vendor's documented behaviour. The constants below are
the choices about wording; the rest live beside the code that applies them and
are listed here so this stays the one index:

- Event ids other than ONLINE = 400: none are invented (``records.EVENTS``).
- Categories of BLOCK ..., EXTERNAL and LICENSING events (``records.EVENTS``).
- ``^`` placement for an ONLINE inside a VM: after the drive (:data:`VM_DRIVE_MARKER`).
- EXTERNAL wording for Defender and VM pass-through (:func:`defender_message`,
  :func:`passthrough_message`); the physical host reports EXTERNAL, no OFFLINE,
  when it hands a device to a guest (``monitor.Monitor.passed_through``).
- BLOCK MACROS rows copy the BLOCK PROGRAMS shape: the quoted document as
  ``ProgramName``, ``Command Line: <folder>`` (``monitor.Monitor.authorize_document``).
- Several logged-on users on ONLINE are joined by :data:`USER_SEPARATOR`.
- ``Time`` is the host's clock as the host gives it; simulated hosts run on UTC.
- Escaping reaches ``InternalID``, ``ProgramName`` and ``AdditionalProgramInfo``
  only, the fields the real rows show escaped (``records.SecRMMRecord``).
- Sizes and PIDs go as JSON numbers, as the real rows show them (``records``).
- Bus tokens other than ``USB2.0`` (``devices.model.bus_token``).
- ``AllowedSerialNumbers`` entries are separated by spaces, commas or
  semicolons; ``SERIAL:DOMAIN\\user`` limits one to a user (``policy.Policy``).
- Intune is asked about a phone only while ``RequireMDMEnrollment`` is on
  (``monitor.Monitor.device_arrived``).
- ``ScanDevice`` on: Defender scans each arriving drive; every finding is an
  EXTERNAL event after the ONLINE (``monitor.Monitor.device_arrived``).
"""

from __future__ import annotations

__all__ = [
    "MDM_NOT_ENROLLED",
    "PROPERTY_CHANGED_BY_CONSOLE",
    "USER_SEPARATOR",
    "VM_DRIVE_MARKER",
    "defender_message",
    "passthrough_message",
    "vm_drive",
]

#: Where the "^" of an ONLINE seen inside a virtual machine goes (§5.2): after
#: the drive, ``E:^``. The vendor documents only that ``Drive_s`` contains it.
VM_DRIVE_MARKER = "^"

#: Separator between several logged-on users on ONLINE (§5.6): ``", "``.
USER_SEPARATOR = ", "

#: The text after the serial number for a phone Intune does not know (seen in
#: the real rows, so documented; kept here beside its enrolled counterpart).
MDM_NOT_ENROLLED = "Mobile device is not MDM enrolled."

#: What ``AdditionalProgramInfo`` says for a change made in the secRMM snap-in
#: (seen in the real rows).
PROPERTY_CHANGED_BY_CONSOLE = (
    '"C:\\WINDOWS\\system32\\mmc.exe" "C:\\WINDOWS\\system32\\compmgmt.msc" /s'
)


def vm_drive(drive: str) -> str:
    """The drive of an ONLINE seen inside a virtual machine."""
    return f"{drive}{VM_DRIVE_MARKER}"


def defender_message(threat: str, path: str, action: str) -> str:
    """EXTERNAL ``Message`` for a Microsoft Defender finding (§5.3).

    It must contain "Microsoft Defender" for the vendor's queries G5/C4/W5.
    """
    return f"Microsoft Defender Antivirus found {threat} in {path} and {action} it"


def passthrough_message(device: str, vm: str, hypervisor: str) -> str:
    """EXTERNAL ``Message`` on the physical host when a device goes to a VM (§5.3).

    It must contain "ONLINE" and "Virtual Machine" for G9/C8.
    """
    return f"ONLINE: {device} passed through to Virtual Machine {vm} ({hypervisor})"
