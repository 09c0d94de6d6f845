"""The occasions run (birthdays, anniversaries, inactivity) every five minutes, on EventBridge
Scheduler: each customer's fire in the run of their own five minutes of their 09:00 hour."""

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


class OccasionSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction):
        super().__init__(scope, construct_id)
        self.dead_letters: sqs.Queue = dead_letter_queue(self, "MissedRuns", of="the occasions schedule")
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        function.grant_invoke(role)
        acknowledge(self, invoke_grant(function))
        self.dead_letters.grant_send_messages(role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Runs",
            description="Postventa: publish the occasions due in each customer's timezone",
            schedule_expression=f"rate({RUN_EVERY.seconds // 60} minutes)",
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
