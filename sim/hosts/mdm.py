"""An Intune-like MDM inventory, answering by serial number in Microsoft Graph's shape.

secRMM asks Intune about a phone on ONLINE and embeds Graph's answer in
``AdditionalProgramInfo``. The service answers
``GET /v1.0/deviceManagement/managedDevices?$filter=serialNumber eq '<serial>'``
with a ``managedDevices`` collection, as Graph does; enrolment is the host
side's knowledge, not a property of the USB device.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from ..background import BackgroundServer

__all__ = ["ManagedDevice", "MdmInventory", "MdmServer"]

GRAPH_CONTEXT = (
    "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices"
)
_FILTER = re.compile(r"serialNumber eq '(?P<serial>[^']*)'")


@dataclass(frozen=True, kw_only=True)
class ManagedDevice:
    """One enrolled phone, with the fields secRMM shows and Graph returns."""

    serial: str
    device_name: str
    user_display_name: str
    user_principal_name: str
    operating_system: str
    os_version: str
    imei: str
    meid: str
    phone_number: str
    carrier: str
    wifi_mac: str
    enrolled: datetime
    last_sync: datetime
    compliance: str = "compliant"
    jailbroken: str = "false"

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"intune:{self.serial}"))

    def graph(self) -> dict[str, Any]:
        """The device as a Graph ``managedDevice`` (the members secRMM shows first)."""
        return {
            "id": self.id,
            "userId": str(uuid.uuid5(uuid.NAMESPACE_OID, self.user_principal_name)),
            "deviceName": self.device_name,
            "managedDeviceOwnerType": "company",
            "enrolledDateTime": f"{self.enrolled:%Y-%m-%dT%H:%M:%SZ}",
            "lastSyncDateTime": f"{self.last_sync:%Y-%m-%dT%H:%M:%SZ}",
            "operatingSystem": self.operating_system,
            "complianceState": self.compliance,
            "jailBroken": self.jailbroken,
            "managementAgent": "mdm",
            "osVersion": self.os_version,
            "azureADRegistered": True,
            "deviceEnrollmentType": "userEnrollment",
            "emailAddress": self.user_principal_name,
            "serialNumber": self.serial,
            "phoneNumber": self.phone_number,
            "subscriberCarrier": self.carrier,
            "imei": self.imei,
            "meid": self.meid,
            "wiFiMacAddress": self.wifi_mac,
            "userDisplayName": self.user_display_name,
            "userPrincipalName": self.user_principal_name,
        }


class MdmInventory:
    """Enrolled devices by serial number."""

    def __init__(self) -> None:
        self._devices: dict[str, ManagedDevice] = {}

    def enrol(self, device: ManagedDevice) -> None:
        self._devices[device.serial.upper()] = device

    def find(self, serial: str) -> ManagedDevice | None:
        return self._devices.get(serial.upper())

    def answer(self, serial: str) -> dict[str, Any]:
        """Graph's collection answer for a filter on ``serial`` (possibly empty)."""
        found = self.find(serial)
        value = [found.graph()] if found else []
        return {
            "@odata.context": GRAPH_CONTEXT,
            "@odata.count": len(value),
            "value": value,
        }


def mdm_app(inventory: MdmInventory) -> web.Application:
    async def managed_devices(request: web.Request) -> web.Response:
        match = _FILTER.fullmatch(request.query.get("$filter", ""))
        if match is None:
            return web.json_response(
                {
                    "error": {
                        "code": "BadRequest",
                        "message": "Use $filter=serialNumber eq '<serial>'.",
                    }
                },
                status=400,
            )
        return web.json_response(inventory.answer(match["serial"]))

    app = web.Application()
    app.router.add_get("/v1.0/deviceManagement/managedDevices", managed_devices)
    return app


class MdmServer(BackgroundServer):
    """The inventory over HTTP; the agent's base URL is ``graph_url``."""

    def __init__(self, inventory: MdmInventory, *, host: str = "127.0.0.1") -> None:
        self.inventory = inventory
        super().__init__(mdm_app(inventory), host=host)

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"
