"""Deterministic A/B/n assignment with an optional holdout: same customer, same experiment, same answer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HOLDOUT = "holdout"
BUCKETS = 10_000


def bucket(customer_id: str, experiment: str) -> int:
    digest = hashlib.sha256(f"{experiment}|{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(
    customer_id: str,
    experiment: str,
    variants: Sequence[tuple[str, int]],
    holdout_percent: float,
    winner: str | None = None,
) -> str:
    """The holdout takes the lowest buckets; the rest is shared by weight, in the order given,
    or all goes to the winner once the test is decided (the holdout keeps measuring the journey)."""
    position = bucket(customer_id, experiment)
    held = round(holdout_percent * BUCKETS / 100)
    if position < held:
        return HOLDOUT
    if winner is not None:
        return winner
    total = sum(weight for _, weight in variants)
    point = (position - held) * total / (BUCKETS - held)
    for name, weight in variants:
        if point < weight:
            return name
        point -= weight
    return variants[-1][0]
