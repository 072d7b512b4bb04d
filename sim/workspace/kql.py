"""KQL over the stored tables, answering as Log Analytics would.

Translation is ``duckdb-kql``'s (pinned exactly in pyproject.toml: it releases
often). This thin layer fixes where it falls short of real KQL on queries users
need, each with a test in ``tests/test_kql.py``:

- KQL names are case-sensitive; DuckDB resolves ``event_s`` to ``Event_s`` and
  ``secrmm_cl`` to ``secRMM_CL``. Names are checked against the schema first.
- Unknown tables and columns surface as DuckDB binder errors; they are reported
  in Log Analytics' words, naming the operator.
- Results carry KQL types, and datetimes print as Log Analytics prints them.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import duckdb_kql
import pyarrow as pa
from antlr4 import CommonTokenStream, InputStream

# The lexer of the pinned duckdb-kql, generated from Microsoft's Kql.g4, and the
# name of the parameter its translations take the clock from.
from duckdb_kql._antlr.KqlLexer import KqlLexer
from duckdb_kql.translate import CLOCK_SLOT

__all__ = ["KqlQueryError", "QueryResult", "format_datetime", "run_query", "schema_of"]

_KQL_TYPES = {
    "VARCHAR": "string",
    "DOUBLE": "real",
    "FLOAT": "real",
    "BIGINT": "long",
    "HUGEINT": "long",
    "INTEGER": "int",
    "BOOLEAN": "bool",
    "UUID": "guid",
    "INTERVAL": "timespan",
    "JSON": "dynamic",
}
_UNKNOWN_COLUMN = re.compile(r'Referenced column "(?P<name>[^"]+)" not found')
_UNKNOWN_TABLE = re.compile(r"Table with name (?P<name>\S+) does not exist")


class KqlQueryError(Exception):
    """A query Log Analytics would refuse, with its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class QueryResult:
    """A query's columns (name, KQL type) and rows.

    The engine's answer is kept columnar (Arrow); Python rows are built from it
    on first use, which for a wide result of 200,000 rows costs far more than
    the query itself (see ``bench/results/workspace.md``).
    """

    def __init__(
        self,
        columns: list[tuple[str, str]],
        *,
        table: pa.Table | None = None,
        rows: list[tuple[Any, ...]] | None = None,
    ) -> None:
        self.columns = columns
        self._table = table
        self._rows = rows

    @property
    def row_count(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return 0 if self._table is None else int(self._table.num_rows)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            self._rows = []
            if self._table is not None:
                with duckdb.connect() as converter:
                    self._rows = converter.from_arrow(self._table).fetchall()
        return self._rows

    def as_objects(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready objects, valued as the Log Analytics API renders them."""
        names = [name for name, _ in self.columns]
        return [
            dict(zip(names, map(json_value, row), strict=True)) for row in self.rows
        ]


def format_datetime(moment: dt.datetime) -> str:
    """``2020-02-09T16:04:04.71Z``: UTC, milliseconds without trailing zeros."""
    fraction = f"{moment.microsecond // 1000:03d}".rstrip("0")
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{fraction}" if fraction else "")
        + "Z"
    )


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return format_datetime(value)
    if isinstance(value, dt.timedelta):
        return _format_timespan(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        # DuckDB widens sums of longs to HUGEINT, which Arrow carries as a
        # decimal; KQL's sum of a long is a long.
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= 0:
            return int(value)
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def run_query(
    cursor: duckdb.DuckDBPyConnection,
    text: str,
    schema: Mapping[str, Sequence[str]],
    *,
    now: dt.datetime | None = None,
) -> QueryResult:
    """Run KQL ``text``; ``schema`` maps each table to its columns."""
    tokens = _tokens(text)
    _check_names(tokens, schema)
    schema_key = tuple(
        sorted((table, tuple(columns)) for table, columns in schema.items())
    )
    try:
        sql, parameters = _translate(text, schema_key)
        cursor.execute("SET TimeZone = 'UTC'")
        bound = dict(parameters)
        # Judged from the SQL: the translation's parameter map does not always
        # name the clock slot its SQL reads (seen with duckdb-kql 1.1.2).
        if f"${CLOCK_SLOT}" in sql:
            bound[CLOCK_SLOT] = now or dt.datetime.now(dt.UTC)
        # Executed at once: a lazy relation would lose the bound parameters.
        cursor.execute(sql, bound)
    except duckdb_kql.KqlSyntaxError as err:
        raise _syntax_error(text, err) from None
    except duckdb_kql.KqlUnsupportedError as err:
        raise KqlQueryError(
            "UnsupportedError",
            f"the mock workspace cannot run this query yet ({err}); real Log Analytics may",
        ) from None
    except duckdb_kql.KqlError as err:
        raise KqlQueryError("SemanticError", str(err)) from None
    except duckdb.Error as err:
        raise _semantic_error(tokens, err) from None
    if cursor.description is None:
        return QueryResult([], rows=[])
    columns = [
        (str(name), _kql_type(str(sql_type)))
        for name, sql_type, *_ in cursor.description
    ]
    with warnings.catch_warnings():
        # DuckDB suggests its relation API for Arrow; the relation would lose the
        # bound parameters, so the one extra copy is the price of binding.
        warnings.simplefilter("ignore", UserWarning)
        table = cursor.to_arrow_table()
    return QueryResult(columns, table=table)


#: The clock of a translation pinned to a sentinel; the real "now" is bound at
#: each run, so one translation serves every run of the same query.
_PINNED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@functools.lru_cache(maxsize=512)
def _translate(
    text: str, schema: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[str, dict[str, Any]]:
    """KQL to DuckDB SQL; translation (an ANTLR parse) is the costly part of a query."""
    result = duckdb_kql.to_sql(
        text,
        schema={table: list(columns) for table, columns in schema},
        query_now=_PINNED,
    )
    if result.unbound:
        raise duckdb_kql.KqlSchemaError(
            ", ".join(result.unbound), hint="parameter without value"
        )
    parameters = {
        name: value for name, value in result.parameters.items() if name != CLOCK_SLOT
    }
    return str(result), parameters


def schema_of(cursor: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every table of the database with its columns, in order."""
    rows = cursor.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall()
    schema: dict[str, list[str]] = {}
    for table, column in rows:
        schema.setdefault(table, []).append(column)
    return schema


def _kql_type(sql_type: str) -> str:
    if sql_type.startswith("TIMESTAMP"):
        return "datetime"
    if sql_type.startswith("DECIMAL"):
        return "decimal"
    return _KQL_TYPES.get(sql_type, "string")


def _format_timespan(span: dt.timedelta) -> str:
    seconds = span.total_seconds()
    sign = "-" if seconds < 0 else ""
    whole, fraction = divmod(abs(span), dt.timedelta(seconds=1))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{secs:02d}"
    ticks = fraction // dt.timedelta(microseconds=1) * 10
    return f"{text}.{ticks:07d}" if ticks else text


@dataclass(frozen=True)
class _Token:
    kind: int
    text: str
    line: int
    column: int


def _tokens(text: str) -> list[_Token]:
    lexer = KqlLexer(InputStream(text))
    lexer.removeErrorListeners()
    stream = CommonTokenStream(lexer)
    stream.fill()
    return [
        _Token(token.type, token.text, token.line, token.column)
        for token in stream.tokens
        if token.channel == 0 and token.type != -1
    ]


def _operator_before(tokens: Sequence[_Token], index: int) -> str | None:
    """The tabular operator whose clause holds token ``index`` (None: the source)."""
    for position in range(index - 1, -1, -1):
        if tokens[position].text == "|" and position + 1 < len(tokens):
            return tokens[position + 1].text
    return None


def _unresolved(tokens: Sequence[_Token], index: int, name: str) -> KqlQueryError:
    operator = _operator_before(tokens, index)
    if operator is None:
        return KqlQueryError(
            "SemanticError",
            f"Failed to resolve table or column expression named '{name}'",
        )
    return KqlQueryError(
        "SemanticError",
        f"'{operator}' operator: Failed to resolve scalar expression named '{name}'",
    )


def _check_names(tokens: Sequence[_Token], schema: Mapping[str, Sequence[str]]) -> None:
    """Refuse names that differ from a known one only in case, as KQL does."""
    known = set(schema)
    for columns in schema.values():
        known.update(columns)
    for index, token in enumerate(tokens[:-1]):
        # Names the query itself defines: `extend x = ...`, `summarize n = ...`.
        if token.kind == KqlLexer.IDENTIFIER and tokens[index + 1].text == "=":
            known.add(token.text)
    folded = {name.lower() for name in known}
    for index, token in enumerate(tokens):
        if token.kind != KqlLexer.IDENTIFIER or token.text in known:
            continue
        called = index + 1 < len(tokens) and tokens[index + 1].text == "("
        if not called and token.text.lower() in folded:
            raise _unresolved(tokens, index, token.text)


def _semantic_error(tokens: Sequence[_Token], err: duckdb.Error) -> KqlQueryError:
    message = str(err)
    for pattern in (_UNKNOWN_COLUMN, _UNKNOWN_TABLE):
        match = pattern.search(message)
        if match:
            name = match["name"]
            index = next(
                (i for i, token in enumerate(tokens) if token.text == name), len(tokens)
            )
            return _unresolved(tokens, index, name)
    detail = message.split("\n", 1)[0].split(": ", 1)[-1]
    return KqlQueryError("SemanticError", detail)


def _syntax_error(text: str, err: duckdb_kql.KqlSyntaxError) -> KqlQueryError:
    if not err.diagnostics:
        return KqlQueryError("SyntaxError", str(err))
    span = err.diagnostics[0].span
    lines = text.splitlines() or [""]
    rest = lines[span.line - 1][span.column :] if span.line <= len(lines) else ""
    token = rest.split()[0] if rest.split() else "<EOF>"
    return KqlQueryError(
        "SyntaxError",
        f"Query could not be parsed at '{token}' on line [{span.line},{span.column}]",
    )
