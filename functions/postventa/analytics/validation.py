"""Holdout validation, as Fader, Hardie and Lee show BG/NBD works: fit on the history before a
day, predict the repeat purchases after it, and compare with what the customers then did, week by
week in total and customer by customer, against the naive forecast of each customer repeating at
their own past rate. What it says decides whether a shop should trust the predictions."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np

from postventa.analytics.kpis import rows
from postventa.analytics.queries import query_text, sql_moment
from postventa.analytics.scoring import Customers
from postventa.analytics.value import fit_bgnbd

# The predictions are worth using when the holdout total is within this share of the actual and
# the model beats the naive forecast customer by customer.
TRUSTED_TOTAL_ERROR = 0.2


def validate(connection: Any, calibration_end: datetime, until: datetime) -> dict[str, Any]:
    """calibration_end: the end of the last day the fit sees; until: the end of the holdout."""
    summary = Customers.from_rows(
        connection.execute(query_text("summary", calibration_end)).fetchall()
    ).summary
    if not summary.customer_ids:
        raise ValueError(f"no orders on or before {calibration_end:%Y-%m-%d} to fit on")
    model, fit = fit_bgnbd(summary.x, summary.t_x, summary.T)
    # The holdout ends with the history's orders: an archive's last record may be a message sent
    # after them (a backtest's), and weeks without orders would read as customers gone.
    (last_order,) = connection.execute(
        f"SELECT max(placed_at) FROM orders WHERE placed_at <= {sql_moment(until)}"
    ).fetchone()
    if last_order is None or last_order.date() <= calibration_end.date():
        raise ValueError(f"no orders after {calibration_end:%Y-%m-%d} to check the predictions against")
    until = min(until, datetime.combine(last_order.date(), time.max, tzinfo=until.tzinfo))
    holdout_days = (until.date() - calibration_end.date()).days
    later = rows(connection, "holdout", calibration_end, until)
    index = {customer: i for i, customer in enumerate(summary.customer_ids)}
    actual = np.zeros(len(index))
    for row in later:
        actual[index[row["customer_id"]]] += 1
    by_day = Counter(math.ceil(row["days_after"]) for row in later)
    weeks = []
    done = 0
    for week in range(1, math.ceil(holdout_days / 7) + 1):
        days = min(7 * week, holdout_days)
        done += sum(n for day, n in by_day.items() if 7 * (week - 1) < day <= days)
        predicted = model.expected_purchases(days, summary.x, summary.t_x, summary.T)
        weeks.append(
            {
                "week": week,
                "until": (calibration_end.date() + timedelta(days=days)).isoformat(),
                "predicted": round(float(np.sum(predicted)), 1),
                "actual": done,
            }
        )
    expected = model.expected_purchases(holdout_days, summary.x, summary.t_x, summary.T)
    naive = np.where(summary.T > 0, summary.x / np.maximum(summary.T, 1.0) * holdout_days, 0.0)
    total_predicted, total_actual = float(np.sum(expected)), float(np.sum(actual))
    error = (total_predicted - total_actual) / total_actual if total_actual else None
    mae, naive_mae = float(np.mean(np.abs(expected - actual))), float(np.mean(np.abs(naive - actual)))
    return {
        "calibration_end": calibration_end.date().isoformat(),
        "holdout_end": until.date().isoformat(),
        "customers": len(index),
        "fit": {"log_likelihood": round(fit.log_likelihood, 1), "converged": fit.converged},
        "weekly_cumulative_repeat_purchases": weeks,
        "predicted_repeat_purchases": round(total_predicted, 1),
        "actual_repeat_purchases": int(total_actual),
        "total_error": round(error, 4) if error is not None else None,
        "mean_absolute_error_per_customer": round(mae, 4),
        "naive_mean_absolute_error_per_customer": round(naive_mae, 4),
        "verdict": _verdict(error, mae, naive_mae, total_predicted, total_actual, len(weeks)),
    }


def _verdict(
    error: float | None, mae: float, naive_mae: float, predicted: float, actual: float, weeks: int
) -> str:
    if error is None:
        return "No customer bought again in the holdout: nothing to check the predictions against."
    said = (
        f"Over the {weeks} weeks after the calibration, the model predicted {predicted:,.0f} repeat purchases; "
        f"there were {actual:,.0f} ({error:+.0%}). Customer by customer it is off by {mae:.2f} purchases on "
        f"average, against {naive_mae:.2f} for repeating each customer's own past rate."
    )
    if abs(error) <= TRUSTED_TOTAL_ERROR and mae < naive_mae:
        return said + " Trust the predictions for this shop."
    if mae >= naive_mae:
        return said + " The model does no better than the customers' own past rates here: do not rely on it."
    return said + (
        f" The total is off by more than {TRUSTED_TOTAL_ERROR:.0%}: use the predictions to rank customers, "
        "not to forecast revenue."
    )
