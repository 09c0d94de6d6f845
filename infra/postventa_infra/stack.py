"""The Postventa stack: events in, journeys, sends, state, alarms."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, Node

from postventa.journeys.checks import check_journeys, errors
from postventa.journeys.compiler import state_machine_name
from postventa.journeys.library import Library
from postventa.journeys.model import Journey, SendStep
from postventa.logic.channels import channels_of
from postventa.models.events import Channel
from postventa.models.policy import ContactPolicy
from postventa.models.settings import CampaignLinks, Settings
from postventa_infra.analytics import Analytics
from postventa_infra.backtest import BacktestOnAws
from postventa_infra.destinations import CallDestinations, HttpDestinations
from postventa_infra.email import EmailChannel
from postventa_infra.handlers import Handlers
from postventa_infra.ingest import Ingest
from postventa_infra.journeys import JourneyMachines
from postventa_infra.monitoring import NAMESPACE, SERVICE, Monitoring
from postventa_infra.preference_centre import PreferenceCentre
from postventa_infra.schedules import AUDIENCES_DAILY, OCCASIONS_EVERY, ScheduledRuns
from postventa_infra.scoring import ScoringWorkflow
from postventa_infra.sms import SmsChannel
from postventa_infra.storage import Storage
from postventa_infra.storefront import ConsentWriteBack, ShopifyAdminOptions

CONFIGURATION_SET = "postventa"


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
    campaign_links: str | None = None  # JSON, e.g. {"review_url": "https://shop.example/p/{product_id}"}
    journeys_dir: str | None = None  # the shop's folder of journeys and templates (postventa init)
    http_destinations: str | None = None  # JSON: where call steps hand work (destinations.py)
    shopify_admin: str | None = None  # JSON: consent written back to the store (storefront.py)

    def __post_init__(self) -> None:
        # A mistake in these would surface only when run_step starts: refuse it at synth instead.
        if self.contact_policy:
            ContactPolicy.model_validate_json(self.contact_policy)
        if self.max_send_rate:
            Settings(max_send_rate=json.loads(self.max_send_rate))
        if self.campaign_links:
            CampaignLinks.model_validate_json(self.campaign_links)
        self.destinations  # noqa: B018  # parsed here so a mistake fails the synth
        self.storefront_admin  # noqa: B018
        for number in ("message_retention_days", "archive_retention_days", "sms_monthly_spend_limit"):
            if getattr(self, number) is not None:  # `-c` passes strings
                object.__setattr__(self, number, int(getattr(self, number)))
        if self.message_retention_days < 30:  # Settings' own bound: refused at synth, not at run time
            raise ValueError("messageRetentionDays: at least 30 (journeys read a month of messages)")

    @property
    def destinations(self) -> HttpDestinations:
        return HttpDestinations.model_validate_json(self.http_destinations or "{}")

    @property
    def storefront_admin(self) -> ShopifyAdminOptions | None:
        return ShopifyAdminOptions.model_validate_json(self.shopify_admin) if self.shopify_admin else None

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
            "campaign_links": "campaignLinks",
            "journeys_dir": "journeysDir",
            "http_destinations": "httpDestinations",
            "shopify_admin": "shopifyAdmin",
        }
        values: dict[str, Any] = {}
        for field, context_key in keys.items():
            value = node.try_get_context(context_key)
            if value:
                values[field] = json.dumps(value) if isinstance(value, dict) else value
        return cls(**values)


class PostventaStack(Stack):
    """Composes the constructs; each owns its resources, its grants and its cdk-nag reasons."""

    def __init__(self, scope: Construct, construct_id: str, *, options: StackOptions, **kwargs: Any):
        super().__init__(scope, construct_id, **kwargs)
        library = Library(Path(options.journeys_dir) if options.journeys_dir else None)
        journeys = library.journeys()
        # What `postventa journeys validate` refuses is refused at synth: it would fail when it runs.
        problems = [str(p) for p in errors(check_journeys(journeys, library.sources(), library))]
        if problems:
            raise ValueError("the journeys do not validate:\n" + "\n".join(problems))
        storage = Storage(self, "Storage")
        ingest = Ingest(
            self,
            "Ingest",
            shopify_event_source=options.shopify_event_source,
            configuration_set=CONFIGURATION_SET,
            contract=library.contract,
        )
        email = EmailChannel(
            self,
            "Email",
            sender_domain=options.sender_domain,
            mail_from_domain=options.mail_from_domain,
            configuration_set=CONFIGURATION_SET,
            engagement_bus=ingest.default_bus,
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
        sms = SmsChannel(
            self,
            "Channels",  # the id the SMS replies topic was made under: kept, so it is not replaced
            replies_queue=ingest.engagement_queue,
            monthly_spend_limit=options.sms_monthly_spend_limit,
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
            observability={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            settings=_settings(options, storage, ingest, signing_secret),
            state_machine_arns=state_machine_arns,
            sender_identity_arn=email.identity_arn,
            configuration_set_arn=email.configuration_set_arn,
            signing_secret=signing_secret,
            library=library,
        )
        handlers.run_step.node.add_dependency(email)
        handlers.allow_texts_and_push(
            self.format_arn(
                service="mobiletargeting", resource="apps", resource_name=options.push_application_id
            )
            if options.push_application_id
            else None
        )
        if options.shopify_event_source:
            handlers.accept_shopify_compliance(ingest.bus)
        preference_centre = PreferenceCentre(self, "PreferenceApi", function=handlers.preferences)
        links_base_url = options.links_base_url or preference_centre.url
        handlers.configure("links_base_url", links_base_url)
        inbox = handlers.app_inbox() if _sends_to_inbox(journeys) else None
        if inbox:
            preference_centre.serve_inbox(inbox[0])
        destinations = CallDestinations(self, "Calls", bus=ingest.bus, destinations=options.destinations)
        admin = options.storefront_admin
        write_back = (
            ConsentWriteBack(
                self, "ConsentWriteBack", ingest=ingest, function=handlers.consent_writer(), admin=admin
            )
            if admin
            else None
        )
        if options.destinations.root:
            handlers.allow_calls(ingest.bus)
        machines = JourneyMachines(
            self,
            "Journeys",
            journeys=journeys,
            run_step=handlers.run_step,
            register_wait=handlers.register_wait,
        )
        handlers.on_order.node.add_dependency(machines)
        schedule = ScheduledRuns(
            self,
            "Occasions",
            function=handlers.occasions,
            expression=OCCASIONS_EVERY,
            description="Postventa: publish the occasions due in each customer's timezone",
            of="the occasions schedule",
        )
        analytics = Analytics(
            self,
            "Analytics",
            table=storage.table,
            key=storage.key,
            transform=handlers.archive,
            retention=Duration.days(options.archive_retention_days),
        )
        analytics.allow_exports_and_erasure(handlers.on_order)
        audiences = (
            ScheduledRuns(
                self,
                "Audiences",
                function=analytics.allow_audience_lists(handlers.audience_exporter()),
                expression=AUDIENCES_DAILY,
                description="Postventa: write each audience's consented members as hashed ad lists",
                of="the audiences schedule",
            )
            if library.settings.audiences
            else None
        )
        handlers.configure("archive_bucket", analytics.bucket.bucket_name)
        scoring = ScoringWorkflow(
            self,
            "Scoring",
            analytics=analytics,
            key=storage.key,
            table=storage.table,
            fit=handlers.score_fit,
            score_batch=handlers.score_batch,
            record_winners=handlers.record_winners,
        )
        backtest = BacktestOnAws(
            self,
            "Backtest",
            bucket=analytics.bucket,
            key=storage.key,
            replay=handlers.backtest_replay,
            merge=handlers.backtest_merge,
        )
        sms.report_delivery_to(handlers.on_sms_status, undelivered=ingest.undelivered_events)
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
                "UndeliveredSmsReplies": sms.undelivered_replies,
                "SmsStatusFailures": handlers.sms_status_failures,
                "UndeliveredCalls": destinations.undelivered_calls,
                **({"ConsentDeadLetters": write_back.dead_letters} if write_back else {}),
                **({"MissedAudienceRuns": audiences.dead_letters} if audiences else {}),
            },
            machines={**machines.machines, "scoring": scoring.machine},
            # The backtest's functions and machine are a tool's: `postventa backtest --on-aws` reports their failures.
            functions={
                _pascal(module): function
                for module, function in handlers.functions.items()
                if not module.startswith("backtest_")
            },
            alarm_email=options.alarm_email,
        )
        monitoring.dashboard(ingest_queue=ingest.ingest_queue)
        CfnOutput(self, "EventBusName", value=ingest.bus.event_bus_name)
        CfnOutput(self, "TableName", value=storage.table.table_name)  # postventa customers --table
        CfnOutput(self, "InvalidEventsQueueUrl", value=ingest.invalid_events.queue_url)
        CfnOutput(self, "PreferenceCentreUrl", value=links_base_url)
        if options.shopify_event_source:  # the URL for the app's compliance_topics (shopify.app.toml)
            CfnOutput(self, "ShopifyComplianceWebhookUrl", value=f"{links_base_url}/shopify/compliance")
        if inbox:  # for the shop's backend (the key) and its app (the URL)
            CfnOutput(self, "AppInboxUrl", value=f"{links_base_url}/inbox")
            CfnOutput(self, "InboxKeySecretArn", value=inbox[1].secret_arn)
        CfnOutput(self, "SmsRepliesTopicArn", value=sms.replies.topic_arn)
        CfnOutput(self, "ArchiveBucketName", value=analytics.bucket.bucket_name)
        CfnOutput(self, "AthenaWorkGroup", value=analytics.workgroup.ref)
        CfnOutput(self, "BacktestStateMachineArn", value=backtest.machine.state_machine_arn)  # --on-aws


def _sends_to_inbox(journeys: dict[str, Journey]) -> bool:
    return any(
        isinstance(step, SendStep) and Channel.INBOX in channels_of(step.send.channels, journey.phase)
        for journey in journeys.values()
        for step in journey.all_steps()
    )


def _settings(
    options: StackOptions, storage: Storage, ingest: Ingest, signing_secret: secretsmanager.ISecret
) -> dict[str, str]:
    """The settings known when the functions are made, by Settings field; Handlers gives each
    function those it reads."""
    admin = options.storefront_admin
    values = {
        "table_name": storage.table.table_name,
        "idempotency_table_name": storage.idempotency_table.table_name,
        "invalid_events_queue_url": ingest.invalid_events.queue_url,
        "sender": options.sender,
        "configuration_set": CONFIGURATION_SET,
        "link_signing_secret_id": signing_secret.secret_arn,
        "shop_name": options.shop_name,
        "support_email": options.support_email,
        "default_timezone": options.default_timezone,
        "message_retention_days": str(options.message_retention_days),
        "event_bus_name": ingest.bus.event_bus_name,
        "sms_sender_id": options.sms_sender_id,
        "push_application_id": options.push_application_id,
        "contact_policy": options.contact_policy,
        "max_send_rate": options.max_send_rate,
        "campaign_links": options.campaign_links,
        "call_destinations": json.dumps(sorted(options.destinations.root))
        if options.destinations.root
        else None,
        "shopify_admin_url": admin.url if admin else None,
        "shopify_admin_token_secret_id": admin.secret if admin else None,
    }
    return {name: value for name, value in values.items() if value}


def _pascal(module: str) -> str:
    return "".join(part.capitalize() for part in module.split("_"))
