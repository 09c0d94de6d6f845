"""Compile a Journey into Amazon States Language for one Standard state machine.

Lean on purpose: every state entered is a billed transition, so a send is one Task, a wait is
one Wait, a wait-for-event is one callback Task whose timeout is caught, and the last state
ends the execution itself instead of passing through a Succeed state.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from postventa.journeys.model import (
    Branch,
    BranchStep,
    CallStep,
    Journey,
    SendStep,
    SplitStep,
    WaitForEventStep,
    WaitStep,
    WaitUntilStep,
)
from postventa.journeys.tasks import (
    BranchResult,
    BranchTask,
    CallTask,
    CaseTask,
    GiveUpTask,
    SendTask,
    SplitResult,
    SplitTask,
    StepRequest,
    VariantTask,
    WaitRequest,
    WaitUntilResult,
    WaitUntilTask,
    result_field,
    task_payload,
)

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
JOURNEY_END = "Journey ended"  # not a valid step id, so it never collides with one

# Retried by the journey without a word from the handler: Lambda's own and the runtime's.
PLATFORM_TRANSIENT = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
)

# Transient failures: Lambda's own, a timed-out or crashed invocation, and what run_step reports
# as StepRetryable (throttling of any service, 5xx, connection errors, another attempt in
# progress). The handlers are idempotent per (execution, step), so a retry is safe. Up to 28
# minutes in all (about 14 with full jitter): well past a claim's 5-minute lease
# (services/steps.py), so an abandoned claim is taken over within the retries.
TRANSIENT_RETRY = {
    "ErrorEquals": [*PLATFORM_TRANSIENT, "StepRetryable"],
    "IntervalSeconds": 2,
    "MaxAttempts": 20,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "JitterStrategy": "FULL",
}
# Raised by run_step when a send was throttled or paused (by the provider or the configured
# sending rate): back off with jitter, so a burst spreads out, for up to a day.
THROTTLED_RETRY = {
    "ErrorEquals": ["SendThrottled"],
    "IntervalSeconds": 5,
    "MaxAttempts": 100,
    "BackoffRate": 2,
    "MaxDelaySeconds": 900,
    "JitterStrategy": "FULL",
}
# When the retries run out, or the error is permanent: the step's outcome is recorded as failed.
GIVE_UP = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure"}


def _then(next_state: str | None) -> dict[str, Any]:
    return {"Next": next_state} if next_state else {"End": True}


def state_machine_name(journey: str) -> str:
    """The journey's state machine in a deployed stack, which the CLI's controls find by it."""
    return f"postventa-{journey}"


def step_of_state(state: str) -> str:
    """The step a state belongs to: its own id, or the id before a helper state's " (...)"."""
    return state.split(" (", 1)[0]


def failed_state(step_id: str) -> str:
    return f"{step_id} (failed)"


def held_state(step_id: str) -> str:
    return f"{step_id} (held)"


def choice_state(step_id: str) -> str:
    return f"{step_id} (choice)"  # a space: never a valid step id


def _wait_until_expression(expression: str, next_state: str | None) -> dict[str, Any]:
    """A Wait whose end is a JSONata expression over its input, which it passes on unchanged."""
    return {
        "Type": "Wait",
        "QueryLanguage": "JSONata",
        "Timestamp": f"{{% {expression} %}}",
        "Output": "{% $states.input %}",
        **_then(next_state),
    }


def compile_journey(journey: Journey, *, run_step_arn: str, register_wait_arn: str) -> dict[str, Any]:
    """Each Task carries its step's whole configuration in its payload, so an execution keeps
    running the version it started with whatever is deployed later (see docs/journeys.md)."""
    states: dict[str, dict[str, Any]] = {}
    scheduled = journey.scheduled_at_entry()
    # Only the executions of a journey that carries its trigger have $.trigger to read.
    carried = {} if journey.carries_trigger else {"trigger": None}

    def end_state() -> str:
        states[JOURNEY_END] = {"Type": "Succeed"}
        return JOURNEY_END

    def sequence(steps: list[Any], after: str | None, experiment: dict[str, str]) -> str | None:
        next_state = after
        for step in reversed(steps):
            compile_step(step, next_state, experiment)
            next_state = step.id
        return next_state

    def branch(branch: Branch, after: str | None, experiment: dict[str, str]) -> str:
        """The branch's first state; branches are Choice or Catch targets, so they always name one."""
        return sequence(branch.steps, after if branch.then == "continue" else None, experiment) or end_state()

    def give_up(step_id: str, step_kind: str, next_state: str | None, **facts: Any) -> dict[str, Any]:
        """The Catch of a step whose retries ran out: one Task that records the failure (only a
        failing step passes it), then the journey goes on, or ends after a failed decision."""
        # `step` is the failing step's id, not this state's name.
        payload = task_payload(
            StepRequest, step=step_id, action=GiveUpTask(step_kind=step_kind, **facts), **carried
        )
        states[failed_state(step_id)] = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": run_step_arn, "Payload": payload},
            "ResultPath": "$.failure",
            "Retry": [TRANSIENT_RETRY],
            **_then(next_state),
        }
        return {**GIVE_UP, "Next": failed_state(step_id)}

    def decide(step_id: str, action: BaseModel, result: type[BaseModel]) -> dict[str, Any]:
        field = result_field(result)
        return {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": run_step_arn,
                "Payload": task_payload(StepRequest, action=action, **carried),
            },
            "ResultSelector": {f"{field}.$": f"$.Payload.{field}"},
            "ResultPath": f"$.decisions.{step_id}",
            "Retry": [TRANSIENT_RETRY],
            "Catch": [give_up(step_id, action.kind, end_state())],  # type: ignore[attr-defined]
        }

    def choose(step_id: str, field: str, targets: dict[str, str], default: str) -> None:
        states[choice_state(step_id)] = {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"$.decisions.{step_id}.{field}", "StringEquals": name, "Next": target}
                for name, target in targets.items()
            ],
            "Default": default,
        }

    def compile_step(step: Any, next_state: str | None, experiment: dict[str, str]) -> None:
        if isinstance(step, SendStep):
            action = SendTask(
                **step.send.model_dump(),
                **experiment,
                phase=journey.phase,
                priority=journey.priority,
                seeds=list(journey.seeds) or None,  # a journey without seeds: not in the payload
            )
            states[step.id] = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": run_step_arn,
                    "Payload": task_payload(StepRequest, action=action, **carried),
                },
                "ResultPath": None,
                "Retry": [TRANSIENT_RETRY, THROTTLED_RETRY],
                # Held by the contact policy: wait until the time it names, then try the step again.
                # Only held messages pass the wait; a message sent at once costs no state more.
                "Catch": [
                    {"ErrorEquals": ["SendDeferred"], "ResultPath": "$.held", "Next": held_state(step.id)},
                    give_up(
                        step.id,
                        "send",
                        next_state,
                        template=step.send.template,
                        purpose=step.send.purpose.value,
                    ),
                ],
                **_then(next_state),
            }
            # The time is SendDeferred's message inside Lambda's error document, a JSON string:
            # JSONata's $parse reads it in the Wait itself, where JSONPath would need a Pass first.
            states[held_state(step.id)] = _wait_until_expression(
                "$parse($states.input.held.Cause).errorMessage", step.id
            )
        elif isinstance(step, CallStep):
            states[step.id] = {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": run_step_arn,
                    "Payload": task_payload(
                        StepRequest, action=CallTask(destination=step.call.destination), **carried
                    ),
                },
                "ResultPath": None,
                "Retry": [TRANSIENT_RETRY],
                "Catch": [give_up(step.id, "call", next_state)],
                **_then(next_state),
            }
        elif isinstance(step, WaitStep):
            states[step.id] = {"Type": "Wait", "Seconds": int(step.wait.total_seconds()), **_then(next_state)}
        elif isinstance(step, WaitUntilStep) and step.id in scheduled:
            # Its end is known when the customer enters: on_order computes it (execution input
            # "schedule"). An execution started without it (by the on_order of an earlier deploy,
            # in the seconds a deploy takes) goes on at once; the contact policy still keeps quiet hours.
            fixed = f"$states.input.schedule.{step.id}"
            states[step.id] = _wait_until_expression(
                f"$exists({fixed}) ? {fixed} : $states.context.State.EnteredTime", next_state
            )
        elif isinstance(step, WaitUntilStep):
            until = WaitUntilTask(**step.wait_until.model_dump())
            states[step.id] = {**decide(step.id, until, WaitUntilResult), "Next": f"{step.id} (wait)"}
            states[f"{step.id} (wait)"] = {
                "Type": "Wait",
                "TimestampPath": f"$.decisions.{step.id}.until",
                **_then(next_state),
            }
        elif isinstance(step, BranchStep):
            cases = step.branch.cases
            decision = BranchTask(cases=[CaseTask(name=c.name, when=c.when) for c in cases])
            states[step.id] = {**decide(step.id, decision, BranchResult), "Next": choice_state(step.id)}
            targets = {case.name: branch(case, next_state, experiment) for case in cases}
            choose(
                step.id,
                result_field(BranchResult),
                targets,
                branch(step.branch.otherwise, next_state, experiment),
            )
        elif isinstance(step, SplitStep):
            split = step.split
            name = split.experiment or f"{journey.name}.{step.id}"
            assignment = SplitTask(
                experiment=name,
                variants=[VariantTask(name=v.name, weight=v.weight) for v in split.variants],
                holdout_percent=split.holdout_percent,
                winner=split.winner,
            )
            states[step.id] = {**decide(step.id, assignment, SplitResult), "Next": choice_state(step.id)}
            targets = {
                v.name: branch(v, next_state, {"experiment": name, "variant": v.name}) for v in split.variants
            }
            choose(step.id, result_field(SplitResult), targets, end_state())  # the holdout receives nothing
        elif isinstance(step, WaitForEventStep):
            awaited = step.wait_for_event
            states[step.id] = {
                "Type": "Task",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": register_wait_arn,
                    "Payload": task_payload(
                        WaitRequest,
                        event=awaited.event,
                        same_order=awaited.same_order,
                        **({"same": awaited.same} if awaited.same else {}),
                        **carried,
                    ),
                },
                "TimeoutSeconds": int(awaited.timeout.total_seconds()),
                "ResultPath": None,
                "Retry": [TRANSIENT_RETRY],
                "Catch": [
                    {
                        "ErrorEquals": ["States.Timeout"],
                        "ResultPath": None,
                        "Next": branch(awaited.on_timeout, next_state, experiment),
                    },
                    # A wait that could not be registered is one no event would end.
                    give_up(step.id, "wait_for_event", end_state()),
                ],
                **_then(
                    sequence(
                        awaited.on_event.steps,
                        next_state if awaited.on_event.then == "continue" else None,
                        experiment,
                    )
                ),
            }
        else:
            raise TypeError(f"cannot compile step {step!r}")

    start = sequence(journey.steps, None, {})
    return {
        "Comment": f"{journey.name} v{journey.version}: {journey.description}".strip(),
        "StartAt": start,
        "States": states,
    }
