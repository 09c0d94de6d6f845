"""The report as one self-contained HTML file: tables and inline SVG charts, no scripts, no CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from postventa.analytics.report import business_figures, fit_quality, records_note

BAR_WIDTH = 360


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("postventa", "templates/report"),
        autoescape=select_autoescape(enabled_extensions=("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["fit_quality"] = fit_quality
    env.globals["records_note"] = records_note
    env.filters["percent"] = lambda rate: "-" if rate is None else f"{rate * 100:.1f}%"
    env.filters["number"] = lambda value: (
        "-" if value is None else f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
    )
    return env


def cohort_grid(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Cohorts as rows, months after the first order as columns (1..12)."""
    cohorts: dict[str, dict[int, float]] = {}
    sizes: dict[str, int] = {}
    for row in rows:
        month = row["cohort"][:7]
        cohorts.setdefault(month, {})[row["months_later"]] = row["retained"]
        sizes[month] = row["customers"]
    return {"months": list(range(1, 13)), "cohorts": [(m, sizes[m], cohorts[m]) for m in sorted(cohorts)]}


def funnels(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each journey's steps: sent, delivered, opened, clicked (summed over channels and variants),
    each with its share of sent."""
    steps: dict[tuple[str, str], dict[str, int]] = {}
    for row in messages:
        totals = steps.setdefault(
            (row["journey"], row["step"]), {"sent": 0, "delivered": 0, "opened": 0, "clicked": 0}
        )
        for stage in totals:
            totals[stage] += row[stage]
    widest = max((t["sent"] for t in steps.values()), default=0) or 1
    return [
        {
            "journey": j,
            "step": s,
            "stages": [
                (stage, count, BAR_WIDTH * count / widest, count / t["sent"] if t["sent"] else None)
                for stage, count in t.items()
            ],
        }
        for (j, s), t in sorted(steps.items())
    ]


def validation_chart(
    check: dict[str, Any] | None, width: int = BAR_WIDTH, height: int = 160
) -> dict[str, Any] | None:
    """The weekly cumulative series as SVG polyline points, both on one scale."""
    if check is None:
        return None
    weeks = check["weekly_cumulative_repeat_purchases"]
    top = max([max(w["predicted"], w["actual"]) for w in weeks], default=0) or 1
    step = width / max(1, len(weeks) - 1)

    def y(value: float) -> float:
        return round(10 + height * (1 - value / top), 1)

    def points(key: str) -> str:
        return " ".join(f"{60 + i * step:.1f},{y(w[key])}" for i, w in enumerate(weeks))

    return {
        "width": width,
        "height": height,
        "top": top,
        "weeks": len(weeks),
        "actual": points("actual"),
        "predicted": points("predicted"),
        "actual_end": y(weeks[-1]["actual"]) + 4 if weeks else 0,
        "predicted_end": y(weeks[-1]["predicted"]) + 4 if weeks else 0,
    }


def write_html(report: dict[str, Any], path: Path) -> None:
    revenue = [
        (
            journey["journey"],
            variant["variant"],
            variant["revenue_per_customer"],
            (journey["holdout"] or {}).get("revenue_per_customer"),
        )
        for journey in report["journeys"]
        for variant in journey["variants"]
    ]
    widest = max([r for _, _, a, b in revenue for r in (a, b or 0)], default=0) or 1
    html = (
        _environment()
        .get_template("report.html")
        .render(
            report=report,
            business=business_figures(report["business"]),
            cohorts=cohort_grid(report["cohort_retention"]),
            funnels=funnels(report["messages"]),
            revenue=[
                (j, v, a, b, BAR_WIDTH * a / widest, BAR_WIDTH * (b or 0) / widest) for j, v, a, b in revenue
            ],
            nps=report["nps"]["by_month"],
            validation=validation_chart(report.get("validation")),
            bar_width=BAR_WIDTH,
        )
    )
    path.write_text(html, encoding="utf-8")
