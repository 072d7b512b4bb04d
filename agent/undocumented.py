"""Every secRMM behaviour the public evidence leaves open, decided once.

``shared/spec/secrmm.md`` §5 lists what no public source settles. The agent
must still post something, so each choice is made here, used everywhere from
here, and never presented as the vendor's documented behaviour.
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
