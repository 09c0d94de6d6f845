"""The local Step Functions engine on its virtual clock, with a fake Lambda."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from postventa.asl.engine import LocalStepFunctions

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Calls:
    def __init__(self, fail_times: int = 0, error: type[Exception] = RuntimeError):
        self.payloads: list[dict] = []
        self._fail_times = fail_times
        self._error = error

    def __call__(self, function: str, payload: dict) -> dict:
        self.payloads.append(payload)
        if self._fail_times:
            self._fail_times -= 1
            raise self._error("boom")
        return {"ok": True}


def machine(engine: LocalStepFunctions, states: dict, start: str) -> str:
    return engine.create_state_machine(name="m", definition=json.dumps({"StartAt": start, "States": states}))[
        "stateMachineArn"
    ]


TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "f", "Payload": {"now.$": "$$.State.EnteredTime", "who.$": "$.who"}},
    "ResultPath": None,
}


def test_waits_advance_only_the_virtual_clock():
    calls = Calls()
    engine = LocalStepFunctions(start=T0, invoke=calls)
    arn = machine(
        engine, {"W": {"Type": "Wait", "Seconds": 3 * 86400, "Next": "T"}, "T": {**TASK, "End": True}}, "W"
    )
    execution = engine.start_execution(stateMachineArn=arn, name="x", input='{"who": "ana"}')["executionArn"]
    engine.run_until(T0 + timedelta(days=2))
    assert calls.payloads == []
    engine.run_until_idle()
    assert calls.payloads == [{"now": "2026-03-04T12:00:00.000Z", "who": "ana"}]
    assert engine.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert engine.now == T0 + timedelta(days=3)


def callback_machine(engine):
    states = {
        "Await": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 3600,
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": "Late"}],
            "Next": "OnTime",
        },
        "OnTime": {"Type": "Pass", "End": True},
        "Late": {"Type": "Pass", "End": True},
    }
    return machine(engine, states, "Await")


def test_callback_resumes_with_its_token():
    calls = Calls()
    engine = LocalStepFunctions(start=T0, invoke=calls)
    arn = engine.start_execution(stateMachineArn=callback_machine(engine), name="x", input="{}")[
        "executionArn"
    ]
    engine.run_until(T0 + timedelta(minutes=10))
    engine.send_task_success(taskToken=calls.payloads[0]["token"], output="{}")
    engine.run_until_idle()
    assert engine.executions[arn].path == ["Await", "OnTime"]
    with pytest.raises(ClientError, match="TaskTimedOut"):
        engine.send_task_success(
            taskToken=calls.payloads[0]["token"], output="{}"
        )  # a second resume is refused


def test_callback_times_out_into_the_catch():
    calls = Calls()
    engine = LocalStepFunctions(start=T0, invoke=calls)
    arn = engine.start_execution(stateMachineArn=callback_machine(engine), name="x", input="{}")[
        "executionArn"
    ]
    engine.run_until_idle()
    assert engine.executions[arn].path == ["Await", "Late"]
    assert engine.now == T0 + timedelta(hours=1)


def test_retry_with_backoff_then_success():
    calls = Calls(fail_times=2)
    engine = LocalStepFunctions(start=T0, invoke=calls)
    task = {
        **TASK,
        "Parameters": {
            "FunctionName": "f",
            "Payload": {"now.$": "$$.State.EnteredTime", "retry.$": "$$.State.RetryCount"},
        },
        "End": True,
        "Retry": [
            {"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2}
        ],
    }
    arn = engine.start_execution(
        stateMachineArn=machine(engine, {"T": task}, "T"), name="x", input='{"who": "b"}'
    )["executionArn"]
    engine.run_until_idle()
    # A retry does not enter the state again: EnteredTime stays, RetryCount counts (as in Step Functions).
    assert [(p["now"], p["retry"]) for p in calls.payloads] == [
        ("2026-03-01T12:00:00.000Z", 0),
        ("2026-03-01T12:00:00.000Z", 1),
        ("2026-03-01T12:00:00.000Z", 2),
    ]
    assert engine.now == T0 + timedelta(seconds=30)  # backoff 10 s, then 20 s
    assert engine.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"


def test_unhandled_error_fails_the_execution():
    engine = LocalStepFunctions(start=T0, invoke=Calls(fail_times=1, error=ValueError))
    arn = engine.start_execution(
        stateMachineArn=machine(engine, {"T": {**TASK, "End": True}}, "T"), input='{"who": "b"}'
    )["executionArn"]
    engine.run_until_idle()
    described = engine.describe_execution(executionArn=arn)
    assert (described["status"], described["error"]) == ("FAILED", "ValueError")


def test_choice_routes_on_data():
    engine = LocalStepFunctions(start=T0, invoke=Calls())
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.score", "NumericGreaterThanEquals": 9},
                        {"Variable": "$.channel", "StringEquals": "email"},
                    ],
                    "Next": "Promoter",
                },
                {"Variable": "$.score", "NumericLessThanEquals": 6, "Next": "Detractor"},
            ],
            "Default": "Passive",
        },
        "Promoter": {"Type": "Succeed"},
        "Detractor": {"Type": "Succeed"},
        "Passive": {"Type": "Succeed"},
    }
    arn = machine(engine, states, "C")
    for name, data, expected in [
        ("a", {"score": 10, "channel": "email"}, "Promoter"),
        ("b", {"score": 3}, "Detractor"),
        ("c", {"score": 8}, "Passive"),
    ]:
        execution = engine.start_execution(stateMachineArn=arn, name=name, input=json.dumps(data))[
            "executionArn"
        ]
        engine.run_until_idle()
        assert engine.executions[execution].path == ["C", expected]


def test_execution_names_are_unique_like_step_functions():
    engine = LocalStepFunctions(start=T0, invoke=Calls())
    arn = callback_machine(engine)
    first = engine.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
    assert (
        engine.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}') == first
    )  # running, same input
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        engine.start_execution(stateMachineArn=arn, name="same", input='{"a": 2}')
    engine.stop_execution(executionArn=first["executionArn"], cause="test")
    assert engine.describe_execution(executionArn=first["executionArn"])["status"] == "ABORTED"
    with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
        engine.start_execution(stateMachineArn=arn, name="same", input='{"a": 1}')
