"""`postventa report`: KPIs, segments, predicted value and recommendations from the analytics archive."""

from __future__ import annotations

import csv
import json
import textwrap
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from postventa.analytics.experiments import experiments, rate
from postventa.analytics.kpis import connect, rows
from postventa.analytics.queries import CLICK_WINDOW_DAYS, CONVENTIONS, query_text
from postventa.analytics.recommend import DEFAULT_THRESHOLDS
from postventa.analytics.scoring import Customers, ScoringModel, fit_scoring_model
from postventa.analytics.validation import validate
from postventa.analytics.value import ValueScores
from postventa.logic.segments import lifecycle
from postventa.models.records import ProfileScore

CUSTOMER_COLUMNS = (
    "customer_id",
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "predicted_value",
    "next_purchase_expected",
    "lifecycle",
    "rfm",
    "vip",
    "early_vip",
    "recommended",
)


def build_report(
    archive: Path,
    as_of: datetime | None = None,
    horizon_days: float = 365.0,
    customers_file: Path | None = None,
    validate_from: date | None = None,
    click_days: float = CLICK_WINDOW_DAYS,
) -> dict[str, Any]:
    """customers_file: also write every customer's scores there (CSV, or JSON for a .json name),
    the fields the scoring job writes on the profiles, with their lifecycle stage.
    click_days: an order placed this long after a click is the clicked message's revenue.
    validate_from: also fit on the history before that day and check the predictions after it
    (validation.py)."""
    connection = connect(archive)
    as_of, records_until = _observation(connection, archive) if as_of is None else (as_of, as_of)
    last_day = datetime.combine(as_of.date(), time.min, tzinfo=as_of.tzinfo)  # ages are counted to its start
    customers = Customers.from_rows(connection.execute(query_text("summary", as_of)).fetchall())
    if not customers.ids:
        raise ValueError(f"{archive}: no orders on or before {as_of:%Y-%m-%d}")
    model = fit_scoring_model(customers, horizon_days)
    values, scores = model.score(customers, last_day.date())
    stages = _lifecycles(customers, scores, last_day)
    if customers_file is not None:
        _write_customers(customers_file, scores, stages)
    (business,) = rows(connection, "business", as_of)
    return {
        "as_of": as_of.date().isoformat(),
        "records_until": records_until.date().isoformat(),
        "conventions": CONVENTIONS,
        "business": _rounded(business),
        "nps": _nps(rows(connection, "nps", records_until)),
        # Shares kept to 6 places: shown as percentages to one, they are rounded once, not twice.
        "cohort_retention": [_rounded(row, 6) for row in rows(connection, "cohorts", as_of)],
        "messages": [_with_rates(row) for row in rows(connection, "messages", records_until)],
        "journeys": experiments(rows(connection, "conversions", as_of)),
        "clicked_revenue": {
            "window_days": click_days,
            "steps": [_rounded(row) for row in rows(connection, "clicks", as_of, click_days=click_days)],
        },
        "segments": {
            "lifecycle": dict(sorted(Counter(stages).items())),
            "rfm": dict(Counter(c.rfm for c in scores).most_common(10)),
        },
        "predicted_value": _predicted_value(model, values, scores),
        **(
            {
                "validation": validate(
                    connection,
                    datetime.combine(validate_from, time.max, tzinfo=UTC) - timedelta(days=1),
                    as_of,
                )
            }
            if validate_from
            else {}
        ),
        "recommendations": {
            "thresholds": DEFAULT_THRESHOLDS.__dict__,
            "rules": [rule.__dict__ for rule in model.rules[:20]],
            **(
                {}
                if model.rules
                else {
                    "why_none": "no two products were bought together by enough customers "
                    f"(support {DEFAULT_THRESHOLDS.min_support}, confidence {DEFAULT_THRESHOLDS.min_confidence}, "
                    f"lift {DEFAULT_THRESHOLDS.min_lift}) or the history names no products"
                }
            ),
        },
    }


def _observation(connection: Any, archive: Path) -> tuple[datetime, datetime]:
    """The observation's end by default: the whole day of the last order, which every order figure
    and model counts to (a replay runs its journeys past the history's last order, and days with no
    orders in that tail would read as customers drifting away); and the whole day of the archive's
    last record, which the message and survey tables count to."""
    last_order, last_record = connection.execute(
        "SELECT (SELECT max(placed_at) FROM orders), max(t) FROM (SELECT max(placed_at) AS t FROM orders"
        " UNION ALL SELECT max(sent_at) FROM messages UNION ALL SELECT max(answered_at) FROM surveys"
        " UNION ALL SELECT max(assigned_at) FROM assignments)"
    ).fetchone()
    if last_order is None:
        raise ValueError(f"{archive}: no orders to report on")
    return _whole_day(last_order), _whole_day(last_record)


def _whole_day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time.max, tzinfo=UTC)  # the whole last day (CONVENTIONS)


def _rounded(row: dict[str, Any], digits: int = 4) -> dict[str, Any]:
    return {
        key: round(value, digits)
        if isinstance(value, float)
        else value.isoformat()
        if isinstance(value, datetime)
        else value
        for key, value in row.items()
    }


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    sent = row["sent"]
    rates = {
        f"{kind}_rate": rate(row[kind], sent)
        for kind in ("delivered", "opened", "clicked", "unsubscribed", "bounced", "complained")
    }
    return {**row, **rates}


def _nps(months: list[dict[str, Any]]) -> dict[str, Any]:
    def score(promoters: int, detractors: int, answers: int) -> float | None:
        return round(100 * (promoters - detractors) / answers, 1) if answers else None

    total = Counter[str]()
    for month in months:
        total.update({k: month[k] for k in ("answers", "promoters", "passives", "detractors")})
    return {
        **dict(total),
        "nps": score(total["promoters"], total["detractors"], total["answers"]),
        "by_month": [
            {
                "month": m["month"].strftime("%Y-%m"),
                "answers": m["answers"],
                "nps": score(m["promoters"], m["detractors"], m["answers"]),
            }
            for m in months
        ],
    }


def _lifecycles(customers: Customers, scores: list[ProfileScore], last_day: datetime) -> list[str]:
    s = customers.summary
    return [
        lifecycle(
            int(s.x[i]) + 1,
            last_day - timedelta(days=float(s.T[i] - s.t_x[i])),
            c.vip or c.early_vip,
            last_day,
        ).value
        for i, c in enumerate(scores)
    ]


def _write_customers(path: Path, scores: list[ProfileScore], stages: list[str]) -> None:
    rows = []
    for score, stage in zip(scores, stages, strict=True):
        fields = {**score.model_dump(mode="json"), "lifecycle": stage}
        rows.append({column: fields[column] for column in CUSTOMER_COLUMNS})
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CUSTOMER_COLUMNS)
        writer.writeheader()
        writer.writerows({**row, "recommended": "|".join(row["recommended"])} for row in rows)


def _predicted_value(
    model: ScoringModel, values: ValueScores | None, scores: list[ProfileScore]
) -> dict[str, Any]:
    if model.value is None or values is None:
        return {"skipped": model.not_fitted}
    top = np.argsort(-values.predicted_value)[:10]
    return {
        "parameters": model.value.parameters(),
        "customers": len(values.customer_ids),
        "mean_p_alive": round(float(np.mean(values.p_alive)), 4),
        "expected_purchases": round(float(np.sum(values.expected_purchases)), 1),
        "predicted_revenue": round(float(np.sum(values.predicted_value)), 2),
        "mean_predicted_value": round(float(np.mean(values.predicted_value)), 2),
        "vips": sum(c.vip for c in scores),
        "early_vips": sum(c.early_vip for c in scores),
        "top_customers": [
            {
                "customer_id": values.customer_ids[i],
                "p_alive": round(float(values.p_alive[i]), 3),
                "expected_purchases": round(float(values.expected_purchases[i]), 2),
                "predicted_value": round(float(values.predicted_value[i]), 2),
            }
            for i in top
        ],
    }


BUSINESS_LABELS = {
    "customers": "customers",
    "orders": "orders",
    "revenue": "revenue",
    "repeat_purchase_rate": "repeat purchase rate",
    "days_to_second_purchase": "days to second purchase (mean)",
    "average_order_value": "average order value",
    "lifetime_value": "lifetime value to date (per customer)",
    "cross_sell_rate": "cross-sell rate (2+ categories)",
    "churn_rate": "churn (no order in 180 days)",
}


def business_figures(business: dict[str, Any]) -> list[tuple[str, str]]:
    """The business KPIs as a reader sees them: labelled, rates as percentages, money in full."""
    figures = []
    for key, label in BUSINESS_LABELS.items():
        figure = business[key]
        if key == "cross_sell_rate" and not business["customers_with_categories"]:
            shown = "- (no categories in the data)"
        elif key.endswith("_rate"):
            shown = _percent(figure)
        elif key in ("revenue", "average_order_value", "lifetime_value"):
            shown = "-" if figure is None else f"{figure:,.2f}"  # money: two decimals, never 2.4e+05
        else:
            shown = _shown(figure)
        figures.append((label, shown))
    return figures


def records_note(report: dict[str, Any]) -> str:
    """What the message and NPS tables count beyond the orders' end, when an archive runs past it."""
    if report["records_until"] == report["as_of"]:
        return ""
    return (
        f"Messages and survey answers are counted to {report['records_until']}, the archive's last record: "
        "a replay runs its journeys past the history's last order."
    )


def format_report(report: dict[str, Any]) -> str:
    business, value, nps = report["business"], report["predicted_value"], report["nps"]
    lines = [
        f"Postventa report, observation period ending {report['as_of']} (the whole day, UTC)",
        *textwrap.wrap(records_note(report), width=100, initial_indent="  ", subsequent_indent="  "),
        *textwrap.wrap(report["conventions"], width=100, initial_indent="  ", subsequent_indent="  "),
        "",
        "Business",
    ]
    lines += [f"  {label:<40} {shown}" for label, shown in business_figures(business)]
    lines += [f"  {'NPS':<40} {_shown(nps['nps'])}  ({nps.get('answers', 0)} answers)", "", "Segments"]
    lines += [f"  {stage:<40} {count}" for stage, count in report["segments"]["lifecycle"].items()]
    lines += ["", "Predicted value"]
    if "skipped" in value:
        lines.append(f"  not fitted: {value['skipped']}")
    else:
        lines += _value_lines(value)
    if "validation" in report:
        lines += ["", *_validation_lines(report["validation"])]

    if report["messages"]:
        lines += [
            "",
            "Messages",
            f"  {'journey / step / channel / variant':<58} {'sent':>6} {'deliv':>6} {'open':>6} {'click':>6} {'unsub':>6} {'bounce':>6} {'compl':>6}",
        ]
        for row in report["messages"]:
            name = f"{row['journey']} / {row['step']} / {row['channel']}" + (
                f" / {row['variant']}" if row["variant"] else ""
            )
            rates = [
                row[f"{k}_rate"]
                for k in ("delivered", "opened", "clicked", "unsubscribed", "bounced", "complained")
            ]
            lines.append(
                f"  {name[:58]:<58} {row['sent']:>6} " + " ".join(f"{_percent(rate):>6}" for rate in rates)
            )
    clicked = report["clicked_revenue"]
    if clicked["steps"]:
        lines += [
            "",
            f"Revenue by click (an order within {_shown(clicked['window_days'])} days of a click, to the last one)",
        ]
        lines += [
            f"  {row['journey'] + ' / ' + row['step'] + ' / ' + row['channel']:<58} {row['orders']:>6} orders "
            f"{row['revenue']:>12,.2f}"
            for row in clicked["steps"]
        ]
    if report["journeys"]:
        lines += ["", "Journeys against their holdout"]
        for journey in report["journeys"]:
            holdout = journey["holdout"]
            base = (
                f"holdout {_percent(holdout['conversion_rate'])} of {holdout['customers']}"
                if holdout
                else "no holdout"
            )
            lines.append(f"  {journey['journey']} ({journey['experiment']}): {base}; {journey['verdict']}")
            lines.append(f"    against the holdout: {journey['against_holdout']}")
            for variant in journey["variants"]:
                uplift = (
                    f", uplift {variant['uplift'] * 100:+.1f} pts, p={variant['p_value']}"
                    if "uplift" in variant
                    else ""
                )
                lines.append(
                    f"    {variant['variant']:<12} {_percent(variant['conversion_rate'])} of {variant['customers']}{uplift}"
                )
    rules = report["recommendations"]["rules"]
    lines += ["", "Complementary products (strongest rules)"]
    lines += [
        f"  {r['antecedent']} -> {r['consequent']}: support {r['support']:.3f}, confidence {r['confidence']:.2f}, lift {r['lift']:.2f}"
        for r in rules[:10]
    ] or [f"  none: {report['recommendations']['why_none']}"]
    return "\n".join(lines)


def _value_lines(value: dict[str, Any]) -> list[str]:
    params = value["parameters"]
    bg, gg = params["bg_nbd"], params["gamma_gamma"]
    return [
        f"  next {params['horizon']:.0f} {params['time_unit']}",
        f"  BG/NBD r={bg['r']:.3f} alpha={bg['alpha']:.2f} a={bg['a']:.3f} b={bg['b']:.3f}; "
        f"Gamma-Gamma p={gg['p']:.2f} q={gg['q']:.2f} v={gg['v']:.2f} (time unit: {params['time_unit']})",
        *(f"  {name} fit: {fit_quality(name, fit)}" for name, fit in params.get("fits", {}).items()),
        f"  {'probability alive (mean)':<40} {value['mean_p_alive']}",
        "    (BG/NBD counts a one-order customer alive until a repeat shows their pace: the mean is not"
        " 1 - churn, which counts everyone idle 180 days)",
        f"  {'expected purchases':<40} {value['expected_purchases']}",
        f"  {'predicted revenue':<40} {value['predicted_revenue']}",
        f"  {'early VIPs (top tenth after one order)':<40} {value['early_vips']}",
    ]


PARAMETER_NAMES = {"bg_nbd": ("r", "alpha", "a", "b"), "gamma_gamma": ("p", "q", "v")}


def fit_quality(name: str, fit: dict[str, Any]) -> str:
    """How a fit went, in words (text and HTML report)."""
    said = f"log-likelihood {fit['log_likelihood']:,.1f}, " + (
        f"the maximum ({fit['agreeing']} of {fit['starts']} starts reached it)"
        if fit["converged"]
        else f"NOT CONFIRMED: only one of {fit['starts']} starts reached it; treat predictions with care"
    )
    bounded = [PARAMETER_NAMES[name][i] for i in fit.get("at_bound", ())]
    if bounded:
        said += f"; {', '.join(bounded)} at the search's bound: this history cannot pin {'it' if len(bounded) == 1 else 'them'} down"
    return said


def _validation_lines(check: dict[str, Any]) -> list[str]:
    weeks = check["weekly_cumulative_repeat_purchases"]
    every = max(1, len(weeks) // 8)  # about eight rows of the weekly series
    return [
        f"Holdout validation: fitted to {check['calibration_end']}, checked to {check['holdout_end']}",
        f"  {'week':>6} {'until':>12} {'predicted':>10} {'actual':>8}  (cumulative repeat purchases)",
        *(
            f"  {w['week']:>6} {w['until']:>12} {w['predicted']:>10,.0f} {w['actual']:>8,}"
            for w in weeks
            if w["week"] % every == 0 or w is weeks[-1]
        ),
        *textwrap.wrap(check["verdict"], width=100, initial_indent="  ", subsequent_indent="  "),
    ]


def _shown(value: Any) -> str:
    return "-" if value is None else f"{value:,.4g}" if isinstance(value, float) else str(value)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"
