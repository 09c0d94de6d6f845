"""Journeys' experiments from their conversions (sql/conversions.sql): each variant against the
holdout and the A/B verdict (stats.py), and the winners decided, for the report (local) and the
daily scoring job (cloud) alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from postventa.analytics.stats import ab_winner, compare, holm
from postventa.models.records import DecidedWinner

HOLDOUT = "holdout"
SIGNIFICANCE = 0.05
MIN_SAMPLE = 1000


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def experiments(variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per experiment: each variant's conversion, uplift over the holdout, and the A/B verdict."""
    experiments: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in variants:
        experiments.setdefault((row["journey"], row["experiment"] or ""), {})[row["variant"]] = row
    report = []
    for (journey, experiment), groups in sorted(experiments.items()):
        holdout = groups.get(HOLDOUT)
        treated = {name: row for name, row in groups.items() if name != HOLDOUT}
        entries = []
        tests = {
            name: compare(
                (row["conversions"], row["customers"]), (holdout["conversions"], holdout["customers"])
            )
            for name, row in treated.items()
            if holdout
        }
        # Several variants against one holdout: significant together at SIGNIFICANCE (Holm).
        significant = holm({name: test.p_value for name, test in tests.items()}, SIGNIFICANCE)
        for name, row in sorted(treated.items()):
            entry = {
                "variant": name,
                "customers": row["customers"],
                "conversions": row["conversions"],
                "conversion_rate": rate(row["conversions"], row["customers"]),
                "revenue": round(float(row["revenue"]), 2),
                "revenue_per_customer": round(float(row["revenue"]) / row["customers"], 2),
            }
            if name in tests:
                test = tests[name]
                entry |= {
                    "uplift": round(test.uplift, 4),
                    "p_value": round(test.p_value, 4),  # always valid: read the report as often as you like
                    "fixed_horizon_p_value": round(test.fixed_horizon_p_value, 4),
                    "significant": significant[name],
                }
            entries.append(entry)
        verdict = ab_winner(
            {name: (row["conversions"], row["customers"]) for name, row in treated.items()},
            MIN_SAMPLE,
            SIGNIFICANCE,
        )
        report.append(
            {
                "journey": journey,
                "experiment": experiment,
                "holdout": None
                if holdout is None
                else {
                    "customers": holdout["customers"],
                    "conversion_rate": rate(holdout["conversions"], holdout["customers"]),
                    "revenue_per_customer": round(float(holdout["revenue"]) / holdout["customers"], 2),
                },
                "variants": entries,
                "against_holdout": against_holdout(entries, holdout is not None),
                "winner": verdict.winner if len(treated) > 1 else None,
                "verdict": verdict.reason if len(treated) > 1 else "one variant: no A/B test",
            }
        )
    return report


def against_holdout(variants: list[dict[str, Any]], has_holdout: bool) -> str:
    """What the holdout says of the journey, in a marketer's words: whether it makes customers buy."""
    if not has_holdout:
        return "no holdout: what the journey adds cannot be measured"
    better = [v["variant"] for v in variants if v["significant"] and v["uplift"] > 0]
    worse = [v["variant"] for v in variants if v["significant"] and v["uplift"] < 0]
    if better:
        return (
            f"{', '.join(better)} converts more than the holdout (significant): the journey earns its sends"
        )
    if worse:
        return (
            f"the holdout converts more than {', '.join(worse)} (significant): "
            "the journey may be costing orders; review its timing and offer"
        )
    if all(v["uplift"] <= 0 for v in variants):
        return "no variant converts more than the holdout so far (not significant yet: keep watching)"
    return "no variant differs from the holdout significantly yet (keep watching)"


def decided_winners(tests: list[dict[str, Any]], decided_at: datetime) -> list[DecidedWinner]:
    """The A/B tests decided among `experiments(...)`, as records `winner: auto` splits apply."""
    return [
        DecidedWinner(
            experiment=journey["experiment"],
            winner=journey["winner"],
            decided_at=decided_at,
            reason=journey["verdict"],
        )
        for journey in tests
        if journey["winner"] and journey["experiment"]
    ]
