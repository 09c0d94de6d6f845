"""The composition root: the one place that builds Postventa's services from the one Settings
model and the adapters behind their ports.

Lambda builds `deployed()` once per cold start (each handler module binds it); `postventa
simulate` and the integration tests build `Services` with the local engine for Step Functions and
a stand-in for Pinpoint; `postventa backtest` with the in-memory adapters (adapters/memory.py).
Everything is made at first use, so a cold start builds only what its handler needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from postventa.handlers.observability import log_decision
from postventa.journeys.model import Journey, SendStep
from postventa.models.consent import CONSENT_CHANGED, CONSENT_SOURCE, ConsentChangedV1
from postventa.models.events import Channel, CustomerDataRequestedV1, CustomerErasureRequestedV1, DetailType
from postventa.models.records import Decision
from postventa.models.settings import Settings
from postventa.services.ports import (
    AdminApi,
    CustomerStore,
    DeadLetters,
    Links,
    Publisher,
    RateLimiter,
    Renderer,
    Sender,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import (
        IdempotencyConfig,
    )
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

    from postventa.adapters.files import ArchiveObjects
    from postventa.adapters.secrets import KeyRotation
    from postventa.adapters.store import Store
    from postventa.adapters.workflows import JourneyWorkflows
    from postventa.analytics.job import ScoringJob
    from postventa.journeys.library import Library
    from postventa.logic.links import LinkSigner
    from postventa.logic.render import MessageRenderer
    from postventa.logic.send_time import SendTimes
    from postventa.services.audiences import AudienceExport
    from postventa.services.compliance import ComplianceWebhooks
    from postventa.services.consent_writeback import ConsentWriteBack
    from postventa.services.controls import JourneyControls
    from postventa.services.engagement import EngagementService
    from postventa.services.erasure import CustomerErasure
    from postventa.services.inbox import AppInbox
    from postventa.services.occasions import OccasionScheduler
    from postventa.services.order_events import OrderEventService
    from postventa.services.preferences import PreferenceCentre
    from postventa.services.steps import StepRequest, StepRunner
    from postventa.services.waits import WaitRegistrar

IDEMPOTENCY_SECONDS = 60 * 60 * 48  # longer than EventBridge (24 h) and Step Functions retries
# botocore would retry a send whose answer timed out, asking the provider twice: the journey's
# own retries decide instead, knowing whether the message may already be out (services/steps.py).
PROVIDER_CLIENT = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=15
)


_STORE = frozenset({"table_name", "message_retention_days"})
# What each function's services read of the settings: the stack gives each function these
# variables only, and simulate builds each function's services from these alone, so every
# integration test checks the lists are complete.
SETTINGS_USED: dict[str, frozenset[str]] = {
    "on_order": _STORE
    | {
        "state_machines",
        "idempotency_table_name",
        "invalid_events_queue_url",
        "default_timezone",
        "test_orders_start_journeys",
        "archive_bucket",
        "contact_policy",  # a best_hour fixed at entry stays out of quiet hours
    },
    "run_step": _STORE
    | {
        "idempotency_table_name",
        "sender",
        "configuration_set",
        "sms_sender_id",
        "push_application_id",
        "link_signing_secret_id",
        "links_base_url",
        "default_locale",
        "max_send_rate",
        "contact_policy",
        "campaign_links",
        "shop_name",
        "support_email",
        "default_timezone",
        "event_bus_name",
        "call_destinations",
    },
    "register_wait": _STORE | {"state_machines"},
    "on_engagement": _STORE
    | {"state_machines", "invalid_events_queue_url", "event_bus_name", "default_timezone"},
    "on_sms_status": _STORE | {"state_machines", "invalid_events_queue_url"},
    "write_consent": frozenset(
        {"invalid_events_queue_url", "shopify_admin_url", "shopify_admin_token_secret_id"}
    ),
    "occasions": _STORE | {"event_bus_name", "default_timezone"},
    "preferences": _STORE
    | {
        "link_signing_secret_id",
        "links_base_url",
        "event_bus_name",
        "shopify_webhook_secret_id",
        "shop_name",
        "support_email",
        "default_locale",
    },
    "inbox": _STORE | {"inbox_key_secret_id", "state_machines", "default_timezone"},
    "rotate_link_key": frozenset(),
    "export_audiences": _STORE | {"archive_bucket"},
    "score_fit": _STORE | {"archive_bucket"},
    "score_batch": _STORE | {"archive_bucket"},
    "record_winners": _STORE | {"archive_bucket"},
    "archive": frozenset(),  # Firehose's transformation: no services
    # The backtest's workers and merge (postventa.backtest): its files live in the archive bucket.
    "backtest_replay": frozenset({"archive_bucket"}),
    "backtest_merge": frozenset({"archive_bucket"}),
}


@dataclass(frozen=True)
class StandIns:
    """What a local run puts in place of an AWS client or adapter; None: AWS's own."""

    stepfunctions: Any = None  # a client: the local engine
    pinpoint: Any = None  # a client: moto has no Pinpoint sends
    store: CustomerStore | None = None
    senders: dict[Channel, Sender] | None = None
    rate_limiter: RateLimiter | None = None
    renderer: Renderer | None = None
    links: Links | None = None
    invalid_events: DeadLetters | None = None
    bus: Publisher | None = None
    shopify_admin: AdminApi | None = None  # a local receiver of the Admin API's requests
    idempotency: bool = True  # False: no Powertools Idempotency (a backtest replays each step once)


class Services:
    def __init__(
        self,
        settings: Settings,
        *,
        stand_ins: StandIns = StandIns(),
        emit: Callable[[Decision], None] = log_decision,
        journeys: dict[str, Journey] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        library: Library | None = None,
    ):
        """emit: where on_order's decisions go (the log; a list locally).
        clock: when sends happen, for the sending rate (the local engine's virtual clock).
        library: the journeys and templates (a shop folder's, locally; deployed, the package is
        built with the shop's folder laid over it, and the default reads it)."""
        self.settings = settings
        self._stand_ins = stand_ins
        self._clock = clock
        self._emit = emit
        self._journeys = journeys
        self._library = library
        self._idempotency_configs: list[IdempotencyConfig] = []
        self._lambda_context: Any = None

    @cached_property
    def library(self) -> Library:
        from postventa.journeys.library import Library

        return self._library or Library()

    @cached_property
    def journeys(self) -> dict[str, Journey]:
        return self._journeys if self._journeys is not None else self.library.journeys()

    @cached_property
    def store(self) -> CustomerStore:
        return self._stand_ins.store or self.table

    @cached_property
    def table(self) -> Store:
        """The DynamoDB store itself, for what only it does (the scoring job's writes)."""
        from postventa.adapters.store import Store

        retention = timedelta(days=self.settings.message_retention_days)
        return Store(boto3.resource("dynamodb").Table(self.settings.required("table_name")), retention)

    @cached_property
    def workflows(self) -> JourneyWorkflows:
        from postventa.adapters.workflows import JourneyWorkflows

        client = self._stand_ins.stepfunctions or boto3.client("stepfunctions")
        return JourneyWorkflows(client, self.settings.state_machines)

    def once(self, key: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Powertools Idempotency keyed on `key` (a JMESPath into the argument named event)."""
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        if not self._stand_ins.idempotency:
            return lambda function: function
        config = IdempotencyConfig(
            event_key_jmespath=key,
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            response_hook=self._replayed,  # type: ignore[arg-type]  # Powertools' protocol names its parameters
        )
        if self._lambda_context is not None:
            config.register_lambda_context(self._lambda_context)
        self._idempotency_configs.append(config)
        # A persistence layer keeps the key settings of the first function it serves: one each.
        persistence = DynamoDBPersistenceLayer(table_name=self.settings.required("idempotency_table_name"))
        return idempotent_function(
            data_keyword_argument="event", persistence_store=persistence, config=config
        )

    def register_context(self, context: Any) -> None:
        """Lets an interrupted invocation's in-progress record expire with the invocation, not days later."""
        self._lambda_context = context
        for config in self._idempotency_configs:
            config.register_lambda_context(context)

    @cached_property
    def invalid_events(self) -> DeadLetters:
        from postventa.adapters.queues import InvalidEventQueue

        if self._stand_ins.invalid_events is not None:
            return self._stand_ins.invalid_events
        return InvalidEventQueue(boto3.client("sqs"), self.settings.required("invalid_events_queue_url"))

    @cached_property
    def engagement(self) -> EngagementService:
        from postventa.services.engagement import EngagementService

        return EngagementService(
            store=self.store,
            workflows=self.workflows,
            publish_consent=self._publish_consent,
            default_timezone=self.settings.default_timezone,
        )

    @cached_property
    def _consent_publisher(self) -> Publisher:
        # Made on the first choice, so functions that never publish consent need no bus setting.
        return self.publisher(CONSENT_SOURCE)

    def _publish_consent(self, consent: ConsentChangedV1) -> None:
        """Consent Changed, from whichever function took the customer's choice."""
        self._consent_publisher.publish(CONSENT_CHANGED, [(consent, consent.stated_at)])

    @cached_property
    def order_events(self) -> OrderEventService:
        from postventa.services.order_events import OrderEventService

        return OrderEventService(
            store=self.store,
            workflows=self.workflows,
            invalid_events=self.invalid_events,
            journeys=self.journeys,
            emit=self._emit,
            default_timezone=self.settings.default_timezone,
            test_orders_start_journeys=self.settings.test_orders_start_journeys,
            exports=self.archive_objects,
            erasure=self.customer_erasure,
            once=self.once("event_id"),
            send_times=self.send_times,
            contract=self.library.contract,
        )

    @cached_property
    def send_times(self) -> SendTimes:
        from postventa.logic.send_time import SendTimes

        return SendTimes(self.settings.contact_policy, self.store.shop_open_hours)

    @cached_property
    def senders(self) -> dict[Channel, Sender]:
        from postventa.adapters.email import SesEmailSender
        from postventa.adapters.inbox import InboxSender
        from postventa.adapters.push import PinpointPushSender
        from postventa.adapters.sms import SnsSmsSender

        if self._stand_ins.senders is not None:
            return self._stand_ins.senders
        settings = self.settings
        senders: dict[Channel, Sender] = {
            Channel.EMAIL: SesEmailSender(
                boto3.client("sesv2", config=PROVIDER_CLIENT),
                settings.required("sender"),
                settings.required("configuration_set"),
            ),
            Channel.SMS: SnsSmsSender(
                boto3.client("sns", config=PROVIDER_CLIENT), sender_id=settings.sms_sender_id
            ),
        }
        if settings.table_name:  # the inbox is the table (send-test, with none, sends elsewhere)
            senders[Channel.INBOX] = InboxSender(self.store, self._clock)
        if settings.push_application_id:
            client = self._stand_ins.pinpoint or boto3.client("pinpoint", config=PROVIDER_CLIENT)
            senders[Channel.PUSH] = PinpointPushSender(client, settings.push_application_id)
        return senders

    @cached_property
    def links(self) -> LinkSigner:
        from postventa.adapters.secrets import read_secret
        from postventa.logic.links import LinkSigner

        return LinkSigner(
            read_secret(self.settings.required("link_signing_secret_id")),
            self.settings.required("links_base_url"),
        )

    @cached_property
    def archive_objects(self) -> ArchiveObjects | None:
        from postventa.adapters.files import ArchiveObjects

        bucket = self.settings.archive_bucket
        return ArchiveObjects(bucket, lambda: boto3.client("s3")) if bucket else None

    @cached_property
    def customer_erasure(self) -> CustomerErasure:
        from postventa.services.erasure import CustomerErasure

        return CustomerErasure(
            store=self.store,
            workflows=self.workflows,
            archive=self.archive_objects,
            default_timezone=self.settings.default_timezone,
        )

    @cached_property
    def consent_writeback(self) -> ConsentWriteBack:
        """Consent back to the Shopify store, through its custom app's Admin API token."""
        from postventa.adapters.secrets import read_secret
        from postventa.adapters.shopify_admin import ShopifyAdmin
        from postventa.services.consent_writeback import ConsentWriteBack

        secret_id = self.settings.required("shopify_admin_token_secret_id")
        admin = self._stand_ins.shopify_admin or ShopifyAdmin(
            self.settings.required("shopify_admin_url"), lambda: read_secret(secret_id)
        )
        return ConsentWriteBack(admin=admin)

    @cached_property
    def compliance(self) -> ComplianceWebhooks | None:
        """Shopify's compliance webhooks, where the shop set up its app's secret."""
        from postventa.adapters.secrets import read_secret
        from postventa.services.compliance import ComplianceWebhooks

        secret_id = self.settings.shopify_webhook_secret_id
        if secret_id is None:
            return None
        publisher = self.publisher("postventa.shopify")
        kinds = {
            CustomerErasureRequestedV1: DetailType.CUSTOMER_ERASURE_REQUESTED,
            CustomerDataRequestedV1: DetailType.CUSTOMER_DATA_REQUESTED,
        }
        return ComplianceWebhooks(
            secret=lambda: read_secret(secret_id),
            publish=lambda request: publisher.publish(
                kinds[type(request)], [(request, request.requested_at)]
            ),
        )

    @cached_property
    def key_rotation(self) -> KeyRotation:
        from postventa.adapters.secrets import KeyRotation

        return KeyRotation(boto3.client("secretsmanager"))

    @cached_property
    def renderer(self) -> MessageRenderer:
        return self.library.renderer(self.settings.default_locale)

    @cached_property
    def preferences(self) -> PreferenceCentre:
        from postventa.services.preferences import PreferenceCentre

        publisher = self.publisher("postventa.preferences")
        return PreferenceCentre(
            store=self.store,
            links=self.links,
            topics=sorted(
                {
                    step.send.topic
                    for journey in self.journeys.values()
                    for step in journey.all_steps()
                    if isinstance(step, SendStep) and step.send.topic
                }
            ),
            publish_answer=lambda answer: publisher.publish(
                DetailType.SURVEY_ANSWERED, [(answer, answer.answered_at)]
            ),
            publish_consent=self._publish_consent,
        )

    @cached_property
    def inbox(self) -> AppInbox:
        from postventa.adapters.secrets import read_secret
        from postventa.services.inbox import AppInbox

        return AppInbox(
            cards=self.store,
            key=read_secret(self.settings.required("inbox_key_secret_id")),
            read_in_app=self.engagement.read_in_app,
        )

    @cached_property
    def scoring_job(self) -> ScoringJob:
        # Imported here: numpy and scipy are only in the scoring functions' layer.
        from postventa.adapters.files import ScoringFiles
        from postventa.analytics.job import ScoringJob

        if not self.settings.archive_bucket:
            raise RuntimeError(
                "POSTVENTA_ARCHIVE_BUCKET is not set: the scoring job has nowhere to keep its model"
            )
        files = ScoringFiles(boto3.client("s3"), self.settings.archive_bucket)
        return ScoringJob(files, self.table.save_scores, self.table.record_winner)

    @cached_property
    def audience_export(self) -> AudienceExport:
        from postventa.adapters.files import AudienceFiles
        from postventa.services.audiences import AudienceExport

        return AudienceExport(
            source=self.table,
            lists=AudienceFiles(boto3.client("s3"), self.settings.required("archive_bucket")),
            audiences=self.library.settings.audiences,
        )

    @cached_property
    def step_runner(self) -> StepRunner:
        from postventa.adapters.rate import DynamoRateLimiter
        from postventa.logic.links import ShopLinks
        from postventa.models.actions import ACTIONS_SOURCE
        from postventa.services.calls import CallRunner
        from postventa.services.steps import StepRunner

        settings = self.settings
        return StepRunner(
            store=self.store,
            senders=self.senders,
            rate_limiter=self._stand_ins.rate_limiter
            or DynamoRateLimiter(
                boto3.resource("dynamodb").Table(settings.required("table_name")),
                settings.max_send_rate,
                self._clock,
            ),
            policy=settings.contact_policy,
            renderer=self._stand_ins.renderer or self.renderer,
            links=self._stand_ins.links or self.links,
            shop_links=ShopLinks.configured(
                settings.campaign_links, sender=settings.sender, links_base_url=settings.links_base_url
            ),
            shop_name=settings.shop_name,
            support_email=settings.support_email,
            default_timezone=settings.default_timezone,
            clock=self._clock,
            send_times=self.send_times,
            calls=CallRunner(
                store=self.store,
                publisher=lambda: self.publisher(ACTIONS_SOURCE),
                destinations=settings.call_destinations,
                clock=self._clock,
            ),
        )

    @cached_property
    def run_step_once(self) -> Callable[..., Any]:
        runner = self.step_runner

        def run_step(event: StepRequest) -> dict[str, Any]:
            return runner.run(event).model_dump(mode="json")

        return self.once("[execution_id, step]")(run_step)

    @cached_property
    def occasions(self) -> OccasionScheduler:
        from postventa.services.occasions import OccasionScheduler

        return OccasionScheduler(
            store=self.store,
            # A failed publish fails the run: the scheduler's retry, at the same scheduled time, finds
            # the same occasions again; their ids keep entry to once.
            publish=lambda occasions: self.publisher("postventa.occasions").publish(
                DetailType.OCCASION_REACHED, [(occasion, occasion.reached_at) for occasion in occasions]
            ),
            journeys=self.journeys,
            default_timezone=self.settings.default_timezone,
        )

    def publisher(self, source: str) -> Publisher:
        from postventa.adapters.events import BusPublisher

        if self._stand_ins.bus is not None:
            return self._stand_ins.bus
        return BusPublisher(boto3.client("events"), self.settings.event_bus_name, source)

    @cached_property
    def wait_registrar(self) -> WaitRegistrar:
        from postventa.services.waits import WaitRegistrar

        return WaitRegistrar(store=self.store, workflows=self.workflows)

    def _replayed(self, response: Any, record: DataRecord) -> Any:
        """Powertools calls this when it answers from the idempotency table instead of running again."""
        if isinstance(response, dict) and "event_id" in response:
            first: dict[str, Any] = next(iter(response["decisions"]), {})
            self._emit(
                Decision(
                    at=response["received_at"],
                    kind="duplicate",
                    event_id=response["event_id"],
                    customer_id=first.get("customer_id"),
                    reason="event delivered again: already processed, nothing repeated",
                )
            )
        return response


@cache
def deployed() -> Services:
    """The services of a deployed function, from its environment: built at its first invocation."""
    return Services(Settings())  # type: ignore[call-arg]  # fields come from the environment


def store_for_table(table_name: str) -> CustomerStore:
    """A deployed stack's table, with the caller's AWS credentials (postventa report --record-winners,
    postventa experiments)."""
    from postventa.adapters.store import Store

    return Store(boto3.resource("dynamodb").Table(table_name))


def erasure_for_table(table_name: str, archive_bucket: str | None = None) -> CustomerErasure:
    """For `postventa customers`: a deployed stack's table and archive bucket, with the caller's
    AWS credentials; nothing else of the stack's settings is needed to export or erase."""
    from postventa.adapters.files import ArchiveObjects
    from postventa.adapters.workflows import JourneyWorkflows
    from postventa.services.erasure import CustomerErasure

    store = store_for_table(table_name)
    archive = ArchiveObjects(archive_bucket, lambda: boto3.client("s3")) if archive_bucket else None
    return CustomerErasure(
        store=store, workflows=JourneyWorkflows(boto3.client("stepfunctions"), {}), archive=archive
    )


def controls_for_table(table_name: str, journey: str, stepfunctions: Any = None) -> JourneyControls:
    """For `postventa journeys status|pause|...`: the stack's table and the journey's state
    machine, found by its name, with the caller's AWS credentials. stepfunctions: another client
    (the local engine in tests)."""
    from postventa.adapters.workflows import JourneyWorkflows, state_machine_arns
    from postventa.journeys.compiler import state_machine_name
    from postventa.services.controls import JourneyControls

    client = stepfunctions or boto3.client("stepfunctions")
    found = state_machine_arns(client, [state_machine_name(journey)])
    if not found:
        raise LookupError(f"no state machine {state_machine_name(journey)}: is {journey} deployed?")
    workflows = JourneyWorkflows(client, {journey: found[state_machine_name(journey)]})
    return JourneyControls(store_for_table(table_name), workflows, lambda: datetime.now(UTC))


def provider_for(
    channel: Channel,
    *,
    sender: str | None,
    configuration_set: str,
    sms_sender_id: str | None = None,
    push_application_id: str | None = None,
) -> Sender:
    """For `postventa send-test`: the channel's provider as run_step builds it, with the caller's
    AWS credentials."""
    if channel is Channel.EMAIL and not sender:
        raise LookupError("email: name the From address the stack sends with: --sender")
    settings = Settings(
        sender=sender or "unused@invalid",  # SMS and push never read it
        configuration_set=configuration_set,
        sms_sender_id=sms_sender_id,
        push_application_id=push_application_id,
    )  # type: ignore[call-arg]  # the rest stays unset: no other setting is read
    senders = Services(settings).senders
    if channel not in senders:
        raise LookupError(f"{channel.value}: not set up (push needs --push-app)")
    return senders[channel]
