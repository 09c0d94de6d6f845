"""The journey definition: one YAML file, validated here, the single source for the compiler,
the runtime handlers and the local engine."""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum, StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from postventa.models.common import Duration, SignedDuration
from postventa.models.events import Channel, DetailType, EventName, Occasion, carried_in_journey

STEP_ID = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    EXISTS = "exists"


class Condition(_Strict):
    """``field`` is a dotted path into the decision context (customer.*, order.*)."""

    field: str = Field(pattern=r"^[a-z_]+(\.[a-z_0-9]+)+$")
    op: Operator
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        if self.op in (Operator.IN, Operator.NOT_IN) and not isinstance(self.value, list):
            raise ValueError(f"op {self.op.value} needs a list value")
        if self.op is Operator.EXISTS and not isinstance(self.value, bool):
            raise ValueError("op exists needs value true or false")
        return self


AUDIENCE_NAME = r"^[a-z][a-z0-9_]{0,63}$"


class Audience(_Strict):
    """A segment kept daily as ad lists: the customers whose facts meet every condition (the
    fields journeys' conditions name under customer.* and nps.*), of them only those with
    marketing consent."""

    name: str = Field(pattern=AUDIENCE_NAME)
    description: str | None = None
    conditions: list[Condition] = Field(min_length=1)


class Purpose(StrEnum):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


PREFERRED = "preferred"
TOPIC = r"^[a-z][a-z0-9_]{0,31}$"


class SendAction(_Strict):
    """`channels` in order of preference, or "preferred": the customer's own order of channels.
    `channel: email` is shorthand for `channels: [email]`."""

    kind: Literal["send"] = "send"
    channels: list[Channel] | Literal["preferred"] = Field(min_length=1)
    template: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    purpose: Purpose
    topic: str | None = Field(
        default=None, pattern=TOPIC, description="What customers can opt out of, e.g. reviews or offers"
    )
    instead_of: str | None = Field(
        default=None,
        pattern=STEP_ID,
        description="A send step whose message this one stands in for (a fallback): never by the "
        "channel that message took",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_channel_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "channel" in data:
            if "channels" in data:
                raise ValueError("give `channel` or `channels`, not both")
            data = {**data, "channels": [data["channel"]]}
            del data["channel"]
        return data

    @field_validator("channels", mode="before")
    @classmethod
    def _known_and_each_once(cls, value: Any) -> Any:
        if value == PREFERRED:
            return value
        if not isinstance(value, list):
            raise ValueError('give a list of channels in order of preference, or "preferred"')
        for item in value:
            if item not in set(Channel):
                raise ValueError(f"{item!r} is not a channel: use {', '.join(Channel)}")
        if len(set(value)) != len(value):
            raise ValueError("each channel may be listed once")
        return value

    def describe_channels(self) -> str:
        if isinstance(self.channels, str):
            return PREFERRED
        return " > ".join(c.value for c in self.channels)


class SendStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    send: SendAction


DESTINATION = r"^[a-z][a-z0-9-]{0,31}$"


class CallAction(_Strict):
    """Hand work to another system (a help desk, a loyalty system, a print-and-mail provider):
    the customer, the order and the journey's context posted once to a destination the shop
    configures at deploy (context httpDestinations: an EventBridge API destination). Its answer,
    if it sends one, comes back as an event a wait_for_event step can wait for."""

    destination: str = Field(pattern=DESTINATION, description="A name in httpDestinations, e.g. helpdesk")


class CallStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    call: CallAction


class WaitStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    wait: Duration

    @field_validator("wait")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a wait must be longer than zero")
        return value


def _send_at_expanded(steps: Any) -> Any:
    """`at` on a send (a local time, or best_hour) is a wait_until before it, `<id>_at`: one
    piece of waiting logic, shown and priced as the step it is."""
    if not isinstance(steps, list):
        return steps
    expanded: list[Any] = []
    for step in steps:
        send = step.get("send") if isinstance(step, dict) else None
        if isinstance(send, dict) and "at" in send:
            at = send["at"]
            waited = {key: value for key, value in send.items() if key != "at"}
            expanded += [{"id": f"{step.get('id')}_at", "wait_until": {"at": at}}, {**step, "send": waited}]
        else:
            expanded.append(step)
    return expanded


# A list of steps, a send's `at` made the wait it stands for.
Steps = Annotated[list["Step"], BeforeValidator(_send_at_expanded)]


class Branch(_Strict):
    """What runs after a wait_for_event resolves, then whether the journey goes on or ends."""

    steps: Steps = Field(default_factory=list)
    then: Literal["continue", "end"] = "continue"


SAME_PROPERTIES_DESCRIPTION = (
    "Properties of the shop's events that must hold the same values in this event as in the one "
    "that started the journey, e.g. [subscription_id]: one subscription's event, not another's"
)


class WaitForEventAction(_Strict):
    event: EventName
    same_order: bool = Field(default=True, description="Only an event for the order that started the journey")
    same: list[str] = Field(default_factory=list, description=SAME_PROPERTIES_DESCRIPTION)
    timeout: Duration
    on_event: Branch = Field(default_factory=Branch)
    on_timeout: Branch = Field(default_factory=Branch)

    @field_validator("timeout")
    @classmethod
    def _within_step_functions_limit(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=365):
            raise ValueError("timeout must be between 1s and 365d (Step Functions runs at most a year)")
        return value


class WaitForEventStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    wait_for_event: WaitForEventAction


CASE_NAME = r"^[a-z][a-z0-9_]{0,31}$"
AUTO = "auto"  # a split's winner: whichever was recorded as decided, applied without a redeploy


def _unique(names: list[str], *, reserved: str, what: str) -> None:
    if len(set(names)) != len(names) or reserved in names:
        raise ValueError(f"{what} names must be unique and not {reserved!r}")


class BranchCase(Branch):
    name: str = Field(pattern=CASE_NAME)
    when: list[Condition] = Field(min_length=1, description="All must hold")


class BranchAction(_Strict):
    """The first case whose conditions all hold runs; else `otherwise`."""

    cases: list[BranchCase] = Field(min_length=1)
    otherwise: Branch = Field(default_factory=Branch)

    @model_validator(mode="after")
    def _case_names_unique(self) -> BranchAction:
        _unique([case.name for case in self.cases], reserved="otherwise", what="case")
        return self


class BranchStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    branch: BranchAction


class Variant(Branch):
    name: str = Field(pattern=CASE_NAME)
    weight: int = Field(default=1, ge=1, description="Relative share of the customers not held out")


class SplitAction(_Strict):
    """A/B/n test: each customer lands in one variant, the same one every time for this experiment."""

    experiment: str | None = Field(default=None, description="Defaults to <journey>.<step id>")
    variants: list[Variant] = Field(min_length=1)
    holdout_percent: float = Field(default=0, ge=0, le=50, description="Control group that receives nothing")
    winner: str | None = Field(
        default=None,
        description="Once a test is decided: every customer outside the holdout gets this variant; "
        f"{AUTO!r}: the winner recorded for the experiment (postventa report --record-winners), if any",
    )

    @model_validator(mode="after")
    def _variant_names_unique(self) -> SplitAction:
        names = [variant.name for variant in self.variants]
        _unique(names, reserved="holdout", what="variant")
        if self.winner not in (None, AUTO, *names):
            raise ValueError(
                f"winner {self.winner!r} is not one of the variants ({', '.join(names)}) nor {AUTO!r}"
            )
        return self


class SplitStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    split: SplitAction


LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class WaitUntilAction(_Strict):
    """Until a local time of day in the customer's timezone, or a date from the profile or the order."""

    at: str | None = Field(
        default=None,
        pattern=r"^(best_hour|([01][0-9]|2[0-3]):[0-5][0-9])$",
        description="Local time of day, e.g. 10:00; best_hour: the start of the hour the customer "
        "opens in most (logic/send_time.py), outside quiet hours",
    )
    date_field: str | None = Field(
        default=None,
        pattern=r"^(customer|order|event)(\.[a-z_][a-z0-9_]*)+$",
        description="A date or time on the profile, the order or the carried event, e.g. "
        "order.placed_at, customer.birthday, customer.attributes.renews_on or event.started_at",
    )
    offset: SignedDuration = Field(
        default=timedelta(0),
        description="Added to the date, e.g. 30d after order.placed_at, or -3d: three days before",
    )
    yearly: bool = Field(default=False, description="The next anniversary of the date (birthdays)")
    spread: Duration = Field(
        default=timedelta(minutes=30),
        description="Ends at a time of day are spread over this after it, each customer at their own "
        "moment, so everyone's 10:00 does not meet the sending rate in one second; 0s for exactly",
    )

    @model_validator(mode="after")
    def _one_target(self) -> WaitUntilAction:
        if self.at is None and self.date_field is None:
            raise ValueError("wait_until needs `at` (a local time), `date_field`, or both")
        return self


class WaitUntilStep(_Strict):
    id: str = Field(pattern=STEP_ID)
    wait_until: WaitUntilAction


STEP_KINDS = ("send", "call", "wait", "wait_for_event", "wait_until", "branch", "split")


def _step_kind(value: Any) -> str | None:
    keys = set(value) if isinstance(value, dict) else {k for k in STEP_KINDS if hasattr(value, k)}
    kinds = keys & set(STEP_KINDS)
    return kinds.pop() if len(kinds) == 1 else None


Step = Annotated[
    Annotated[SendStep, Tag("send")]
    | Annotated[CallStep, Tag("call")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[WaitForEventStep, Tag("wait_for_event")]
    | Annotated[WaitUntilStep, Tag("wait_until")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[SplitStep, Tag("split")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message=f"a step needs an id and exactly one of: {', '.join(STEP_KINDS)}",
    ),
]
AnyStep = SendStep | CallStep | WaitStep | WaitForEventStep | WaitUntilStep | BranchStep | SplitStep


def branches_of(step: AnyStep) -> list[Branch]:
    """The nested step lists a step owns, in document order."""
    if isinstance(step, WaitForEventStep):
        return [step.wait_for_event.on_event, step.wait_for_event.on_timeout]
    if isinstance(step, BranchStep):
        return [*step.branch.cases, step.branch.otherwise]
    if isinstance(step, SplitStep):
        return list(step.split.variants)
    return []


class Trigger(_Strict):
    """An event from the bus, or an occasion the occasions schedule finds (birthday, anniversary, inactivity)."""

    event: EventName | None = None
    occasion: Occasion | None = None
    days: int | None = Field(
        default=None, ge=1, le=3650, description="For occasion inactive: days without an order"
    )
    conditions: list[Condition] = Field(default_factory=list, description="All must hold to enter")

    @model_validator(mode="after")
    def _one_source(self) -> Trigger:
        if (self.event is None) == (self.occasion is None):
            raise ValueError("a trigger needs exactly one of `event` or `occasion`")
        if (self.occasion is Occasion.INACTIVE) != (self.days is not None):
            raise ValueError("`days` goes with occasion inactive, and occasion inactive needs `days`")
        return self

    def matches(self, detail_type: str, detail: Any) -> bool:
        if self.occasion is None:
            return detail_type == self.event
        return (
            detail_type is DetailType.OCCASION_REACHED
            and detail.occasion == self.occasion
            and (self.days is None or detail.days == self.days)
        )


class EntryRule(StrEnum):
    ONCE_PER_ORDER = "once_per_order"
    ONCE_PER_CUSTOMER = "once_per_customer"


class ExitGoal(_Strict):
    event: EventName
    same_order: bool = True
    same: list[str] = Field(default_factory=list, description=SAME_PROPERTIES_DESCRIPTION)
    converts: bool = Field(default=False, description="Reaching it counts as a conversion of the journey")
    partial_refund: bool = Field(
        default=False,
        description="For Order Refunded: a partial refund reaches it too (else only a whole one)",
    )


class Phase(IntEnum):
    """Channels are added in phases: email first, then SMS, then push."""

    EMAIL = 1
    EMAIL_AND_SMS = 2
    ALL_CHANNELS = 3


PHASE_CHANNELS = {
    Phase.EMAIL: frozenset({Channel.EMAIL}),
    Phase.EMAIL_AND_SMS: frozenset({Channel.EMAIL, Channel.SMS}),
    Phase.ALL_CHANNELS: frozenset(Channel),
}


E164Number = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")]


class Journey(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    version: int = Field(ge=1)
    description: str = ""
    phase: Phase = Field(default=Phase.EMAIL, description="1 email only, 2 email and SMS, 3 all channels")
    priority: int = Field(
        default=50, ge=0, le=100, description="Which marketing message goes first when journeys collide"
    )
    trigger: Trigger
    entry: EntryRule = EntryRule.ONCE_PER_ORDER
    reentry_after: Duration | None = Field(
        default=None, description="At most one entry per customer in this period, e.g. 30d"
    )
    exit_on: list[ExitGoal] = Field(default_factory=list)
    steps: Steps = Field(min_length=1)
    seeds: list[EmailStr | E164Number] = Field(
        default_factory=list,
        description="Addresses (email) and numbers (SMS, E.164) that get a copy of each step's first "
        "send of the day, marked [SEED], rendered for no one in particular",
    )

    @model_validator(mode="after")
    def _steps_fit(self) -> Journey:
        seen: set[str] = set()
        allowed = PHASE_CHANNELS[self.phase]
        for step in self.all_steps():
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice: each step needs its own id")
            seen.add(step.id)
            send = step.send if isinstance(step, SendStep) else None
            if send is not None and isinstance(send.channels, list) and not set(send.channels) & allowed:
                raise ValueError(
                    f"step {step.id!r} sends only by {send.describe_channels()}, which phase "
                    f"{int(self.phase)} does not use: raise the journey's phase or add email"
                )
        return self

    @cached_property
    def _steps_in_order(self) -> tuple[AnyStep, ...]:
        found: list[AnyStep] = []

        def walk(steps: list[Any]) -> None:
            for step in steps:
                found.append(step)
                for branch in branches_of(step):
                    walk(branch.steps)

        walk(self.steps)
        return tuple(found)

    def all_steps(self) -> list[AnyStep]:
        """Every step, nested branches included, in document order (walked once per journey)."""
        return list(self._steps_in_order)

    def leading_waits(self) -> list[WaitStep | WaitUntilStep]:
        """The waits before the journey's first send or decision: when each ends is known at entry."""
        leading: list[WaitStep | WaitUntilStep] = []
        for step in self.steps:
            if not isinstance(step, WaitStep | WaitUntilStep):
                break
            leading.append(step)
        return leading

    def scheduled_at_entry(self) -> set[str]:
        """The wait_until steps whose end on_order fixes at entry, each then one Wait state: every
        date-based one, and the time-of-day ones among the leading waits."""
        leading = {step.id for step in self.leading_waits()}
        return {
            step.id
            for step in self.all_steps()
            if isinstance(step, WaitUntilStep) and (step.wait_until.date_field or step.id in leading)
        }

    def step(self, step_id: str) -> AnyStep:
        for step in self.all_steps():
            if step.id == step_id:
                return step
        raise KeyError(f"journey {self.name} has no step {step_id!r}")

    @property
    def carries_trigger(self) -> bool:
        """Started by an event the store does not keep: its executions carry it (event.*)."""
        return self.trigger.event is not None and carried_in_journey(self.trigger.event)

    def custom_events(self) -> set[str]:
        """The shop's own events this journey starts on, ends on or waits for."""
        named = [
            self.trigger.event,
            *(goal.event for goal in self.exit_on),
            *(step.wait_for_event.event for step in self.all_steps() if isinstance(step, WaitForEventStep)),
        ]
        return {str(event) for event in named if event is not None and not isinstance(event, DetailType)}

    def matched_at_entry(self) -> set[str]:
        """The trigger's properties an exit goal compares (`same`): kept on the entry."""
        return {name for goal in self.exit_on for name in goal.same}

    def exits_on(self, event: str) -> ExitGoal | None:
        return next((goal for goal in self.exit_on if goal.event == event), None)
