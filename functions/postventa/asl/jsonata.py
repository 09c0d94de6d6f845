"""JSONata fields of a state, as Step Functions evaluates them: a string "{% ... %}" is an
expression over $states (input, context); anything else is a literal. Expressions run in
jsonata-python (JSONata 2.0, the version Step Functions runs) with Step Functions' own $parse added."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonata


@cache
def _compiled(expression: str) -> jsonata.Jsonata:
    compiled = jsonata.Jsonata(expression)
    compiled.register_lambda("parse", json.loads)
    return compiled


def evaluate(value: Any, states: dict[str, Any]) -> Any:
    """`value` of a JSONata state's field, with `states` bound to $states."""
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        return _compiled(value[2:-2].strip()).evaluate(None, {"states": states})
    if isinstance(value, dict):
        return {key: evaluate(item, states) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate(item, states) for item in value]
    return value
