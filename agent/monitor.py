"""The agent's monitor: what happens on the computer becomes secRMM records.

The host tells the monitor about devices and user actions; the monitor asks
the policy, answers allow or deny where secRMM can block, and emits one record
per event with the fields the real rows fill (``secrmm.md`` §2.3). Emitted
records go to the spool through ``emit``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PureWindowsPath
from typing import Any

from .devices.model import Encryption, Medium, RemovableDevice
from .host import Account, DocumentOpen, FileWrite, HostView, Mount, ProgramStart
from .mdm import MdmLookup, mdm_info
from .policy import Policy
from .records import SecRMMRecord, connection_test_record
from .undocumented import (
    USER_SEPARATOR,
    defender_message,
    passthrough_message,
    vm_drive,
)

__all__ = ["Emit", "Monitor"]

logger = logging.getLogger(__name__)

Emit = Callable[[dict[str, str | int]], None]

BITLOCKER_LOCKED = "BitLocker ProtectionStatus = Waiting for authentication."
BITLOCKER_UNLOCKED = "BitLocker Authentication performed."


@dataclass(frozen=True)
class _Online:
    device: RemovableDevice
    mount: Mount | None


class Monitor:
    """One computer's secRMM: devices online, the policy in force, the events."""

    def __init__(
        self,
        host: HostView,
        emit: Emit,
        *,
        policy: Policy | None = None,
        mdm: MdmLookup | None = None,
    ) -> None:
        self.host = host
        self.policy = policy or Policy({})
        self._emit = emit
        self._mdm = mdm
        self._online: dict[str, _Online] = {}

    @property
    def online(self) -> list[RemovableDevice]:
        return [entry.device for entry in self._online.values()]

    def device_arrived(self, device: RemovableDevice) -> None:
        mount = self.host.mount_of(device.serial)
        self._online[device.serial] = _Online(device, mount)
        info = ""
        if device.medium is Medium.MOBILE and self.policy.switch(
            "RequireMDMEnrollment"
        ):
            answer = self._mdm.managed_devices(device.serial) if self._mdm else None
            info = mdm_info(device.serial, answer)
        elif device.encryption is Encryption.BITLOCKER:
            info = BITLOCKER_LOCKED
        self._device_event("ONLINE", device.serial, additional_program_info=info)
        if mount is not None and self.policy.switch("ScanDevice"):
            for finding in self.host.defender_scan(mount.drive):
                self.defender_finding(
                    mount.drive, finding.threat, finding.path, finding.action
                )

    def bitlocker_unlocked(self, serial: str) -> None:
        """The user typed the BitLocker password: a second ONLINE, no OFFLINE between."""
        self._device_event("ONLINE", serial, additional_program_info=BITLOCKER_UNLOCKED)

    def device_removed(self, serial: str) -> None:
        if serial not in self._online:
            logger.warning("device %s left without having arrived", serial)
            return
        self._device_event("OFFLINE", serial)
        del self._online[serial]

    def authorize_write(self, write: FileWrite) -> bool:
        """Whether the write may happen; a refusal is reported at once."""
        serial = self._serial_on(write.drive)
        if serial is None or self.policy.may_write(serial, write.account):
            return True
        allowed = self.policy.properties.get("AllowedSerialNumbers", "")
        self._write_event(
            "SERIAL # AUTHORIZATION",
            serial,
            write,
            message=f"Authorized Serial Numbers List: {allowed}",
        )
        return False

    def write_completed(self, write: FileWrite) -> None:
        serial = self._serial_on(write.drive)
        if serial is not None:
            self._write_event("WRITE COMPLETED", serial, write)

    def authorize_program(self, start: ProgramStart) -> bool:
        serial = self._serial_on(start.drive)
        if serial is None or not self.policy.switch("BlockProgramsOnDevice"):
            return True
        self._blocked(
            "BLOCK PROGRAMS ON DEVICE ACTIVE", serial, start.account, start.path
        )
        return False

    def authorize_document(self, document: DocumentOpen) -> bool:
        serial = self._serial_on(document.drive)
        if serial is None or not self.policy.switch("BlockOfficeMacrosOnDevice"):
            return True
        # No real row exists; the shape copies BLOCK PROGRAMS (secrmm.md §5.4).
        self._blocked(
            "BLOCK MACROS ON DEVICE ACTIVE", serial, document.account, document.path
        )
        return False

    def defender_finding(self, drive: str, threat: str, path: str, action: str) -> None:
        serial = self._serial_on(drive)
        if serial is None:
            return
        account = self._console()
        self._device_event(
            "EXTERNAL",
            serial,
            user=account.name,
            user_sid=account.sid,
            message=defender_message(threat, path, action),
        )

    def passed_through(self, serial: str, vm: str, hypervisor: str) -> None:
        """The device left this host for a virtual machine; the guest reports ONLINE."""
        entry = self._online.get(serial)
        if entry is None:
            return
        message = passthrough_message(entry.device.model, vm, hypervisor)
        self._device_event("EXTERNAL", serial, message=message)
        del self._online[serial]

    def set_property(
        self, name: str, value: str, account: Account, program: str
    ) -> None:
        change = self.policy.changed(name, value, account, program)
        self.policy = self.policy.with_property(name, value)
        self._send(
            event="Property change",
            user=account.name,
            user_sid=account.sid,
            property_name=change.name,
            property_action=change.action,
            property_value=change.value,
            previous_property_value=change.previous,
            configuration_target="Computer",
            property_operation_status="Completed",
            additional_program_info=program,
        )

    def connection_test(self, account: Account) -> None:
        """What the Test button sends: NetBIOS name, bare user name (real row)."""
        computer = self.host.computer.split(".", 1)[0].upper()
        self._emit(connection_test_record(computer, account.name.rsplit("\\", 1)[-1]))

    def _serial_on(self, drive: str) -> str | None:
        wanted = drive.rstrip("\\").upper()
        for serial, entry in self._online.items():
            if entry.mount is not None and entry.mount.drive.upper() == wanted:
                return serial
        return None

    def _console(self) -> Account:
        users = self.host.logged_on()
        return users[0] if users else Account(name="", sid="")

    def _device_event(self, event: str, serial: str, **fields: Any) -> None:
        entry = self._online[serial]
        drive = entry.mount.drive if entry.mount else ""
        if drive and self.host.in_virtual_machine:
            drive = vm_drive(drive)
        fields.setdefault(
            "user", USER_SEPARATOR.join(a.name for a in self.host.logged_on())
        )
        self._send(
            event=event,
            drive=drive,
            volume=entry.mount.volume if entry.mount else "",
            device_description=entry.device.description,
            serial_number=entry.device.serial,
            model=entry.device.model,
            internal_id=entry.mount.instance_id if entry.mount else "",
            **fields,
        )

    def _write_event(
        self, event: str, serial: str, write: FileWrite, message: str = ""
    ) -> None:
        self._device_event(
            event,
            serial,
            user=write.account.name,
            user_sid=write.account.sid,
            target_file=write.target,
            source_file=write.source,
            source_file_size=write.size,
            source_file_last_write=write.last_write,
            program_name=write.program,
            program_pid=write.pid,
            message=message,
            additional_program_info=write.operation,
        )

    def _blocked(self, event: str, serial: str, account: Account, path: str) -> None:
        folder = str(PureWindowsPath(path).parent)
        self._device_event(
            event,
            serial,
            user=account.name,
            user_sid=account.sid,
            program_name=f'"{path}"',
            additional_program_info=f"Command Line: {folder}",
        )

    def _send(self, **fields: Any) -> None:
        record = SecRMMRecord(
            time=self.host.now(), computer=self.host.computer, **fields
        )
        self._emit(record.posted())
