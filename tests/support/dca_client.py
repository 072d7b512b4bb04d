"""A minimal HTTP Data Collector API client for the workspace's tests.

Its signer is written from the spec (``azure-ingestion.md`` §2.3) and shares
no code with the mock's verifier or the agent, so a mistake in either cannot
hide behind the same mistake here.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

import requests

SPEC_WORKSPACE_ID = "11111111-2222-3333-4444-555555555555"
#: Bytes 0x00-0x3F, the spec's worked-example key.
SPEC_KEY = (
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj"
    "JCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
)


def shared_key_signature(key_b64: str, content_length: int, date: str) -> str:
    message = f"POST\n{content_length}\napplication/json\nx-ms-date:{date}\n/api/logs"
    mac = hmac.new(base64.b64decode(key_b64), message.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def encode(records: Any) -> bytes:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


class DataCollectorClient:
    """Posts signed bodies; every header can be overridden or removed (None)."""

    def __init__(
        self,
        base_url: str,
        workspace_id: str = SPEC_WORKSPACE_ID,
        key_b64: str = SPEC_KEY,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.workspace_id = workspace_id
        self.key_b64 = key_b64
        self.session = session or requests.Session()

    def headers(
        self, body: bytes, log_type: str = "secRMM", date: str | None = None
    ) -> dict[str, str]:
        date = date or email.utils.formatdate(usegmt=True)
        signature = shared_key_signature(self.key_b64, len(body), date)
        return {
            "Content-Type": "application/json",
            "Log-Type": log_type,
            "x-ms-date": date,
            "Authorization": f"SharedKey {self.workspace_id}:{signature}",
        }

    def post(
        self,
        records: Any = None,
        *,
        body: bytes | None = None,
        log_type: str = "secRMM",
        headers: Mapping[str, str | None] | None = None,
        query: str = "api-version=2016-04-01",
        path: str = "/api/logs",
    ) -> requests.Response:
        data = body if body is not None else encode(records)
        sent = self.headers(data, log_type)
        for name, value in (headers or {}).items():
            sent.pop(name, None)
            if value is not None:
                sent[name] = value
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        return self.session.post(url, data=data, headers=sent, timeout=30)


def sample_records(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Stored secRMM_CL rows turned back into the records secRMM posted."""
    system = {"TenantId", "SourceSystem", "MG", "ManagementGroupName", "TimeGenerated",
              "RawData", "Type", "_ResourceId", "SerialNumber_g"}  # fmt: skip
    records = []
    for row in rows:
        record = {}
        for column, value in row.items():
            if column in system:
                continue
            name = (
                column
                if column in ("Computer", "Message")
                else column.removesuffix("_s")
            )
            record[name] = value
        records.append(record)
    return records
