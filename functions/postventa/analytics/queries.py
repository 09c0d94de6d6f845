"""The KPI queries (sql/*.sql): one text for Athena and for DuckDB, with its observation end filled in."""

from __future__ import annotations

from datetime import datetime
from importlib.resources import files

from postventa.analytics.archive import sql_timestamp
from postventa.logic.segments import LAPSED_DAYS

CONVERSION_WINDOW_DAYS = 30
# Klaviyo's default for a click, and what the shop's own analytics would show by the UTM tags.
CLICK_WINDOW_DAYS = 5


QUERIES = (
    "business",
    "cohorts",
    "messages",
    "nps",
    "conversions",
    "clicks",
)  # the KPIs; summary.sql feeds the scoring
# Athena's saved queries report on the moment they run.
NOW_IN_ATHENA = "CAST(current_timestamp AS timestamp)"


# The observation's conventions, the same in every query and model, and stated in the report.
CONVENTIONS = (
    "Days, not moments: an order counts on its calendar day (UTC); the observation includes the whole "
    "last day; ages, recency and churn are whole days from a customer's first purchase day to the last "
    "day observed. Orders on one day are one purchase (a split checkout is not a repeat): repeat rate, "
    "days to a second purchase and the value models count purchases; order counts and average order "
    "value count every order."
)


def query_text(
    name: str, as_of: datetime | str, until: datetime | None = None, click_days: float = CLICK_WINDOW_DAYS
) -> str:
    """as_of: the end of the observation (a moment, or an SQL expression for one); ages are counted
    to the start of its day ({as_of_day}). until: the end of a holdout period after it.
    click_days: how long after a click an order is the clicked message's."""
    template = files("postventa.analytics").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    end = as_of if isinstance(as_of, str) else sql_moment(as_of)
    return template.format(
        as_of=end,
        as_of_day=f"date_trunc('day', {end})",
        until=sql_moment(until) if until else "NULL",
        churn_days=LAPSED_DAYS,
        window_days=CONVERSION_WINDOW_DAYS,
        click_days=click_days,
    )


def sql_moment(moment: datetime) -> str:
    """A moment as an SQL timestamp literal both engines read."""
    return f"TIMESTAMP '{sql_timestamp(moment)}'"
