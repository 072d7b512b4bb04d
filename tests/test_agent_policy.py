"""The agent's policy: what secRMM allows, and how changes are reported."""

from __future__ import annotations

import struct

import pytest

from agent.devices.classify import BITLOCKER_TO_GO_GUID, has_bitlocker_signature
from agent.host import Account
from agent.policy import Policy, masked

ALICE = Account(name="CONTOSO\\alice", sid="S-1-5-21-1-2-3-1104")
BOB = Account(name="CONTOSO\\bob", sid="S-1-5-21-1-2-3-1107")


@pytest.mark.parametrize(
    ("value", "serial", "account", "allowed"),
    [
        (None, "ANY", ALICE, True),
        ("secRMM_is_locked_down", "4C53", ALICE, False),
        ("4C53 AB12", "ab12", ALICE, True),
        ("4C53,AB12", "CD34", ALICE, False),
        ("4C53:CONTOSO\\bob", "4C53", ALICE, False),
        ("4C53:CONTOSO\\bob", "4C53", BOB, True),
    ],
)
def test_serial_authorization(
    value: str | None, serial: str, account: Account, allowed: bool
) -> None:
    properties = {} if value is None else {"AllowedSerialNumbers": value}
    assert Policy(properties).may_write(serial, account) is allowed


@pytest.mark.parametrize(
    ("before", "after", "action", "shown_value", "shown_previous"),
    [
        (None, "on", "created", "on", ""),
        ("on", "on", "unchanged", "on", ""),
        ("a", "b", "changed", "b", "a"),
        ("on", "", "cleared", "", "on"),
    ],
)
def test_changes_are_named_as_secrmm_names_them(
    before: str | None, after: str, action: str, shown_value: str, shown_previous: str
) -> None:
    policy = Policy({} if before is None else {"ScanDevice": before})
    change = policy.changed("ScanDevice", after, ALICE, "powershell")
    assert (change.action, change.value, change.previous) == (
        action,
        shown_value,
        shown_previous,
    )


def test_secrets_in_property_values_are_masked() -> None:
    azure = "7ff9d868-2404-4ba9-b01e-f29a75debeb3 c2VjcmV0 ONLINE,OFFLINE"
    assert (
        masked("SendToAzureLog", azure)
        == "7ff9d868-2404-4ba9-b01e-f29a75debeb3 ***** ONLINE,OFFLINE"
    )
    mdm = "on Enrolled Intune UserIdPassword t-guid a-guid grace@contoso.com Pa55 OLD_pre9.9.22.0"
    assert masked("RequireMDMEnrollment", mdm).split(" ")[7] == "*****"
    assert masked("AllowedSerialNumbers", "4C53") == "4C53"


class _Sectors:
    """A disk read by LBA: stands in for the SCSI reader at the USB boundary."""

    def __init__(self, sectors: dict[int, bytes]) -> None:
        self.sectors = sectors

    def read(self, lba: int, blocks: int, block_size: int = 512) -> bytes:
        return self.sectors.get(lba, bytes(512))


def _mbr(start: int) -> bytes:
    sector = bytearray(512)
    sector[446 + 4] = 0x0C
    struct.pack_into("<I", sector, 446 + 8, start)
    sector[510:512] = b"\x55\xaa"
    return bytes(sector)


def test_bitlocker_is_found_by_oem_id_on_ntfs_and_exfat_volumes() -> None:
    boot = bytearray(512)
    boot[3:11] = b"-FVE-FS-"
    assert has_bitlocker_signature(_Sectors({0: _mbr(2048), 2048: bytes(boot)}))  # type: ignore[arg-type]


def test_bitlocker_to_go_on_fat_is_found_by_guid_and_metadata_block() -> None:
    boot = bytearray(512)
    boot[3:11] = b"MSWIN4.1"
    boot[424:440] = BITLOCKER_TO_GO_GUID
    struct.pack_into("<Q", boot, 440, 0x10000)
    block = b"-FVE-FS-" + bytes(504)
    disk = {0: _mbr(2048), 2048: bytes(boot), 2048 + 0x10000 // 512: block}
    assert has_bitlocker_signature(_Sectors(disk))  # type: ignore[arg-type]
    del disk[2048 + 0x10000 // 512]
    assert not has_bitlocker_signature(_Sectors(disk)), "the GUID alone is not enough"  # type: ignore[arg-type]


def test_a_plain_fat_stick_is_not_bitlocker() -> None:
    boot = bytearray(512)
    boot[3:11] = b"MSWIN4.1"
    assert not has_bitlocker_signature(_Sectors({0: _mbr(2048), 2048: bytes(boot)}))  # type: ignore[arg-type]
