"""The KPI queries (sql/*.sql, the same text Athena runs) over the analytics archive with DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from postventa.analytics.archive import TABLES
from postventa.analytics.queries import CLICK_WINDOW_DAYS, query_text


def connect(archive: Path) -> duckdb.DuckDBPyConnection:
    """One view per archive table; a table with no files yet is an empty one of the same columns."""
    connection = duckdb.connect()
    for table, columns in TABLES.items():
        types = ", ".join(f"'{name}': '{duck_type}'" for name, duck_type, _ in columns)
        pattern = archive / table / "*" / "*.jsonl"
        if any((archive / table).glob("*/*.jsonl")):
            source = f"read_json('{pattern}', format='newline_delimited', columns={{{types}}})"
        else:
            source = "(SELECT " + ", ".join(f"NULL::{t} AS {n}" for n, t, _ in columns) + " WHERE false)"
        connection.execute(f"CREATE VIEW {table} AS SELECT * FROM {source}")
    # The queries are written for Athena (Trino); DuckDB names this one differently.
    connection.execute("CREATE MACRO array_join(items, separator) AS array_to_string(items, separator)")
    return connection


def rows(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    as_of: datetime,
    until: datetime | None = None,
    click_days: float = CLICK_WINDOW_DAYS,
) -> list[dict[str, Any]]:
    result = connection.execute(query_text(name, as_of, until, click_days))
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
