"""Builds the app; shared by `cdk synth` (infra/app.py) and the infrastructure tests."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from postventa_infra.stack import PostventaStack, StackOptions

# Feature flags the stack relies on, for the tests' apps as for cdk.json's: access logs are
# delivered under a bucket policy, not the legacy log-delivery ACL.
FEATURE_FLAGS = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}


def build_app(context: dict[str, Any] | None = None) -> App:
    app = App(context={**FEATURE_FLAGS, **(context or {})})
    options = StackOptions.from_context(app.node)
    PostventaStack(
        app, "Postventa", options=options, env=Environment(account=options.account, region=options.region)
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app
