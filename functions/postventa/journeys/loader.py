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


def _locate(raw: Any, loc: tuple[Any, ...]) -> tuple[str | None, str]:
    """Walk the raw document along a pydantic error location: the innermost step id and the field path."""
    step_id: str | None = None
    node, after_step = raw, False
    fields: list[str] = []
    for part in loc:
        if after_step and part in STEP_KINDS:
            after_step = False  # the discriminator's tag, not a field
            continue
        after_step = False
        if isinstance(node, list) and isinstance(part, int) and fields[-1:] == ["steps"]:
            node = node[part] if part < len(node) else None
            step_id = str(node.get("id", f"#{part + 1}")) if isinstance(node, dict) else f"#{part + 1}"
            fields, after_step = [], True
            continue
        node = node.get(part) if isinstance(node, dict) else None
        fields.append(str(part))
    return step_id, ".".join(fields)


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
            step_id, field = _locate(raw, item["loc"])
            where = f"step {step_id!r}" if step_id else "journey"
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
