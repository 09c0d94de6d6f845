"""The one evaluator for journey conditions (trigger filters today, branches tomorrow)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from postventa.journeys.model import Condition, Operator

_MISSING = object()


def resolve(context: Mapping[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(op: Operator, actual: Any, expected: Any) -> bool:
    left, right = _number(actual), _number(expected)
    if left is None or right is None:
        left, right = actual, expected
    try:
        return {
            Operator.GT: lambda: left > right,
            Operator.GTE: lambda: left >= right,
            Operator.LT: lambda: left < right,
            Operator.LTE: lambda: left <= right,
        }[op]()
    except TypeError:
        return False


def holds(condition: Condition, context: Mapping[str, Any]) -> bool:
    actual = resolve(context, condition.field)
    op, expected = condition.op, condition.value
    if op is Operator.EXISTS:
        return (actual is not _MISSING and actual is not None) == expected
    if actual is _MISSING:
        return op in (Operator.NE, Operator.NOT_IN, Operator.NOT_CONTAINS)
    if op is Operator.EQ:
        return actual == expected or (_number(actual) is not None and _number(actual) == _number(expected))
    if op is Operator.NE:
        return not holds(condition.model_copy(update={"op": Operator.EQ}), context)
    if op is Operator.IN:
        return actual in expected
    if op is Operator.NOT_IN:
        return actual not in expected
    if op is Operator.CONTAINS:
        return isinstance(actual, list | str) and expected in actual
    if op is Operator.NOT_CONTAINS:
        return not holds(condition.model_copy(update={"op": Operator.CONTAINS}), context)
    return _compare(op, actual, expected)


def all_hold(conditions: Iterable[Condition], context: Mapping[str, Any]) -> bool:
    return all(holds(condition, context) for condition in conditions)
