"""Differential test: the local engine and moto's own Step Functions interpreter run the same
compiled ASL (the default journey with its days scaled down to seconds) and must take the same path."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from postventa.asl.engine import LocalStepFunctions
from postventa.journeys.compiler import compile_journey
from postventa.journeys.loader import load_journey, parse_journey
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
MOTO = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def scaled_default_journey(timeout: str = "2s"):
    """post-purchase with every wait 1 s and every timeout short: same states, same shapes."""
    text = (FIXTURES / "phase1" / "post-purchase.yaml").read_text()
    text = re.sub(r"timeout: \d+d", f"timeout: {timeout}", text)
    text = re.sub(r"wait: \d+d", "wait: 1s", text)
    return parse_journey(text, "post-purchase.yaml")


def echo_function() -> str:
    """moto's Lambda without Docker answers with the payload it was given, as our echo does locally."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    role = boto3.client("iam").create_role(RoleName="journey", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return boto3.client("lambda").create_function(
        FunctionName="echo",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"], role


EXECUTION_INPUT = {
    "journey": "post-purchase",
    "version": 1,
    "customer_id": "c1",
    "order_id": "o1",
    "trigger_event_id": "e1",
}


def moto_path(fulfil: bool) -> list[str]:
    with mock_aws(config=MOTO):
        function, role = echo_function()
        journey = scaled_default_journey("10s" if fulfil else "2s")  # room to answer on a loaded machine
        asl = compile_journey(journey, run_step_arn=function, register_wait_arn=function)
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(name="post-purchase", definition=json.dumps(asl), roleArn=role)[
            "stateMachineArn"
        ]
        execution = sfn.start_execution(stateMachineArn=machine, name="x", input=json.dumps(EXECUTION_INPUT))[
            "executionArn"
        ]
        resumed = not fulfil
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            history = sfn.get_execution_history(executionArn=execution)["events"]
            if not resumed:
                scheduled = [
                    e
                    for e in history
                    if e["type"] == "TaskScheduled"
                    and "waitForTaskToken" in e["taskScheduledEventDetails"]["resource"]
                ]
                if scheduled:
                    token = json.loads(scheduled[0]["taskScheduledEventDetails"]["parameters"])["Payload"][
                        "task_token"
                    ]
                    try:
                        sfn.send_task_success(taskToken=token, output="{}")
                        resumed = True
                    except ClientError:
                        pass  # the history can show the task a moment before moto accepts its token
            if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                break
            time.sleep(0.2)
        assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
        # Read once finished: a history fetched while running can miss the last states.
        history = sfn.get_execution_history(executionArn=execution)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def local_path(fulfil: bool) -> list[str]:
    payloads: list[dict] = []

    def echo(function: str, payload: dict) -> dict:
        payloads.append(payload)
        return payload

    start = datetime(2026, 1, 1, tzinfo=UTC)
    engine = LocalStepFunctions(start=start, invoke=echo)
    asl = compile_journey(scaled_default_journey(), run_step_arn="arn:echo", register_wait_arn="arn:echo")
    machine = engine.create_state_machine(name="post-purchase", definition=json.dumps(asl))["stateMachineArn"]
    execution = engine.start_execution(stateMachineArn=machine, name="x", input=json.dumps(EXECUTION_INPUT))[
        "executionArn"
    ]
    engine.run_until(start + timedelta(milliseconds=500))
    if fulfil:
        token = next(p["task_token"] for p in payloads if "task_token" in p)
        engine.send_task_success(taskToken=token, output="{}")
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    return engine.executions[execution].path


@pytest.mark.parametrize("fulfil", [True, False], ids=["fulfilled", "never-fulfilled"])
def test_local_engine_takes_the_same_path_as_moto(fulfil):
    journey = scaled_default_journey()
    timeout_branch = journey.step("await_fulfilment").wait_for_event.on_timeout.steps
    expected = (
        [step.id for step in journey.steps]  # every main step, in order
        if fulfil
        else [
            "order_confirmation",
            "await_fulfilment",
            *(step.id for step in timeout_branch),
            "Journey ended",
        ]
    )
    assert local_path(fulfil) == expected
    assert moto_path(fulfil) == expected


def _scripted_answers(until: datetime) -> list[dict]:
    """What run_step answers, in call order, for the fixture journey: opened, variant b."""
    return [
        {"message_id": "m1", "status": "sent"},  # hello
        {"until": until.strftime("%Y-%m-%dT%H:%M:%SZ")},  # next_morning
        {"case": "opened"},  # opened_hello
        {"message_id": "m2", "status": "sent"},  # tips_for_readers
        {"variant": "b"},  # offer_test
        {"message_id": "m3", "status": "sent"},  # offer_b
    ]


SHAPES = Path(__file__).parents[1] / "fixtures" / "engaged.yaml"


def test_branch_split_and_wait_until_take_the_same_path_in_moto_and_locally():
    from moto.moto_api._internal.models import moto_api_backend

    journey = load_journey(SHAPES)
    expected = [
        "hello",
        "next_morning",
        "next_morning (wait)",
        "opened_hello",
        "opened_hello (choice)",
        "tips_for_readers",
        "offer_test",
        "offer_test (choice)",
        "offer_b",
    ]

    # Locally, on the virtual clock.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    answers = iter(_scripted_answers(start + timedelta(seconds=2)))
    engine = LocalStepFunctions(start=start, invoke=lambda function, payload: next(answers))
    asl = compile_journey(journey, run_step_arn="arn:run", register_wait_arn="arn:wait")
    machine = engine.create_state_machine(name="engaged", definition=json.dumps(asl))["stateMachineArn"]
    execution = engine.start_execution(stateMachineArn=machine, name="x", input=json.dumps(EXECUTION_INPUT))[
        "executionArn"
    ]
    engine.run_until_idle()
    assert engine.executions[execution].path == expected

    # In moto's interpreter, in real time: the Lambda answers are queued in call order.
    with mock_aws(config=MOTO):
        function, role = echo_function()
        for answer in _scripted_answers(datetime.now(UTC) + timedelta(seconds=2)):
            moto_api_backend.set_lambda_simple_result(json.dumps(answer), "123456789012", "us-east-1")
        assert _moto_states(journey, function, role) == expected


def _moto_states(journey, function: str, role: str) -> list[str]:
    """Run the compiled journey to its end in moto's interpreter (real time): the states entered."""
    sfn = boto3.client("stepfunctions")
    asl = compile_journey(journey, run_step_arn=function, register_wait_arn=function)
    machine = sfn.create_state_machine(name=journey.name, definition=json.dumps(asl), roleArn=role)[
        "stateMachineArn"
    ]
    arn = sfn.start_execution(stateMachineArn=machine, name="x", input=json.dumps(EXECUTION_INPUT))[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    history = sfn.get_execution_history(executionArn=arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


TWO_SENDS = """
name: two-sends
version: 1
trigger: {event: Order Placed}
steps:
  - id: hello
    send: {channel: email, template: order_confirmation, purpose: transactional}
  - id: bye
    send: {channel: email, template: product_tips, purpose: marketing}
"""
SENT = {"message_id": "m", "status": "sent"}


class Failure(Exception):
    """What a scripted run_step answer raises: its name is the error Step Functions sees."""


def _failure(error: str) -> dict:
    return {"errorType": error, "errorMessage": f"scripted {error}"}


def _local_failure_path(answers: list[dict]) -> tuple[list[str], list[tuple[str, str]]]:
    script, calls = iter(answers), []

    def invoke(function: str, payload: dict) -> dict:
        calls.append((payload["step"], payload["action"]["kind"]))
        answer = next(script)
        if "errorType" in answer:
            raise type(answer["errorType"], (Failure,), {})(answer["errorMessage"])
        return answer

    start = datetime(2026, 1, 1, tzinfo=UTC)
    engine = LocalStepFunctions(start=start, invoke=invoke)
    asl = compile_journey(
        parse_journey(TWO_SENDS, "two-sends.yaml"), run_step_arn="arn:run", register_wait_arn="arn:wait"
    )
    machine = engine.create_state_machine(name="two-sends", definition=json.dumps(asl))["stateMachineArn"]
    arn = engine.start_execution(stateMachineArn=machine, name="x", input=json.dumps(EXECUTION_INPUT))[
        "executionArn"
    ]
    engine.run_until_idle()
    assert engine.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    return engine.executions[arn].path, calls


def _moto_failure_path(answers: list[dict], monkeypatch) -> tuple[list[str], list[tuple[str, str]]]:
    """moto's interpreter, its Lambda answering from the script: an error answer as Lambda reports
    an unhandled exception (X-Amz-Function-Error and the error document)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    script, calls = iter(answers), []

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        payload = json.loads(body)
        calls.append((payload["step"], payload["action"]["kind"]))
        answer = next(script)
        if "errorType" in answer:
            response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(answer).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    with mock_aws(config=MOTO):
        function, role = echo_function()
        return _moto_states(parse_journey(TWO_SENDS, "two-sends.yaml"), function, role), calls


@pytest.mark.parametrize(
    ("answers", "path", "calls"),
    [
        pytest.param(
            [_failure("StepRetryable"), SENT, SENT],
            ["hello", "bye"],
            [("hello", "send"), ("hello", "send"), ("bye", "send")],
            id="transient-retried",
        ),
        pytest.param(
            [_failure("SendRejected"), {"status": "failed"}, SENT],
            ["hello", "hello (failed)", "bye"],
            [("hello", "send"), ("hello", "give_up"), ("bye", "send")],
            id="permanent-caught-and-the-journey-goes-on",
        ),
    ],
)
def test_retry_and_catch_take_the_same_path_in_moto_and_locally(answers, path, calls, monkeypatch):
    assert _local_failure_path(answers) == (path, calls)
    assert _moto_failure_path(answers, monkeypatch) == (path, calls)
