"""Where accepted rows and the request log live: DuckDB, a file or memory.

DuckDB is an embedded columnar engine, the closest local match to the Kusto
store behind Log Analytics. Each custom table is one DuckDB table whose columns
stand in Log Analytics' order (system columns, posted columns in creation
order, then ``Type`` and ``_ResourceId``). DuckDB cannot reorder columns, so
the rare post that adds columns rebuilds its table in that order.

One connection, guarded by a lock, writes; queries run on cursors of their own,
which DuckDB isolates from the writer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import duckdb_kql
import pyarrow as pa

from .columns import ColumnType
from .requestlog import (
    REQUEST_LOG_COLUMNS,
    REQUEST_LOG_DDL,
    REQUEST_LOG_TABLE,
    RequestEntry,
)
from .schema import (
    BARE_PROPERTIES,
    LEADING_COLUMNS,
    TRAILING_COLUMNS,
    Batch,
    TableSchema,
)

__all__ = ["Store", "StoreError", "open_readonly"]

_SQL_TYPES = {
    ColumnType.STRING: "VARCHAR DEFAULT ''",
    ColumnType.DOUBLE: "DOUBLE",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.DATETIME: "TIMESTAMP",
    ColumnType.GUID: "UUID",
}
_ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATETIME: pa.timestamp("us"),
    ColumnType.GUID: pa.string(),
}
_MIGRATED_COMMENT = "migrated to DCR-based ingestion"
_LOG_INSERT = (
    f"INSERT INTO {REQUEST_LOG_TABLE} ({', '.join(REQUEST_LOG_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(REQUEST_LOG_COLUMNS))})"
)


class StoreError(RuntimeError):
    """The database cannot be opened or written."""


def open_readonly(path: str) -> duckdb.DuckDBPyConnection:
    """Open a stored workspace for queries only."""
    if not os.path.exists(path):
        raise StoreError(
            f"no database at {path!r}; start a collector with --db {path} to create one"
        )
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.Error as err:
        raise StoreError(
            f"cannot open the database {path!r} ({str(err).splitlines()[0]}). If a "
            "collector is serving it, query that collector with --collector URL instead"
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Store:
    """A workspace's tables and request log in one DuckDB database."""

    def __init__(self, workspace_id: str, path: str | None = None) -> None:
        self.workspace_id = workspace_id
        self.path = path
        try:
            self._con = duckdb_kql.connect(path or ":memory:")
        except duckdb.IOException as err:
            raise StoreError(
                f"cannot open the database {path!r}: {err}. If a collector is serving "
                "it, stop that collector or query it over HTTP instead"
            ) from None
        self.lock = threading.RLock()
        self._con.execute(REQUEST_LOG_DDL)
        self._reload_schemas()

    def close(self) -> None:
        with self.lock:
            self._con.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read connection of its own, for queries beside the writer."""
        with self.lock:
            cursor = self._con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def schema(self, table: str) -> TableSchema:
        """The live schema of ``table`` (empty if it has no rows yet).

        Callers plan against it while holding :attr:`lock`, then :meth:`append`.
        """
        schema = self._schemas.get(table)
        if schema is None:
            schema = self._schemas[table] = TableSchema(name=table)
        return schema

    def tables(self) -> list[str]:
        return sorted(
            name for name, schema in self._schemas.items() if self._exists(name)
        )

    def set_migrated(self, table: str, migrated: bool = True) -> None:
        """Mark ``table`` migrated: Data Collector posts then create no columns."""
        with self.lock:
            schema = self.schema(table)
            schema.migrated = migrated
            if self._exists(table):
                self._comment(schema)

    def append(self, batch: Batch, resource_id: str = "") -> None:
        """Add a planned batch: create its columns, then its rows, in one transaction."""
        with self.lock:
            schema = self.schema(batch.table)
            self._con.begin()
            try:
                self._ensure_columns(schema, batch)
                self._insert(schema, batch, resource_id)
            except BaseException:
                self._con.rollback()
                self._reload_schemas()
                raise
            self._con.commit()

    def log(self, entry: RequestEntry) -> None:
        with self.lock:
            self._con.execute(_LOG_INSERT, entry.row())

    def requests(
        self, where: str = "TRUE", params: Sequence[Any] = ()
    ) -> list[RequestEntry]:
        """Request log entries in arrival order, filtered by a SQL condition."""
        with self.cursor() as cursor:
            rows = cursor.execute(
                f"SELECT * FROM {REQUEST_LOG_TABLE} WHERE {where} ORDER BY Sequence",
                params,
            ).fetchall()
        return [RequestEntry.from_row(row) for row in rows]

    def row_count(self, table: str) -> int:
        if not self._exists(table):
            return 0
        with self.cursor() as cursor:
            result = cursor.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        return int(result[0]) if result else 0

    def has_table(self, table: str) -> bool:
        """Whether ``table`` exists (has been created by a post)."""
        return table in self._created

    _exists = has_table

    def _ddl(self, name: str, schema: TableSchema) -> str:
        defaults = {
            "TenantId": self.workspace_id,
            "SourceSystem": "RestAPI",
            "Type": schema.name,
        }
        columns = []
        for column, column_type in (
            *LEADING_COLUMNS.items(),
            *schema.custom.items(),
            *TRAILING_COLUMNS.items(),
        ):
            sql_type = _SQL_TYPES[column_type]
            if column in defaults:
                sql_type = f"VARCHAR DEFAULT {_literal(defaults[column])}"
            columns.append(f"{_quote(column)} {sql_type}")
        return f"CREATE TABLE {_quote(name)} ({', '.join(columns)})"

    def _ensure_columns(self, schema: TableSchema, batch: Batch) -> None:
        exists = self._exists(schema.name)
        if exists and not batch.new_columns:
            return
        for column, column_type, prop in batch.new_columns:
            schema.add(column, column_type, prop)
        if not exists:
            self._con.execute(self._ddl(schema.name, schema))
            self._created.add(schema.name)
        else:
            rebuilt = f"{schema.name}__rebuilding"
            self._con.execute(self._ddl(rebuilt, schema))
            self._con.execute(
                f"INSERT INTO {_quote(rebuilt)} BY NAME SELECT * FROM {_quote(schema.name)}"
            )
            self._con.execute(f"DROP TABLE {_quote(schema.name)}")
            self._con.execute(
                f"ALTER TABLE {_quote(rebuilt)} RENAME TO {_quote(schema.name)}"
            )
        self._comment(schema)

    def _comment(self, schema: TableSchema) -> None:
        comment = _MIGRATED_COMMENT if schema.migrated else ""
        self._con.execute(
            f"COMMENT ON TABLE {_quote(schema.name)} IS {_literal(comment)}"
        )

    def _insert(self, schema: TableSchema, batch: Batch, resource_id: str) -> None:
        if batch.row_count == 0:
            return
        arrays = {}
        for column, values in batch.columns.items():
            column_type = schema.custom.get(column) or LEADING_COLUMNS[column]
            arrays[column] = pa.array(values, type=_ARROW_TYPES[column_type])
        if resource_id:
            arrays["_ResourceId"] = pa.array(
                [resource_id] * batch.row_count, pa.string()
            )
        self._con.register("incoming_batch", pa.table(arrays))
        try:
            self._con.execute(
                f"INSERT INTO {_quote(schema.name)} BY NAME SELECT * FROM incoming_batch"
            )
        finally:
            self._con.unregister("incoming_batch")

    def _reload_schemas(self) -> None:
        """Schemas as the database has them (at open, and after a failed append)."""
        self._schemas = {schema.name: schema for schema in self._load_schemas()}
        self._created = set(self._schemas)

    def _load_schemas(self) -> list[TableSchema]:
        tables = self._con.execute(
            "SELECT table_name, coalesce(comment, '') FROM duckdb_tables() "
            "WHERE schema_name = 'main' AND table_name LIKE '%\\_CL' ESCAPE '\\'"
        ).fetchall()
        schemas = []
        for name, comment in tables:
            schema = TableSchema(name=name, migrated=comment == _MIGRATED_COMMENT)
            columns = self._con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' "
                "AND table_name = ? ORDER BY column_index",
                [name],
            ).fetchall()
            for (column,) in columns:
                if column in LEADING_COLUMNS or column in TRAILING_COLUMNS:
                    continue
                if column in BARE_PROPERTIES:
                    schema.add(column, ColumnType.STRING, column)
                else:
                    prop, _, suffix = column.rpartition("_")
                    schema.add(column, ColumnType(suffix), prop)
            schemas.append(schema)
        return schemas
