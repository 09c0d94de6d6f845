"""The Amazon States Language path subset our journeys use: reference paths and payload templates.

Hand-written rather than a JSONPath library: ASL restricts ResultPath to reference paths
(``$.a.b``, ``$.a[0]``), which must also *create* intermediate objects, a write that general
JSONPath libraries do not model the way Step Functions does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']+)'\]")


Template = Callable[[Any, Mapping[str, Any]], Any]


class PathError(ValueError):
    """States.Runtime in Step Functions: a path that does not resolve."""


@lru_cache(maxsize=1024)  # a journey has a few dozen distinct paths, read many times each
def _parts(path: str) -> tuple[str | int, ...]:
    root = "$$" if path.startswith("$$") else "$"
    rest = path[len(root) :]
    parts: list[str | int] = []
    position = 0
    while position < len(rest):
        match = _TOKEN.match(rest, position)
        if not match:
            raise PathError(f"unsupported path {path!r}")
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else (name or quoted))
        position = match.end()
    return tuple(parts)


def read(path: str, data: Any, context: Mapping[str, Any]) -> Any:
    return _reader(path)(data, context)


@lru_cache(maxsize=1024)
def _reader(path: str) -> Template:
    """A function reading one path, resolved once: tasks read the same few paths all day."""
    parts = _parts(path)
    from_context = path.startswith("$$")

    def read_path(data: Any, context: Mapping[str, Any]) -> Any:
        node: Any = context if from_context else data
        try:
            for part in parts:
                node = node[part]
        except (KeyError, IndexError, TypeError) as error:
            raise PathError(f"path {path!r} does not resolve") from error
        return node

    return read_path


def write(path: str | None, data: Any, value: Any) -> Any:
    """ResultPath semantics: None discards the result, $ replaces the input, else merge into a copy.

    Only the objects along the path are copied: the engine never changes a value in place, so the
    rest is shared, as immutable JSON values may be."""
    if path is None:
        return data
    parts = _parts(path)
    if not parts:
        return value
    result = dict(data) if isinstance(data, dict) else {}
    node: Any = result
    for part in parts[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[parts[-1]] = value
    return result


_COMPILED: dict[int, tuple[Any, Template]] = {}  # id(template) -> (template, its renderer)


def render(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    """Parameters / ResultSelector: keys ending in .$ take the value at their path."""
    known = _COMPILED.get(id(template))
    if known is None or known[0] is not template:  # compiled once: definitions live as long as the engine
        known = (template, _compile(template) or (lambda data, context: template))
        _COMPILED[id(template)] = known
    return known[1](data, context)


_STRING_TO_JSON = re.compile(r"^States\.StringToJson\((\$[^)]*)\)$")


def _value_reader(expression: str) -> Template:
    """A path, or the one intrinsic function our journeys use: States.StringToJson(path)."""
    intrinsic = _STRING_TO_JSON.match(expression)
    if intrinsic is None:
        return _reader(expression)
    inner = _reader(intrinsic[1])
    return lambda data, context: json.loads(inner(data, context))


def _compile(template: Any) -> Template | None:
    """A renderer for a template, or None for a subtree without paths (a step's configuration),
    which is passed as it is: tasks only read their payload."""
    if isinstance(template, dict):
        fields = [
            (key[:-2], _value_reader(value), value) if key.endswith(".$") else (key, _compile(value), value)
            for key, value in template.items()
        ]
        if all(renderer is None for _, renderer, _ in fields):
            return None
        return lambda data, context: {
            key: value if renderer is None else renderer(data, context) for key, renderer, value in fields
        }
    if isinstance(template, list):
        items = [(_compile(item), item) for item in template]
        if all(renderer is None for renderer, _ in items):
            return None
        return lambda data, context: [
            item if renderer is None else renderer(data, context) for renderer, item in items
        ]
    return None
