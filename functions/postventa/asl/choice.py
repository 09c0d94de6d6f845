"""Choice-state rules for the local engine (the comparison operators of the ASL specification)."""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Any

from postventa.asl import paths as asl_paths


def _timestamp(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


_COMPARATORS = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
_TYPES = {
    "String": lambda v: isinstance(v, str),
    "Numeric": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool),
    "Timestamp": lambda v: isinstance(v, str),
}


def _holds(rule: dict[str, Any], data: Any) -> bool:
    if "And" in rule:
        return all(_holds(inner, data) for inner in rule["And"])
    if "Or" in rule:
        return any(_holds(inner, data) for inner in rule["Or"])
    if "Not" in rule:
        return not _holds(rule["Not"], data)
    try:
        value = asl_paths.read(rule["Variable"], data, {})
        present = True
    except asl_paths.PathError:
        value, present = None, False
    for key, expected in rule.items():
        if key in ("Variable", "Next"):
            continue
        if key == "IsPresent":
            return present == expected
        if not present:
            return False
        if key == "IsNull":
            return (value is None) == expected
        kind = next(prefix for prefix in _TYPES if key.startswith(prefix))
        comparison = key[len(kind) :]
        if comparison.endswith("Path"):
            comparison, expected = comparison[: -len("Path")], asl_paths.read(expected, data, {})
        if comparison == "Matches":
            return isinstance(value, str) and fnmatch.fnmatchcase(value, expected)
        if not _TYPES[kind](value):
            return False
        if kind == "Timestamp":
            value, expected = _timestamp(value), _timestamp(expected)
        return bool(_COMPARATORS[comparison](value, expected))
    raise ValueError(f"choice rule {rule} has no comparison")


def choose(state: dict[str, Any], data: Any) -> str:
    for rule in state["Choices"]:
        if _holds(rule, data):
            return str(rule["Next"])
    if "Default" not in state:
        raise ValueError("States.NoChoiceMatched")
    return str(state["Default"])
