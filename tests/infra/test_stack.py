"""The synthesized stack, asserted with aws_cdk.assertions; cdk-nag and cfn-lint gate it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from postventa.composition import SETTINGS_USED
from postventa.journeys.compiler import compile_journey
from postventa.journeys.library import Library
from postventa.models.events import DetailType
from postventa.models.settings import Settings
from tests.conftest import ROOT, SHOP
from tests.infra.conftest import CAMPAIGN_LINKS, SHOPIFY_SOURCE

pytestmark = pytest.mark.xdist_group("infra")  # one worker, one synth


def resources(template, kind: str) -> dict:
    return template.find_resources(kind)


def test_custom_bus_and_rule_route_every_contract_event_to_the_ingest_queue(template):
    template.has_resource_properties("AWS::Events::EventBus", {"Name": "postventa"})
    # Ours, the default library's declared events, and the shop folder's own (events/shop).
    declared = [
        "Back In Stock",
        "Product Viewed",
        "Subscription Renewal Scheduled",
        "Subscription Cancelled",
        "Subscription Payment Failed",
        "Subscription Renewed",
        "Points Expiring",
    ]
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {"detail-type": [*(member.value for member in DetailType), *declared]},
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                        "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
                    }
                )
            ],
        },
    )


def test_shopify_partner_events_reach_the_ingest_queue_for_the_topics_postventa_reads(template):
    (rule,) = [
        rule
        for rule in resources(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventBusName") == SHOPIFY_SOURCE
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["shopifyWebhook"]
    assert set(pattern["detail"]["metadata"]["X-Shopify-Topic"]) == {
        "orders/create",
        "orders/fulfilled",
        "orders/cancelled",
        "refunds/create",
        "customers/update",
        "customers_marketing_consent/update",
        "customers_email_marketing_consent/update",
        "checkouts/create",
        "checkouts/update",
    }


def test_queues_are_encrypted_and_the_ingest_queue_redrives(template):
    queues = resources(template, "AWS::SQS::Queue")
    # ingest, engagement, consent, and twelve dead-letter queues (archive pipe, scoring and
    # audiences schedules, SMS status, calls, consent...)
    assert len(queues) == 15
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    redriven = [q for q in queues.values() if "RedrivePolicy" in q["Properties"]]
    assert len(redriven) == 3 and {r["Properties"]["RedrivePolicy"]["maxReceiveCount"] for r in redriven} == {
        5
    }
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": 10,
            "ScalingConfig": {"MaximumConcurrency": 20},
        },
    )


def test_tables_have_recovery_encryption_and_ttl(template):
    tables = resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == 2
    for table in tables.values():
        properties = table["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert (
            properties["SSESpecification"]["SSEEnabled"] is True
            and "KMSMasterKeyId" in properties["SSESpecification"]
        )
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [Match.object_like({"IndexName": "gsi1"})],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "DeletionProtectionEnabled": True,
        },
    )


def test_functions_are_traced_on_the_checked_runtime_with_typed_settings(template):
    functions = {
        name: f["Properties"]
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler", "").startswith("postventa.")
    }
    assert sorted(p["Handler"] for p in functions.values()) == [
        "postventa.backtest.backtest_merge.lambda_handler",
        "postventa.backtest.backtest_replay.lambda_handler",
        "postventa.handlers.archive.lambda_handler",
        "postventa.handlers.export_audiences.lambda_handler",  # the library names audiences
        "postventa.handlers.inbox.lambda_handler",  # a journey sends to the app inbox
        "postventa.handlers.occasions.lambda_handler",
        "postventa.handlers.on_engagement.lambda_handler",
        "postventa.handlers.on_order.lambda_handler",
        "postventa.handlers.on_sms_status.lambda_handler",
        "postventa.handlers.preferences.lambda_handler",
        "postventa.handlers.record_winners.lambda_handler",
        "postventa.handlers.register_wait.lambda_handler",
        "postventa.handlers.rotate_link_key.lambda_handler",
        "postventa.handlers.run_step.lambda_handler",
        "postventa.handlers.score_batch.lambda_handler",
        "postventa.handlers.score_fit.lambda_handler",
        "postventa.handlers.write_consent.lambda_handler",  # the shop set up shopifyAdmin
    ]
    for properties in functions.values():
        assert properties["Runtime"] == "python3.13" and properties["Architectures"] == ["x86_64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        variables = properties["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == "postventa"
        # Only the settings the function reads (composition.SETTINGS_USED), the table's name among them.
        module = properties["Handler"].split(".")[2]
        backtest = properties["Handler"].startswith("postventa.backtest.")
        given = {name for name in variables if name.startswith("POSTVENTA_")}
        reads = {f"POSTVENTA_{name.upper()}" for name in SETTINGS_USED[module]}
        assert given <= reads, module
        assert ("POSTVENTA_TABLE_NAME" in given) == ("table_name" in SETTINGS_USED[module]), module
        scoring = properties["Handler"].startswith(
            ("postventa.handlers.score_", "postventa.handlers.record_winners")
        )
        # numpy and scipy only where they are used; JSONata for the backtest's engine only
        assert len(properties["Layers"]) == (2 if scoring or backtest else 1)


def _resolve_joined(value, names: dict[str, str]):
    """Turn a Fn::Join of literal strings and Fn::GetAtt references back into text with placeholders."""
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else names[p["Fn::GetAtt"][0]] for p in parts)


def test_each_journey_is_a_standard_state_machine_running_the_compiled_asl(template):
    functions = resources(template, "AWS::Lambda::Function")
    names = {}
    for logical_id, function in functions.items():
        handler = function["Properties"].get("Handler", "")
        if handler.endswith("run_step.lambda_handler"):
            names[logical_id] = "RUN_STEP"
        elif handler.endswith("register_wait.lambda_handler"):
            names[logical_id] = "REGISTER_WAIT"
    journeys = Library(SHOP).journeys()
    assert "vip-thanks" in journeys  # the shop's own, beside the defaults
    machines = {
        m["Properties"]["StateMachineName"]: m["Properties"]
        for m in resources(template, "AWS::StepFunctions::StateMachine").values()
    }
    assert sorted(machines) == sorted(
        [*(f"postventa-{name}" for name in journeys), "postventa-scoring", "postventa-backtest"]
    )
    for name, journey in journeys.items():
        properties = machines[f"postventa-{name}"]
        assert properties["StateMachineType"] == "STANDARD"
        assert properties["TracingConfiguration"] == {"Enabled": True}
        assert properties["LoggingConfiguration"]["Level"] == "ALL"
        assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
        deployed = json.loads(_resolve_joined(properties["DefinitionString"], names))
        assert deployed == compile_journey(
            journey, run_step_arn="RUN_STEP", register_wait_arn="REGISTER_WAIT"
        ), name


def test_least_privilege_for_starting_stopping_and_sending(template):
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::IAM::Policy").values()
    ]
    statements = [s for statements in policies for s in statements]
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {
        "states:StartExecution",
        "states:StopExecution",
        "states:SendTaskSuccess",
        "ses:SendEmail",
    } <= actions
    assert not any(a.endswith(":*") for a in actions), "no service-wide wildcards"
    send = next(s for s in statements if s["Action"] == "ses:SendEmail")
    assert len(send["Resource"]) == 2  # the sender identity and the configuration set, nothing else
    roles = resources(template, "AWS::IAM::Role")
    assert not any(
        "ManagedPolicyArns" in r["Properties"] for r in roles.values() if "lambda" in json.dumps(r)
    )


def test_alarms_cover_dead_letters_failed_journeys_errors_and_the_guarantee(template):
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms.values())
    assert metrics == sorted(
        ["ApproximateNumberOfMessagesVisible"] * 12
        + ["Errors"] * 15  # every function but the backtest's (a tool: its CLI reports their failures)
        + ["ExecutionsFailed"] * (len(Library(SHOP).journeys()) + 1)  # every journey and the scoring job
        + ["CeilingReached", "EventDeadLettered", "Message_failed", "ShopRedactRequested", "StepFailed"]
    )
    guarantee = [a for a in alarms.values() if a["Properties"].get("Namespace") == "Postventa"]
    assert {tuple(d["Value"] for d in a["Properties"]["Dimensions"]) for a in guarantee} == {("postventa",)}
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_template_passes_cfn_lint(synthesized):
    from cfnlint.api import ManualArgs, lint_file

    path, _ = synthesized
    # W3005: CDK itself adds DependsOn on each function's role next to the Role GetAtt; harmless.
    matches = lint_file(path, config=ManualArgs(ignore_checks=["W3005"]))
    assert [str(m) for m in matches] == []


def test_cdk_nag_fails_the_synth_on_an_unacknowledged_finding():
    app = App()
    stack = Stack(app, "Insecure")
    sqs.Queue(stack, "PlainQueue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-SQS2"):
        app.synth()


def test_occasions_run_every_five_minutes_with_the_scheduled_time_and_may_only_publish_to_our_bus(template):
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(5 minutes)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": Match.object_like(
                {
                    "Input": '{"scheduled_time": "<aws.scheduler.scheduled-time>"}',
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                }
            ),
        },
    )
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::IAM::Policy").values()
    ]
    put_events = [s for statements in policies for s in statements if s["Action"] == "events:PutEvents"]
    # occasions, the preference centre (survey answers; Shopify's requests; consent), run_step's
    # calls and on_engagement's consent, to the bus's ARN only
    assert len(put_events) == 7 and all("Fn::GetAtt" in s["Resource"] for s in put_events)


def test_a_call_destination_is_a_connection_an_api_destination_and_a_rule_from_the_bus(template):
    (connection,) = resources(template, "AWS::Events::Connection").values()
    auth = connection["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
    assert connection["Properties"]["AuthorizationType"] == "API_KEY"
    assert auth["ApiKeyName"] == "Authorization"
    # the key is resolved from the shop's secret at deploy: its value is never in the template
    assert "{{resolve:secretsmanager:postventa/helpdesk:SecretString:apiKey::}}" in json.dumps(auth)
    (destination,) = resources(template, "AWS::Events::ApiDestination").values()
    assert {
        key: destination["Properties"][key]
        for key in ("HttpMethod", "InvocationEndpoint", "InvocationRateLimitPerSecond")
    } == {
        "HttpMethod": "POST",
        "InvocationEndpoint": "https://helpdesk.example/api/v2/tickets",
        "InvocationRateLimitPerSecond": 2,
    }
    (rule,) = [
        r
        for r in resources(template, "AWS::Events::Rule").values()
        if "destination" in json.dumps(r["Properties"].get("EventPattern", {}))
    ]
    assert rule["Properties"]["EventPattern"] == {
        "source": ["postventa.actions"],
        "detail-type": ["Action Requested"],
        "detail": {"destination": ["helpdesk"]},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["InputPath"] == "$.detail"  # the call's detail is the request body
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert "DeadLetterConfig" in target and "Fn::GetAtt" in json.dumps(target["Arn"])
    run_step = next(
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Environment"]["Variables"].get("POSTVENTA_CALL_DESTINATIONS")
    )
    assert run_step["Properties"]["Environment"]["Variables"]["POSTVENTA_CALL_DESTINATIONS"] == '["helpdesk"]'
    statements = [
        s
        for p in resources(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Condition", {}).get("StringEquals", {}).get("events:source") == "postventa.actions"
    ]
    assert [s["Condition"]["StringEquals"]["events:detail-type"] for s in statements] == ["Action Requested"]


def test_ses_engagement_reaches_the_engagement_queue_for_our_configuration_set_only(template):
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": Match.any_value(),
            "EventDestination": Match.object_like(
                {
                    "Enabled": True,
                    "EventBridgeDestination": {"EventBusArn": Match.any_value()},
                    "MatchingEventTypes": Match.array_with(["open", "click", "bounce", "complaint"]),
                }
            ),
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": "default",
            "EventPattern": Match.object_like(
                {
                    "source": ["aws.ses"],
                    "detail": {"mail": {"tags": {"ses:configuration-set": ["postventa"]}}},
                }
            ),
        },
    )


def test_the_preference_centre_is_an_http_api_with_logs_and_throttling(template):
    (stage,) = resources(template, "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    assert "querystring" not in properties["AccessLogSettings"]["Format"].lower()  # tokens stay out of logs
    routes = sorted(
        r["Properties"]["RouteKey"] for r in resources(template, "AWS::ApiGatewayV2::Route").values()
    )
    served = [
        route
        for handler in ("preferences", "inbox")
        for route in re.findall(
            r'@app\.(get|post)\("([^"]+)"\)',
            (ROOT / f"functions/postventa/handlers/{handler}.py").read_text(),
        )
    ]
    assert routes == sorted(f"{method.upper()} {path}" for method, path in served)
    assert "POST /nps" in routes and "POST /shopify/compliance" in routes and "GET /inbox" in routes


def test_the_app_inbox_has_its_own_function_and_key_and_reads_one_customers_partition(template):
    handler = "postventa.handlers.inbox.lambda_handler"
    (name,) = [
        name
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == handler
    ]
    integrations = [
        i["Properties"]["IntegrationUri"]
        for i in resources(template, "AWS::ApiGatewayV2::Integration").values()
        if name in json.dumps(i["Properties"]["IntegrationUri"])
    ]
    assert integrations  # the routes /inbox and /inbox/read reach it
    environment = resources(template, "AWS::Lambda::Function")[name]["Properties"]["Environment"]["Variables"]
    assert "HandlersInboxKey" in json.dumps(environment["POSTVENTA_INBOX_KEY_SECRET_ID"])
    assert "POSTVENTA_LINK_SIGNING_SECRET_ID" not in environment  # it signs nothing
    granted = sorted(
        action
        for policy, statement in _statements(template)
        if policy.startswith("HandlersInboxRole")
        for action in _listed(statement["Action"])
        if action.startswith(("dynamodb:", "states:", "secretsmanager:"))
    )
    assert granted == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "states:SendTaskSuccess",
    ]
    outputs = template.to_json()["Outputs"]
    assert "InboxKeySecretArn" in outputs and "AppInboxUrl" in outputs


def test_run_step_may_text_and_push_and_links_point_at_the_preference_centre(template):
    run_step = next(
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "postventa.handlers.run_step.lambda_handler"
    )
    environment = run_step["Environment"]["Variables"]
    assert environment["POSTVENTA_PUSH_APPLICATION_ID"] == "push-app-1234"
    assert "PreferenceCentre" in json.dumps(environment["POSTVENTA_LINKS_BASE_URL"])
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = {json.dumps(s["Action"]) for s in statements}
    assert {
        '"sns:Publish"',
        '"sns:CheckIfPhoneNumberIsOptedOut"',
        '"mobiletargeting:SendMessages"',
    } <= actions


def test_sms_replies_reach_the_engagement_queue_raw_and_encrypted(template):
    subscriptions = [
        s["Properties"]
        for s in resources(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "sqs"
    ]
    (replies,) = subscriptions
    assert replies["RawMessageDelivery"] is True  # on_engagement reads the reply itself
    assert "deadLetterTargetArn" in replies["RedrivePolicy"]  # a STOP SNS cannot deliver is kept
    topic = resources(template, "AWS::SNS::Topic")[replies["TopicArn"]["Ref"]]
    assert "KmsMasterKeyId" in topic["Properties"]


def test_a_contact_policy_or_sending_rate_that_does_not_parse_fails_the_synth():
    from pydantic import ValidationError

    from postventa_infra.stack import StackOptions

    StackOptions(
        contact_policy='{"marketing_per_week": 2, "quiet_from": "22:00"}', max_send_rate='{"sms": 5}'
    )
    with pytest.raises(ValidationError, match="marketing_per_wek"):
        StackOptions(contact_policy='{"marketing_per_wek": 2}')
    with pytest.raises(ValidationError, match="fax"):
        StackOptions(max_send_rate='{"fax": 5}')
    with pytest.raises(ValidationError, match=r"review_url: unknown \['product_name'\]"):
        StackOptions(campaign_links='{"review_url": "https://r.example/{product_name}"}')


def test_run_step_is_given_the_shops_campaign_links_as_its_settings_read_them(template):
    (run_step,) = [
        f["Properties"]["Environment"]["Variables"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "postventa.handlers.run_step.lambda_handler"
    ]
    configured = Settings(campaign_links=json.loads(run_step["POSTVENTA_CAMPAIGN_LINKS"])).campaign_links
    assert configured.review_url == CAMPAIGN_LINKS["review_url"]
    assert configured.utm == {"utm_source": "mail"}


def test_the_tables_changes_reach_firehose_through_a_filtered_pipe(template):
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}, "DeletionProtectionEnabled": True},
    )
    (pipe,) = resources(template, "AWS::Pipes::Pipe").values()
    source = pipe["Properties"]["SourceParameters"]
    patterns = [json.loads(f["Pattern"]) for f in source["FilterCriteria"]["Filters"]]
    kinds = [p["dynamodb"]["Keys"]["sk"]["S"] for p in patterns]
    assert kinds == [["ORDER"], [{"prefix": "MESSAGE#"}], [{"prefix": "DECISION#"}, {"prefix": "NPS#"}]]
    stream = source["DynamoDBStreamParameters"]
    assert stream["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT" and "DeadLetterConfig" in stream
    assert "Fn::GetAtt" in pipe["Properties"]["Target"]  # the delivery stream's ARN


def test_firehose_partitions_by_table_and_day_through_the_transform(template):
    (stream,) = resources(template, "AWS::KinesisFirehose::DeliveryStream").values()
    s3 = stream["Properties"]["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == "archive/!{partitionKeyFromLambda:table}/dt=!{partitionKeyFromLambda:dt}/"
    assert s3["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert s3["CompressionFormat"] == "GZIP" and "KMSEncryptionConfig" in s3["EncryptionConfiguration"]
    (processor,) = s3["ProcessingConfiguration"]["Processors"]
    assert processor["Type"] == "Lambda"
    assert (
        stream["Properties"]["DeliveryStreamEncryptionConfigurationInput"]["KeyType"]
        == "CUSTOMER_MANAGED_CMK"
    )
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({}),
        },
    )


def test_glue_tables_and_athena_queries_are_the_ones_the_report_uses_locally(template):
    from postventa.analytics.archive import TABLES
    from postventa.analytics.queries import NOW_IN_ATHENA, QUERIES, query_text

    tables = {
        t["Properties"]["TableInput"]["Name"]: t["Properties"]["TableInput"]
        for t in resources(template, "AWS::Glue::Table").values()
    }
    assert set(tables) == set(TABLES)
    for name, columns in TABLES.items():
        stored = tables[name]["StorageDescriptor"]["Columns"]
        assert [(c["Name"], c["Type"]) for c in stored] == [(c, glue_type) for c, _, glue_type in columns]
        assert tables[name]["Parameters"]["projection.enabled"] == "true"
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources(template, "AWS::Athena::NamedQuery").values()
    }
    assert {name: q["QueryString"] for name, q in queries.items()} == {
        f"postventa-{name}": query_text(name, NOW_IN_ATHENA) for name in QUERIES
    }
    (workgroup,) = resources(template, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"


def test_the_operations_dashboard_shows_events_sends_holds_dead_letters_and_errors(template):
    (board,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(board["Properties"]["DashboardBody"])
    for title in (
        "Events in",
        "Sends by channel",
        "Messages held back, by rule",
        "Dead-letter queues",
        "Errors",
    ):
        assert title in body
    for metric in (
        "EventsReceived",
        "Sent_email",
        "Sent_sms",
        "Sent_push",
        "Held_quiet_hours",
        "Held_min_gap",
    ):
        assert metric in body


def test_the_daily_scoring_job_summarizes_in_athena_fits_once_and_fans_out_batches(template):
    from postventa.analytics.queries import NOW_IN_ATHENA, query_text

    (machine,) = [
        m["Properties"]
        for m in resources(template, "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"] == "postventa-scoring"
    ]
    parts = machine["DefinitionString"]["Fn::Join"][1]
    definition = json.loads(
        "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    )  # refs as placeholders
    summarize = definition["States"]["Summarize customers"]
    assert summarize["Resource"].endswith(":states:::athena:startQueryExecution.sync")
    assert summarize["Parameters"]["QueryString"] == query_text("summary", NOW_IN_ATHENA)
    assert definition["States"]["Summarize customers"]["Next"] == "Fit the model"
    score = definition["States"]["Score every customer"]
    assert score["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert score["ItemReader"]["ReaderConfig"] == {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"}
    assert score["ItemReader"]["Parameters"]["Key.$"] == "$.fit.key"  # the summary Athena wrote
    assert score["ItemBatcher"] == {
        "MaxItemsPerBatch": 500,
        "BatchInput": {"model_key.$": "$.fit.model_key", "scored_at.$": "$$.Execution.StartTime"},
    }
    assert score["MaxConcurrency"] == 10
    # then the A/B tests: Athena counts the journeys' conversions, a Lambda records the winners
    assert score["Next"] == "Count conversions"
    conversions = definition["States"]["Count conversions"]
    assert conversions["Parameters"]["QueryString"] == query_text("conversions", NOW_IN_ATHENA)
    assert conversions["Next"] == "Record winners"
    record = definition["States"]["Record winners"]
    assert record["Parameters"]["Payload"]["decided_at.$"] == "$$.Execution.StartTime"
    assert record["Parameters"]["Payload"]["key.$"].startswith("States.Format('athena-results/{}.csv'")
    (schedule,) = [
        s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    ]
    assert schedule["Target"]["Arn"]["Ref"].startswith("ScoringMachine")
    assert "DeadLetterConfig" in schedule["Target"]


def test_the_backtest_on_aws_maps_a_runs_partitions_to_workers_then_merges(template):
    from postventa_infra.backtest import CONCURRENT_PARTITIONS

    (machine,) = [
        m["Properties"]
        for m in resources(template, "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"] == "postventa-backtest"
    ]
    parts = machine["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))
    assert definition["StartAt"] == "Replay every partition"
    fan_out = definition["States"]["Replay every partition"]
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    # The partitions the CLI uploaded, listed under the prefix its execution input names.
    assert fan_out["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert fan_out["ItemReader"]["Parameters"]["Prefix.$"] == "$.partitions"
    assert fan_out["ItemSelector"] == {"run_id.$": "$.run_id", "key.$": "$$.Map.Item.Value.Key"}
    assert fan_out["MaxConcurrency"] == CONCURRENT_PARTITIONS
    assert fan_out.get("ToleratedFailurePercentage", 0) == 0  # ASL's default: one failed worker fails the run
    assert fan_out["ResultPath"] is None and fan_out["Next"] == "Merge the tallies"
    (worker_state,) = fan_out["ItemProcessor"]["States"].values()
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in worker_state["Retry"])
    assert definition["States"]["Merge the tallies"]["Parameters"] == {"run_id.$": "$.run_id"}
    functions = {
        f["Properties"]["Handler"]: f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if "Handler" in f["Properties"]
    }
    worker = functions["postventa.backtest.backtest_replay.lambda_handler"]
    assert worker["Timeout"] == 900 and worker["MemorySize"] == 2048
    assert worker["EphemeralStorage"] == {"Size": 2048}
    outputs = template.to_json()["Outputs"]
    assert "BacktestStateMachineArn" in outputs and "ArchiveBucketName" in outputs
    archive = template.to_json()["Resources"][outputs["ArchiveBucketName"]["Value"]["Ref"]][
        "Properties"
    ]  # where the runs' files are: the archive's KMS key, access logs, TLS only
    assert "KMSMasterKeyID" in json.dumps(archive["BucketEncryption"]) and "LoggingConfiguration" in archive
    rules = archive["LifecycleConfiguration"]["Rules"]
    assert {"Prefix": "backtests/", "ExpirationInDays": 30, "Status": "Enabled"} in rules


def test_the_backtest_workers_read_a_run_and_write_only_their_results(template):
    for role, writes in (
        ("HandlersBacktestReplayRole", "tallies/*"),
        ("HandlersBacktestMergeRole", "report.json"),
    ):
        statements = [s for name, s in _statements(template) if name.startswith(role)]
        puts = [s for s in statements if any(a.startswith("s3:PutObject") for a in _listed(s["Action"]))]
        assert puts and all(
            json.dumps(r).endswith(f'/backtests/*/{writes}"]]}}')
            for s in puts
            for r in _listed(s["Resource"])
        ), puts
        s3_actions = {a for s in statements for a in _listed(s["Action"]) if a.startswith("s3:")}
        assert not {a for a in s3_actions if a.startswith("s3:Delete") or a.startswith("s3:Create")}
        for statement in statements:
            if any(a.startswith("s3:") for a in _listed(statement["Action"])):
                assert "*" not in _listed(statement["Resource"])
        dynamodb = {a for s in statements for a in _listed(s["Action"]) if a.startswith("dynamodb:")}
        assert not dynamodb  # a backtest never touches the live customers' table


# Actions that name no resource in IAM (the service authorizes them on "*" only).
NO_RESOURCE_LEVEL = {
    "sns:SetSMSAttributes",  # an account setting
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "dynamodb:ListStreams",
    "lakeformation:GetDataAccess",
    "sns:CheckIfPhoneNumberIsOptedOut",
    "secretsmanager:GetRandomPassword",
}


def _statements(template) -> list[tuple[str, dict]]:
    found = []
    for name, resource in {
        **resources(template, "AWS::IAM::Policy"),
        **resources(template, "AWS::IAM::Role"),
    }.items():
        properties = resource["Properties"]
        documents = [properties.get("PolicyDocument")] + [
            p["PolicyDocument"] for p in properties.get("Policies", [])
        ]
        found += [
            (name, statement) for document in filter(None, documents) for statement in document["Statement"]
        ]
    return found


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def test_resource_star_is_granted_only_for_actions_that_name_no_resource(template):
    starred = {
        (name, action)
        for name, statement in _statements(template)
        if "*" in _listed(statement.get("Resource", []))
        for action in _listed(statement["Action"])
    }
    assert starred and {action for _, action in starred} <= NO_RESOURCE_LEVEL, sorted(
        (name, action) for name, action in starred if action not in NO_RESOURCE_LEVEL
    )


def test_the_internet_facing_function_reads_and_writes_one_item_and_publishes_only_its_own_events(template):
    statements = [s for name, s in _statements(template) if name.startswith("HandlersPreferencesRole")]
    actions = {action for s in statements for action in _listed(s["Action"])}
    assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:GetItem", "dynamodb:PutItem"}
    put_events = [s for s in statements if "events:PutEvents" in _listed(s["Action"])]
    assert sorted(tuple(s["Condition"]["StringEquals"].values()) for s in put_events) == [
        ("postventa.consent", "Consent Changed"),
        ("postventa.preferences", "Survey Answered"),
        ("postventa.shopify", "Customer Data Requested"),
        ("postventa.shopify", "Customer Erasure Requested"),
    ]


def test_stop_replies_are_said_on_our_bus_as_consent_changed_and_nothing_else(template):
    statements = [s for name, s in _statements(template) if name.startswith("HandlersOnEngagementRole")]
    put_events = [s for s in statements if "events:PutEvents" in _listed(s["Action"])]
    assert [s["Condition"]["StringEquals"] for s in put_events] == [
        {"events:source": "postventa.consent", "events:detail-type": "Consent Changed"}
    ]
    assert all(_listed(s["Resource"])[0]["Fn::GetAtt"][1] == "Arn" for s in put_events)


def test_sms_may_be_published_to_phone_numbers_only_never_to_a_topic(template):
    publishes = [s for _, s in _statements(template) if "sns:Publish" in _listed(s["Action"])]
    assert publishes and all(
        s.get("NotResource") == "arn:*:sns:*:*:*" and "Resource" not in s for s in publishes
    )


def test_recording_winners_may_put_experiment_items_only(template):
    statements = [s for name, s in _statements(template) if name.startswith("HandlersRecordWinnersRole")]
    dynamodb = [s for s in statements if any(a.startswith("dynamodb:") for a in _listed(s["Action"]))]
    assert [_listed(s["Action"]) for s in dynamodb] == [["dynamodb:PutItem"]]
    assert dynamodb[0]["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EXPERIMENT#*"]}}


def test_the_scoring_job_touches_only_its_bucket_prefixes_and_creates_nothing(template):
    statements = [s for name, s in _statements(template) if name.startswith("ScoringMachineRole")]
    actions = {action for s in statements for action in _listed(s["Action"])}
    assert not {
        a
        for a in actions
        if a.startswith("s3:Create") or a.startswith("glue:Create") or a.startswith("glue:Delete")
    }
    for statement in statements:
        if any(a.startswith("s3:") for a in _listed(statement["Action"])):
            assert "*" not in _listed(statement["Resource"])


def test_dkim_records_are_stack_outputs_and_a_custom_mail_from_is_a_context_value():
    from postventa_infra.app import FEATURE_FLAGS
    from postventa_infra.stack import PostventaStack, StackOptions

    app = App(
        context={**FEATURE_FLAGS, "mailFromDomain": "mail.shop.example", "senderDomain": "shop.example"}
    )
    stack = PostventaStack(app, "Mail", options=StackOptions.from_context(app.node))
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert {"DkimRecord1", "DkimRecord2", "DkimRecord3", "MailFromMxRecord", "MailFromSpfRecord"} <= set(
        outputs
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::SES::EmailIdentity", {"MailFromAttributes": {"MailFromDomain": "mail.shop.example"}}
    )


def test_the_archive_expires_after_its_retention_and_messages_carry_theirs(template):
    (bucket,) = [
        b["Properties"]
        for b in resources(template, "AWS::S3::Bucket").values()
        if "LoggingConfiguration" in b["Properties"]  # the archive; its access-log bucket has none
    ]
    archive_rule = next(r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "archive/")
    assert archive_rule["ExpirationInDays"] == 1095
    run_step = next(
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "postventa.handlers.run_step.lambda_handler"
    )
    assert run_step["Environment"]["Variables"]["POSTVENTA_MESSAGE_RETENTION_DAYS"] == "730"


def test_an_sms_spend_limit_is_set_and_alarm_mail_that_bounces_is_kept_when_given():
    from postventa_infra.app import build_app

    context = {"smsMonthlySpendLimit": "50", "alarmEmail": "ops@shop.example"}
    assembly = build_app(context).synth()  # cdk-nag runs: true reasons only
    template = json.loads(Path(assembly.get_stack_by_name("Postventa").template_full_path).read_text())
    (limit,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::AWS"]
    create = json.loads(joined(limit["Properties"]["Create"]))
    assert create["action"] == "setSMSAttributes"
    attributes = create["parameters"]["attributes"]
    assert (
        attributes["MonthlySpendLimit"] == "50" and attributes["DeliveryStatusSuccessSamplingRate"] == "100"
    )
    (mail,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SNS::Subscription" and r["Properties"]["Protocol"] == "email"
    ]
    assert "deadLetterTargetArn" in mail["RedrivePolicy"]


def test_resources_that_moved_into_their_own_construct_keep_their_logical_ids(synthesized):
    """A new logical id would replace them: the links already sent, the shop's DKIM records and
    the Shopify secret's value would all be lost."""
    from postventa_infra.stable_ids import KEPT

    _, template = synthesized
    assert set(KEPT.values()) <= set(template["Resources"])


def test_the_backtests_cost_model_pays_for_the_stacks_own_kms_keys(template):
    from postventa.backtest.cost import STACK_KMS_KEYS

    assert len(resources(template, "AWS::KMS::Key")) == STACK_KMS_KEYS


def test_a_shop_folder_that_does_not_validate_fails_the_synth_with_the_validators_words(tmp_path):
    import shutil

    from postventa_infra.app import build_app

    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    vip = shop / "journeys" / "vip-thanks.yaml"
    vip.write_text(vip.read_text().replace("customer.orders_count", "custmer.orders_count"))
    with pytest.raises(
        ValueError, match=r"unknown field custmer\.orders_count; did you mean customer\.orders_count\?"
    ):
        build_app({"journeysDir": str(shop)})


def joined(value) -> str:
    """A template string that may be an Fn::Join of strings and references: the references as "REF"."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return separator.join(part if isinstance(part, str) else "REF" for part in parts)


def test_sns_logs_each_texts_delivery_status_to_groups_whose_subscription_reaches_on_sms_status(template):
    groups = {
        name: r["Properties"]
        for name, r in resources(template, "AWS::Logs::LogGroup").items()
        if "DirectPublishToPhoneNumber" in json.dumps(r["Properties"].get("LogGroupName", ""))
    }
    names = sorted(joined(g["LogGroupName"]) for g in groups.values())
    assert names == [
        "sns/REF/REF/DirectPublishToPhoneNumber",
        "sns/REF/REF/DirectPublishToPhoneNumber/Failure",
    ]
    assert all(g["RetentionInDays"] == 365 for g in groups.values())
    filters = resources(template, "AWS::Logs::SubscriptionFilter").values()
    assert sorted(f["Properties"]["LogGroupName"]["Ref"] for f in filters) == sorted(groups)
    (status,) = [
        name
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "postventa.handlers.on_sms_status.lambda_handler"
    ]
    assert all(f["Properties"]["DestinationArn"] == {"Fn::GetAtt": [status, "Arn"]} for f in filters)
    (setting,) = [r for r in resources(template, "Custom::AWS").values()]
    attributes = json.loads(joined(setting["Properties"]["Create"]))["parameters"]["attributes"]
    assert attributes == {"DeliveryStatusIAMRole": "REF", "DeliveryStatusSuccessSamplingRate": "100"}
    (invoke,) = resources(template, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2
    assert "OnFailure" in invoke["Properties"]["DestinationConfig"]


def test_end_user_messagings_final_text_statuses_on_the_default_bus_reach_on_sms_status(template):
    (status,) = [
        name
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "postventa.handlers.on_sms_status.lambda_handler"
    ]
    (rule,) = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.sms-voice"]
    ]
    assert rule["EventBusName"] == "default"
    assert rule["EventPattern"] == {
        "source": ["aws.sms-voice"],
        "detail-type": ["Text Message Delivery Status Updated"],
        "detail": {"isFinal": [True]},
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [status, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert "Arn" in target["DeadLetterConfig"]
    # it resumes the journey's wait for Message Undelivered: only our state machines' tasks
    role = template.to_json()["Resources"][status]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (resume,) = [s for s in statements if s["Action"] == "states:SendTaskSuccess"]
    assert all("stateMachine" in json.dumps(arn) for arn in resume["Resource"])


def test_consent_changed_reaches_write_consent_through_its_queue_and_only_it_reads_the_admin_token(template):
    rules = [
        rule["Properties"]
        for rule in resources(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventPattern", {}).get("detail-type") == ["Consent Changed"]
    ]
    (rule,) = rules
    assert rule["EventPattern"]["source"] == ["postventa.consent"]
    ((target,),) = [r["Targets"] for r in rules]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    (function,) = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "postventa.handlers.write_consent.lambda_handler"
    ]
    environment = function["Environment"]["Variables"]
    assert environment["POSTVENTA_SHOPIFY_ADMIN_URL"] == (
        "https://postventa-demo.myshopify.com/admin/api/2026-10/graphql.json"
    )
    assert environment["POSTVENTA_SHOPIFY_ADMIN_TOKEN_SECRET_ID"] == "postventa/shopify-admin-token"
    (mapping,) = [
        m["Properties"]
        for m in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"]["Ref"].startswith("HandlersWriteConsent")
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    readers = {
        name
        for name, statement in _statements(template)
        if "secretsmanager:GetSecretValue" in _listed(statement["Action"])
        and "shopify-admin-token" in json.dumps(statement["Resource"])
    }
    assert {name.split("Role")[0] for name in readers} == {"HandlersWriteConsent"}


def test_audiences_are_exported_daily_by_a_function_that_only_scans_the_table_and_writes_under_audiences(
    template,
):
    (schedule,) = [
        s["Properties"]
        for s in resources(template, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["ScheduleExpression"] == "cron(0 9 * * ? *)"
    ]
    assert schedule["Target"]["Arn"]["Fn::GetAtt"][0].startswith("HandlersExportAudiences")
    assert schedule["Target"]["Input"] == '{"scheduled_time": "<aws.scheduler.scheduled-time>"}'
    assert "DeadLetterConfig" in schedule["Target"]
    granted = [
        (action, statement)
        for name, statement in _statements(template)
        if name.startswith("HandlersExportAudiencesRole")
        for action in _listed(statement["Action"])
        if action.startswith(("dynamodb:", "s3:"))
    ]
    assert sorted(action for action, _ in granted) == [
        "dynamodb:Scan",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ]
    for action, statement in granted:
        if action == "s3:ListBucket":
            assert statement["Condition"] == {"StringLike": {"s3:prefix": ["audiences/*"]}}
        elif action.startswith("s3:"):
            assert json.dumps(statement["Resource"]).endswith('"/audiences/*"]]}')
    (bucket,) = [
        b["Properties"]
        for b in resources(template, "AWS::S3::Bucket").values()
        if "LifecycleConfiguration" in b["Properties"]
        and "BucketEncryption" in b["Properties"]
        and any(r.get("Prefix") == "exports/" for r in b["Properties"]["LifecycleConfiguration"]["Rules"])
    ]
    rules = {r.get("Prefix"): r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["audiences/"]["ExpirationInDays"] == 30


def test_a_shop_declaring_many_events_gets_more_rules_each_within_the_pattern_quota():
    from postventa_infra.ingest import EVENT_PATTERN_LIMIT, detail_type_groups

    names = [f"Shop Event Number {number}" for number in range(200)]
    groups = detail_type_groups(names)
    assert len(groups) > 1 and [name for group in groups for name in group] == names
    assert all(len(json.dumps({"detail-type": group})) <= EVENT_PATTERN_LIMIT for group in groups)
    assert detail_type_groups(names[:3]) == [names[:3]]
