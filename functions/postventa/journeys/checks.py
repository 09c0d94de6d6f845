"""What `journeys validate` checks beyond a file's shape: everything a journey refers to exists
(templates for each channel a step can take, fact fields and their values, topics) and the journey
can run as written (every step reachable, within Step Functions' year, entry rules that agree).

A misspelt fact is silently false at runtime (every customer takes `otherwise`), so each unknown
name is an error with the nearest known one. Problems name the file and where in it, e.g.
`post-purchase.yaml: step review_followed_up, case opened: unknown field ...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from postventa.journeys.library import Library, suggest
from postventa.journeys.model import (
    Branch,
    BranchStep,
    Condition,
    EntryRule,
    Journey,
    Operator,
    SendStep,
    WaitForEventStep,
    WaitStep,
    WaitUntilStep,
    branches_of,
)
from postventa.logic.channels import CHANNELS, channels_of
from postventa.logic.facts import FACT_FIELDS, MESSAGE_FACTS, FactField, declared_facts
from postventa.models.events import Channel, DetailType

LONGEST_EXECUTION = timedelta(days=365)  # a Standard state machine's execution runs at most a year
_NUMERIC_OPERATORS = (Operator.GT, Operator.GTE, Operator.LT, Operator.LTE)


@dataclass(frozen=True)
class Problem:
    """An error fails validation; a note only informs (e.g. which locale a step falls back to)."""

    where: str
    text: str
    note: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _ends_every_way(step: Any) -> bool:
    """Every way out of the step ends the journey (a split's holdout ends there too)."""
    branches = branches_of(step)
    return bool(branches) and all(branch.then == "end" for branch in branches)


class _JourneyChecks:
    def __init__(self, journey: Journey, source: str, library: Library, default_locale: str):
        self.journey, self.source, self.library = journey, source, library
        self.default_locale = default_locale
        self.problems: list[Problem] = []
        self.send_steps = {step.id for step in journey.all_steps() if isinstance(step, SendStep)}
        self.facts = FACT_FIELDS | declared_facts(library.contract, journey.trigger.event)

    def add(self, labels: Iterable[str], text: str, *, note: bool = False) -> None:
        self.problems.append(Problem(f"{self.source}: {', '.join(labels)}", text, note))

    def run(self) -> list[Problem]:
        self.trigger()
        self.entry_rules()
        self.walk(self.journey.steps, frozenset())
        self.duration()
        return self.problems

    # --- what the journey refers to

    def trigger(self) -> None:
        trigger = self.journey.trigger
        for number, condition in enumerate(trigger.conditions, 1):
            labels = ("trigger", f"condition {number}")
            section = condition.field.split(".")[0]
            if section in ("journey", "message"):
                self.add(
                    labels,
                    f"{condition.field}: a trigger is checked before the journey starts, "
                    f"when {section}.* knows nothing yet",
                )
                continue
            if section == "nps" and trigger.event is not DetailType.SURVEY_ANSWERED:
                self.add(
                    labels,
                    f"{condition.field}: nps.* is the answer a Survey Answered trigger carries; "
                    f"this journey starts on {self._trigger_name()}",
                )
                continue
            self.condition(labels, condition, frozenset())
        self.contradictions(("trigger",), trigger.conditions)

    def condition(self, labels: tuple[str, ...], condition: Condition, sent_before: frozenset[str]) -> None:
        fact = self.fact(labels, condition.field, sent_before)
        if fact is None or condition.op is Operator.EXISTS:
            return
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        if fact.values is not None and condition.op not in _NUMERIC_OPERATORS:
            for value in values:
                if str(value) not in fact.values:
                    self.add(
                        labels,
                        f"{condition.field} is never {value!r}: it is one of "
                        f"{', '.join(fact.values)}{suggest(str(value), fact.values)}",
                    )
        if condition.op in _NUMERIC_OPERATORS and fact.kind not in ("number", "date"):
            self.add(
                labels,
                f"{condition.field} holds {fact.kind}: op {condition.op.value} compares numbers or dates",
            )
        if condition.op in (Operator.CONTAINS, Operator.NOT_CONTAINS) and fact.kind not in ("list", "text"):
            self.add(
                labels,
                f"{condition.field} holds {fact.kind}: op {condition.op.value} looks inside a list or text",
            )
        if (
            fact.kind == "bool"
            and condition.op in (Operator.EQ, Operator.NE)
            and not isinstance(condition.value, bool)
        ):
            self.add(
                labels,
                f"{condition.field} is true or false: compare it with true or false, not {condition.value!r}",
            )

    def fact(self, labels: tuple[str, ...], path: str, sent_before: frozenset[str]) -> FactField | None:
        if path in self.facts:
            return self.facts[path]
        parts = path.split(".")
        if parts[0] == "message" and len(parts) == 3:
            step, attribute = parts[1], parts[2]
            if step in self.send_steps and attribute in MESSAGE_FACTS:
                if step not in sent_before:
                    self.add(
                        labels,
                        f"{path}: step {step} has not run yet here, so its message is "
                        "never known: name a send step that comes before",
                    )
                    return None
                return MESSAGE_FACTS[attribute]
        known = [*self.facts, *(f"message.{s}.{a}" for s in sorted(sent_before) for a in MESSAGE_FACTS)]
        self.add(labels, f"unknown field {path}{suggest(path, known)}")
        return None

    def contradictions(self, labels: tuple[str, ...], conditions: list[Condition]) -> None:
        """All conditions must hold: two that cannot both hold mean nobody ever enters (or takes the case)."""
        by_field: dict[str, list[Condition]] = {}
        for condition in conditions:
            by_field.setdefault(condition.field, []).append(condition)
        for name, group in by_field.items():
            allowed = _allowed_values(group)
            low, high = _numeric_bounds(group)
            if (allowed is not None and not allowed) or (low is not None and high is not None and low > high):
                self.add(labels, f"the conditions on {name} cannot all hold: nobody ever matches")

    def send(self, step: SendStep, labels: tuple[str, ...], sent_before: frozenset[str]) -> None:
        action = step.send
        if action.instead_of is not None and action.instead_of not in sent_before:
            self.add(
                labels,
                f"instead_of: {action.instead_of} is not a send step that comes before"
                f"{suggest(action.instead_of, sent_before)}",
            )
        for channel in channels_of(action.channels, self.journey.phase):
            self.templates(labels, channel, action.template)
        topics = self.library.topics
        if action.topic is not None and action.topic not in topics:
            self.add(
                labels,
                f"unknown topic {action.topic}{suggest(action.topic, topics)} (topics: "
                f"{', '.join(topics)}; a shop adds its own in postventa.yaml)",
            )

    def templates(self, labels: tuple[str, ...], channel: Channel, template: str) -> None:
        spec = CHANNELS[channel]
        files = [f"{template}.{suffix}" for suffix in spec.parts.values()]
        missing = [name for name in files if not self._exists(channel, self.default_locale, name)]
        if missing:
            folder = f"templates/{channel.value}/{self.default_locale}"
            if len(missing) == len(files):
                absent = f"no {channel.value} template {template} in {folder}"
                self.add(labels, absent + suggest(template, self._template_names(channel)))
            else:
                self.add(
                    labels,
                    f"{channel.value} template {template} lacks {', '.join(f'{folder}/{name}' for name in missing)}",
                )
            return
        for locale in sorted(self._locales(channel) - {self.default_locale}):
            present = [name for name in files if self._exists(channel, locale, name)]
            if f"{template}.{spec.locale_file}" not in present:
                self.add(
                    labels,
                    f"{channel.value} in {locale} falls back to {self.default_locale} (no "
                    f"templates/{channel.value}/{locale}/{template}.{spec.locale_file})",
                    note=True,
                )
            elif len(present) < len(files):
                absent = ", ".join(
                    f"templates/{channel.value}/{locale}/{name}" for name in files if name not in present
                )
                self.add(
                    labels,
                    f"{channel.value} in {locale} is chosen by its {spec.locale_file} but "
                    f"cannot render: missing {absent}",
                )

    def _exists(self, channel: Channel, locale: str, name: str) -> bool:
        return any((root / channel.value / locale / name).is_file() for root in self.library.template_roots)

    def _locales(self, channel: Channel) -> set[str]:
        return {
            folder.name
            for root in self.library.template_roots
            for folder in (root / channel.value).glob("*")
            if folder.is_dir()
        }

    def _template_names(self, channel: Channel) -> set[str]:
        return {
            path.name.split(".")[0]
            for root in self.library.template_roots
            for path in (root / channel.value).glob("*/*")
            if not path.name.startswith("_")
        }

    # --- whether it can run as written

    def walk(self, steps: list[Any], sent_before: frozenset[str]) -> frozenset[str]:
        """Each step in order, knowing which send steps may have run before it (what
        message.<step>.* can tell about); returns those that may have run by the end of the list."""
        sent = sent_before
        for index, step in enumerate(steps):
            labels = (f"step {step.id}",)  # step ids are unique in a journey, nested or not
            if isinstance(step, SendStep):
                self.send(step, labels, sent)
                sent |= {step.id}
            elif isinstance(step, WaitUntilStep) and step.wait_until.date_field:
                fact = self.fact(labels, step.wait_until.date_field, sent)
                if fact is not None and fact.kind != "date":
                    self.add(labels, f"wait_until: {step.wait_until.date_field} is not a date")
            elif isinstance(step, WaitForEventStep):
                awaited = step.wait_for_event
                self.same_order(labels, awaited.event, awaited.same_order, "waits for")
                self.same_properties(labels, awaited.event, awaited.same)
            elif isinstance(step, BranchStep):
                self.cases(step, sent)
            after = sent
            for branch in branches_of(step):
                after |= self.walk(branch.steps, sent)
            sent = after
            if _ends_every_way(step) and index + 1 < len(steps):
                self.add(
                    (f"step {steps[index + 1].id}",),
                    f"never reached: every way through step {step.id} ends the journey",
                )
                break
        return sent

    def cases(self, step: BranchStep, sent_before: frozenset[str]) -> None:
        seen: dict[tuple[str, ...], str] = {}
        for case in step.branch.cases:
            case_labels = (f"step {step.id}", f"case {case.name}")
            for number, condition in enumerate(case.when, 1):
                self.condition(
                    case_labels if len(case.when) == 1 else (*case_labels, f"condition {number}"),
                    condition,
                    sent_before,
                )
            self.contradictions(case_labels, case.when)
            key = tuple(sorted(condition.model_dump_json() for condition in case.when))
            if key in seen:
                self.add(case_labels, f"never taken: case {seen[key]} before it has the same conditions")
            seen.setdefault(key, case.name)

    def same_order(self, labels: tuple[str, ...], event: str, same_order: bool, what: str) -> None:
        if same_order and self.journey.trigger.occasion is not None:
            self.add(
                labels,
                f"{what} {event} with same_order: true, but an occasion "
                f"({self._trigger_name()}) has no order: it never matches; say same_order: false",
            )
        elif same_order and self.journey.trigger.event in self.library.contract.events:
            self.add(
                labels,
                f"{what} {event} with same_order: true: it matches only when the "
                f"{self._trigger_name()} event carries an order_id, and then only that order's",
                note=True,
            )

    def same_properties(self, labels: tuple[str, ...], event: str, names: list[str]) -> None:
        """`same` compares properties the trigger and this event both declare."""
        declared = self.library.contract.events
        started = declared.get(str(self.journey.trigger.event))
        arriving = declared.get(event)
        for name in names:
            for what, declaration in (("the trigger", started), (event, arriving)):
                if declaration is None or name not in declaration.properties:
                    self.add(
                        labels,
                        f"same: {name} is no property of {what}: `same` compares properties "
                        "of two events the shop declared",
                    )

    def entry_rules(self) -> None:
        journey = self.journey
        if journey.entry is EntryRule.ONCE_PER_CUSTOMER and journey.reentry_after is not None:
            self.add(
                ("entry",), "reentry_after never applies: entry: once_per_customer admits a customer once"
            )
        for number, goal in enumerate(journey.exit_on, 1):
            labels = (f"exit goal {number}",)
            self.same_order(labels, goal.event, goal.same_order, "exits on")
            self.same_properties(labels, goal.event, goal.same)
            if goal.same_order and goal.event is journey.trigger.event:
                self.add(
                    labels,
                    f"the journey starts on {goal.event} and exits on the same order's "
                    f"{goal.event}: it ends as it begins; say same_order: false",
                )

    def duration(self) -> None:
        longest = _longest(self.journey.steps)
        if longest > LONGEST_EXECUTION:
            self.add(
                ("journey",),
                f"its longest path waits {longest.days} days: a Step Functions execution "
                "runs at most 365; split it into journeys (an occasion or an event can start the next)",
            )

    def _trigger_name(self) -> str:
        trigger = self.journey.trigger
        return str(trigger.event) if trigger.event is not None else f"occasion {trigger.occasion}"


def _allowed_values(conditions: list[Condition]) -> set[str] | None:
    """The values eq/in conditions leave possible (None: no such condition), less those ne/not_in exclude."""
    allowed: set[str] | None = None
    for condition in conditions:
        if condition.op in (Operator.EQ, Operator.IN):
            values = {str(v) for v in (condition.value if condition.op is Operator.IN else [condition.value])}
            allowed = values if allowed is None else allowed & values
    if allowed is None:
        return None
    for condition in conditions:
        if condition.op in (Operator.NE, Operator.NOT_IN):
            allowed -= {
                str(v) for v in (condition.value if condition.op is Operator.NOT_IN else [condition.value])
            }
    return allowed


def _numeric_bounds(conditions: list[Condition]) -> tuple[float | None, float | None]:
    low: float | None = None
    high: float | None = None
    for condition in conditions:
        if isinstance(condition.value, bool) or not isinstance(condition.value, int | float):
            continue
        value = float(condition.value)
        if condition.op in (Operator.GT, Operator.GTE, Operator.EQ):
            bound = value + (1e-9 if condition.op is Operator.GT else 0)
            low = bound if low is None else max(low, bound)
        if condition.op in (Operator.LT, Operator.LTE, Operator.EQ):
            bound = value - (1e-9 if condition.op is Operator.LT else 0)
            high = bound if high is None else min(high, bound)
    return low, high


def _longest(steps: list[Any]) -> timedelta:
    """The longest a customer can spend in these steps (a date-based wait counts its offset alone)."""
    total = timedelta(0)
    for step in steps:
        if isinstance(step, WaitStep):
            total += step.wait
        elif isinstance(step, WaitUntilStep):
            until = step.wait_until
            total += until.spread + (timedelta(days=1) if until.at else timedelta(0))
            total += max(until.offset, timedelta(0))  # how far the date is shows only at run time
        elif isinstance(step, WaitForEventStep):
            wait = step.wait_for_event
            total += max(_longest(wait.on_event.steps), wait.timeout + _longest(wait.on_timeout.steps))
            continue
        branches: list[Branch] = branches_of(step)
        if branches and not isinstance(step, WaitForEventStep):
            total += max(_longest(branch.steps) for branch in branches)
    return total


def check_journeys(
    journeys: Mapping[str, Journey], sources: Mapping[str, str], library: Library, default_locale: str = "en"
) -> list[Problem]:
    """Every problem of every journey; sources: the file each journey was read from, as shown."""
    return [
        problem
        for name, journey in journeys.items()
        for problem in _JourneyChecks(
            journey, sources.get(name, f"{name}.yaml"), library, default_locale
        ).run()
    ]


def errors(problems: Iterable[Problem]) -> Iterator[Problem]:
    return (problem for problem in problems if not problem.note)
