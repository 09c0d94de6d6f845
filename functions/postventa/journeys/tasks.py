"""What a journey's Tasks pass to run_step and register_wait, and what they answer: one schema
for the compiler, which dumps these models into the state machine, and for the handlers, which
parse them back.

A field declared `From(path)` that the compiler leaves unset is read from the execution when the
Task runs (`"name.$": path` in the Payload); every other field is the step's configuration,
written into the definition, so an execution keeps the journey version it started with whatever
is deployed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from postventa.journeys.model import Condition, Phase, SendAction, WaitUntilAction
from postventa.models.events import EventName
from postventa.models.records import MessageStatus, StepDecision


@dataclass(frozen=True)
class From:
    """A JSONPath into the execution (`$`: its state, `$$`: the context object)."""

    path: str


class StepContext(BaseModel):
    """What every Task of a journey passes."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    execution_id: Annotated[str, From("$$.Execution.Id")]
    started_at: Annotated[AwareDatetime | None, From("$$.Execution.StartTime")] = None
    step: Annotated[str, From("$$.State.Name")]
    now: Annotated[AwareDatetime, From("$$.State.EnteredTime")]
    journey: Annotated[str, From("$.journey")]
    version: Annotated[int, From("$.version")]
    customer_id: Annotated[str, From("$.customer_id")]
    order_id: Annotated[str | None, From("$.order_id")] = None
    trigger: Annotated[dict[str, Any] | None, From("$.trigger")] = Field(
        default=None,
        description="The event that started the journey, in journeys whose executions carry it "
        "(Journey.carries_trigger); the compiler passes it to no other",
    )

    def decided(
        self,
        outcome: str,
        *,
        reason: str | None = None,
        experiment: str | None = None,
        at: datetime | None = None,
    ) -> StepDecision:
        """What this step decided for its execution (at: when, if not the step's entry)."""
        return StepDecision(
            customer_id=self.customer_id,
            journey=self.journey,
            version=self.version,
            step=self.step,
            execution_id=self.execution_id,
            outcome=outcome,
            experiment=experiment,
            reason=reason,
            at=at or self.now,
        )


class SendTask(SendAction):
    experiment: str | None = None
    variant: str | None = None
    phase: Phase = Phase.EMAIL
    priority: int = 50
    seeds: list[str] | None = Field(default=None, description="The journey's seeds (Journey.seeds), if any")


class CaseTask(BaseModel):
    name: str
    when: list[Condition]


class BranchTask(BaseModel):
    kind: Literal["branch"] = "branch"
    cases: list[CaseTask]


class VariantTask(BaseModel):
    name: str
    weight: int


class SplitTask(BaseModel):
    kind: Literal["split"] = "split"
    experiment: str
    variants: list[VariantTask]
    holdout_percent: float
    winner: str | None = None


class WaitUntilTask(WaitUntilAction):
    kind: Literal["wait_until"] = "wait_until"


class CallTask(BaseModel):
    kind: Literal["call"] = "call"
    destination: str


class GiveUpTask(BaseModel):
    """Sent by the journey's Catch when a step's retries ran out."""

    kind: Literal["give_up"] = "give_up"
    step_kind: str
    template: str | None = None
    purpose: str | None = None
    error: Annotated[str, From("$.failure.Error")] = "States.ALL"
    cause: Annotated[str | None, From("$.failure.Cause")] = None


TaskAction = Annotated[
    SendTask | CallTask | BranchTask | SplitTask | WaitUntilTask | GiveUpTask, Field(discriminator="kind")
]


class StepRequest(StepContext):
    """A Task of run_step: the step's own configuration travels with it."""

    action: TaskAction


class WaitRequest(StepContext):
    """A callback Task of register_wait: the journey waits on its token for the customer's event."""

    task_token: Annotated[str, From("$$.Task.Token")]
    event: EventName
    same_order: bool = True
    same: list[str] | None = None  # the trigger's properties the awaited event must match


# What run_step answers; the journey's Choice and Wait states read the one field of each.
class StepOutcome(BaseModel):
    """A send's (or a failed step's) one recorded outcome."""

    message_id: str | None = None
    status: MessageStatus
    channel: str | None = None
    reason: str | None = None


class CallOutcome(BaseModel):
    """A call's one recorded outcome: called (with the id the destination can deduplicate on),
    not_called (no such destination configured) or failed."""

    call_id: str
    outcome: str
    reason: str | None = None


class BranchResult(BaseModel):
    case: str


class SplitResult(BaseModel):
    variant: str


class WaitUntilResult(BaseModel):
    until: str  # ISO 8601 UTC, as Wait's TimestampPath takes it


class WaitResult(BaseModel):
    waiting: bool


def result_field(result: type[BaseModel]) -> str:
    (name,) = result.model_fields
    return name


def task_payload(request: type[StepContext], /, **given: Any) -> dict[str, Any]:
    """The Task's Payload for a request: the fields given, as written; each `From` field not
    given, as its path."""
    return _payload(request.model_construct(**given))


def _payload(task: BaseModel) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name, field in type(task).model_fields.items():
        value = getattr(task, name, None)
        source = next((meta for meta in field.metadata if isinstance(meta, From)), None)
        if source is not None and name not in task.model_fields_set:
            payload[f"{name}.$"] = source.path
        elif isinstance(value, BaseModel):
            payload[name] = _payload(value)
        elif name in task.model_fields_set or value is not None:
            dumped = task.model_dump(mode="json", include={name}, exclude_none=True)
            if name in dumped:
                payload[name] = dumped[name]
    return payload
