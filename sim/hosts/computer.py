"""A simulated Windows computer: accounts, drive letters, volumes, processes, USB.

It is the agent's host: it implements the agent's :class:`~agent.host.HostView`
and calls the agent's monitor when a user acts, the way a real Windows
integration would from WMI and a file-system minifilter. Devices plug into its
own USB bus, and the agent discovers them through pyusb like any other.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import usb.core
import usb.util

from agent.devices.model import RemovableDevice
from agent.devices.watcher import DeviceWatcher
from agent.host import (
    Account,
    DefenderFinding,
    DocumentOpen,
    FileWrite,
    Mount,
    ProgramStart,
)
from agent.monitor import Monitor
from sim.usb.bus import UsbBus
from sim.usb.catalogue import DeviceKind, DeviceSpec
from sim.usb.device import UsbDevice
from sim.usb.factory import build_device
from sim.usb.medium import Medium
from sim.usb.pyusb_backend import InProcessBackend
from sim.usb.sticks import MassStorageStick, fat32_disk

from .defender import scan_device

__all__ = ["HostError", "User", "WindowsComputer"]

#: Windows' portable-device interface class, the tail of a phone's InternalID.
WPD_INTERFACE = "{6ac27878-a6fa-4155-ba85-f98f491d4f33}"
#: The first NT volume number a stick gets on a typical desktop (real rows: 6).
FIRST_VOLUME = 6
FIRST_WPD_DEVICE = 0xAD
EXPLORER = "C:\\WINDOWS\\Explorer.EXE"


class HostError(RuntimeError):
    """An action that cannot happen on this computer (no such drive, user, device)."""


@dataclass(frozen=True, kw_only=True)
class User:
    account: Account
    display_name: str
    upn: str


@dataclass
class _Plugged:
    spec: DeviceSpec
    busid: str
    mount: Mount


def _short(name: str) -> str:
    """``alice`` for ``alice`` and ``CONTOSO\\alice`` alike."""
    return name.rsplit("\\", 1)[-1].lower()


def _pnp_part(text: str, width: int) -> str:
    return text.strip().upper().replace(" ", "_")[:width]


class WindowsComputer:
    """One Windows endpoint with secRMM installed."""

    def __init__(
        self,
        *,
        fqdn: str,
        users: Sequence[User],
        clock: Callable[[], datetime],
        seed: int = 0,
        virtual: bool = False,
    ) -> None:
        self.fqdn = fqdn
        self.users = {_short(user.account.name): user for user in users}
        self.virtual = virtual
        self._clock = clock
        self._random = random.Random(f"{fqdn}:{seed}")
        self._session: list[Account] = []
        self._next_volume = FIRST_VOLUME
        self._next_wpd = FIRST_WPD_DEVICE
        self._next_pid = 4000 + self._random.randrange(4000)
        self._plugged: dict[str, _Plugged] = {}
        self._found: dict[str, RemovableDevice] = {}
        self.bus = UsbBus()
        self.watcher = DeviceWatcher(InProcessBackend(self.bus))
        self.monitor: Monitor | None = None

    # ---- the agent's questions (HostView) -------------------------------------------
    @property
    def computer(self) -> str:
        return self.fqdn

    @property
    def in_virtual_machine(self) -> bool:
        return self.virtual

    def now(self) -> datetime:
        return self._clock()

    def logged_on(self) -> Sequence[Account]:
        return list(self._session)

    def mount_of(self, serial: str) -> Mount | None:
        plugged = self._plugged.get(serial)
        return plugged.mount if plugged else None

    def defender_scan(self, drive: str) -> Sequence[DefenderFinding]:
        """Defender reads the drive over USB, as Windows would, and scans it."""
        plugged = next(
            (p for p in self._plugged.values() if p.mount.drive == drive), None
        )
        if plugged is None or not plugged.spec.kind.is_storage:
            return []
        for device in usb.core.find(find_all=True, backend=self.watcher.backend):
            if usb.util.get_string(device, device.iSerialNumber) == plugged.spec.serial:
                return scan_device(device, drive)
        return []

    # ---- what users and administrators do -------------------------------------------
    def install_agent(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def log_on(self, name: str) -> Account:
        account = self.user(name).account
        if account not in self._session:
            self._session.append(account)
        return account

    def log_off(self, name: str) -> None:
        account = self.user(name).account
        if account in self._session:
            self._session.remove(account)

    def user(self, name: str) -> User:
        found = self.users.get(_short(name))
        if found is None:
            raise HostError(
                f"{self.fqdn} has no user {name!r}; its users are {sorted(self.users)}"
            )
        return found

    def plug(self, spec: DeviceSpec, device: UsbDevice | None = None) -> Mount:
        """Plug a device in; Windows mounts it and the agent finds it over pyusb.

        ``device`` is the device model built from ``spec``, when the caller
        keeps one (the same stick carried from computer to computer).
        """
        if spec.serial in self._plugged:
            raise HostError(f"device {spec.serial} is already plugged into {self.fqdn}")
        mount = self._mount(spec)
        attachment = self.bus.plug(device or build_device(spec))
        self._plugged[spec.serial] = _Plugged(spec, attachment.busid, mount)
        self._scan()
        return mount

    def unplug(self, serial: str) -> DeviceSpec:
        plugged = self._plugged_device(serial)
        self.bus.unplug(plugged.busid)
        self._scan()
        del self._plugged[serial]
        return plugged.spec

    def copy_file(
        self,
        user: str,
        drive: str,
        source: str,
        size: int,
        last_write: datetime,
        program: str = EXPLORER,
    ) -> bool:
        """Copy ``source`` to the root of ``drive``; False if secRMM blocked it."""
        name = source.rsplit("\\", 1)[-1]
        write = FileWrite(
            account=self._acting(user),
            drive=drive,
            target=f"{drive}\\{name}",
            source=source,
            size=size,
            last_write=last_write,
            program=program,
            pid=self._new_pid(),
        )
        monitor = self._agent()
        if not monitor.authorize_write(write):
            return False
        # TODO(#5): write the file into the stick's FAT image over SCSI as well.
        monitor.write_completed(write)
        return True

    def run_program(self, user: str, path: str) -> bool:
        start = ProgramStart(
            account=self._acting(user), drive=path[:2], path=path, pid=self._new_pid()
        )
        return self._agent().authorize_program(start)

    def open_document(self, user: str, path: str, program: str) -> bool:
        document = DocumentOpen(
            account=self._acting(user),
            drive=path[:2],
            path=path,
            program=program,
            pid=self._new_pid(),
        )
        return self._agent().authorize_document(document)

    def defender_finding(self, drive: str, threat: str, path: str, action: str) -> None:
        self._agent().defender_finding(drive, threat, path, action)

    def unlock_bitlocker(self, serial: str) -> None:
        self._plugged_device(serial)
        self._agent().bitlocker_unlocked(serial)

    def change_media(self, serial: str, device: UsbDevice, seed: int) -> None:
        """Swap a card reader's medium: a fresh FAT32 card with the same files.

        Windows dismounts the volume and mounts the new one under a new volume
        number; secRMM reports OFFLINE, then ONLINE.
        """
        plugged = self._plugged_device(serial)
        if not isinstance(device, MassStorageStick):
            raise HostError(f"device {serial} has no removable medium to change")
        monitor = self._agent()
        monitor.device_removed(serial)
        card = dataclasses.replace(plugged.spec, seed=seed)
        device.change_medium(Medium(fat32_disk(card), read_only=card.read_only))
        plugged.mount = self._mount(plugged.spec)
        found = self._found.get(serial)
        if found is not None:
            monitor.device_arrived(found)

    def test_connection(self, user: str) -> None:
        """The administrator presses Test in secRMM's Azure settings."""
        self._agent().connection_test(self.user(user).account)

    def set_property(self, user: str, name: str, value: str, program: str) -> None:
        self._agent().set_property(name, value, self.user(user).account, program)

    def pass_through(
        self, serial: str, guest: WindowsComputer, hypervisor: str
    ) -> None:
        """Hand a plugged device to a virtual machine running on this computer."""
        plugged = self._plugged_device(serial)
        self._agent().passed_through(serial, guest.fqdn.split(".", 1)[0], hypervisor)
        attachment = self.bus.unplug(plugged.busid)
        self.watcher.scan()  # the agent already reported the hand-over
        del self._plugged[serial]
        guest.plug(plugged.spec, attachment.device)

    # ---- Windows' side of a plug ----------------------------------------------------
    def _mount(self, spec: DeviceSpec) -> Mount:
        if spec.kind.is_storage:
            volume = f"\\Device\\HarddiskVolume{self._next_volume}"
            self._next_volume += 2  # Windows numbers a re-plugged stick anew
            instance = (
                f"USBSTOR\\DISK&VEN_{_pnp_part(spec.scsi_vendor, 8)}"
                f"&PROD_{_pnp_part(spec.scsi_product, 16)}"
                f"&REV_{_pnp_part(spec.scsi_revision, 4)}\\{spec.serial}&0"
            )
            return Mount(drive=self._free_drive(), volume=volume, instance_id=instance)
        volume = f"\\Device\\{self._next_wpd:08x}"
        self._next_wpd += 3
        storage = (
            "Internal shared storage"
            if spec.kind is DeviceKind.ANDROID_PHONE
            else "Internal storage"
        )
        instance = (
            f"\\\\?\\usb#vid_{spec.vendor_id:04x}&pid_{spec.product_id:04x}&mi_00#"
            f"7&{self._random.getrandbits(32):08x}&0&0000#{WPD_INTERFACE}"
        )
        return Mount(drive=f"{storage}:", volume=volume, instance_id=instance)

    def _free_drive(self) -> str:
        taken = {p.mount.drive for p in self._plugged.values()}
        for letter in "EFGHIJKLMNOPQRSTUVWXYZ":
            if f"{letter}:" not in taken:
                return f"{letter}:"
        raise HostError(f"{self.fqdn} has no free drive letter")

    def _scan(self) -> None:
        changes = self.watcher.scan()
        if self.monitor is None:
            return
        for device in changes.arrived:
            self._found[device.serial] = device
            self.monitor.device_arrived(device)
        for gone in changes.removed:
            self.monitor.device_removed(gone.serial)

    def _agent(self) -> Monitor:
        if self.monitor is None:
            raise HostError(f"secRMM is not installed on {self.fqdn}")
        return self.monitor

    def _acting(self, name: str) -> Account:
        account = self.user(name).account
        if account not in self._session:
            raise HostError(
                f"{name} is not logged on to {self.fqdn}; log them on first"
            )
        return account

    def _plugged_device(self, serial: str) -> _Plugged:
        plugged = self._plugged.get(serial)
        if plugged is None:
            raise HostError(f"no device {serial} is plugged into {self.fqdn}")
        return plugged

    def _new_pid(self) -> int:
        """The next process id; Windows hands them out in steps of four."""
        self._next_pid += 4 * (1 + self._random.randrange(50))
        return self._next_pid

    def devices(self) -> list[RemovableDevice]:
        return self._agent().online
