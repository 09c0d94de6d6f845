"""Load journey files, with errors that name the file, the step and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from postventa.journeys.model import STEP_KINDS, Journey

DEFINITIONS = Path(__file__).with_name("definitions")


class JourneyError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# items shown by their name, and by their number
_NAMED_LISTS = {"cases": "case", "variants": "variant"}
_NUMBERED_LISTS = {"when": "condition", "conditions": "condition", "exit_on": "exit goal"}


def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[str, str]:
    """Walk the raw document along a pydantic error location: where it is as a reader names it
    (the innermost step, then its case, variant or condition) and the field path within."""
    labels: list[str] = []
    node, after_step = raw, False
    fields: list[str] = []
    for part in loc:
        if after_step and part in STEP_KINDS:
            after_step = False  # the discriminator's tag, not a field
            continue
        after_step = False
        if isinstance(node, list) and isinstance(part, int):
            node = node[part] if part < len(node) else None
            name = node.get("id" if fields[-1:] == ["steps"] else "name") if isinstance(node, dict) else None
            if fields[-1:] == ["steps"]:
                labels, fields, after_step = [f"step {name or f'#{part + 1}'}"], [], True
                continue
            kind = _NAMED_LISTS.get(fields[-1]) if fields else None
            numbered = _NUMBERED_LISTS.get(fields[-1]) if fields else None
            if kind or numbered:
                outer = ".".join(field for field in fields[:-1] if field not in STEP_KINDS)
                labels += [outer] if outer else []  # e.g. trigger, around its conditions
                labels.append(f"{kind} {name or f'#{part + 1}'}" if kind else f"{numbered} {part + 1}")
                fields = []
                continue
            fields.append(str(part))
            continue
        node = node.get(part) if isinstance(node, dict) else None
        fields.append(str(part))
    return ", ".join(labels) or "journey", ".".join(fields)


def parse_journey(text: str, source: str) -> Journey:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise JourneyError([f"{source}: not valid YAML: {error}"]) from error
    try:
        return Journey.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            where, field = _locate(raw, item["loc"])
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{source}: {where}: {field + ': ' if field else ''}{message}")
        raise JourneyError(problems) from error


def load_journey(path: Path) -> Journey:
    journey = parse_journey(path.read_text(encoding="utf-8"), str(path))
    if path.stem != journey.name:
        raise JourneyError([f"{path}: journey: name {journey.name!r} must match the file name {path.stem!r}"])
    return journey


def journey_files(root: Path) -> list[Path]:
    return sorted(root.glob("*.yaml")) if root.is_dir() else [root]


def load_journeys(root: Path = DEFINITIONS) -> dict[str, Journey]:
    """Every journey under root, or every error in every file at once."""
    return load_files(journey_files(root))


def load_files(paths: list[Path]) -> dict[str, Journey]:
    """Every journey of these files, or every error in every file at once."""
    journeys: dict[str, Journey] = {}
    problems: list[str] = []
    for path in paths:
        try:
            journey = load_journey(path)
        except JourneyError as error:
            problems.extend(error.problems)
            continue
        journeys[journey.name] = journey
    if problems:
        raise JourneyError(problems)
    return journeys
