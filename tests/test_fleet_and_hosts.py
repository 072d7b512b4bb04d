"""Fleets, simulated computers and the MDM service."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import requests

from agent.mdm import GraphMdmClient, mdm_info
from agent.monitor import Monitor
from agent.policy import Policy
from sim.hosts.computer import WindowsComputer
from sim.hosts.defender import EICAR_THREAT, eicar
from sim.hosts.fleet import domain_users, plan_fleet
from sim.hosts.mdm import MdmInventory, MdmServer
from sim.scenarios.destination import EmbeddedWorkspace
from sim.scenarios.enrolment import managed_device
from sim.scenarios.loader import load_scenario
from sim.scenarios.runner import run_scenario
from sim.usb.catalogue import by_name
from sim.usb.factory import build_device
from sim.usb.fat32 import FileSpec


def _fleet_bytes(seed: int) -> bytes:
    plan = plan_fleet(50, 120, "contoso.com", seed)
    return json.dumps(asdict(plan), sort_keys=True).encode()


def test_same_seed_same_fleet_byte_for_byte() -> None:
    assert _fleet_bytes(7) == _fleet_bytes(7)
    assert _fleet_bytes(7) != _fleet_bytes(8)


def test_a_fleet_has_realistic_unique_identities() -> None:
    plan = plan_fleet(50, 120, "contoso.com", 7)
    names = [name for name, _ in plan.computers]
    assert len(set(names)) == 50
    assert all(len(name) <= 15 for name in names), (
        "NetBIOS names have at most 15 characters"
    )
    accounts = [user.account for user in plan.users]
    assert len({account.sid for account in accounts}) == len(accounts) == 121
    assert all(account.name.startswith("CONTOSO\\") for account in accounts)
    administrator = next(a for a in accounts if a.name == "CONTOSO\\Administrator")
    assert administrator.sid.endswith("-500")


def test_a_computer_mounts_sticks_as_windows_names_them() -> None:
    clock = lambda: datetime(2026, 12, 1, 9, tzinfo=UTC)  # noqa: E731
    records: list[dict[str, str | int]] = []
    computer = WindowsComputer(
        fqdn="PC1.contoso.com",
        users=domain_users(["alice"], "contoso.com", 1),
        clock=clock,
    )
    computer.install_agent(Monitor(computer, records.append))
    computer.log_on("alice")
    stick = by_name("stick")
    first = computer.plug(stick)
    assert (first.drive, first.volume) == ("E:", "\\Device\\HarddiskVolume6")
    assert (
        first.instance_id
        == f"USBSTOR\\DISK&VEN_SANDISK&PROD_CRUZER_BLADE&REV_1.00\\{stick.serial}&0"
    )
    computer.unplug(stick.serial)
    again = computer.plug(stick)
    assert again.volume == "\\Device\\HarddiskVolume8", (
        "a re-plugged stick gets a new volume"
    )
    assert [record["Event"] for record in records] == ["ONLINE", "OFFLINE", "ONLINE"]


def test_mdm_service_answers_by_serial_in_graph_shape() -> None:
    inventory = MdmInventory()
    phone = by_name("iphone")
    inventory.enrol(
        managed_device(phone, "grace", datetime(2026, 12, 1, tzinfo=UTC), 1)
    )
    with MdmServer(inventory) as server:
        client = GraphMdmClient(server.graph_url)
        enrolled = client.managed_devices(phone.serial)
        unknown = client.managed_devices("FA7951A01459")
        bad = requests.get(
            f"{server.graph_url}/deviceManagement/managedDevices", timeout=5
        )
    assert enrolled is not None
    assert enrolled["@odata.count"] == 1
    assert enrolled["value"][0]["serialNumber"] == phone.serial
    assert unknown == {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices",
        "@odata.count": 0,
        "value": [],
    }
    assert bad.status_code == 400
    assert mdm_info("FA7951A01459", unknown) == (
        "MDM Info: ERROR: SerialNumber: FA7951A01459 Mobile device is not MDM enrolled."
    )
    text = mdm_info(phone.serial, enrolled)
    assert text.startswith("MDM Info: Intune MDM Name: grace_iPhone(")
    assert "Phone#: +*******" in text
    assert "\n//===Intune Data===\n{" in text
    assert "," not in text.split("//===Intune Data===")[1], (
        "every comma of Graph's JSON is a line break"
    )


def test_an_unreachable_mdm_service_is_reported_not_fatal() -> None:
    assert (
        GraphMdmClient("http://127.0.0.1:9", timeout=0.5).managed_devices("X") is None
    )


def _scanning_computer(records: list[dict[str, str | int]]) -> WindowsComputer:
    clock = lambda: datetime(2026, 12, 1, 9, tzinfo=UTC)  # noqa: E731
    computer = WindowsComputer(
        fqdn="PC2.contoso.com",
        users=domain_users(["bob"], "contoso.com", 1),
        clock=clock,
    )
    computer.install_agent(
        Monitor(computer, records.append, policy=Policy({"ScanDevice": "on"}))
    )
    computer.log_on("bob")
    return computer


def test_defender_reads_the_stick_over_usb_and_finds_the_test_file() -> None:
    records: list[dict[str, str | int]] = []
    computer = _scanning_computer(records)
    stick = by_name("stick")
    infected = dataclasses.replace(
        stick, files=(*stick.files, FileSpec(path="tools/eicar.com", content=eicar()))
    )
    computer.plug(infected)
    events = [(record["Event"], record["Message"]) for record in records]
    assert events == [
        ("ONLINE", ""),
        (
            "EXTERNAL",
            f"Microsoft Defender Antivirus found {EICAR_THREAT} in "
            "E:\\tools\\eicar.com and quarantined it",
        ),
    ]


def test_defender_finds_nothing_on_a_clean_stick_or_one_it_cannot_read() -> None:
    records: list[dict[str, str | int]] = []
    computer = _scanning_computer(records)
    computer.plug(by_name("stick"))
    computer.plug(by_name("bitlocker-stick"))  # locked: no FAT volume to read
    assert [record["Event"] for record in records] == ["ONLINE", "ONLINE"]
    assert computer.defender_scan("Z:") == []


def test_a_media_change_is_a_dismount_and_a_new_mount() -> None:
    records: list[dict[str, str | int]] = []
    computer = _scanning_computer(records)
    reader = by_name("stick")
    device = build_device(reader)
    computer.plug(reader, device)
    computer.change_media(reader.serial, device, seed=42)
    events = [(record["Event"], record["Volume"]) for record in records]
    assert events == [
        ("ONLINE", "\\Device\\HarddiskVolume6"),
        ("OFFLINE", "\\Device\\HarddiskVolume6"),
        ("ONLINE", "\\Device\\HarddiskVolume8"),
    ]
    assert device.volume_files()["README.TXT"], "the new card carries the same files"


def test_scenario_files_can_change_media(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text(
        "scenario: a card reader\nhosts: [{name: PC3, users: [carol]}]\n"
        "devices: {reader: {catalogue: stick}}\n"
        "timeline:\n  - {host: PC3, log_on: carol}\n  - plug: reader\n"
        "  - change_media: reader\n  - unplug: reader\n"
        "expect: {G1: 2, W7: 2}\n"
    )
    summary = run_scenario(load_scenario(path), EmbeddedWorkspace(), folder=tmp_path)
    assert summary.failed_expectations == {}
    assert summary.events == 4
