"""postventa simulate: the real handlers against moto in-process, journeys on the local engine.

Events go through the same path as in AWS: each EventBridge event is wrapped in an SQS record
for on_order; journeys run their compiled ASL; run_step sends through moto's SES v2. The
timeline is read back from what was stored (message log, dead-letter queue) and decided.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.parser.models import CloudWatchLogsModel
from boto3.dynamodb.conditions import Attr
from moto import mock_aws
from pydantic import AwareDatetime, BaseModel, Field

from postventa.adapters.files import AudienceFiles
from postventa.adapters.queues import MAX_RECEIVES, VISIBILITY_TIMEOUT
from postventa.analytics.archive import write_records
from postventa.asl.engine import LocalStepFunctions
from postventa.composition import SETTINGS_USED, Services, StandIns
from postventa.handlers import (
    export_audiences,
    inbox,
    occasions,
    on_engagement,
    on_order,
    on_sms_status,
    preferences,
    record_winners,
    register_wait,
    rotate_link_key,
    run_step,
    score_batch,
    score_fit,
    write_consent,
)
from postventa.handlers.observability import metrics
from postventa.journeys.compiler import compile_journey, state_machine_name
from postventa.journeys.library import Library
from postventa.journeys.model import CallStep, Journey
from postventa.local.faults import (
    FaultInjector,
    FinalState,
    Guarantee,
    InvocationCrashed,
    check_guarantee,
    consent_of,
    delivery_schedule,
    platform_error,
)
from postventa.local.outbox import Outbox
from postventa.local.outbox import prepare as prepare_outbox
from postventa.local.web import http_api_event
from postventa.models.actions import ACTION_REQUESTED, ACTIONS_SOURCE
from postventa.models.consent import CONSENT_CHANGED, CONSENT_SOURCE, ConsentChangedV1
from postventa.models.custom import OURS_ALONE, ShopContract
from postventa.models.engagement import SmsDeliveryLog
from postventa.models.inbound import InvalidEvent, parse_inbound
from postventa.models.records import Decision, InboxCard, MessageRecord, StepDecision
from postventa.models.settings import Settings
from postventa.services.inbox import inbox_signature

DEMO_EVENTS = Path(__file__).with_name("demo_events.json")
RUN_STEP_ARN = "arn:aws:lambda:local:000000000000:function:postventa-run-step"
REGISTER_WAIT_ARN = "arn:aws:lambda:local:000000000000:function:postventa-register-wait"
LOCAL_SHOPIFY_SECRET = "local-shopify-app-secret"
LOCAL_INBOX_KEY = "local-inbox-key"  # what the shop's backend would sign its app's customers with
FUNCTIONS = (
    on_order, on_engagement, on_sms_status, run_step, register_wait, preferences, occasions,
    rotate_link_key, score_fit, score_batch, record_winners, write_consent, export_audiences, inbox,
)  # fmt: skip
LOCAL_SETTINGS = {
    "table_name": "postventa",
    "idempotency_table_name": "postventa-idempotency",
    "invalid_events_queue_url": "",  # filled in once moto made the queue
    "sender": "Postventa Demo Shop <orders@shop.example>",
    "configuration_set": "postventa",
    "links_base_url": "https://shop.example/postventa",
    "link_signing_secret_id": "postventa/link-signing",
    "inbox_key_secret_id": "postventa/inbox-key",
    "shopify_webhook_secret_id": "postventa/shopify-webhooks",
    "event_bus_name": "postventa",
    "push_application_id": "local-push-app",
    "archive_bucket": "postventa-archive",
    "call_destinations": ["helpdesk"],
    "shopify_admin_url": "https://postventa-demo.myshopify.com/admin/api/2026-10/graphql.json",
    "shopify_admin_token_secret_id": "postventa/shopify-admin-token",
}


# The demo's numbers a carrier refuses, and its words for why (SNS's delivery-status log).
UNDELIVERABLE_NUMBERS = {"+14155550177": "Phone is on a blocked list"}
SMS_LOG_GROUP = "sns/us-east-1/123456789012/DirectPublishToPhoneNumber"
ASYNC_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first and two retries


def cloudwatch_logs_event(log_group: str, messages: list[str], at: datetime) -> dict[str, Any]:
    """What a CloudWatch Logs subscription hands its Lambda: the log events, gzipped, base64."""
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "local",
        "subscriptionFilters": ["postventa-sms-status"],
        "logEvents": [
            {"id": str(index), "timestamp": int(at.timestamp() * 1000), "message": message}
            for index, message in enumerate(messages)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


def sms_delivery_log(message_id: str, number: str, at: datetime, failure: str | None = None) -> str:
    """An SNS SMS delivery-status record, in the published format (events/published)."""
    return json.dumps(
        {
            "notification": {"messageId": message_id, "timestamp": at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
            "delivery": {
                "numberOfMessageParts": 1,
                "destination": number,
                "priceInUSD": 0.00883,
                "smsType": "Transactional",
                "providerResponse": failure or "Message has been accepted by phone carrier",
                "dwellTimeMs": 599,
            },
            "status": "FAILURE" if failure else "SUCCESS",
        }
    )


class LocalSmsStatus:
    """Stands in for SNS's SMS delivery-status logs and their subscription: every text SNS takes
    is reported delivered a few seconds later, or failed for the demo's undeliverable numbers."""

    DELAY = timedelta(seconds=5)

    def __init__(self, deliver: Callable[[datetime, dict[str, Any]], None], clock: Callable[[], datetime]):
        self._deliver, self._clock = deliver, clock

    def taken(self, context: dict[str, Any], parsed: dict[str, Any]) -> None:
        request = context.get("postventa_request") or {}
        if context.get("postventa_operation") != "Publish" or "PhoneNumber" not in request:
            return
        at = self._clock() + self.DELAY
        number = request["PhoneNumber"]
        record = sms_delivery_log(parsed["MessageId"], number, at, UNDELIVERABLE_NUMBERS.get(number))
        self._deliver(at, cloudwatch_logs_event(SMS_LOG_GROUP, [record], at))


Receiver = Callable[[dict[str, Any]], None]  # an API destination's endpoint: takes the request body


def posted_to(endpoint: str, headers: dict[str, str]) -> Receiver:
    """An API destination in front of a real endpoint: each call's detail POSTed as JSON with the
    connection's header, as EventBridge sends it (a test's local receiver, a help desk's sandbox)."""

    def post(body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # the caller's own URL
            response.read()

    return post


class LocalHelpDesk:
    """Stands in for a help desk behind an API destination: opens one ticket per call (a receiver
    deduplicates on call_id: EventBridge delivers at least once) and says so on the bus as
    Support Case Opened, as a help desk's own integration would, ten minutes later."""

    DELAY = timedelta(minutes=10)

    def __init__(self, answer: Callable[[datetime, dict[str, Any]], None], clock: Callable[[], datetime]):
        self._answer, self._clock = answer, clock
        self.tickets: dict[str, dict[str, Any]] = {}

    def __call__(self, body: dict[str, Any]) -> None:
        if body["call_id"] in self.tickets:
            return
        self.tickets[body["call_id"]] = body
        at = self._clock() + self.DELAY
        stamp = at.isoformat().replace("+00:00", "Z")
        opened = {
            "version": "0",
            "id": f"helpdesk-{body['call_id']}",
            "detail-type": "Support Case Opened",
            "source": "com.shop.example.helpdesk",
            "account": "123456789012",
            "time": stamp,
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "schema_version": "1",
                "customer_id": body["customer"]["id"],
                "case_id": f"T-{len(self.tickets)}",
                "opened_at": stamp,
            },
        }
        self._answer(at, opened)


class LocalPushService:
    """Stands in for Pinpoint's SendMessages, which moto lacks: accepts every installation and
    keeps what was sent, in the response shape the push adapter reads."""

    def __init__(self, outbox: Outbox | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self._outbox = outbox

    def send_messages(self, *, ApplicationId: str, MessageRequest: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(MessageRequest)
        provider_id = f"push-{len(self.sent)}"
        if self._outbox is not None:
            self._outbox.pushed(MessageRequest, provider_id)
        results = {
            address: {"DeliveryStatus": "SUCCESSFUL", "StatusCode": 200, "MessageId": provider_id}
            for address in MessageRequest["Addresses"]
        }
        return {"MessageResponse": {"ApplicationId": ApplicationId, "Result": results}}


class LocalShopifyAdmin:
    """Stands in for the shop's Admin GraphQL API: keeps each request and answers as Shopify does
    when it takes the change (each mutation with no userErrors)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def post(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        return {"data": {name: {"userErrors": []} for name in request["variables"]}}


# A history's customer actions, which no bus carries: played by the simulation, as the customer's
# mailbox or app would (simulate only; docs/events.md).
SIMULATED_ACTIONS = "postventa.simulate"
MAILBOX_UNSUBSCRIBE = "Mailbox Unsubscribe"
MAILBOX_OPEN = "Mailbox Open"
APP_INBOX_OPENED = "App Inbox Opened"


class LocalMailboxes:
    """The customers' mailboxes: the one-click unsubscribe URL (RFC 8058's List-Unsubscribe) of
    the latest email each address was sent, which the mailbox provider POSTs when its reader asks
    to unsubscribe."""

    def __init__(self) -> None:
        self.unsubscribe_urls: dict[str, str] = {}

    def taken(self, context: dict[str, Any], parsed: dict[str, Any]) -> None:
        request = context.get("postventa_request") or {}
        headers = request.get("Content", {}).get("Simple", {}).get("Headers", [])
        urls = [h["Value"].strip("<>") for h in headers if h["Name"] == "List-Unsubscribe"]
        if context.get("postventa_operation") == "SendEmail" and urls:
            (address,) = request["Destination"]["ToAddresses"]
            self.unsubscribe_urls[address.lower()] = urls[0]

    def one_click(self, address: str, base_url: str, at: datetime) -> dict[str, Any] | None:
        """The provider's POST for the address's latest email that offers one, as the preference
        centre's API (at base_url) gets it; None if none did."""
        url = self.unsubscribe_urls.get(address.lower())
        if url is None:
            return None
        link = urlsplit(url)
        route = link.path.removeprefix(urlsplit(base_url).path)
        return http_api_event("POST", f"{route}?{link.query}", {}, b"List-Unsubscribe=One-Click", at)


class LocalSesEvents:
    """Stands in for the configuration set's event destination, which moto lacks: for every
    message SES takes it publishes a Send event carrying the message's tags, which reaches
    on_engagement seconds later (the proof services/steps.py relies on after an interrupted send);
    and the Open event of the latest email to an address, when its reader opens it."""

    DELAY = timedelta(seconds=2)

    def __init__(self, publish: Callable[[datetime, dict[str, Any]], None], clock: Callable[[], datetime]):
        self._publish, self._clock = publish, clock
        self._events = itertools.count(1)
        self._latest: dict[str, dict[str, Any]] = {}  # address -> the mail object of its latest email

    def taken(self, context: dict[str, Any], parsed: dict[str, Any]) -> None:
        """A provider took a message (FaultInjector.on_accepted): SES publishes its Send event."""
        if "postventa_email_tags" not in context:
            return
        at = self._clock() + self.DELAY
        mail = {
            "timestamp": _stamp(at),
            "messageId": parsed["MessageId"],
            "tags": {name: [value] for name, value in context["postventa_email_tags"].items()},
        }
        for address in context["postventa_request"]["Destination"]["ToAddresses"]:
            self._latest[address.lower()] = mail
        self._publish(at, self._event("Email Sent", "Send", mail, at, send={}))

    def opened(self, address: str, at: datetime) -> dict[str, Any] | None:
        """The Open event of the latest email to the address, opened at `at`; None if none was sent."""
        mail = self._latest.get(address.lower())
        if mail is None:
            return None
        opened = {"timestamp": _stamp(at), "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1"}
        return self._event("Email Opened", "Open", mail, at, open=opened)

    def _event(
        self, detail_type: str, kind: str, mail: dict[str, Any], at: datetime, **part: Any
    ) -> dict[str, Any]:
        """As SES publishes to EventBridge (events/ses holds AWS's samples)."""
        return {
            "version": "0",
            "id": f"ses-{kind.lower()}-{next(self._events)}",
            "detail-type": detail_type,
            "source": "aws.ses",
            "account": "123456789012",
            "time": _stamp(at),
            "region": "us-east-1",
            "resources": [],
            "detail": {"eventType": kind, "mail": mail, **part},
        }


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class TimelineEntry(BaseModel):
    """One line of the timeline: a message (sent, suppressed, failed) or a decision on an event."""

    at: AwareDatetime
    day: int
    kind: str
    customer_id: str | None = None
    journey: str | None = None
    step: str | None = None
    channel: str | None = None
    subject: str | None = None
    outcome: str
    reason: str | None = None
    held: str | None = Field(default=None, description="Why the contact policy held it, and since when")
    event_id: str | None = None

    @staticmethod
    def _when(at: datetime, start: datetime) -> dict[str, Any]:
        return {"at": at.astimezone(UTC), "day": (at - start) // timedelta(days=1)}

    @classmethod
    def of_message(cls, m: MessageRecord, start: datetime) -> TimelineEntry:
        return cls(
            **cls._when(m.at, start),
            kind="message",
            customer_id=m.customer_id,
            journey=m.journey,
            step=m.step,
            channel=m.channel,
            subject=m.subject,
            outcome=m.status.value,
            reason=m.reason,
            held=f"held from {m.due_at.astimezone(UTC):%m-%d %H:%M}: {m.held}"
            if m.held and m.due_at
            else None,
        )

    @classmethod
    def of_call(cls, d: StepDecision, destination: str, start: datetime) -> TimelineEntry:
        return cls(
            **cls._when(d.at, start),
            kind="call",
            customer_id=d.customer_id,
            journey=d.journey,
            step=d.step,
            channel=destination,
            outcome=d.outcome,
            reason=d.reason,
        )

    @classmethod
    def of_consent(cls, said: ConsentChangedV1, written: bool, start: datetime) -> TimelineEntry:
        """A choice the customer stated (Consent Changed); written: the store was told."""
        return cls(
            **cls._when(said.stated_at, start),
            kind="consent",
            customer_id=said.customer_id,
            step=said.stated_by,
            outcome="stated",
            reason=f"email marketing {said.email_marketing.value}, sms marketing {said.sms_marketing.value}"
            + ("; written to Shopify" if written else ""),
        )

    @classmethod
    def of_decision(cls, d: Decision, start: datetime) -> TimelineEntry:
        return cls(
            **cls._when(d.at, start),
            kind="decision",
            customer_id=d.customer_id,
            journey=d.journey,
            outcome=d.kind,
            reason=d.reason,
            event_id=d.event_id,
        )


@dataclass
class SimulationResult:
    timeline: list[TimelineEntry]
    summary: dict[str, Any]
    executions: dict[str, list[str]]  # execution name -> states entered, for the fidelity test
    final: FinalState
    guarantee: Guarantee | None = None  # with faults: what the guarantee's checks found
    outbox: list[Path] = field(default_factory=list)  # the files of the messages, when asked for


@dataclass
class _FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _discard_metrics() -> None:
    """Powertools (3.37) with POWERTOOLS_METRICS_DISABLED keeps every value it does not flush and
    prints them anyway once one metric holds 100: locally, drop them after each invocation."""
    metrics.clear_metrics()


def read_events(path: Path) -> list[dict[str, Any]]:
    """A JSON array, or JSON lines, of EventBridge events as they arrive on the bus."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("["):
        events = json.loads(text)
    else:
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
    if not all(isinstance(event, dict) for event in events):
        raise ValueError(f"{path}: every event must be a JSON object")
    return events


def _event_time(event: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    return moment if moment and moment.tzinfo else datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _sqs_batch(
    event: dict[str, Any], index: int, sent_at: datetime, receive_count: int = 1
) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"local-{index}",
                "receiptHandle": f"local-{index}",
                "body": json.dumps(event),
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": str(int(sent_at.timestamp() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:local:000000000000:postventa-ingest",
                "awsRegion": "local",
            }
        ]
    }


def provision_local_resources(
    settings: dict[str, Any], contract: ShopContract = OURS_ALONE
) -> dict[str, Any]:
    """What the CDK stack creates, made in moto; contract: the shop's events the ingest rule passes."""
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=settings["table_name"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.create_table(
        TableName=settings["idempotency_table_name"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="postventa-invalid-events")["QueueUrl"]
    boto3.client("events").create_event_bus(Name=settings["event_bus_name"])
    bus = settings["event_bus_name"]
    # The bus and its rule to the ingest queue, as the stack has them: occasions travel that way.
    ingest_url = _rule_to_queue(bus, "ingest", {"detail-type": contract.detail_types()})
    # Calls: the stack has one rule per destination, to its API destination; here one queue
    # stands in for them all, drained to each destination's local receiver (LocalApiDestinations).
    actions_url = _rule_to_queue(
        bus, "actions", {"detail-type": [ACTION_REQUESTED], "source": [ACTIONS_SOURCE]}
    )
    # What customers chose, as the bus says it to whoever listens (a storefront's write-back).
    consent_url = _rule_to_queue(
        bus, "consent", {"detail-type": [CONSENT_CHANGED], "source": [CONSENT_SOURCE]}
    )
    boto3.client("s3").create_bucket(Bucket=settings["archive_bucket"])
    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity="shop.example")
    ses.create_configuration_set(ConfigurationSetName=settings["configuration_set"])
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=settings["link_signing_secret_id"], SecretString="local-demo-signing-key")
    secrets.create_secret(Name=settings["shopify_webhook_secret_id"], SecretString=LOCAL_SHOPIFY_SECRET)
    secrets.create_secret(Name=settings["inbox_key_secret_id"], SecretString=LOCAL_INBOX_KEY)
    secrets.create_secret(Name=settings["shopify_admin_token_secret_id"], SecretString="shpat_local")
    return {
        **settings,
        "invalid_events_queue_url": queue_url,
        "ingest_queue_url": ingest_url,
        "actions_queue_url": actions_url,
        "consent_queue_url": consent_url,
    }


def _provider(services: Services) -> Callable[[], Services]:
    return lambda: services


def _rule_to_queue(bus: str, name: str, pattern: dict[str, list[str]]) -> str:
    """A queue named postventa-<name> that a rule on the bus fills with the events it matches."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"postventa-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"postventa-{name}", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"postventa-{name}", EventBusName=bus, Targets=[{"Id": name, "Arn": arn}])
    return url


def _delivered(queue_url: str) -> list[dict[str, Any]]:
    """The events a bus rule put in this queue, as EventBridge delivers them."""
    events = [json.loads(message["Body"]) for message in _drain(queue_url)]
    for event in events:
        event.setdefault("account", "123456789012")  # moto's delivery omits it; EventBridge's carries it
    return events


def _drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


class LocalPostventa:
    """Postventa in-process: moto for AWS, the local engine for Step Functions, the real handlers.

    Used by ``postventa simulate`` and by the integration tests, so both exercise one setup.
    """

    engine: LocalStepFunctions  # made on entering, with moto started

    def __init__(
        self,
        journeys: dict[str, Journey] | None = None,
        start: datetime | None = None,
        faults: FaultInjector | None = None,
        library: Library | None = None,
        outbox: bool = False,
        destinations: dict[str, Receiver] | None = None,
    ):
        """faults: injected at every AWS call the handlers make; a rate of 0 still counts what
        reached each provider. library: the journeys (unless given) and templates. outbox: keep
        every request a provider took (self.outbox), to write as files. destinations: the call
        steps' receivers by destination name (default: a stand-in help desk as helpdesk)."""
        self.library = library or Library()
        self.outbox = Outbox(lambda: self.engine.now) if outbox else None
        self.journeys = journeys if journeys is not None else self.library.journeys()
        self.start = start or datetime.fromisoformat("2026-01-01T00:00:00+00:00")
        self.decisions: list[Decision] = []
        self.faults = faults or FaultInjector(rate=0.0)
        self.redriven: list[dict[str, Any]] = []  # what SQS moved to a redrive queue, with no reason
        self._mock = mock_aws()
        self._deliveries = itertools.count()
        self.help_desk = LocalHelpDesk(
            lambda at, event: self.engine.call_at(at, lambda: self._receive_quietly(event)),
            lambda: self.engine.now,
        )
        self.destinations = destinations if destinations is not None else {"helpdesk": self.help_desk}
        self.undelivered_calls: list[dict[str, Any]] = []
        self.call_deliveries: Counter[str] = Counter()  # by call id: more than one is a call made twice

    def __enter__(self) -> LocalPostventa:
        self._mock.start()
        try:
            self.faults.install()
            self.settings = self._provision()
        except Exception:
            self.faults.uninstall()
            self._mock.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.faults.uninstall()
        self._mock.stop()

    def _provision(self) -> Settings:
        values = provision_local_resources(dict(LOCAL_SETTINGS), self.library.contract)
        self.ingest_queue_url = values.pop("ingest_queue_url")
        self.actions_queue_url = values.pop("actions_queue_url")
        self.consent_queue_url = values.pop("consent_queue_url")
        self.engine = LocalStepFunctions(start=self.start, invoke=self.invoke)
        self.ses_events = LocalSesEvents(
            lambda at, event: self.engine.call_at(at, lambda: self._receive_quietly(event)),
            lambda: self.engine.now,
        )
        self.faults.on_accepted.append(self.ses_events.taken)
        self.sms_status = LocalSmsStatus(
            lambda at, event: self.engine.call_at(at, lambda: self._sms_status(event)),
            lambda: self.engine.now,
        )
        self.faults.on_accepted.append(self.sms_status.taken)
        self.mailboxes = LocalMailboxes()
        self.faults.on_accepted.append(self.mailboxes.taken)
        if self.outbox is not None:
            self.faults.on_accepted.append(self.outbox.taken)
        state_machines = {
            name: self.engine.create_state_machine(
                name=state_machine_name(name),
                definition=json.dumps(
                    compile_journey(journey, run_step_arn=RUN_STEP_ARN, register_wait_arn=REGISTER_WAIT_ARN)
                ),
            )["stateMachineArn"]
            for name, journey in self.journeys.items()
        }
        settings = Settings(**values, state_machines=state_machines)
        self.push = LocalPushService(self.outbox)
        self.shopify_admin = LocalShopifyAdmin()
        self.services = self._services(settings)
        # Each function as Lambda runs it, bound to services built from only the settings the
        # stack gives it: a setting a function reads but was not given fails its tests. Tests may
        # reach into one function's services (function_services) to change what it runs on.
        names = {module: module.__name__.rsplit(".", 1)[-1] for module in FUNCTIONS}
        self.function_services = {
            name: self._services(settings, SETTINGS_USED[name]) for name in names.values()
        }
        self.lambdas = {
            name: module.build(_provider(self.function_services[name])) for module, name in names.items()
        }
        self.handlers = {
            RUN_STEP_ARN: self.lambdas["run_step"],
            REGISTER_WAIT_ARN: self.lambdas["register_wait"],
        }
        return settings

    def _services(self, settings: Settings, only: frozenset[str] | None = None) -> Services:
        given = settings if only is None else Settings(**settings.model_dump(include=set(only)))
        return Services(
            given,
            stand_ins=StandIns(
                stepfunctions=self.engine, pinpoint=self.push, shopify_admin=self.shopify_admin
            ),
            emit=self.decisions.append,
            journeys=self.journeys,
            clock=lambda: self.engine.now,
            library=self.library,
        )

    def invoke(self, function_arn: str, payload: dict[str, Any]) -> Any:
        """Step Functions calling a Lambda: an invocation that died reaches it as the platform's error."""
        try:
            with self.faults.invocation():
                return self.handlers[function_arn](
                    payload, _FakeLambdaContext(function_arn.rsplit(":", 1)[-1])
                )
        except InvocationCrashed as crash:
            self._expire_in_progress()
            raise platform_error(crash.platform_error) from None
        finally:
            _discard_metrics()
            if payload.get("action", {}).get("kind") == "call":  # only a call puts anything there
                self._deliver_calls()

    def _deliver_calls(self) -> None:
        """What call steps published reaches each destination's receiver, as its rule and API
        destination would deliver it (the event's detail as the request body); a call to a
        destination with no receiver waits, as in the rule's dead-letter queue."""
        for message in _drain(self.actions_queue_url):
            body = json.loads(message["Body"])["detail"]
            self.call_deliveries[body["call_id"]] += 1
            receiver = self.destinations.get(body["destination"])
            if receiver is None:
                self.undelivered_calls.append(body)
            else:
                receiver(body)

    def _expire_in_progress(self) -> None:
        """A dead invocation's idempotency record expires with its timeout (Powertools registers
        the remaining time); the virtual clock jumps past that at once."""
        table = boto3.resource("dynamodb").Table(self.settings.idempotency_table_name)
        # Filtered in the scan: only the few in progress are serialized back, not every record.
        for item in table.scan(FilterExpression=Attr("status").eq("INPROGRESS"))["Items"]:
            table.update_item(
                Key={"id": item["id"]},
                UpdateExpression="SET in_progress_expiration = :gone",
                ExpressionAttributeValues={":gone": 0},
            )

    def deliver(self, event: dict[str, Any]) -> dict[str, Any]:
        """EventBridge -> SQS -> on_order, at the event's own time on the virtual clock."""
        self.engine.run_until(_event_time(event))
        return self.receive(event)

    def receive(self, event: dict[str, Any], handler: str | None = None) -> dict[str, Any]:
        """The event's handler alone (SES engagement or storefront, unless named), the clock where
        it is. A receive that fails is delivered again once visible, up to the queue's receive limit.
        A customer's action (SIMULATED_ACTIONS) is played instead, as the preference centre gets it."""
        if event.get("source") == SIMULATED_ACTIONS:
            return self._act(event)
        handler = handler or (
            "on_engagement"
            if event.get("source") == "aws.ses" or "originationNumber" in event
            else "on_order"
        )
        index, sent_at = next(self._deliveries), self.engine.now
        response: dict[str, Any] = {}
        for receive_count in range(1, MAX_RECEIVES + 1):
            batch = _sqs_batch(event, index, sent_at, receive_count)
            try:
                with self.faults.invocation():
                    context = _FakeLambdaContext(f"postventa-{handler}")
                    response = dict(self.lambdas[handler](batch, context))
            except InvocationCrashed:
                self._expire_in_progress()
                response = {"batchItemFailures": [{"itemIdentifier": f"local-{index}"}]}
            except BatchProcessingError as error:  # the whole batch (of one) failed
                response = {"batchItemFailures": [{"itemIdentifier": f"local-{index}"}], "error": str(error)}
            finally:
                _discard_metrics()
            if not response.get("batchItemFailures"):
                return response
            self.engine.run_until(self.engine.now + VISIBILITY_TIMEOUT)
        self.redriven.append(event)
        return response

    def _act(self, event: dict[str, Any]) -> dict[str, Any]:
        actions = {
            MAILBOX_UNSUBSCRIBE: self._unsubscribe_by_mailbox,
            MAILBOX_OPEN: self._open_mail,
            APP_INBOX_OPENED: self._open_inbox,
        }
        action = actions.get(event.get("detail-type", ""))
        if action is None:
            raise ValueError(
                f"{SIMULATED_ACTIONS}: no action {event.get('detail-type')!r}; there are {', '.join(actions)}"
            )
        return action(event["detail"])

    def _unsubscribe_by_mailbox(self, detail: dict[str, Any]) -> dict[str, Any]:
        base_url = self.settings.required("links_base_url")
        request = self.mailboxes.one_click(detail["email"], base_url, self.engine.now)
        if request is None:
            return {"statusCode": 404, "body": "no email with an unsubscribe link was sent to that address"}
        return self._request(request)

    def _open_mail(self, detail: dict[str, Any]) -> dict[str, Any]:
        """The reader opens the latest email to the address: SES's Open event reaches on_engagement."""
        event = self.ses_events.opened(detail["email"], self.engine.now)
        if event is None:
            return {"statusCode": 404, "body": "no email was sent to that address"}
        return self.receive(event)

    def _open_inbox(self, detail: dict[str, Any]) -> dict[str, Any]:
        """The customer opens the app's inbox: the app fetches the cards, signed in as the shop's
        backend signs customers in, and marks those unread as read."""
        customer_id = detail["customer_id"]
        signed_in = {
            "X-Postventa-Customer": customer_id,
            "X-Postventa-Signature": inbox_signature(LOCAL_INBOX_KEY, customer_id),
        }
        listed = self._request(http_api_event("GET", "/inbox", signed_in, b"", self.engine.now))
        if listed.get("statusCode") != 200:
            return listed
        unread = [card["message_id"] for card in json.loads(listed["body"])["cards"] if not card["read_at"]]
        if not unread:
            return listed
        body = json.dumps({"message_ids": unread}).encode()
        return self._request(http_api_event("POST", "/inbox/read", signed_in, body, self.engine.now))

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        """A request the caller makes again when it failed (a mailbox provider, an app), twice more."""
        answered: dict[str, Any] = {}
        for _ in range(ASYNC_ATTEMPTS):
            try:
                answered = self.http(request)
            except InvocationCrashed:
                self._expire_in_progress()
                continue
            except Exception:  # API Gateway answers 500: the caller tries again
                continue
            if answered.get("statusCode") == 200:
                break
        return answered

    def _sms_status(self, event: dict[str, Any]) -> None:
        """CloudWatch Logs invokes on_sms_status asynchronously: Lambda retries a failed invocation
        twice, then keeps the event in the function's dead-letter queue."""
        for _ in range(ASYNC_ATTEMPTS):
            try:
                with self.faults.invocation():
                    self.lambdas["on_sms_status"](event, _FakeLambdaContext("postventa-on_sms_status"))
                return
            except (Exception, InvocationCrashed):  # an error or a crash: Lambda's asynchronous retry
                continue
            finally:
                _discard_metrics()
        self.redriven.append(event)

    def _receive_quietly(self, event: dict[str, Any]) -> None:
        self.receive(event)

    def _customers(self) -> list[str]:
        """Every customer the run decided anything for, in order."""
        return sorted({d.customer_id for d in self.decisions if d.customer_id})

    def messages(self) -> list[MessageRecord]:
        return [m for customer in self._customers() for m in self.services.store.messages_of(customer)]

    def inbox_cards(self) -> list[InboxCard]:
        return [card for customer in self._customers() for card in self.services.store.cards_of(customer)]

    def calls(self) -> list[tuple[StepDecision, str]]:
        """Each call step's recorded outcome, with the destination it named."""
        customers = self._customers()
        found = []
        for customer in customers:
            for decision in self.services.store.decisions_of(customer):
                step = self.journeys[decision.journey].step(decision.step)
                if isinstance(step, CallStep):
                    found.append((decision, step.call.destination))
        return found

    def write_archive(self, root: Path) -> None:
        """What the table's stream feeds Firehose in the cloud, from what this run stored."""
        store = self.services.store
        customers = self._customers()
        write_records(
            root,
            orders=(o for c in customers for o in store.orders_of(c)),
            messages=self.messages(),
            decisions=(d for c in customers for d in store.decisions_of(c)),
            answers=(a for c in customers for a in store.answers_of(c)),
        )

    def write_audiences(self, exported: list[dict[str, Any]], root: Path) -> list[Path]:
        """The ad lists the run wrote to the archive bucket, under root as under audiences/."""
        s3, written = boto3.client("s3"), []
        for key in (key for audience in exported for key in audience["keys"]):
            path = root / key.removeprefix(AudienceFiles.PREFIX)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(
                s3.get_object(Bucket=self.settings.required("archive_bucket"), Key=key)["Body"].read()
            )
            written.append(path)
        return written

    def final_state(self, dead_letters: list[dict[str, Any]]) -> FinalState:
        """What the guarantee is checked on once every journey has run out."""
        store = self.services.store
        customers = self._customers()
        profiles = {c: p for c in customers if (p := store.get_profile(c)) is not None}
        waiting = [json.loads(message["Body"]) for message in dead_letters] + self.redriven
        return FinalState(
            messages=self.messages(),
            consent={c: consent_of(p) for c, p in profiles.items()},
            orders_counted={c: p.orders_count for c, p in profiles.items()},
            orders_stored={c: len(store.orders_of(c)) for c in profiles},
            failed_executions=[e.name for e in self.engine.executions.values() if e.status == "FAILED"],
            dead_lettered=len(dead_letters),
            redriven=len(self.redriven),
            waiting_customers=frozenset(filter(None, map(self._customer_of, waiting))),
            exited=frozenset(
                (c, entry.journey) for c in profiles for entry in store.entries_of(c) if entry.ended_reason
            ),
        )

    def _customer_of(self, raw: Any) -> str | None:
        """Whose event it is, for one that waits in a dead-letter queue (None: not an event)."""
        if isinstance(raw, dict) and "awslogs" in raw:  # SMS delivery status, for on_sms_status
            logs = CloudWatchLogsModel.model_validate(raw).awslogs.decoded_data
            numbers = [
                SmsDeliveryLog.model_validate_json(str(e.message)).delivery.destination
                for e in logs.logEvents
            ]
            return next(filter(None, map(self.services.store.customer_by_phone, numbers)), None)
        try:
            event = parse_inbound(raw, self.services.library.contract)
        except InvalidEvent:
            return None
        order = self.services.store.get_order(event.order_id) if event.order_id else None
        return event.customer_id or (order.customer_id if order else None)

    def dead_letters(self) -> list[dict[str, Any]]:
        return _drain(self.settings.required("invalid_events_queue_url"))

    def run_occasions(self, now: datetime) -> int:
        """One run of the occasions schedule: what it publishes on the bus comes back through on_order."""
        self.engine.run_until(now)
        published = self.function_services["occasions"].occasions.run(now)
        self.relay_bus()
        return len(published)

    def export_audiences(self, now: datetime) -> list[dict[str, Any]]:
        """One run of the audiences' daily schedule: what it wrote to the archive bucket, by audience."""
        run = self.lambdas["export_audiences"](
            {"scheduled_time": now.isoformat()}, _FakeLambdaContext("postventa-export-audiences")
        )
        _discard_metrics()
        return list(run["audiences"])

    def consent_said(self) -> list[dict[str, Any]]:
        """Every Consent Changed event the bus has carried since the last look, oldest first."""
        return _delivered(self.consent_queue_url)

    def write_back_consent(self) -> list[dict[str, Any]]:
        """What the consent queue holds, each through write_consent to the stand-in Admin API (the
        stack's rule and queue when the shop set up shopifyAdmin); what each record came to."""
        return [self.receive(event, "write_consent") for event in self.consent_said()]

    def relay_bus(self) -> None:
        """What Postventa published on its own bus (occasions, survey answers) reaches on_order."""
        for event in _delivered(self.ingest_queue_url):
            self.receive(event)

    def http(self, event: dict[str, Any]) -> dict[str, Any]:
        """One request to the HTTP API (API Gateway HTTP API event): the app inbox's function
        serves /inbox, the preference centre's the rest."""
        function = "inbox" if event["rawPath"].startswith("/inbox") else "preferences"
        try:
            with self.faults.invocation():
                return dict(self.lambdas[function](event, _FakeLambdaContext(f"postventa-{function}")))
        finally:
            _discard_metrics()


def run_simulation(
    events: list[dict[str, Any]],
    journeys: dict[str, Journey] | None = None,
    archive: Path | None = None,
    faults: FaultInjector | None = None,
    clean: FinalState | None = None,
    library: Library | None = None,
    outbox: Path | None = None,
    audiences: Path | None = None,
) -> SimulationResult:
    """archive: also write the analytics archive there (orders, messages, assignments, surveys).
    audiences: also write there the ad lists the audiences' run made at the end.
    outbox: also write every message there as it was handed to its provider (local/outbox.py).
    faults: inject them at every AWS call and into the deliveries (duplicated, late), and check
    the delivery guarantee against a run of the same events without them (`clean`: that run's
    final state, when already known: replays of one history under many schedules share it)."""
    ordered = [
        event for _, event in sorted(enumerate(events), key=lambda pair: (_event_time(pair[1]), pair[0]))
    ]
    started_wall = time.perf_counter()
    start = _event_time(ordered[0]) if ordered else None
    deliveries = delivery_schedule(ordered, faults) if faults else [(_event_time(e), e) for e in ordered]
    if outbox is not None:
        prepare_outbox(outbox)  # refused before the run, not after it
    with LocalPostventa(journeys, start, faults, library, outbox=outbox is not None) as local:
        for at, event in deliveries:
            local.engine.run_until(at)
            local.receive(event)
        local.engine.run_until_idle()
        exported = local.export_audiences(local.engine.now)
        if audiences is not None:
            local.write_audiences(exported, audiences)
        consent_events = local.consent_said()
        for event in consent_events:  # through write_consent to the stand-in Admin API
            local.receive(event, "write_consent")
        messages = local.messages()
        cards = local.inbox_cards()
        calls = local.calls()
        tickets = len(local.help_desk.tickets)
        written_for = {
            variables["customerId"].rsplit("/", 1)[-1]
            for request in local.shopify_admin.requests
            for variables in request["variables"].values()
        }
        dead = local.dead_letters()
        outcome = local.final_state(dead)
        if archive is not None:
            local.write_archive(archive)
        written = local.outbox.write(outbox, messages) if local.outbox and outbox else []
        decisions, engine, start = local.decisions, local.engine, local.start
        handed_over = local.faults.handed_over + local.call_deliveries  # what providers and receivers got

    timeline = (
        [TimelineEntry.of_message(m, start) for m in messages]
        + [TimelineEntry.of_call(d, destination, start) for d, destination in calls]
        + [TimelineEntry.of_decision(d, start) for d in decisions]
        + [
            TimelineEntry.of_consent(said, said.customer_id in written_for, start)
            for said in (ConsentChangedV1.model_validate(event["detail"]) for event in consent_events)
        ]
    )
    timeline.sort(key=lambda entry: (entry.at, entry.kind != "decision"))

    outcomes = Counter(entry.outcome for entry in timeline if entry.kind == "message")
    sent = outcomes.get("sent", 0)
    summary = {
        "events": len(events),
        "events_in_dead_letter_queue": len(dead),
        "duplicates_ignored": sum(1 for d in decisions if d.kind == "duplicate"),
        "journeys_started": sum(1 for d in decisions if d.kind == "started"),
        "journeys_ended_by_exit_goal": sum(1 for d in decisions if d.kind == "ended"),
        "messages": dict(sorted(outcomes.items())),
        "calls": dict(sorted(Counter(e.outcome for e in timeline if e.kind == "call").items())),
        "tickets_opened_by_the_stand_in_help_desk": tickets,
        "consent_written_to_the_stand_in_shopify": len(written_for),
        "inbox_cards": {"kept": len(cards), "read": sum(card.read_at is not None for card in cards)},
        "suppressed_by_reason": dict(
            Counter(e.reason for e in timeline if e.kind == "message" and e.outcome == "suppressed")
        ),
        "held_back_by_reason": dict(Counter(m.held.split(" (")[0] for m in messages if m.held)),
        "state_transitions": engine.transitions.total(),
        "transitions_per_message_sent": round(engine.transitions.total() / sent, 2) if sent else None,
        "audience_members": {a["audience"]: a["members"] for a in exported},  # consented, that day
        "simulated_days": (engine.now - start) // timedelta(days=1),
        "wall_seconds": round(time.perf_counter() - started_wall, 2),
    }
    guarantee = (
        check_guarantee(
            outcome, handed_over, clean or run_simulation(events, journeys, library=library).final, faults
        )
        if faults
        else None
    )
    executions = {execution.name: execution.path for execution in engine.executions.values()}
    return SimulationResult(
        timeline=timeline,
        summary=summary,
        executions=executions,
        final=outcome,
        guarantee=guarantee,
        outbox=written,
    )


def format_timeline(result: SimulationResult) -> str:
    header = f"{'day':>4}  {'time (UTC)':<16}  {'customer':<20}  {'journey':<14}  {'step':<24}  {'channel':<9}  {'outcome':<10}  subject / reason"
    lines = [header, "-" * len(header)]
    for entry in result.timeline:
        customer = (entry.customer_id or "-")[:20]
        detail = entry.subject or ""
        if entry.reason:
            detail = f"{detail}  ({entry.reason})" if detail else entry.reason
        if entry.held:
            detail = f"{detail}  [{entry.held}]"
        lines.append(
            f"{entry.day:>4}  {entry.at:%Y-%m-%d %H:%M}  {customer:<20}  {(entry.journey or '-'):<14}  "
            f"{(entry.step or '-'):<24}  {(entry.channel or '-'):<9}  {entry.outcome:<10}  {detail}"
        )
    lines.append("")
    lines.append("Summary")
    for key, value in result.summary.items():
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    if result.guarantee is not None:
        lines.extend(["", result.guarantee.describe()])
    return "\n".join(lines)


def write_jsonl(result: SimulationResult, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for entry in result.timeline:
            out.write(entry.model_dump_json(exclude_none=True) + "\n")
