"""The SMS channel's own resources: the two-way topic End User Messaging SMS publishes replies
(STOP, START) to, and the account's monthly SMS spend limit when the shop sets one.

Push has nothing here: AWS End User Messaging push applications (with the shop's APNs and FCM
keys) are made outside CloudFormation now that AWS::Pinpoint::App is sunset; the stack takes
the application's id as the pushApplicationId context value."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from postventa_infra.log_groups import log_group
from postventa_infra.nag import acknowledge
from postventa_infra.queues import dead_letter_queue


class SmsChannel(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        replies_queue: sqs.IQueue,
        monthly_spend_limit: int | None = None,
    ):
        super().__init__(scope, construct_id)
        # End User Messaging SMS publishes replies to this topic (set it as the number's two-way
        # channel); raw delivery puts the reply itself in on_engagement's queue.
        key = kms.Key(self, "RepliesKey", enable_key_rotation=True, description="Encrypts SMS replies")
        sms_service = iam.ServicePrincipal("sms-voice.amazonaws.com")
        key.grant_encrypt_decrypt(sms_service)
        self.replies = sns.Topic(self, "SmsReplies", master_key=key, enforce_ssl=True)
        self.replies.grant_publish(sms_service)
        # A reply SNS cannot deliver (a STOP among them) waits here, alarmed, instead of being lost.
        self.undelivered_replies = dead_letter_queue(
            self, "UndeliveredReplies", of="the SMS replies subscription"
        )
        self.replies.add_subscription(
            subscriptions.SqsSubscription(
                replies_queue, raw_message_delivery=True, dead_letter_queue=self.undelivered_replies
            )
        )
        if monthly_spend_limit is not None:
            self._limit_spend(monthly_spend_limit)

    def _limit_spend(self, monthly_usd: int) -> None:
        """The account's SMS spend limit a month (SNS's MonthlySpendLimit): past it SNS sends no
        more texts, whatever a journey does. It must not exceed the account's SMS quota."""
        attributes = {"attributes": {"MonthlySpendLimit": str(monthly_usd)}}
        call = cr.AwsSdkCall(
            service="SNS",
            action="setSMSAttributes",
            parameters=attributes,
            physical_resource_id=cr.PhysicalResourceId.of("postventa-sms-spend-limit"),
        )
        # Its own role, writing to its own log group only (not the managed basic execution role).
        role = iam.Role(self, "SmsSpendLimitRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        logs = log_group(self, "SmsSpendLimitLogs")
        logs.grant_write(role)
        limit = cr.AwsCustomResource(
            self,
            "SmsSpendLimit",
            on_create=call,
            on_update=call,
            role=role,
            log_group=logs,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["sns:SetSMSAttributes"], resources=["*"])]
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            limit, {"IAM5[Resource::*]": "sns:SetSMSAttributes is an account setting: it has no resource"}
        )
