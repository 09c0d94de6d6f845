"""Complementary products from co-purchase statistics: association rules A → B over customers'
baskets (everything a customer has bought: cross-sell happens across orders, not only within one).

support(A→B) = share of baskets holding A and B; confidence = support(A→B) / support(A);
lift = confidence / support(B) (above 1: B goes with A more often than chance).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import permutations


@dataclass(frozen=True)
class Thresholds:
    min_support: float = 0.005
    min_confidence: float = 0.05
    min_lift: float = 1.2
    per_product: int = 3


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Rule:
    antecedent: str
    consequent: str
    support: float
    confidence: float
    lift: float


def association_rules(
    baskets: Iterable[frozenset[str]], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Rule]:
    """Every rule passing all three thresholds, strongest first (lift, then confidence)."""
    singles: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    count = 0
    for basket in baskets:
        count += 1
        singles.update(basket)
        if len(basket) > 1:
            pairs.update(permutations(sorted(basket), 2))
    if not count:
        return []
    rules = []
    for (a, b), together in pairs.items():
        support = together / count
        confidence = together / singles[a]
        lift = confidence / (singles[b] / count)
        if (
            support >= thresholds.min_support
            and confidence >= thresholds.min_confidence
            and lift >= thresholds.min_lift
        ):
            rules.append(Rule(a, b, round(support, 6), round(confidence, 6), round(lift, 6)))
    return sorted(rules, key=lambda rule: (-rule.lift, -rule.confidence, rule.antecedent, rule.consequent))


def complements(rules: list[Rule], per_product: int) -> dict[str, list[str]]:
    """For each product, its strongest complements."""
    table: dict[str, list[str]] = {}
    for rule in rules:
        chosen = table.setdefault(rule.antecedent, [])
        if len(chosen) < per_product:
            chosen.append(rule.consequent)
    return table


def recommend(bought: set[str], table: dict[str, list[str]], limit: int = 3) -> list[str]:
    """Complements of what the customer bought, never something they already have."""
    picks: list[str] = []
    for product in sorted(bought):
        for complement in table.get(product, []):
            if complement not in bought and complement not in picks:
                picks.append(complement)
    return picks[:limit]
