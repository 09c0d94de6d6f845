"""A local Step Functions engine on a virtual clock, speaking the boto3 client's subset we use.

It runs the very ASL the compiler emits for CDK: Task (lambda:invoke, .waitForTaskToken with
TimeoutSeconds), Wait (JSONPath, or JSONata with its Timestamp, Seconds and Output expressions),
Choice, Pass, Succeed, Fail, with Retry and Catch. Months of waits play
out in milliseconds because time only moves when the simulation advances it. Its paths are
checked against moto's own interpreter in tests/integration/test_engine_fidelity.py.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from postventa.asl import paths as asl_paths
from postventa.asl.choice import choose
from postventa.asl.jsonata import evaluate

Invoke = Callable[[str, dict[str, Any]], Any]
_WAIT_TIMES = ("Seconds", "Timestamp")  # what a JSONata Wait may compute


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def _timestamp(moment: datetime) -> str:
    """As Step Functions writes times: UTC, milliseconds, Z."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _matches(error: str, names: list[str]) -> bool:
    return (
        error in names
        or "States.ALL" in names
        or (error != "States.Timeout" and "States.TaskFailed" in names)
    )


class TaskError(Exception):
    def __init__(self, error: str, cause: str):
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass
class Execution:
    arn: str
    name: str
    state_machine_arn: str
    definition: dict[str, Any]
    input: dict[str, Any]
    started_at: datetime
    status: str = "RUNNING"
    current: str | None = None
    data: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    attempts: dict[int, int] = field(default_factory=dict)
    token: str | None = None
    entered_at: datetime | None = None  # a retry does not enter its state again: same EnteredTime
    path: list[str] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)  # $$.Execution, the same for every state

    def __post_init__(self) -> None:
        self.context = {
            "Id": self.arn,
            "Name": self.name,
            "StartTime": _timestamp(self.started_at),
            "Input": self.input,
        }


class _Context(dict[str, Any]):
    """The context object ($$); each part is built only when a path reads it."""

    def __init__(self, execution: Execution, state_name: str, stamp: Callable[[datetime | None], str]):
        super().__init__()
        self._execution, self._state_name, self._stamp = execution, state_name, stamp

    def __missing__(self, key: str) -> Any:
        if key == "State":
            value: dict[str, Any] = {
                "Name": self._state_name,
                "EnteredTime": self._stamp(self._execution.entered_at),
                "RetryCount": sum(self._execution.attempts.values()),
            }
        elif key == "Execution":
            value = self._execution.context
        elif key == "StateMachine":
            value = {"Id": self._execution.state_machine_arn}
        else:
            raise KeyError(key)
        self[key] = value
        return value


class LocalStepFunctions:
    def __init__(
        self,
        *,
        start: datetime,
        invoke: Invoke,
        on_finished: Callable[[Execution], None] | None = None,
        forget_finished: bool = False,
    ):
        """on_finished: told of each execution as it ends. forget_finished: drop it then (a
        backtest's memory follows the executions running; Step Functions would still refuse its
        name for 90 days, which the journeys never ask of it: on_order claims each entry in the
        store before starting it)."""
        self.now = start
        self._invoke = invoke
        self._on_finished = on_finished
        self._forget_finished = forget_finished
        self.started: Counter[str] = Counter()  # state machine arn -> executions started
        self._machines: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, Execution] = {}
        self._tokens: dict[str, str] = {}
        self._queue: list[tuple[datetime, int, str, str, str | None]] = []
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._sequence = itertools.count()
        self.transitions: Counter[str] = Counter()  # state machine arn -> states entered (billed)
        self._stamped = (start, _timestamp(start))

    # -- the boto3 stepfunctions subset --------------------------------------------------------
    def create_state_machine(self, *, name: str, definition: str, **_: Any) -> dict[str, Any]:
        arn = f"arn:aws:states:local:000000000000:stateMachine:{name}"
        self._machines[arn] = json.loads(definition)
        return {"stateMachineArn": arn}

    def update_state_machine(self, *, stateMachineArn: str, definition: str, **_: Any) -> dict[str, Any]:
        """A deploy: new executions take the new definition; running ones keep theirs, as in Step Functions."""
        self._machines[stateMachineArn] = json.loads(definition)
        return {"updateDate": self.now}

    def start_execution(
        self, *, stateMachineArn: str, name: str | None = None, input: str = "{}"
    ) -> dict[str, Any]:
        if stateMachineArn not in self._machines:
            raise _client_error("StateMachineDoesNotExist", stateMachineArn, "StartExecution")
        name = name or str(uuid.uuid4())
        arn = stateMachineArn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        parsed = json.loads(input)
        existing = self.executions.get(arn)
        if existing is not None:
            if existing.status == "RUNNING" and existing.input == parsed:
                return {"executionArn": arn, "startDate": existing.started_at}
            raise _client_error(
                "ExecutionAlreadyExists", f"Execution already exists: '{arn}'", "StartExecution"
            )
        definition = self._machines[stateMachineArn]
        execution = Execution(
            arn=arn,
            name=name,
            state_machine_arn=stateMachineArn,
            definition=definition,
            input=parsed,
            started_at=self.now,
            current=definition["StartAt"],
            data=parsed,  # shared with the kept input: states never change a value in place
        )
        self.executions[arn] = execution
        self.started[stateMachineArn] += 1
        self._schedule(self.now, arn, "enter")
        return {"executionArn": arn, "startDate": self.now}

    def stop_execution(
        self, *, executionArn: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        execution = self._execution(executionArn, "StopExecution")
        if execution.status == "RUNNING":
            self._finish(execution, "ABORTED", error=error, cause=cause)
        return {"stopDate": self.now}

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        execution = self._waiting(taskToken, "SendTaskSuccess")
        state = execution.definition["States"][execution.current]
        self._leave(execution, state, json.loads(output))
        return {}

    def send_task_failure(self, *, taskToken: str, error: str = "", cause: str = "") -> dict[str, Any]:
        execution = self._waiting(taskToken, "SendTaskFailure")
        self._fail_task(execution, execution.definition["States"][execution.current], TaskError(error, cause))
        return {}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        execution = self._execution(executionArn, "DescribeExecution")
        return {
            "executionArn": execution.arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.started_at,
            "input": json.dumps(execution.input),
            "output": json.dumps(execution.output) if execution.status == "SUCCEEDED" else None,
            "error": execution.error,
            "cause": execution.cause,
        }

    def list_state_machines(self, **_: Any) -> dict[str, Any]:
        return {
            "stateMachines": [
                {"stateMachineArn": arn, "name": arn.rsplit(":", 1)[1]} for arn in self._machines
            ]
        }

    def list_executions(
        self, *, stateMachineArn: str, statusFilter: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """One page holds them all (Step Functions pages by 1,000 and gives a nextToken)."""
        return {
            "executions": [
                {"executionArn": e.arn, "name": e.name, "status": e.status, "startDate": e.started_at}
                for e in self.executions.values()
                if e.state_machine_arn == stateMachineArn and statusFilter in (None, e.status)
            ]
        }

    def get_execution_history(
        self, *, executionArn: str, reverseOrder: bool = False, **_: Any
    ) -> dict[str, Any]:
        """The one event the controls read: the current state's StateEntered (newest first)."""
        execution = self._execution(executionArn, "GetExecutionHistory")
        state = execution.definition["States"].get(execution.current or "", {})
        event = {
            "type": f"{state.get('Type', 'Pass')}StateEntered",
            "timestamp": execution.entered_at or execution.started_at,
            "stateEnteredEventDetails": {"name": execution.current},
        }
        return {"events": [event] if execution.status == "RUNNING" else []}

    # -- the virtual clock ---------------------------------------------------------------------
    def run_until(self, moment: datetime) -> None:
        """Run everything due up to `moment`, then leave the clock there."""
        while self._queue and self._queue[0][0] <= moment:
            due, sequence, arn, action, token = heapq.heappop(self._queue)
            self.now = max(self.now, due)
            if action == "call":
                self._callbacks.pop(sequence)()
                continue
            execution = self.executions.get(arn)
            if execution is None or execution.status != "RUNNING":
                continue
            if action == "timeout":
                if token is not None and execution.token == token:
                    self._tokens.pop(token, None)
                    execution.token = None
                    self._fail_task(
                        execution,
                        execution.definition["States"][execution.current],
                        TaskError("States.Timeout", ""),
                    )
                continue
            if action == "wake":
                state = execution.definition["States"][execution.current]
                if not self._go(execution, state, execution.data, schedule=False):
                    continue
            self._run(execution)
        self.now = max(self.now, moment)

    def run_until_idle(self, horizon: timedelta = timedelta(days=800)) -> None:
        """Run until every execution has ended or is parked past the horizon; the clock stops at the last step."""
        limit = self.now + horizon
        while self._queue and self._queue[0][0] <= limit:
            self.run_until(self._queue[0][0])

    def call_at(self, due: datetime, callback: Callable[[], None]) -> None:
        """Something outside Step Functions that happens at a time (a provider's event arriving)."""
        sequence = next(self._sequence)
        self._callbacks[sequence] = callback
        heapq.heappush(self._queue, (due, sequence, "", "call", None))

    def next_due(self) -> datetime | None:
        return self._queue[0][0] if self._queue else None

    # -- interpretation ------------------------------------------------------------------------
    def _schedule(self, due: datetime, arn: str, action: str, token: str | None = None) -> None:
        heapq.heappush(self._queue, (due, next(self._sequence), arn, action, token))

    def _context(self, execution: Execution, state_name: str) -> _Context:
        return _Context(execution, state_name, self._stamp)

    def _stamp(self, moment: datetime | None) -> str:
        moment = moment or self.now
        if self._stamped[0] != moment:  # many states are entered at one virtual moment
            self._stamped = (moment, _timestamp(moment))
        return self._stamped[1]

    def _run(self, execution: Execution) -> None:
        """Enter the current state; states that finish at once chain, blocking ones schedule themselves."""
        entering = True
        while execution.status == "RUNNING" and entering:
            name = execution.current
            assert name is not None
            state = execution.definition["States"][name]
            self.transitions[execution.state_machine_arn] += 1  # retries are billed as transitions too
            if not execution.attempts:  # a retry runs the state again without entering it again
                execution.entered_at = self.now
                execution.path.append(name)
            entering = self._enter(execution, name, state)

    def _enter(self, execution: Execution, name: str, state: dict[str, Any]) -> bool:
        """Returns True when the execution moved on to a state to enter right away."""
        kind = state["Type"]
        data = (
            asl_paths.read(state["InputPath"], execution.data, {}) if "InputPath" in state else execution.data
        )
        if kind == "Pass":
            result = (
                state["Result"]
                if "Result" in state
                else asl_paths.render(state.get("Parameters", data), data, self._context(execution, name))
            )
            return self._leave(execution, state, result, schedule=False)
        if kind == "Wait" and state.get("QueryLanguage") == "JSONata":
            context = self._context(execution, name)
            bindings = {"input": data, "context": {part: context[part] for part in ("Execution", "State")}}
            until = self._wait_until(
                {key: evaluate(state[key], bindings) for key in _WAIT_TIMES if key in state}, data
            )
            self._schedule(until, execution.arn, "wake")
            execution.data = evaluate(state.get("Output", "{% $states.input %}"), bindings)
            return False
        if kind == "Wait":
            self._schedule(self._wait_until(state, data), execution.arn, "wake")
            execution.data = data
            return False
        if kind == "Choice":
            execution.current = choose(state, data)
            execution.data = data
            return True
        if kind == "Succeed":
            self._finish(execution, "SUCCEEDED", output=data)
            return False
        if kind == "Fail":
            self._finish(execution, "FAILED", error=state.get("Error"), cause=state.get("Cause"))
            return False
        if kind == "Task":
            return self._task(execution, name, state, data, self._context(execution, name))
        raise ValueError(f"state type {kind} is not supported by the local engine")

    def _wait_until(self, state: dict[str, Any], data: Any) -> datetime:
        if "Seconds" in state:
            return self.now + timedelta(seconds=state["Seconds"])
        if "SecondsPath" in state:
            return self.now + timedelta(seconds=asl_paths.read(state["SecondsPath"], data, {}))
        stamp = (
            state["Timestamp"] if "Timestamp" in state else asl_paths.read(state["TimestampPath"], data, {})
        )
        return max(self.now, datetime.fromisoformat(stamp.replace("Z", "+00:00")))

    def _task(
        self, execution: Execution, name: str, state: dict[str, Any], data: Any, context: _Context
    ) -> bool:
        resource: str = state["Resource"]
        callback = resource.endswith(".waitForTaskToken")
        if callback:
            execution.token = f"{execution.arn}#{name}#{uuid.uuid4().hex}"
            context["Task"] = {"Token": execution.token}
            self._tokens[execution.token] = execution.arn
        parameters = asl_paths.render(state["Parameters"], data, context) if "Parameters" in state else data
        execution.data = data
        try:
            if resource.startswith("arn:aws:states:::lambda:invoke"):
                payload = self._call(parameters["FunctionName"], parameters.get("Payload", {}))
                result: Any = {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
            else:
                result = self._call(resource, parameters)
        except TaskError as error:
            if callback:
                self._tokens.pop(execution.token or "", None)
                execution.token = None
            return self._fail_task(execution, state, error, schedule=False)
        if callback:
            self._schedule(
                self.now + timedelta(seconds=state.get("TimeoutSeconds", 99999999)),
                execution.arn,
                "timeout",
                execution.token,
            )
            return False
        execution.attempts.clear()
        return self._leave(execution, state, result, schedule=False)

    def _call(self, function: str, payload: Any) -> Any:
        try:
            return self._invoke(function, payload)
        except Exception as error:  # a Lambda error: its type is the error name Step Functions sees
            name = type(error).__name__
            # Lambda's error document, as Step Functions passes it on in Cause.
            cause = json.dumps({"errorMessage": str(error), "errorType": name})
            raise TaskError(name, cause) from error

    def _leave(
        self, execution: Execution, state: dict[str, Any], result: Any, *, schedule: bool = True
    ) -> bool:
        if "ResultSelector" in state:
            result = asl_paths.render(
                state["ResultSelector"], result, self._context(execution, execution.current or "")
            )
        data = asl_paths.write(state.get("ResultPath", "$"), execution.data, result)
        if "OutputPath" in state:
            data = asl_paths.read(state["OutputPath"], data, {})
        if execution.token is not None:
            self._tokens.pop(execution.token, None)
            execution.token = None
        return self._go(execution, state, data, schedule=schedule)

    def _go(self, execution: Execution, state: dict[str, Any], data: Any, *, schedule: bool) -> bool:
        execution.data = data
        if state.get("End"):
            self._finish(execution, "SUCCEEDED", output=data)
            return False
        execution.current = state["Next"]
        if schedule:
            self._schedule(self.now, execution.arn, "enter")
            return False
        return True

    def _fail_task(
        self, execution: Execution, state: dict[str, Any], error: TaskError, *, schedule: bool = True
    ) -> bool:
        for index, retrier in enumerate(state.get("Retry", [])):
            if _matches(error.error, retrier["ErrorEquals"]):
                attempt = execution.attempts.get(index, 0)
                if attempt < retrier.get("MaxAttempts", 3):
                    execution.attempts[index] = attempt + 1
                    delay = min(
                        retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** attempt,
                        retrier.get("MaxDelaySeconds", float("inf")),
                    )
                    if retrier.get("JitterStrategy") == "FULL":
                        # Drawn from [0, delay] as Step Functions does, by hash, so a run replays alike.
                        delay *= random.Random(f"{execution.arn}|{execution.current}|{attempt}").random()
                    self._schedule(self.now + timedelta(seconds=delay), execution.arn, "enter")
                    return False
                break
        execution.attempts.clear()
        for catcher in state.get("Catch", []):
            if _matches(error.error, catcher["ErrorEquals"]):
                data = asl_paths.write(
                    catcher.get("ResultPath", "$"),
                    execution.data,
                    {"Error": error.error, "Cause": error.cause},
                )
                return self._go(execution, {"Next": catcher["Next"]}, data, schedule=schedule)
        self._finish(execution, "FAILED", error=error.error, cause=error.cause)
        return False

    def _finish(
        self,
        execution: Execution,
        status: str,
        *,
        output: Any = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        execution.status = status
        execution.output = output
        execution.error = error
        execution.cause = cause
        if execution.token:
            self._tokens.pop(execution.token, None)
            execution.token = None
        if self._on_finished is not None:
            self._on_finished(execution)
        if self._forget_finished:
            del self.executions[execution.arn]

    def _execution(self, arn: str, operation: str) -> Execution:
        if arn not in self.executions:
            raise _client_error("ExecutionDoesNotExist", arn, operation)
        return self.executions[arn]

    def _waiting(self, token: str, operation: str) -> Execution:
        arn = self._tokens.get(token)
        if arn is None:
            raise _client_error("TaskTimedOut", "Task Timed Out", operation)
        return self.executions[arn]
