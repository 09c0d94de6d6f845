"""The KPI queries (sql/*.sql, the same text Athena runs) over the analytics archive with DuckDB."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb

from postventa.analytics.archive import TABLES, sql_timestamp
from postventa.logic.segments import LAPSED_DAYS

CONVERSION_WINDOW_DAYS = 30


QUERIES = ("business", "cohorts", "messages", "nps", "conversions")
# Athena's saved queries report on the moment they run.
NOW_IN_ATHENA = "CAST(current_timestamp AS timestamp)"


def query_text(name: str, as_of: datetime | str) -> str:
    """as_of: a moment, or an SQL expression for one."""
    template = files("postventa.analytics").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return template.format(
        as_of=as_of if isinstance(as_of, str) else f"TIMESTAMP '{sql_timestamp(as_of)}'",
        churn_days=LAPSED_DAYS,
        window_days=CONVERSION_WINDOW_DAYS,
    )


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
    return connection


def rows(connection: duckdb.DuckDBPyConnection, name: str, as_of: datetime) -> list[dict[str, Any]]:
    result = connection.execute(query_text(name, as_of))
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
