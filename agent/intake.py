"""Records in: JSON lines checked, filtered by category and spooled durably."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from .records import RecordError, event_type, normalise_posted
from .spool import Spool

__all__ = ["IntakeResult", "spool_lines"]

logger = logging.getLogger(__name__)

#: Records per spool transaction: one fsync each, bounded memory, and short
#: enough that a shipper's acknowledgements do not queue behind it.
CHUNK_RECORDS = 2_000


@dataclass
class IntakeResult:
    spooled: int = 0
    #: Not forwarded: their category is not among the chosen ones.
    filtered: int = 0
    #: Not records at all; kept in quarantine with the reason.
    invalid: int = 0
    truncated_values: int = 0


def spool_lines(
    spool: Spool,
    lines: Iterable[bytes],
    *,
    field_limit: int,
    categories: Iterable[str],
    numbers_as_text: bool = False,
) -> IntakeResult:
    """Spool one posted-field object per line; return only once all are durable."""
    chosen = frozenset(categories)
    result = IntakeResult()
    chunk: list[bytes] = []
    truncated = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record, cut = normalise_posted(
                _parse(line), field_limit=field_limit, numbers_as_text=numbers_as_text
            )
        except RecordError as err:
            logger.warning("line %d is not a secRMM record: %s", number, err)
            result.invalid += spool.reject(
                [line.rstrip(b"\r\n")],
                error="InvalidRecord",
                message=f"line {number}: {err}",
            )
            continue
        known = event_type(str(record["Event"]))
        if known is not None and known.category and known.category not in chosen:
            result.filtered += 1
            continue
        chunk.append(orjson.dumps(record))
        truncated += cut
        if len(chunk) >= CHUNK_RECORDS:
            result.spooled += spool.append(chunk, truncated=truncated)
            result.truncated_values += truncated
            chunk, truncated = [], 0
    if chunk:
        result.spooled += spool.append(chunk, truncated=truncated)
        result.truncated_values += truncated
    return result


def _parse(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise RecordError(f"not valid JSON ({err})") from None
