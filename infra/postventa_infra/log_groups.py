"""Log groups: one year of retention, removed with the stack (they hold no business state)."""

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct


def log_group(scope: Construct, construct_id: str) -> logs.LogGroup:
    return logs.LogGroup(
        scope, construct_id, retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.DESTROY
    )
