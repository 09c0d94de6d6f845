"""The Postventa stack: events in, journeys, sends, state, alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from constructs import Construct, Node
from pydantic import TypeAdapter

from postventa.journeys.loader import load_journeys
from postventa.models.policy import ContactPolicy
from postventa.models.settings import Settings
from postventa_infra.analytics import Analytics
from postventa_infra.channels import Channels
from postventa_infra.handlers import Handlers
from postventa_infra.ingest import Ingest
from postventa_infra.journeys import JourneyMachines, state_machine_name
from postventa_infra.monitoring import NAMESPACE, SERVICE, Monitoring
from postventa_infra.schedules import OccasionSchedule
from postventa_infra.scoring import ScoringJob
from postventa_infra.storage import Storage

CONFIGURATION_SET = "postventa"
# Findings that recur on many roles, with one reason each.
XRAY = {
    "IAM5[Resource::*]": "X-Ray tracing: PutTraceSegments and PutTelemetryRecords have no resource-level permissions"
}
ARCHIVE_KEY_GRANTS = {
    "IAM5[Action::kms:GenerateDataKey*]": "CDK's key grant: data keys of our own archive key only",
    "IAM5[Action::kms:ReEncrypt*]": "CDK's key grant: re-encryption with our own archive key only",
}


@dataclass(frozen=True)
class StackOptions:
    """Set with `cdk deploy -c key=value` or in cdk.json's context."""

    account: str | None = None
    region: str | None = None
    sender_domain: str = "shop.example"
    mail_from_domain: str | None = None  # e.g. mail.shop.example: a subdomain of sender_domain
    sms_monthly_spend_limit: int | None = None  # USD a month for all SMS in the account (SNS)
    message_retention_days: int = 730  # messages, decisions, survey answers (DynamoDB TTL)
    archive_retention_days: int = 1095  # the analytics archive's rows (S3 lifecycle)
    sender: str = "Postventa Demo Shop <orders@shop.example>"
    links_base_url: str | None = None  # default: the preference centre's own API endpoint
    shop_name: str = "Postventa Demo Shop"
    support_email: str = "support@shop.example"
    default_timezone: str = "UTC"
    shopify_event_source: str | None = None
    alarm_email: str | None = None
    sms_sender_id: str | None = None
    push_application_id: str | None = None  # AWS End User Messaging push; none: no push channel
    contact_policy: str | None = None  # JSON, e.g. {"marketing_per_day": 2, "quiet_from": "22:00"}
    max_send_rate: str | None = None  # JSON, e.g. {"email": 50, "sms": 20}

    def __post_init__(self) -> None:
        # A mistake in these would surface only when run_step starts: refuse it at synth instead.
        if self.contact_policy:
            ContactPolicy.model_validate_json(self.contact_policy)
        if self.max_send_rate:
            TypeAdapter(Settings.model_fields["max_send_rate"].annotation).validate_json(self.max_send_rate)
        for number in ("message_retention_days", "archive_retention_days", "sms_monthly_spend_limit"):
            if getattr(self, number) is not None:  # `-c` passes strings
                object.__setattr__(self, number, int(getattr(self, number)))
        if self.message_retention_days < 30:  # Settings' own bound: refused at synth, not at run time
            raise ValueError("messageRetentionDays: at least 30 (journeys read a month of messages)")

    @classmethod
    def from_context(cls, node: Node) -> StackOptions:
        keys = {
            "account": "account",
            "region": "region",
            "sender_domain": "senderDomain",
            "mail_from_domain": "mailFromDomain",
            "sms_monthly_spend_limit": "smsMonthlySpendLimit",
            "message_retention_days": "messageRetentionDays",
            "archive_retention_days": "archiveRetentionDays",
            "sender": "sender",
            "links_base_url": "linksBaseUrl",
            "shop_name": "shopName",
            "support_email": "supportEmail",
            "default_timezone": "defaultTimezone",
            "shopify_event_source": "shopifyEventSource",
            "alarm_email": "alarmEmail",
            "sms_sender_id": "smsSenderId",
            "push_application_id": "pushApplicationId",
            "contact_policy": "contactPolicy",
            "max_send_rate": "maxSendRate",
        }
        values: dict[str, Any] = {}
        for field, context_key in keys.items():
            value = node.try_get_context(context_key)
            if value:
                values[field] = json.dumps(value) if isinstance(value, dict) else value
        return cls(**values)


class PostventaStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, options: StackOptions, **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        journeys = load_journeys()
        storage = Storage(self, "Storage")
        ingest = Ingest(
            self,
            "Ingest",
            shopify_event_source=options.shopify_event_source,
            configuration_set=CONFIGURATION_SET,
        )

        identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(options.sender_domain),
            # A custom MAIL FROM (e.g. mail.shop.example) aligns SPF with the sender's domain for DMARC.
            mail_from_domain=options.mail_from_domain,
        )
        self._deliverability_outputs(identity, options)
        configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=CONFIGURATION_SET,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        configuration_set.add_event_destination(
            "Engagement",
            destination=ses.EventDestination.event_bus(ingest.default_bus),
            events=[
                ses.EmailSendingEvent.SEND,  # proof of a send whose record was interrupted
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.OPEN,
                ses.EmailSendingEvent.CLICK,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
                ses.EmailSendingEvent.DELIVERY_DELAY,
            ],
        )
        signing_secret = secretsmanager.Secret(
            self,
            "LinkSigningSecret",
            description="HMAC key that signs survey and unsubscribe links",
            # {"current": key}; rotation adds the next key and keeps those that signed live links
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key="current",
                password_length=64,
                exclude_punctuation=True,
            ),
        )

        channels = Channels(self, "Channels", replies_queue=ingest.engagement_queue)
        if options.sms_monthly_spend_limit is not None:
            spend_limit = channels.limit_sms_spend(options.sms_monthly_spend_limit)
            _acknowledge(
                spend_limit,
                {"IAM5[Resource::*]": "sns:SetSMSAttributes is an account setting: it has no resource"},
            )
        state_machine_arns = {
            name: self.format_arn(
                service="states",
                resource="stateMachine",
                resource_name=state_machine_name(name),
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in journeys
        }
        handlers = Handlers(
            self,
            "Handlers",
            storage=storage,
            ingest=ingest,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "POSTVENTA_TABLE_NAME": storage.table.table_name,
                "POSTVENTA_IDEMPOTENCY_TABLE_NAME": storage.idempotency_table.table_name,
                "POSTVENTA_INVALID_EVENTS_QUEUE_URL": ingest.invalid_events.queue_url,
                "POSTVENTA_SENDER": options.sender,
                "POSTVENTA_CONFIGURATION_SET": CONFIGURATION_SET,
                "POSTVENTA_LINK_SIGNING_SECRET_ID": signing_secret.secret_arn,
                "POSTVENTA_SHOP_NAME": options.shop_name,
                "POSTVENTA_SUPPORT_EMAIL": options.support_email,
                "POSTVENTA_DEFAULT_TIMEZONE": options.default_timezone,
                "POSTVENTA_MESSAGE_RETENTION_DAYS": str(options.message_retention_days),
                "POSTVENTA_EVENT_BUS_NAME": ingest.bus.event_bus_name,
                **{
                    f"POSTVENTA_{name.upper()}": value
                    for name, value in (
                        ("sms_sender_id", options.sms_sender_id),
                        ("push_application_id", options.push_application_id),
                        ("contact_policy", options.contact_policy),
                        ("max_send_rate", options.max_send_rate),
                    )
                    if value
                },
            },
            state_machine_arns=state_machine_arns,
            sender_identity_arn=self.format_arn(
                service="ses", resource="identity", resource_name=options.sender_domain
            ),
            configuration_set_arn=self.format_arn(
                service="ses", resource="configuration-set", resource_name=CONFIGURATION_SET
            ),
            signing_secret=signing_secret,
        )
        handlers.run_step.node.add_dependency(identity, configuration_set)
        handlers.allow_texts_and_push(
            self.format_arn(
                service="mobiletargeting", resource="apps", resource_name=options.push_application_id
            )
            if options.push_application_id
            else None
        )
        if options.shopify_event_source:
            # The Shopify app's client secret, which signs its compliance webhooks: set its value
            # from the Partner Dashboard (Shopify rotates it there, not this stack).
            shopify_secret = secretsmanager.Secret(
                self, "ShopifyWebhookSecret", description="The Shopify app's client secret (webhook HMAC)"
            )
            handlers.accept_shopify_compliance(shopify_secret, ingest.bus)
            _acknowledge(
                shopify_secret,
                {
                    "SMG4": "The Shopify app's client secret: Shopify issues and rotates it in the Partner Dashboard"
                },
            )
        preference_api = channels.preference_centre(handlers.preferences)
        _acknowledge(
            preference_api,
            {
                "APIG4": "Customers reach these pages from an email without an account: each request carries a "
                "per-customer HMAC-signed, expiring token that the handler verifies before reading or changing anything",
            },
        )
        links_base_url = options.links_base_url or channels.preferences_url
        for signer in (handlers.run_step, handlers.preferences):
            signer.add_environment("POSTVENTA_LINKS_BASE_URL", links_base_url)
        machines = JourneyMachines(
            self,
            "Journeys",
            journeys=journeys,
            run_step=handlers.run_step,
            register_wait=handlers.register_wait,
        )
        handlers.on_order.node.add_dependency(machines)
        schedule = OccasionSchedule(self, "Occasions", function=handlers.occasions)
        analytics = Analytics(
            self,
            "Analytics",
            table=storage.table,
            key=storage.key,
            transform=handlers.archive,
            retention=Duration.days(options.archive_retention_days),
        )
        # Customers' data exports (Customer Data Requested): written by on_order under exports/.
        handlers.on_order.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[analytics.bucket.arn_for_objects("exports/*")]
            )
        )
        # Erasure: the archive objects holding an erased customer's rows are read and rewritten.
        handlers.on_order.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[analytics.bucket.arn_for_objects("archive/*")],
            )
        )
        handlers.on_order.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[analytics.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["archive/*"]}},
            )
        )
        handlers.on_order.add_environment("POSTVENTA_ARCHIVE_BUCKET", analytics.bucket.bucket_name)
        archive_arn = f"<{self.get_logical_id(analytics.bucket.node.default_child)}.Arn>"  # type: ignore[arg-type]
        _acknowledge(
            handlers.on_order.role,  # type: ignore[arg-type]
            {
                f"IAM5[Resource::{archive_arn}/exports/*]": "PutObject only: one data export per request under "
                "exports/, named by the request id",
                f"IAM5[Resource::{archive_arn}/archive/*]": "Erasure: reads and rewrites the archive objects that "
                "hold an erased customer's rows; day partitions are named at delivery time",
            },
        )
        # The Firehose construct maps its service's CIDR blocks for Redshift and HTTP destinations; ours is S3.
        self.node.try_remove_child("@aws-cdk--aws-kinesisfirehose.CidrBlocks")  # "/" in ids becomes "--"
        scoring = ScoringJob(
            self,
            "Scoring",
            analytics=analytics,
            key=storage.key,
            fit=handlers.score_fit,
            score_batch=handlers.score_batch,
        )
        storage.table.grant(handlers.score_batch, "dynamodb:UpdateItem")  # scores onto existing profiles only
        monitoring = Monitoring(
            self,
            "Monitoring",
            dead_letter_queues={
                "InvalidEvents": ingest.invalid_events,
                "IngestDeadLetters": ingest.ingest_dead_letters,
                "UndeliveredEvents": ingest.undelivered_events,
                "MissedOccasionRuns": schedule.dead_letters,
                "EngagementDeadLetters": ingest.engagement_dead_letters,
                "ArchiveDeadLetters": analytics.dead_letters,
                "MissedScoringRuns": scoring.dead_letters,
                "UndeliveredSmsReplies": channels.undelivered_replies,
            },
            machines={**machines.machines, "scoring": scoring.machine},
            functions={
                "OnOrder": handlers.on_order,
                "RunStep": handlers.run_step,
                "RegisterWait": handlers.register_wait,
                "Occasions": handlers.occasions,
                "OnEngagement": handlers.on_engagement,
                "Preferences": handlers.preferences,
                "Archive": handlers.archive,
                "ScoreFit": handlers.score_fit,
                "ScoreBatch": handlers.score_batch,
                "RotateLinkKey": handlers.rotate_link_key,
            },
            alarm_email=options.alarm_email,
        )
        if monitoring.undelivered_alarms is not None:
            _acknowledge(
                monitoring.undelivered_alarms,
                {"SQS3": "This queue is itself the alarm email subscription's dead-letter queue"},
            )
        monitoring.dashboard(ingest_queue=ingest.ingest_queue)
        CfnOutput(self, "EventBusName", value=ingest.bus.event_bus_name)
        CfnOutput(self, "TableName", value=storage.table.table_name)  # postventa customers --table
        CfnOutput(self, "InvalidEventsQueueUrl", value=ingest.invalid_events.queue_url)
        CfnOutput(self, "PreferenceCentreUrl", value=links_base_url)
        if options.shopify_event_source:  # the URL for the app's compliance_topics (shopify.app.toml)
            CfnOutput(self, "ShopifyComplianceWebhookUrl", value=f"{links_base_url}/shopify/compliance")
        CfnOutput(self, "SmsRepliesTopicArn", value=channels.sms_replies.topic_arn)
        CfnOutput(self, "ArchiveBucketName", value=analytics.bucket.bucket_name)
        CfnOutput(self, "AthenaWorkGroup", value=analytics.workgroup.ref)
        self._acknowledge(storage, ingest, handlers, machines, signing_secret, schedule)
        _acknowledge(
            channels.undelivered_replies,
            {
                "SQS3": "This queue is itself the SMS replies subscription's dead-letter queue; its depth is alarmed"
            },
        )
        self._acknowledge_analytics(analytics, handlers)
        self._acknowledge_scoring(scoring, analytics, storage, handlers)

    def _acknowledge_scoring(
        self, scoring: ScoringJob, analytics: Analytics, storage: Storage, handlers: Handlers
    ) -> None:
        bucket = f"<{self.get_logical_id(analytics.bucket.node.default_child)}.Arn>"  # type: ignore[arg-type]
        bucket_name = f"<{self.get_logical_id(analytics.bucket.node.default_child)}>"  # type: ignore[arg-type]
        table = f"<{self.get_logical_id(storage.table.node.default_child)}.Arn>"  # type: ignore[arg-type]
        bucket_reads = {
            f"IAM5[Action::s3:{action}]": "CDK's bucket grant, limited to the prefixes named in the resources"
            for action in ("GetBucket*", "GetObject*", "List*", "Abort*", "DeleteObject*")
        }
        _acknowledge(
            handlers.score_fit.role,  # type: ignore[arg-type]
            {
                **ARCHIVE_KEY_GRANTS,
                **bucket_reads,
                **XRAY,
                f"IAM5[Resource::{bucket}/athena-results/*]": "Reads the summary Athena wrote; its key is the query id",
                f"IAM5[Resource::{bucket}/models/*]": "Writes the fitted model under models/",
            },
        )
        _acknowledge(
            handlers.score_batch.role,  # type: ignore[arg-type]
            {
                **ARCHIVE_KEY_GRANTS,
                **bucket_reads,
                **XRAY,
                f"IAM5[Resource::{bucket}/models/*]": "Reads the fitted model under models/",
                f"IAM5[Resource::{table}/index/*]": "CDK's table grant names the indexes too; the only action is UpdateItem",
            },
        )
        _acknowledge(
            scoring.machine,
            {
                **ARCHIVE_KEY_GRANTS,
                **bucket_reads,
                "IAM5[Resource::*]": "X-Ray tracing, CloudWatch Logs delivery and Lake Formation's GetDataAccess (Athena's table access check) have no resource-level permissions",
                f"IAM5[Resource::{bucket}/*]": "Athena's own S3 access check on the workgroup's bucket",
                f"IAM5[Resource::{bucket}/archive/*]": "Athena reads the archive's day partitions",
                f"IAM5[Resource::{bucket}/athena-results/*]": "Athena writes results; the map reads the summary",
                f"IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket_name}/*]": "GetObject only: the Distributed Map reads the summary CSV Athena wrote under athena-results/, whose key is the query id known at run time; CDK's item reader names the bucket's objects",
                "IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/postventa/*]": "Athena reads the postventa database's tables",
                **{
                    f"IAM5[Resource::<{self.get_logical_id(function.node.default_child)}.Arn>:*]": (  # type: ignore[arg-type]
                        "CDK's grantInvoke also covers the function's versions and aliases"
                    )
                    for function in (handlers.score_fit, handlers.score_batch)
                },
                'IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"'
                + self.get_logical_id(scoring.machine.node.default_child)  # type: ignore[arg-type]
                + '"}]}]}/*:*]': "The Distributed Map starts and stops its own child executions",
                'IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"'
                + self.get_logical_id(scoring.machine.node.default_child)  # type: ignore[arg-type]
                + '"}]}]}:*]': "The Distributed Map describes and redrives its own executions",
            },
        )
        _acknowledge(
            scoring.dead_letters,
            {"SQS3": "This queue is itself the schedule's dead-letter queue; its depth is alarmed"},
        )

    def _acknowledge_analytics(self, analytics: Analytics, handlers: Handlers) -> None:
        bucket = f"<{self.get_logical_id(analytics.bucket.node.default_child)}.Arn>"  # type: ignore[arg-type]
        transform = f"<{self.get_logical_id(handlers.archive.node.default_child)}.Arn>"  # type: ignore[arg-type]
        _acknowledge(analytics.stream.node.find_child("Service Role"), ARCHIVE_KEY_GRANTS)
        _acknowledge(
            analytics.stream.node.find_child("S3 Destination Role"),
            {
                **ARCHIVE_KEY_GRANTS,
                **{
                    f"IAM5[Action::s3:{action}]": "CDK's bucket grant to Firehose: writes and multipart uploads in the archive bucket only"
                    for action in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
                },
                f"IAM5[Resource::{bucket}/*]": "Firehose writes objects under partition prefixes made at delivery time",
                f"IAM5[Resource::{transform}:*]": "CDK's grantInvoke also covers the transformation function's versions",
            },
        )
        _acknowledge(
            analytics.access_logs,
            {
                "S1": "This bucket receives the archive's server access logs; logging it into itself would loop"
            },
        )
        _acknowledge(
            analytics.dead_letters,
            {"SQS3": "This queue is itself the Pipe's dead-letter queue; its depth is alarmed"},
        )
        _acknowledge(
            analytics.node.find_child("PipeRole"),
            {
                "IAM5[Resource::*]": "dynamodb:ListStreams, part of CDK's stream-read grant, has no resource-level permissions"
            },
        )
        _acknowledge(handlers.archive.role, XRAY)  # type: ignore[arg-type]
        _acknowledge(
            handlers.rotate_link_key.role,  # type: ignore[arg-type]
            {
                "IAM5[Resource::*]": "X-Ray tracing, and secretsmanager:GetRandomPassword, which CDK grants "
                "rotation functions and which has no resource"
            },
        )

    def _deliverability_outputs(self, identity: ses.EmailIdentity, options: StackOptions) -> None:
        """The DNS records the shop adds so SES may send as its domain: Easy DKIM's three CNAMEs,
        and for a custom MAIL FROM domain its MX and SPF records."""
        for number, (name, value) in enumerate(
            [
                (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
                (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
                (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
            ],
            start=1,
        ):
            CfnOutput(self, f"DkimRecord{number}", value=f"{name} CNAME {value}")
        if options.mail_from_domain:
            CfnOutput(
                self,
                "MailFromMxRecord",
                value=f"{options.mail_from_domain} MX 10 feedback-smtp.{self.region}.amazonses.com",
            )
            CfnOutput(
                self,
                "MailFromSpfRecord",
                value=f'{options.mail_from_domain} TXT "v=spf1 include:amazonses.com ~all"',
            )

    def _acknowledge(
        self,
        storage: Storage,
        ingest: Ingest,
        handlers: Handlers,
        machines: JourneyMachines,
        secret: secretsmanager.Secret,
        schedule: OccasionSchedule,
    ) -> None:
        """cdk-nag findings we accept, each with the reason a reviewer can check."""
        table = f"<{self.get_logical_id(storage.table.node.default_child)}.Arn>"  # type: ignore[arg-type]
        for function in (
            handlers.on_order,
            handlers.run_step,
            handlers.register_wait,
            handlers.occasions,
            handlers.on_engagement,
            handlers.preferences,
        ):
            _acknowledge(
                function.role,  # type: ignore[arg-type]
                {
                    "IAM5[Action::kms:GenerateDataKey*]": "CDK's table grant: data-key actions on our own table key only",
                    "IAM5[Action::kms:ReEncrypt*]": "CDK's table grant: re-encryption with our own table key only",
                    **XRAY,
                    f"IAM5[Resource::{table}/index/*]": "Queries the table's own indexes (order history by customer)",
                },
            )
        _acknowledge(
            handlers.run_step.role,  # type: ignore[arg-type]
            {
                "IAM5[Resource::*]": "X-Ray tracing, and SNS's CheckIfPhoneNumberIsOptedOut, which has no "
                "resource (Publish is allowed on NotResource topics: phone numbers only)",
            },
        )
        _acknowledge(
            handlers.on_order.role,  # type: ignore[arg-type]
            {
                f"IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{state_machine_name(name)}:*]": "Stops executions of our own journey state machine at an exit goal; execution names are made per customer"
                for name in machines.machines
            },
        )
        for machine in machines.machines.values():
            _acknowledge(
                machine,
                {
                    "IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery APIs have no resource-level permissions",
                    **{
                        f"IAM5[Resource::<{self.get_logical_id(function.node.default_child)}.Arn>:*]": (  # type: ignore[arg-type]
                            "CDK's grantInvoke also covers the function's versions and aliases"
                        )
                        for function in (handlers.run_step, handlers.register_wait)
                    },
                },
            )
        occasions_arn = f"<{self.get_logical_id(handlers.occasions.node.default_child)}.Arn>"  # type: ignore[arg-type]
        _acknowledge(
            schedule,
            {
                f"IAM5[Resource::{occasions_arn}:*]": "CDK's grantInvoke also covers the function's versions and aliases"
            },
        )
        for queue in (
            ingest.invalid_events,
            ingest.ingest_dead_letters,
            ingest.undelivered_events,
            schedule.dead_letters,
        ):
            _acknowledge(queue, {"SQS3": "This queue is itself a dead-letter queue; its depth is alarmed"})


def _acknowledge(scope: Construct, findings: dict[str, str]) -> None:
    Validations.of(scope).acknowledge(
        *[
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
            for finding, reason in findings.items()
        ]
    )
