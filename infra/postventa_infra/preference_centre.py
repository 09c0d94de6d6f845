"""The preference centre's HTTP API: the signed pages customers reach from a message (preferences,
one-click unsubscribe, survey answers) and Shopify's compliance webhooks, in front of one Lambda;
and, when a journey sends to it, the app inbox, in front of its own."""

from __future__ import annotations

import json

from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from postventa_infra.log_groups import log_group
from postventa_infra.nag import acknowledge
from postventa_infra.stable_ids import keep_logical_id

# Every route handlers/preferences.py serves (a test compares the two).
PREFERENCE_ROUTES = {
    "/preferences": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/unsubscribe": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/nps": [apigateway.HttpMethod.GET, apigateway.HttpMethod.POST],
    "/shopify/compliance": [apigateway.HttpMethod.POST],
}
# Every route handlers/inbox.py serves.
INBOX_ROUTES = {
    "/inbox": [apigateway.HttpMethod.GET],
    "/inbox/read": [apigateway.HttpMethod.POST],
}
# The API's logical id from before it had a construct of its own: a new one would replace the
# API, and with it the address of every link in every message already sent.


class PreferenceCentre(Construct):
    """The HTTP API in front of the preference centre's Lambda, with access logs and throttling."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.IFunction):
        super().__init__(scope, construct_id)
        api = apigateway.HttpApi(self, "Api", create_default_stage=False)
        keep_logical_id(api)
        integration = HttpLambdaIntegration("Preferences", function)
        for path, methods in PREFERENCE_ROUTES.items():
            api.add_routes(path=path, methods=methods, integration=integration)
        access_logs = log_group(self, "AccessLogs")
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
        self.api = api
        self.url = stage.url  # ends in "/": LinkSigner trims it
        acknowledge(
            api,
            {
                "APIG4": "Customers reach these pages from an email without an account: each request carries a "
                "per-customer HMAC-signed, expiring token that the handler verifies before reading or changing anything; "
                "the app inbox's requests carry the shop backend's HMAC of the signed-in customer's id, verified alike",
            },
        )

    def serve_inbox(self, function: lambda_.IFunction) -> None:
        integration = HttpLambdaIntegration("Inbox", function)
        for path, methods in INBOX_ROUTES.items():
            self.api.add_routes(path=path, methods=methods, integration=integration)
