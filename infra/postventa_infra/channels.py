"""What SMS and the preference centre need beyond the handlers: the two-way SMS topic (STOP
replies), and the HTTP API that serves the signed preference pages.

Push has nothing here: AWS End User Messaging push applications (with the shop's APNs and FCM
keys) are made outside CloudFormation now that AWS::Pinpoint::App is sunset; the stack takes
the application's id as the pushApplicationId context value."""

from __future__ import annotations

import json

from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from postventa_infra.ingest import queue
from postventa_infra.log_groups import log_group

# Every route handlers/preferences.py serves (a test compares the two).
PREFERENCE_ROUTES = {
    "/preferences": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/unsubscribe": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/nps": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/shopify/compliance": [apigateway.HttpMethod.POST],
}


class Channels(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, replies_queue: sqs.IQueue):
        super().__init__(scope, construct_id)
        # End User Messaging SMS publishes replies to this topic (set it as the number's two-way
        # channel); raw delivery puts the reply itself in on_engagement's queue.
        key = kms.Key(self, "RepliesKey", enable_key_rotation=True, description="Encrypts SMS replies")
        sms_service = iam.ServicePrincipal("sms-voice.amazonaws.com")
        key.grant_encrypt_decrypt(sms_service)
        self.sms_replies = sns.Topic(self, "SmsReplies", master_key=key, enforce_ssl=True)
        self.sms_replies.grant_publish(sms_service)
        # A reply SNS cannot deliver (a STOP among them) waits here, alarmed, instead of being lost.
        self.undelivered_replies = queue(self, "UndeliveredReplies")
        self.sms_replies.add_subscription(
            subscriptions.SqsSubscription(
                replies_queue, raw_message_delivery=True, dead_letter_queue=self.undelivered_replies
            )
        )

    def limit_sms_spend(self, monthly_usd: int) -> cr.AwsCustomResource:
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
        return cr.AwsCustomResource(
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

    def preference_centre(self, function: lambda_.IFunction) -> apigateway.HttpApi:
        """The HTTP API in front of the preference centre's Lambda, with access logs and throttling."""
        api = apigateway.HttpApi(self, "PreferenceCentre", create_default_stage=False)
        integration = HttpLambdaIntegration("Preferences", function)
        for path, methods in PREFERENCE_ROUTES.items():
            api.add_routes(path=path, methods=methods, integration=integration)
        access_logs = log_group(self, "PreferenceCentreAccessLogs")
        stage = apigateway.HttpStage(
            self,
            "DefaultStage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigateway.ThrottleSettings(rate_limit=50, burst_limit=100),
        )
        # no query strings in the access log: the signed tokens travel there
        stage.node.default_child.access_log_settings = apigateway.CfnStage.AccessLogSettingsProperty(  # type: ignore[union-attr]
            destination_arn=access_logs.log_group_arn,
            format=json.dumps(
                {
                    "requestId": "$context.requestId",
                    "time": "$context.requestTime",
                    "method": "$context.httpMethod",
                    "path": "$context.path",
                    "status": "$context.status",
                    "latency": "$context.responseLatency",
                }
            ),
        )
        self.preferences_url = stage.url  # ends in "/": LinkSigner trims it
        return api
