"""One Standard state machine per journey, compiled from its YAML by the same code the engine runs."""

from __future__ import annotations

import json

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from postventa.journeys.compiler import compile_journey, state_machine_name
from postventa.journeys.model import Journey
from postventa_infra.log_groups import log_group
from postventa_infra.nag import acknowledge, invoke_grant


class JourneyMachines(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        journeys: dict[str, Journey],
        run_step: lambda_.IFunction,
        register_wait: lambda_.IFunction,
    ):
        super().__init__(scope, construct_id)
        self.machines: dict[str, sfn.StateMachine] = {}
        for name, journey in journeys.items():
            definition = compile_journey(
                journey, run_step_arn=run_step.function_arn, register_wait_arn=register_wait.function_arn
            )
            logs = log_group(self, f"{name}Logs")
            machine = sfn.StateMachine(
                self,
                name,
                state_machine_name=state_machine_name(name),
                state_machine_type=sfn.StateMachineType.STANDARD,
                # json.dumps, not Stack.to_json_string: that one drops "ResultPath": null, and a Task
                # without it would overwrite the execution's input with the Lambda's answer.
                definition_body=sfn.DefinitionBody.from_string(json.dumps(definition)),
                tracing_enabled=True,
                # Execution data holds customer ids and order ids: keep it out of the logs.
                logs=sfn.LogOptions(destination=logs, level=sfn.LogLevel.ALL, include_execution_data=False),
            )
            run_step.grant_invoke(machine)
            register_wait.grant_invoke(machine)
            acknowledge(
                machine,
                {
                    "IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery APIs have no resource-level permissions",
                    **invoke_grant(run_step),
                    **invoke_grant(register_wait),
                },
            )
            self.machines[name] = machine
