"""Compile a Journey into Amazon States Language for one Standard state machine.

Lean on purpose: every state entered is a billed transition, so a send is one Task, a wait is
one Wait, a wait-for-event is one callback Task whose timeout is caught, and the last state
ends the execution itself instead of passing through a Succeed state.
"""

from __future__ import annotations

from typing import Any

from postventa.journeys.model import Branch, Journey, SendStep, WaitForEventStep, WaitStep

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
JOURNEY_END = "Journey ended"  # not a valid step id, so it never collides with one

# Lambda's own transient errors; the handlers are idempotent per (execution, step), so a retry is safe.
LAMBDA_RETRY = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}
# Raised by run_step when a send was throttled: back off longer, the message is never dropped.
THROTTLED_RETRY = {
    "ErrorEquals": ["SendThrottled"],
    "IntervalSeconds": 30,
    "MaxAttempts": 10,
    "BackoffRate": 2,
}


def _payload(**extra: Any) -> dict[str, Any]:
    return {
        "execution_id.$": "$$.Execution.Id",
        "step.$": "$$.State.Name",
        "now.$": "$$.State.EnteredTime",
        "journey.$": "$.journey",
        "version.$": "$.version",
        "customer_id.$": "$.customer_id",
        "order_id.$": "$.order_id",
        **extra,
    }


def _then(next_state: str | None) -> dict[str, Any]:
    return {"Next": next_state} if next_state else {"End": True}


def compile_journey(journey: Journey, *, run_step_arn: str, register_wait_arn: str) -> dict[str, Any]:
    states: dict[str, dict[str, Any]] = {}

    def sequence(steps: list[Any], after: str | None) -> str | None:
        next_state = after
        for step in reversed(steps):
            states[step.id] = compile_step(step, next_state)
            next_state = step.id
        return next_state

    def branch(branch: Branch, after: str | None) -> str | None:
        return sequence(branch.steps, after if branch.then == "continue" else None)

    def compile_step(step: Any, next_state: str | None) -> dict[str, Any]:
        if isinstance(step, SendStep):
            return {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": run_step_arn, "Payload": _payload()},
                "ResultPath": None,
                "Retry": [LAMBDA_RETRY, THROTTLED_RETRY],
                **_then(next_state),
            }
        if isinstance(step, WaitStep):
            return {"Type": "Wait", "Seconds": int(step.wait.total_seconds()), **_then(next_state)}
        if isinstance(step, WaitForEventStep):
            action = step.wait_for_event
            timeout_seconds = int(action.timeout.total_seconds())
            on_timeout = branch(action.on_timeout, next_state)
            if on_timeout is None:
                states[JOURNEY_END] = {"Type": "Succeed"}
                on_timeout = JOURNEY_END
            return {
                "Type": "Task",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": register_wait_arn,
                    "Payload": _payload(
                        **{
                            "task_token.$": "$$.Task.Token",
                            "event": action.event.value,
                            "same_order": action.same_order,
                        },
                    ),
                },
                "TimeoutSeconds": timeout_seconds,
                "ResultPath": None,
                "Retry": [LAMBDA_RETRY],
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": on_timeout}],
                **_then(branch(action.on_event, next_state)),
            }
        raise TypeError(f"cannot compile step {step!r}")

    start = sequence(journey.steps, None)
    return {
        "Comment": f"{journey.name} v{journey.version}: {journey.description}".strip(),
        "StartAt": start,
        "States": states,
    }
