"""The journeys and templates in use: the shop's own folder over the default library.

A shop folder (`postventa init DIR` writes a starter):

    DIR/postventa.yaml          optional: which default journeys to keep, the shop's own topics,
                                the audiences kept as ad lists
    DIR/journeys/<name>.yaml    added to the defaults; one named as a default replaces it
    DIR/templates/<channel>/<locale>/<template>.<part>
                                found before the default of the same path (a _layout.html too)

The CLI reads it with `--journeys DIR` (or POSTVENTA_JOURNEYS_DIR); `cdk deploy -c
journeysDir=DIR` builds the functions' code with the folder laid over the package, so what runs in
Lambda is what the CLI validated, rendered and backtested.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from postventa.journeys.loader import DEFINITIONS, JourneyError, journey_files, load_files
from postventa.journeys.model import TOPIC, Audience, Condition, Journey, Operator
from postventa.logic.facts import FACT_FIELDS, declared_facts
from postventa.logic.render import TEMPLATES, MessageRenderer
from postventa.models.custom import CustomAttributes, CustomEventDeclaration, PropertySpec, ShopContract

SETTINGS_FILE = "postventa.yaml"
# Where a deployed package keeps the shop's settings (the stack's build writes it, the shop's
# journeys being the package's definitions by then); absent, as in the repository: the defaults.
PACKAGED_SETTINGS = Path(__file__).with_name(SETTINGS_FILE)
STARTER = Path(__file__).with_name("starter")  # what `postventa init` copies
# The events the default library's own examples start on (back in stock, browse abandonment,
# renewals), declared as a shop declares its own; a shop's declaration of the same name replaces one.
LIBRARY_EVENTS = Path(__file__).with_name("events.yaml")
# What customers can opt out of in the default library's journeys; a shop adds its own in
# postventa.yaml, so a misspelt topic is caught rather than offered as a new opt-out.
DEFAULT_TOPICS = ("news", "offers", "reviews", "surveys", "tips")
# The segments kept as ad lists unless postventa.yaml names its own (`audiences: []` for none).
DEFAULT_AUDIENCES = (
    Audience(
        name="promoters",
        description="Their latest survey answer was 9 or 10: lookalikes of the shop's fans",
        conditions=[Condition(field="nps.band", op=Operator.EQ, value="promoter")],
    ),
    Audience(
        name="at_risk_vips",
        description="Top-tenth predicted value, no order for 90 days",
        conditions=[
            Condition(field="customer.lifecycle", op=Operator.EQ, value="at_risk"),
            Condition(field="customer.vip", op=Operator.EQ, value=True),
        ],
    ),
    Audience(
        name="lapsed",
        description="No order for 180 days",
        conditions=[Condition(field="customer.lifecycle", op=Operator.EQ, value="lapsed")],
    ),
)
# What an audience's conditions may name: the customer and their survey answer, not an order.
AUDIENCE_FACTS = ("customer.", "nps.")


class ShopSettings(BaseModel):
    """postventa.yaml in a shop folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: Literal["all", "none"] | list[str] = Field(
        default="all", description="the default journeys kept: all, none, or a list of names"
    )
    topics: list[str] = Field(default_factory=list, description="the shop's own opt-out topics")
    # before audiences, whose conditions may name them
    customer_attributes: dict[str, PropertySpec] = Field(
        default_factory=dict, description="the shop's own fields on a customer (customer.attributes.*)"
    )
    audiences: list[Audience] = Field(
        default_factory=lambda: list(DEFAULT_AUDIENCES),
        description="the segments kept daily as hashed ad lists; [] for none",
    )
    events: list[CustomEventDeclaration] = Field(
        default_factory=list, description="the shop's own events journeys start on, end on or wait for"
    )

    @field_validator("events")
    @classmethod
    def _event_names(cls, events: list[CustomEventDeclaration]) -> list[CustomEventDeclaration]:
        _named_once([event.name for event in events], "event {} is declared twice")
        return events

    @field_validator("customer_attributes")
    @classmethod
    def _attribute_types(cls, attributes: dict[str, PropertySpec]) -> dict[str, PropertySpec]:
        CustomAttributes(attributes=attributes)  # names and types an attribute may have
        return attributes

    @field_validator("topics")
    @classmethod
    def _topic_names(cls, topics: list[str]) -> list[str]:
        for topic in topics:
            if not re.fullmatch(TOPIC, topic):
                raise ValueError(
                    f"{topic!r} is not a topic name: lower case letters, digits and _ (up to 32)"
                )
        return topics

    @field_validator("audiences")
    @classmethod
    def _audience_facts(cls, audiences: list[Audience], info: ValidationInfo) -> list[Audience]:
        _named_once([audience.name for audience in audiences], "audience {} is named twice")
        attributes = CustomAttributes(attributes=info.data.get("customer_attributes", {}))
        known = FACT_FIELDS | declared_facts(ShopContract(attributes=attributes), None)
        for audience in audiences:
            for condition in audience.conditions:
                if condition.field not in known or not condition.field.startswith(AUDIENCE_FACTS):
                    raise ValueError(
                        f"audience {audience.name}: unknown field {condition.field} (an audience "
                        "names customer.* and nps.* fields, as journeys' conditions do)"
                    )
        return audiences


def _named_once(names: list[str], problem: str) -> None:
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(problem.format(", ".join(twice)))


@dataclass(frozen=True)
class Library:
    """shop: the shop's folder; None: the default library alone."""

    shop: Path | None = None

    @cached_property
    def settings(self) -> ShopSettings:
        return _read_settings(self.shop / SETTINGS_FILE if self.shop else PACKAGED_SETTINGS)

    @cached_property
    def custom_events(self) -> dict[str, CustomEventDeclaration]:
        """Every event declared: the library's examples', then the shop's own over them."""
        declared = [*_read_settings(LIBRARY_EVENTS).events, *self.settings.events]
        return {event.name: event for event in declared}

    @cached_property
    def contract(self) -> ShopContract:
        """The shop's events and customer attributes, as on_order checks what arrives."""
        return ShopContract(
            events=self.custom_events,
            attributes=CustomAttributes(attributes=self.settings.customer_attributes),
        )

    def packaged_settings(self) -> str:
        """The settings for a package whose definitions are already the journeys in use."""
        return yaml.safe_dump(self.settings.model_copy(update={"defaults": "all"}).model_dump(mode="json"))

    def journey_files(self) -> list[Path]:
        """The files of the journeys in use: the defaults kept, each replaced by the shop's file of
        the same name, then the shop's own."""
        if self.shop is not None and not self.shop.is_dir():
            raise JourneyError(
                [f"{self.shop}: no such folder (a shop folder holds journeys/ and templates/)"]
            )
        defaults = {path.stem: path for path in journey_files(DEFINITIONS)}
        kept = self.settings.defaults
        unknown = sorted(set(kept) - set(defaults)) if isinstance(kept, list) else []
        if unknown:
            listed = ", ".join(map(repr, unknown))
            raise JourneyError(
                [
                    f"{self.shop}/{SETTINGS_FILE}: defaults: no default journey {listed}; there are: {', '.join(defaults)}"
                ]
            )
        chosen = {
            name: path
            for name, path in defaults.items()
            if kept == "all" or (isinstance(kept, list) and name in kept)
        }
        own = self.shop / "journeys" if self.shop else None
        if own is not None and own.is_dir():
            chosen |= {path.stem: path for path in journey_files(own)}
        return [chosen[name] for name in sorted(chosen)]

    def sources(self) -> dict[str, str]:
        """Each journey's file as problems name it: relative to the working directory where it can be."""
        return {path.stem: _shown(path) for path in self.journey_files()}

    def journeys(self) -> dict[str, Journey]:
        """Every journey in use, or every error in every file at once (an event no one declared too)."""
        journeys = load_files(self.journey_files())
        sources = self.sources()
        undeclared = [
            f"{sources[name]}: event {event!r} is not declared{suggest(event, self.custom_events, cutoff=0.6)} "
            f"(a shop declares its own under events: in {SETTINGS_FILE})"
            for name, journey in journeys.items()
            for event in sorted(journey.custom_events() - set(self.custom_events))
        ]
        if undeclared:
            raise JourneyError(undeclared)
        return journeys

    @property
    def template_roots(self) -> list[Path]:
        """Searched in order: the shop's templates first."""
        own = self.shop / "templates" if self.shop else None
        return [*([own] if own is not None and own.is_dir() else []), TEMPLATES]

    @property
    def topics(self) -> tuple[str, ...]:
        return (*DEFAULT_TOPICS, *self.settings.topics)

    def renderer(self, default_locale: str = "en") -> MessageRenderer:
        return MessageRenderer(default_locale, self.template_roots)


def _read_settings(path: Path) -> ShopSettings:
    if not path.exists():
        return ShopSettings()
    try:
        return ShopSettings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except yaml.YAMLError as error:
        raise JourneyError([f"{path}: not valid YAML: {error}"]) from error
    except ValidationError as error:
        raise JourneyError(
            [
                f"{path}: {'.'.join(map(str, item['loc']))}: {item['msg'].removeprefix('Value error, ')}"
                for item in error.errors(include_url=False)
            ]
        ) from error


def suggest(word: str, known: Iterable[str], cutoff: float = 0.8) -> str:
    """The nearest known name, as the end of a problem's sentence."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]}?" if close else ""


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
