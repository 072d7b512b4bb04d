"""Mobile-device management lookups, as secRMM makes them for phones on ONLINE.

secRMM asks Microsoft Intune (Microsoft Graph ``deviceManagement/managedDevices``)
about a phone's serial number and writes what it learns into
``AdditionalProgramInfo``; the formats below are the real rows'.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import orjson
import requests

from .undocumented import MDM_NOT_ENROLLED

__all__ = ["GraphMdmClient", "MdmLookup", "mdm_info"]

logger = logging.getLogger(__name__)


class MdmLookup(Protocol):
    def managed_devices(self, serial: str) -> Mapping[str, Any] | None:
        """Graph's answer for ``serial`` (``value`` may be empty), or None if unreachable."""
        ...


class GraphMdmClient:
    """Asks a Graph-shaped service (Intune, or the simulator's) by serial number."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def managed_devices(self, serial: str) -> Mapping[str, Any] | None:
        query = quote(f"serialNumber eq '{serial}'")
        url = f"{self.base_url}/deviceManagement/managedDevices?$filter={query}"
        try:
            answer = self._session.get(url, timeout=self.timeout)
            answer.raise_for_status()
            payload: Mapping[str, Any] = answer.json()
        except (requests.RequestException, ValueError) as err:
            logger.warning("MDM lookup for %s failed: %s", serial, err)
            return None
        return payload


def _masked_phone(number: str) -> str:
    if len(number) <= 5:
        return number
    return number[0] + "*" * (len(number) - 5) + number[-4:]


def mdm_info(serial: str, graph: Mapping[str, Any] | None) -> str:
    """``AdditionalProgramInfo`` of a phone's ONLINE (raw: the record escapes it)."""
    devices = list((graph or {}).get("value") or [])
    if not devices:
        return f"MDM Info: ERROR: SerialNumber: {serial} {MDM_NOT_ENROLLED}"
    device = devices[0]
    summary = (
        f"MDM Info: Intune MDM Name: {device.get('deviceName', '')}({device.get('id', '')}), "
        f"IMEI: {device.get('imei', '')}, MEID: {device.get('meid', '')}, "
        f"Phone#: {_masked_phone(str(device.get('phoneNumber', '')))}, "
        f"Carrier: {device.get('subscriberCarrier', '')}, "
        f"WifiMac: {device.get('wiFiMacAddress', '')}, "
        f"User: {device.get('userDisplayName', '')}({device.get('userPrincipalName', '')}), "
        f"Compliant: {device.get('complianceState', '')}, "
        f"JailBroken: {device.get('jailBroken', '')}"
    )
    # secRMM embeds Graph's JSON with every comma turned into a line break (the
    # real row shows nested members split too); the record escapes the quotes.
    embedded = orjson.dumps(graph).decode().replace(",", "\n")
    return f"{summary}\n//===Intune Data===\n{embedded}"
