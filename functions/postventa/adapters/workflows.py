"""Step Functions: start journeys, stop them at an exit goal, resume a wait with its task token.

The client is a boto3 ``stepfunctions`` client in AWS, or the local engine, which speaks the
same subset of the API, in ``postventa simulate``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError

_TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
# Enough of an execution's newest events to reach its current state's StateEntered: a Task
# waiting on Lambda or on a callback adds at most a few events after it.
_HISTORY_EVENTS = 20


def state_machine_arns(client: Any, names: Iterable[str]) -> dict[str, str]:
    """The deployed state machines of these names, by name (the CLI's view of a stack)."""
    wanted, found = set(names), {}
    token: str | None = None
    while True:
        page = client.list_state_machines(**({"nextToken": token} if token else {}))
        found.update({m["name"]: m["stateMachineArn"] for m in page["stateMachines"] if m["name"] in wanted})
        token = page.get("nextToken")
        if not token:
            return found


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


class JourneyWorkflows:
    def __init__(self, client: Any, state_machines: dict[str, str]):
        self._client = client
        self._state_machines = state_machines

    def deployed(self, journey: str) -> bool:
        return journey in self._state_machines

    def start(self, journey: str, execution_name: str, execution_input: dict[str, Any]) -> tuple[str, bool]:
        """Start once: (execution ARN, False) when an execution of that name already exists."""
        state_machine = self._state_machines[journey]
        try:
            response = self._client.start_execution(
                stateMachineArn=state_machine, name=execution_name, input=json.dumps(execution_input)
            )
        except ClientError as error:
            if _code(error) != "ExecutionAlreadyExists":
                raise
            arn = state_machine.replace(":stateMachine:", ":execution:", 1) + f":{execution_name}"
            return arn, False
        return str(response["executionArn"]), True

    def stop(self, execution_arn: str, cause: str) -> None:
        try:
            self._client.stop_execution(executionArn=execution_arn, error="JourneyExited", cause=cause)
        except ClientError as error:
            if _code(error) not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                raise

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """False when the wait is already over (timed out, resumed, or its execution stopped)."""
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            if _code(error) in _TOKEN_GONE:
                return False
            raise
        return True

    def running(self, journey: str) -> Iterator[str]:
        """The ARNs of the journey's running executions."""
        token: str | None = None
        while True:
            page = self._client.list_executions(
                stateMachineArn=self._state_machines[journey],
                statusFilter="RUNNING",
                **({"nextToken": token} if token else {}),
            )
            yield from (execution["executionArn"] for execution in page["executions"])
            token = page.get("nextToken")
            if not token:
                return

    def current_state(self, execution_arn: str) -> str | None:
        """The state an execution is in: its newest StateEntered event's name (None: it ended)."""
        events = self._client.get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=_HISTORY_EVENTS
        )["events"]
        for event in events:
            if event["type"].endswith("StateEntered"):
                return str(event["stateEnteredEventDetails"]["name"])
        return None

    def customer_of(self, execution_arn: str) -> str | None:
        """The customer the execution runs for, from the input on_order started it with."""
        try:
            described = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            if _code(error) == "ExecutionDoesNotExist":
                return None
            raise
        return json.loads(described.get("input") or "{}").get("customer_id")
