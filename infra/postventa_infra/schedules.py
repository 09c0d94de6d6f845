"""Functions run on EventBridge Scheduler: the occasions run (birthdays, anniversaries,
inactivity) every five minutes, each customer's firing in the run of their own five minutes of
their 09:00 hour; the audiences' export daily."""

from __future__ import annotations

import json

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from postventa.logic.occasions import RUN_EVERY
from postventa_infra.nag import acknowledge, invoke_grant
from postventa_infra.queues import dead_letter_queue

OCCASIONS_EVERY = f"rate({RUN_EVERY.seconds // 60} minutes)"
AUDIENCES_DAILY = "cron(0 9 * * ? *)"  # 09:00 UTC: after the 03:00 scoring run has had its hours


class ScheduledRuns(Construct):
    """The function invoked with {"scheduled_time"} on the schedule: a run that cannot be
    delivered is retried for an hour, then kept in MissedRuns."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        expression: str,
        description: str,
        of: str,
    ):
        super().__init__(scope, construct_id)
        self.dead_letters: sqs.Queue = dead_letter_queue(self, "MissedRuns", of=of)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        function.grant_invoke(role)
        acknowledge(self, invoke_grant(function))
        self.dead_letters.grant_send_messages(role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Runs",
            description=description,
            schedule_expression=expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=10
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn
                ),
            ),
        )
