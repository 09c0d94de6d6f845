"""The SMS channel's own resources: the two-way topic End User Messaging SMS publishes replies
(STOP, START) to, and the account's monthly SMS spend limit when the shop sets one.

Push has nothing here: AWS End User Messaging push applications (with the shop's APNs and FCM
keys) are made outside CloudFormation now that AWS::Pinpoint::App is sunset; the stack takes
the application's id as the pushApplicationId context value."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_logs_destinations as logs_destinations
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
        self._monthly_spend_limit = monthly_spend_limit

    def report_delivery_to(self, handler: lambda_.IFunction, *, undelivered: sqs.IQueue) -> None:
        """SNS logs every text's delivery status to CloudWatch Logs (DeliveryStatusIAMRole, all
        successes sampled) in two groups it names by region and account; the stack makes them
        (so they exist before the first text and keep a year) and subscribes the handler to both.
        End User Messaging SMS puts each text's status on the default bus itself: a rule takes its
        final ones to the same handler (retried a day, then kept in `undelivered`)."""
        stack = Stack.of(self)
        events.Rule(
            self,
            "TextStatusEvents",
            event_bus=events.EventBus.from_event_bus_name(self, "DefaultBus", "default"),
            description="AWS End User Messaging SMS's final statuses of texts (delivered or failed)",
            event_pattern=events.EventPattern(
                source=["aws.sms-voice"],
                detail_type=["Text Message Delivery Status Updated"],
                detail={"isFinal": [True]},
            ),
            targets=[
                targets.LambdaFunction(
                    handler,
                    dead_letter_queue=undelivered,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        writer = iam.Role(self, "SmsDeliveryLogsRole", assumed_by=iam.ServicePrincipal("sns.amazonaws.com"))
        for construct_id, suffix in (("SmsDelivered", ""), ("SmsFailed", "/Failure")):
            group = logs.LogGroup(
                self,
                construct_id,
                log_group_name=f"sns/{stack.region}/{stack.account}/DirectPublishToPhoneNumber{suffix}",
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=RemovalPolicy.DESTROY,
            )
            group.grant_write(writer)
            writer.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:PutMetricFilter", "logs:PutRetentionPolicy"],
                    resources=[group.log_group_arn],
                )
            )
            group.add_subscription_filter(
                f"{construct_id}ToHandler",
                destination=logs_destinations.LambdaDestination(handler),
                filter_pattern=logs.FilterPattern.all_events(),
            )
        acknowledge(
            writer,
            {
                "IAM5[Resource::<ChannelsSmsDelivered*.Arn>:*]": "SNS writes log streams it names itself in our two delivery-status groups"
            },
        )
        attributes = {
            "DeliveryStatusIAMRole": writer.role_arn,
            "DeliveryStatusSuccessSamplingRate": "100",
            **(
                {"MonthlySpendLimit": str(self._monthly_spend_limit)}
                if self._monthly_spend_limit is not None
                else {}
            ),
        }
        self._set_sms_attributes(attributes, writer)

    def _set_sms_attributes(self, attributes: dict[str, str], writer: iam.IRole) -> None:
        """SNS's account-wide SMS settings: delivery-status logging, and the monthly spend limit
        when the shop sets one (past it SNS sends no more texts, whatever a journey does; it must
        not exceed the account's SMS quota)."""
        call = cr.AwsSdkCall(
            service="SNS",
            action="setSMSAttributes",
            parameters={"attributes": attributes},
            physical_resource_id=cr.PhysicalResourceId.of("postventa-sms-spend-limit"),
        )
        # Its own role, writing to its own log group only (not the managed basic execution role).
        role = iam.Role(self, "SmsSpendLimitRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        call_logs = log_group(self, "SmsSpendLimitLogs")
        call_logs.grant_write(role)
        limit = cr.AwsCustomResource(
            self,
            "SmsSpendLimit",
            on_create=call,
            on_update=call,
            role=role,
            log_group=call_logs,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(actions=["sns:SetSMSAttributes"], resources=["*"]),
                    iam.PolicyStatement(actions=["iam:PassRole"], resources=[writer.role_arn]),
                ]
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            limit, {"IAM5[Resource::*]": "sns:SetSMSAttributes is an account setting: it has no resource"}
        )
