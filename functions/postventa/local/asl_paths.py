"""The Amazon States Language path subset our journeys use: reference paths and payload templates.

Hand-written rather than a JSONPath library: ASL restricts ResultPath to reference paths
(``$.a.b``, ``$.a[0]``), which must also *create* intermediate objects, a write that general
JSONPath libraries do not model the way Step Functions does.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']+)'\]")


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


def read(path: str, data: Any, context: dict[str, Any]) -> Any:
    node: Any = context if path.startswith("$$") else data
    for part in _parts(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError) as error:
            raise PathError(f"path {path!r} does not resolve") from error
    return node


def write(path: str | None, data: Any, value: Any) -> Any:
    """ResultPath semantics: None discards the result, $ replaces the input, else merge into a copy."""
    if path is None:
        return data
    parts = _parts(path)
    if not parts:
        return value
    result = copy.deepcopy(data) if isinstance(data, dict) else {}
    node: Any = result
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return result


_STATIC: dict[int, tuple[Any, bool]] = {}  # id(subtree) -> (subtree, has no path in it)


def _is_static(template: Any) -> bool:
    """Whether a payload subtree holds no path (cached: definitions live as long as the engine)."""
    known = _STATIC.get(id(template))
    if known is not None and known[0] is template:
        return known[1]
    if isinstance(template, dict):
        static = all(not key.endswith(".$") and _is_static(value) for key, value in template.items())
    elif isinstance(template, list):
        static = all(_is_static(item) for item in template)
    else:
        static = True
    _STATIC[id(template)] = (template, static)
    return static


def render(template: Any, data: Any, context: dict[str, Any]) -> Any:
    """Parameters / ResultSelector: keys ending in .$ take the value at their path. Subtrees without
    paths (a step's configuration) are passed as they are: tasks only read their payload."""
    if _is_static(template):
        return template
    if isinstance(template, dict):
        rendered = {}
        for key, value in template.items():
            if key.endswith(".$"):
                rendered[key[:-2]] = read(value, data, context)
            else:
                rendered[key] = render(value, data, context)
        return rendered
    if isinstance(template, list):
        return [render(item, data, context) for item in template]
    return template
