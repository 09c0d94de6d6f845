"""Step Functions: start journeys, stop them at an exit goal, resume a wait with its task token.

The client is a boto3 ``stepfunctions`` client in AWS, or the local engine, which speaks the
same subset of the API, in ``postventa simulate``.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

_TOKEN_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


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
