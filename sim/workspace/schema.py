"""Azure's schema rules for Data Collector tables, applied to one post at a time.

:func:`plan_batch` turns parsed records into typed columns against a table's
current schema, without touching storage: it names the columns the post would
create and every reason to refuse it. The store then applies the plan
atomically. Rules follow ``azure-ingestion.md`` §2.5-2.6; the undocumented ones
are the spec's mock choices, marked where they are applied.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .columns import (
    MAX_VALUE_BYTES,
    ColumnType,
    ConversionError,
    convert,
    infer,
    to_text,
    truncate,
)
from .wire import Rejection

__all__ = [
    "BARE_PROPERTIES",
    "DATA_COLLECTOR_RULES",
    "LEADING_COLUMNS",
    "LOGS_INGESTION_RULES",
    "MAX_COLUMNS",
    "MAX_COLUMN_NAME",
    "TRAILING_COLUMNS",
    "Batch",
    "IngestionRules",
    "TableSchema",
    "plan_batch",
]

#: System columns every custom table starts with, in the order Log Analytics
#: shows them. ``Computer`` is among them: the real secRMM_CL rows show it here,
#: before every posted column, while a bare ``Message`` sits where it was first
#: posted (``shared/reference``).
LEADING_COLUMNS: Mapping[str, ColumnType] = {
    "TenantId": ColumnType.STRING,
    "SourceSystem": ColumnType.STRING,
    "MG": ColumnType.STRING,
    "ManagementGroupName": ColumnType.STRING,
    "TimeGenerated": ColumnType.DATETIME,
    "Computer": ColumnType.STRING,
    "RawData": ColumnType.STRING,
}
#: System columns after every posted column.
TRAILING_COLUMNS: Mapping[str, ColumnType] = {
    "Type": ColumnType.STRING,
    "_ResourceId": ColumnType.STRING,
}
#: Posted properties stored under their bare name, as strings (observed in the
#: real secRMM_CL rows; a mock choice where Azure documents nothing).
BARE_PROPERTIES = frozenset({"Computer", "Message"})
#: Properties Azure refuses, compared case-insensitively (a mock choice).
RESERVED_PROPERTIES = frozenset({"tenant", "timegenerated", "rawdata"})
#: System column names a post may not fill: stored suffixed, with a warning.
SYSTEM_NAMES = frozenset(
    {"Type", "TenantId", "SourceSystem", "MG", "ManagementGroupName"}
)
MAX_COLUMNS = 500
MAX_COLUMN_NAME = 45
#: How far a time-generated-field value may lie before or after receipt.
TIME_FIELD_PAST = timedelta(days=2)
TIME_FIELD_FUTURE = timedelta(days=1)

_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True, kw_only=True)
class IngestionRules:
    """How an ingestion API maps posted properties onto a table."""

    #: Whether unknown properties create columns (Data Collector) or are dropped
    #: (Logs Ingestion: the table and the DCR stream fix the columns).
    creates_columns: bool
    #: Lower-cased names a post may not use.
    reserved: frozenset[str]
    #: Whether a reserved name refuses the post (else: dropped with a warning).
    reserved_refuses: bool
    #: Whether a property may name a stored column directly (``Event_s``).
    matches_column_names: bool
    #: Longest string value in UTF-8 bytes; longer ones are truncated.
    value_limit: int
    #: The error code a refused post carries.
    invalid_error: str


DATA_COLLECTOR_RULES = IngestionRules(
    creates_columns=True,
    reserved=RESERVED_PROPERTIES,
    reserved_refuses=True,
    matches_column_names=False,
    value_limit=MAX_VALUE_BYTES,
    invalid_error="InvalidDataFormat",
)
#: Mock choices where Azure is silent (spec §3.3): unknown properties and values
#: no column of the property accepts are dropped with a warning.
LOGS_INGESTION_RULES = IngestionRules(
    creates_columns=False,
    reserved=frozenset(
        {
            "_resourceid",
            "id",
            "_subscriptionid",
            "tenantid",
            "type",
            "uniqueid",
            "title",
        }
    ),
    reserved_refuses=False,
    matches_column_names=True,
    value_limit=65_536,
    invalid_error="InvalidPayload",
)


@dataclass
class TableSchema:
    """A custom table's posted columns, in creation order."""

    name: str
    custom: dict[str, ColumnType] = field(default_factory=dict)
    by_property: dict[str, list[str]] = field(default_factory=dict)
    #: Migrated to DCR-based ingestion: the Data Collector API fills existing
    #: columns but creates none (migrate doc).
    migrated: bool = False

    def add(self, column: str, column_type: ColumnType, prop: str) -> None:
        self.custom[column] = column_type
        self.by_property.setdefault(prop, []).append(column)

    @property
    def column_count(self) -> int:
        return len(LEADING_COLUMNS) + len(self.custom) + len(TRAILING_COLUMNS)


@dataclass
class Batch:
    """One post's rows as typed columns, ready for the store.

    ``columns`` holds only what varies by row; constant system columns come
    from the table's defaults. Each list has ``row_count`` entries.
    """

    table: str
    row_count: int
    new_columns: list[tuple[str, ColumnType, str]] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: Counter[str] = field(default_factory=Counter)
    truncated_values: int = 0


def _invalid(
    rules: IngestionRules, reason: str, message: str | None = None
) -> Rejection:
    return Rejection(
        status=400, error=rules.invalid_error, message=message, reason=reason
    )


class _Planner:
    """Plans one batch; holds the per-batch caches that keep the hot loop short."""

    def __init__(
        self,
        schema: TableSchema,
        row_count: int,
        strict_names: bool,
        rules: IngestionRules,
    ) -> None:
        self.schema = schema
        self.rules = rules
        self.batch = Batch(table=schema.name, row_count=row_count)
        self.strict_names = strict_names
        self.planned: dict[str, list[str]] = {}
        self.types = dict(schema.custom)
        self.checked: set[str] = set()
        self.refused: set[str] = set()
        # (property, value class) -> a column that takes every such value as is.
        self.fast: dict[tuple[str, type], str] = {}

    def column_for(self, prop: str, value: Any) -> tuple[str | None, Any]:
        fast = self.fast.get((prop, value.__class__))
        if fast is not None:
            return fast, value if value.__class__ is str else to_text(value)
        if prop not in self.checked:
            self._check_property(prop)
        if prop in self.refused:
            return None, None
        if prop in BARE_PROPERTIES:
            if prop not in LEADING_COLUMNS and prop not in self.types:
                if self._refuse_new_column(prop, prop):
                    return None, None
                self._plan(prop, ColumnType.STRING, prop)
            self.fast[(prop, value.__class__)] = prop
            return prop, value if isinstance(value, str) else to_text(value)
        candidates = self.schema.by_property.get(prop, []) + self.planned.get(prop, [])
        if self.rules.matches_column_names and prop in self.schema.custom:
            candidates = [prop, *candidates]
        for column in candidates:
            column_type = self.types[column]
            try:
                stored = convert(value, column_type)
            except ConversionError:
                continue
            if column is candidates[0] and column_type is ColumnType.STRING:
                self.fast[(prop, value.__class__)] = column
            return column, stored
        return self._new_column(prop, value)

    def _check_property(self, prop: str) -> None:
        self.checked.add(prop)
        if prop.lower() in self.rules.reserved:
            self.refused.add(prop)
            reason = f"property {prop!r} is reserved by Log Analytics; rename it"
            if self.rules.reserved_refuses or self.strict_names:
                self.batch.rejections.append(
                    _invalid(self.rules, reason, f"Reserved property name: {prop}")
                )
            else:
                self.batch.warnings[f"{reason}; dropped"] += 1
        elif _PROPERTY_NAME.fullmatch(prop) is None:
            # Azure's handling is undocumented (spec §2.4): accept, keep the
            # name and warn; strict mode refuses the post instead.
            reason = (
                f"property name {prop!r} is not only letters, digits and underscores"
            )
            if self.strict_names:
                self.refused.add(prop)
                self.batch.rejections.append(_invalid(self.rules, reason))
            else:
                self.batch.warnings[reason] += 1
        if prop in SYSTEM_NAMES and self.rules.creates_columns:
            self.batch.warnings[
                f"property {prop!r} names a system column; stored suffixed"
            ] += 1

    def _new_column(self, prop: str, value: Any) -> tuple[str | None, Any]:
        column_type = infer(value)
        column = f"{prop}{column_type.suffix}"
        if self._refuse_new_column(column, prop):
            return None, None
        self._plan(column, column_type, prop)
        return column, convert(value, column_type)

    def _refuse_new_column(self, column: str, prop: str) -> bool:
        if not self.rules.creates_columns:
            reason = (
                f"property {prop!r} has no column in {self.schema.name} that takes this "
                "value; the DCR stream fixes the columns"
            )
            if self.strict_names:
                self.refused.add(prop)
                self.batch.rejections.append(_invalid(self.rules, reason))
            else:
                self.batch.warnings[f"{reason}; dropped"] += 1
            return True
        if self.schema.migrated:
            self.batch.warnings[
                f"table {self.schema.name} is migrated to DCR-based ingestion; "
                f"no new column {column} is created and its values are dropped"
            ] += 1
            return True
        if len(column) > MAX_COLUMN_NAME:
            self.refused.add(prop)
            self.batch.rejections.append(
                _invalid(
                    self.rules,
                    f"column {column!r} is {len(column)} characters, over Azure's "
                    f"{MAX_COLUMN_NAME} (suffix included); shorten the property name",
                )
            )
            return True
        return False

    def _plan(self, column: str, column_type: ColumnType, prop: str) -> None:
        self.planned.setdefault(prop, []).append(column)
        self.types[column] = column_type
        self.batch.new_columns.append((column, column_type, prop))

    def store(self, row: int, column: str, value: Any) -> None:
        values = self.batch.columns.get(column)
        if values is None:
            default = (
                ""
                if self.types.get(column, ColumnType.STRING) is ColumnType.STRING
                else None
            )
            values = self.batch.columns[column] = [default] * self.batch.row_count
        if value.__class__ is str:
            cut = truncate(value, self.rules.value_limit)
            if cut is not None:
                value = cut
                self.batch.truncated_values += 1
        values[row] = value


def plan_batch(
    schema: TableSchema,
    records: Sequence[Mapping[str, Any]],
    *,
    received_at: datetime,
    time_field: str | None = None,
    strict_names: bool = False,
    rules: IngestionRules = DATA_COLLECTOR_RULES,
) -> Batch:
    """Type ``records`` against ``schema`` (left unchanged) as Azure would store them.

    ``received_at`` is naive UTC and becomes ``TimeGenerated`` unless
    ``time_field`` names a property with an ISO 8601 value within two days
    before or one day after receipt (spec §2.2).
    """
    planner = _Planner(schema, len(records), strict_names, rules)
    # With the Logs Ingestion API, TimeGenerated is the time field itself.
    skipped = time_field if not rules.creates_columns else None
    for row, record in enumerate(records):
        for prop, value in record.items():
            if value is None or prop == skipped:
                continue
            column, stored = planner.column_for(prop, value)
            if column is not None:
                planner.store(row, column, stored)
    batch = planner.batch
    batch.columns["TimeGenerated"] = _time_generated(
        batch, records, received_at, time_field
    )
    added = len(batch.new_columns)
    if schema.column_count + added > MAX_COLUMNS:
        batch.rejections.append(
            _invalid(
                rules,
                f"the post would give table {schema.name} {schema.column_count + added} "
                f"columns, over Azure's {MAX_COLUMNS}; send fewer distinct properties",
            )
        )
    return batch


def _time_generated(
    batch: Batch,
    records: Sequence[Mapping[str, Any]],
    received_at: datetime,
    time_field: str | None,
) -> list[datetime]:
    if time_field is None:
        return [received_at] * len(records)
    earliest = received_at - TIME_FIELD_PAST
    latest = received_at + TIME_FIELD_FUTURE
    times = []
    for record in records:
        value = record.get(time_field)
        moment = convert_datetime(value)
        if moment is None or not earliest <= moment <= latest:
            batch.warnings[
                f"time-generated-field {time_field!r} missing, not ISO 8601 or outside "
                "2 days before to 1 day after receipt; ingestion time used"
            ] += 1
            moment = received_at
        times.append(moment)
    return times


def convert_datetime(value: Any) -> datetime | None:
    try:
        result: datetime = convert(value, ColumnType.DATETIME)
    except ConversionError:
        return None
    return result
