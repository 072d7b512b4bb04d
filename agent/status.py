"""What ``secrmm-agent status`` shows: the spool, the shipper and the quarantine."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from .spool import Spool

__all__ = ["status_data", "status_text"]

#: Quarantined records listed one by one, newest first.
LATEST_QUARANTINED = 5


def status_data(spool: Spool) -> dict[str, Any]:
    """Everything ``status --json`` prints."""
    stats = spool.stats()
    state = stats.state
    pid = state.get("shipper_pid")
    # A shipper that died leaves its last count behind: only a live one counts.
    in_flight = state.get("in_flight", 0) if pid and _alive(pid) else 0
    latest = spool.quarantined(limit=LATEST_QUARANTINED)
    return {
        "depth": stats.depth,
        "oldest_age_seconds": stats.oldest_age,
        "in_flight": in_flight,
        "quarantined": stats.quarantined,
        "held": state.get("held"),
        "last_error": state.get("last_error"),
        "counters": stats.counters,
        "quarantine_by_error": spool.quarantine_summary(),
        "recent_quarantine": [
            {k: v for k, v in asdict(entry).items() if k != "body"} for entry in latest
        ],
    }


def status_text(data: dict[str, Any]) -> str:
    """The same for people."""
    age = data["oldest_age_seconds"]
    counters = data["counters"]
    lines = [
        f"spooled: {data['depth']}"
        + (f" (oldest {age:.0f} s)" if age is not None else ""),
        f"in flight: {data['in_flight']}",
        f"quarantined: {data['quarantined']}",
        "so far: "
        + (
            ", ".join(f"{n} {name}" for name, n in sorted(counters.items()))
            or "nothing yet"
        ),
        f"last error: {data['last_error'] or 'none'}",
    ]
    if data["held"]:
        lines.append(f"destination held: {data['held']}")
    for group in data["quarantine_by_error"]:
        lines.append(
            f"  {group['count']} quarantined for {group['error']} "
            f"({group['status'] or 'not sent'}): {group['advice']}"
        )
    if data["recent_quarantine"]:
        lines.append("latest quarantined:")
    for entry in data["recent_quarantine"]:
        lines.append(
            f"  {entry['error']} ({entry['status'] or 'not sent'}): "
            f"{entry['message'] or '-'}; {entry['advice']} "
            f"[request {entry['request_id'] or '-'}]"
        )
    return "\n".join(lines)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
