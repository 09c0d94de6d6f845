"""The KPI queries (sql/*.sql): one text for Athena and for DuckDB, with its observation end filled in."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

from postventa.analytics.archive import sql_timestamp
from postventa.logic.segments import LAPSED_DAYS

CONVERSION_WINDOW_DAYS = 30


QUERIES = ("business", "cohorts", "messages", "nps", "conversions")  # the KPIs; summary.sql feeds the scoring
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
