"""DynamoDB single-table store: profiles, orders, journey entries, message log, pending waits.

Keys: CUSTOMER#id holds the profile, entries, messages, waits and app inbox cards of one
customer; ORDER#id holds an order, indexed by customer (GSI1) for the order history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel, TypeAdapter

from postventa.models.events import Channel
from postventa.models.records import (
    EARLY_RETENTION,
    ContactLedger,
    CustomerProfile,
    DecidedWinner,
    EarlyEvent,
    InboxCard,
    JourneyControl,
    JourneyEntry,
    MessageRecord,
    MessageStatus,
    NpsAnswer,
    OrderOutcome,
    OrderRecord,
    PendingWait,
    ProfileScore,
    SeenEvent,
    StepDecision,
)

Model = TypeVar("Model", bound=BaseModel)
_TIME = TypeAdapter(datetime)
ANY_ORDER = "*"
MESSAGE_RETENTION = timedelta(days=730)  # two years of message history, decisions and answers
INBOX_RETENTION = timedelta(days=90)  # a card older than a season is of no use in the app
WAIT_RETENTION = timedelta(days=400)  # past the longest wait Step Functions allows (a year)


_SHOP_OPEN_HOURS = {"pk": "SHOP", "sk": "OPEN_HOURS"}  # one counter per local hour, h00-h23


def _customer(customer_id: str) -> str:
    return f"CUSTOMER#{customer_id}"


def _attributes(model: BaseModel, **dump: Any) -> dict[str, Any]:
    # DynamoDB takes numbers as Decimal, never float: parsed from the JSON text, they stay exact.
    return dict(json.loads(model.model_dump_json(**dump), parse_float=Decimal))


def _item(model: BaseModel, pk: str, sk: str, **extra: Any) -> dict[str, Any]:
    return {**_attributes(model, exclude_none=True), "pk": pk, "sk": sk, **extra}


def _model(cls: type[Model], item: dict[str, Any] | None) -> Model | None:
    return cls.model_validate(item) if item else None


def _iso(moment: datetime | None) -> str | None:
    """A time exactly as the model dump wrote it, for conditions on stored times."""
    return _TIME.dump_python(moment, mode="json") if moment else None


def _versioned(profile: CustomerProfile, read: CustomerProfile | None) -> CustomerProfile:
    return profile.model_copy(update={"version": (read.version if read else 0) + 1})


def _text(provider_id: str) -> str:
    return f"TEXT#{provider_id}"


def _message_key(customer_id: str, message_id: str) -> dict[str, str]:
    return {"pk": _customer(customer_id), "sk": f"MESSAGE#{message_id}"}


def _early_key(early: EarlyEvent) -> dict[str, str]:
    return {"pk": f"ORDER#{early.order_id}", "sk": f"EARLY#{early.event.event_id}"}


def _claimed_at(claimed_at: datetime | None) -> ConditionBase:
    """Still the claim made at that time: not sent, released or taken over since."""
    return Attr("status").eq(MessageStatus.SENDING.value) & Attr("claimed_at").eq(_iso(claimed_at))


def _read_version(read: CustomerProfile | None) -> ConditionBase:
    return Attr("pk").not_exists() if read is None else Attr("version").eq(read.version)


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _held(write: Callable[..., Any], **request: Any) -> bool:
    """Make a conditional write: True if it was made, False if its condition did not hold."""
    try:
        write(**request)
    except ClientError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def _pages(read: Callable[..., Any], **request: Any) -> Iterator[dict[str, Any]]:
    """A Query's or Scan's items, page after page."""
    while True:
        response = read(**request)
        yield from response["Items"]
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class Store:
    def __init__(self, table: Any, retention: timedelta = MESSAGE_RETENTION):
        """table: a boto3 DynamoDB Table resource. retention: how long messages, decisions and
        survey answers are kept after they were recorded (DynamoDB's TTL deletes them)."""
        self._table = table
        self._retention = retention

    def _expiring(self, model: BaseModel, pk: str, sk: str, at: datetime) -> dict[str, Any]:
        return _item(model, pk, sk, expires_at=int((at + self._retention).timestamp()))

    def _message_item(self, message: MessageRecord) -> dict[str, Any]:
        item = self._expiring(
            message, _customer(message.customer_id), f"MESSAGE#{message.message_id}", message.at
        )
        if message.provider_message_id and message.channel == Channel.SMS.value:
            # End User Messaging's events on EventBridge name a text by its id alone (no number).
            item.update(gsi1pk=_text(message.provider_message_id), gsi1sk="MESSAGE")
        return item

    # profiles
    def get_profile(self, customer_id: str) -> CustomerProfile | None:
        return _model(CustomerProfile, self._get(_customer(customer_id), "PROFILE"))

    def save_profile(self, profile: CustomerProfile, read: CustomerProfile | None) -> CustomerProfile | None:
        """Write over the version read (None: there was none); None if another write came first."""
        written = _versioned(profile, read)
        item = _item(written, _customer(profile.customer_id), "PROFILE")
        return (
            written
            if _held(self._table.put_item, Item=item, ConditionExpression=_read_version(read))
            else None
        )

    def place_order(
        self, order: OrderRecord, profile: CustomerProfile, read: CustomerProfile | None
    ) -> CustomerProfile | OrderOutcome:
        """A new order and the profile that counts it, in one transaction: an order is counted
        once, whatever retries and concurrent duplicates do. The profile written, or why not."""
        written = _versioned(profile, read)
        # The resource's client serializes plain values itself; conditions inside a transaction
        # it leaves alone, so they are written out.
        version = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if read is None
            else {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": read.version},
            }
        )
        profile_put = {
            "TableName": self._table.name,
            "Item": _item(written, _customer(profile.customer_id), "PROFILE"),
            **version,
        }
        order_put = {
            "TableName": self._table.name,
            "Item": self._order_item(order),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[{"Put": order_put}, {"Put": profile_put}]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                return OrderOutcome.KNOWN
            if "ConditionalCheckFailed" in codes:
                return OrderOutcome.PROFILE_CHANGED
            raise  # a conflict with another transaction: transient, retried
        return written

    # calendar: who has which date, so the occasions run looks days up instead of scanning
    def link_phone(self, phone: str, customer_id: str) -> None:
        """Inbound SMS carry only the number (E.164): the customer is found through this item."""
        self._table.put_item(Item={"pk": f"PHONE#{phone}", "sk": "CUSTOMER", "customer_id": customer_id})

    def unlink_phone(self, phone: str, customer_id: str) -> None:
        """Only if the number still points at this customer (another may have taken it since)."""
        _held(
            self._table.delete_item,
            Key={"pk": f"PHONE#{phone}", "sk": "CUSTOMER"},
            ConditionExpression=Attr("customer_id").eq(customer_id),
        )

    def customer_by_phone(self, phone: str) -> str | None:
        item = self._get(f"PHONE#{phone}", "CUSTOMER")
        return str(item["customer_id"]) if item else None

    def calendar(self, key: str) -> list[tuple[str, str]]:
        """(customer id, timezone) under a calendar key."""
        items = list(_pages(self._table.query, KeyConditionExpression=Key("pk").eq(f"CALENDAR#{key}")))
        return [(item["customer_id"], item["timezone"]) for item in items]

    def move_calendar(self, customer_id: str, timezone: str, removed: set[str], added: set[str]) -> None:
        with self._table.batch_writer() as batch:
            for key in removed:
                batch.delete_item(Key={"pk": f"CALENDAR#{key}", "sk": _customer(customer_id)})
            for key in added:
                item = {
                    "pk": f"CALENDAR#{key}",
                    "sk": _customer(customer_id),
                    "customer_id": customer_id,
                    "timezone": timezone,
                }
                batch.put_item(Item=item)

    # orders
    def get_order(self, order_id: str) -> OrderRecord | None:
        return _model(OrderRecord, self._get(f"ORDER#{order_id}", "ORDER"))

    def put_order(self, order: OrderRecord) -> None:
        self._table.put_item(Item=self._order_item(order))

    @staticmethod
    def _order_item(order: OrderRecord) -> dict[str, Any]:
        return _item(
            order,
            f"ORDER#{order.order_id}",
            "ORDER",
            gsi1pk=_customer(order.customer_id),
            gsi1sk=f"ORDER#{order.placed_at.isoformat()}",
        )

    def keep_early(self, early: EarlyEvent) -> None:
        expires = int((early.kept_at + EARLY_RETENTION).timestamp())
        self._table.put_item(
            Item={**_attributes(early, exclude_none=True), **_early_key(early), "expires_at": expires}
        )

    def early_events(self, order_id: str) -> list[EarlyEvent]:
        """Oldest first, as they happened."""
        kept = self._query(EarlyEvent, f"ORDER#{order_id}", "EARLY#")
        return sorted(kept, key=lambda early: early.event.received_at)

    def forget_early(self, early: EarlyEvent) -> None:
        self._table.delete_item(Key=_early_key(early))

    def orders_of(self, customer_id: str) -> list[OrderRecord]:
        response = self._table.query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(_customer(customer_id))
        )
        return [OrderRecord.model_validate(item) for item in response["Items"]]

    # journey entries
    def claim_entry(self, entry: JourneyEntry) -> bool:
        """True when this entry is new, or an earlier attempt claimed it but never started the execution."""
        return _held(
            self._table.put_item,
            Item=_item(entry, _customer(entry.customer_id), f"ENTRY#{entry.journey}#{entry.trigger_id}"),
            ConditionExpression=Attr("pk").not_exists() | Attr("execution_arn").not_exists(),
        )

    def save_entry(self, entry: JourneyEntry) -> None:
        self._table.put_item(
            Item=_item(entry, _customer(entry.customer_id), f"ENTRY#{entry.journey}#{entry.trigger_id}")
        )

    def entries_of(self, customer_id: str) -> list[JourneyEntry]:
        return self._query(JourneyEntry, _customer(customer_id), "ENTRY#")

    # message log
    def claim_message(self, message: MessageRecord) -> MessageRecord | None:
        """Write the message once (a deferred one may be claimed again when it is due); if it is
        already there, return what is stored instead."""
        item = self._message_item(message)
        new = Attr("pk").not_exists() | Attr("status").eq(MessageStatus.DEFERRED.value)
        if _held(self._table.put_item, Item=item, ConditionExpression=new):
            return None
        return _model(MessageRecord, self._get(item["pk"], item["sk"]))

    def save_message(self, message: MessageRecord) -> None:
        self._table.put_item(Item=self._message_item(message))

    def reclaim_message(self, message: MessageRecord, claimed_at: datetime) -> bool:
        """Take over a claim abandoned since claimed_at; False if another attempt took it first."""
        return _held(
            self._table.put_item,
            Item=self._message_item(message),
            ConditionExpression=_claimed_at(claimed_at),
        )

    def hand_over(self, message: MessageRecord, channel: str, at: datetime) -> bool:
        """Mark the claim as about to reach a provider; False if another attempt took it over."""
        return _held(
            self._table.update_item,
            Key=_message_key(message.customer_id, message.message_id),
            UpdateExpression="SET handed_over_at = :at, channel = :channel",
            ConditionExpression=_claimed_at(message.claimed_at),
            ExpressionAttributeValues={":at": at.isoformat(), ":channel": channel},
        )

    def confirm_sent(self, customer_id: str, message_id: str, provider_message_id: str) -> bool:
        """The provider's proof that a message still claimed was taken (SES's Send event)."""
        return _held(
            self._table.update_item,
            Key=_message_key(customer_id, message_id),
            UpdateExpression="SET #status = :sent, provider_message_id = :id",
            ConditionExpression=Attr("status").eq(MessageStatus.SENDING.value),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":sent": MessageStatus.SENT.value, ":id": provider_message_id},
        )

    def drop_deferred(self, message: MessageRecord, reason: str) -> bool:
        """A message held for later that will never be due (its execution ended): suppressed with
        the reason; False if it was claimed again meanwhile."""
        return _held(
            self._table.update_item,
            Key=_message_key(message.customer_id, message.message_id),
            UpdateExpression="SET #status = :suppressed, reason = :reason",
            ConditionExpression=Attr("status").eq(MessageStatus.DEFERRED.value),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":suppressed": MessageStatus.SUPPRESSED.value, ":reason": reason},
        )

    def release_message(self, message: MessageRecord) -> None:
        """Drop this attempt's claim, whose send never happened, so the retry may send; a claim
        another attempt took over since is left alone."""
        _held(
            self._table.delete_item,
            Key=_message_key(message.customer_id, message.message_id),
            ConditionExpression=_claimed_at(message.claimed_at),
        )

    # the shop's opens by local hour (logic/send_time.py)
    def count_open_hour(self, hour: int) -> None:
        self._table.update_item(
            Key=_SHOP_OPEN_HOURS,
            UpdateExpression="ADD #hour :one",
            ExpressionAttributeNames={"#hour": f"h{hour:02d}"},
            ExpressionAttributeValues={":one": 1},
        )

    def shop_open_hours(self) -> list[int]:
        """Empty until the shop's first open."""
        item = self._get(_SHOP_OPEN_HOURS["pk"], _SHOP_OPEN_HOURS["sk"]) or {}
        return [int(item.get(f"h{hour:02d}", 0)) for hour in range(24)] if item else []

    # the app's inbox
    def put_card(self, card: InboxCard) -> bool:
        """One card per message: False when it is there already (a retried send)."""
        item = _item(
            card,
            _customer(card.customer_id),
            f"INBOX#{card.message_id}",
            expires_at=int((card.sent_at + INBOX_RETENTION).timestamp()),
        )
        return _held(self._table.put_item, Item=item, ConditionExpression=Attr("pk").not_exists())

    def cards_of(self, customer_id: str) -> list[InboxCard]:
        return self._query(InboxCard, _customer(customer_id), "INBOX#")

    def mark_read(self, customer_id: str, message_id: str, at: datetime) -> bool:
        """False when the card is not there or was read before."""
        return _held(
            self._table.update_item,
            Key={"pk": _customer(customer_id), "sk": f"INBOX#{message_id}"},
            UpdateExpression="SET read_at = :at",
            ConditionExpression=Attr("pk").exists() & Attr("read_at").not_exists(),
            ExpressionAttributeValues={":at": at.isoformat()},
        )

    def text_by_provider_id(self, provider_id: str) -> MessageRecord | None:
        response = self._table.query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(_text(provider_id)), Limit=1
        )
        return next((MessageRecord.model_validate(item) for item in response["Items"]), None)

    def get_message(self, customer_id: str, message_id: str) -> MessageRecord | None:
        return _model(MessageRecord, self._get(_customer(customer_id), f"MESSAGE#{message_id}"))

    def messages_of(self, customer_id: str) -> list[MessageRecord]:
        """Oldest first. Keys are message ids (what makes a send happen once), so order by time here."""
        return sorted(
            self._query(MessageRecord, _customer(customer_id), "MESSAGE#"), key=lambda message: message.at
        )

    def save_scores(self, scores: Iterable[ProfileScore], scored_at: datetime) -> int:
        """The scoring job's fields on each profile that exists; nothing else is touched."""
        written = 0
        for score in scores:
            fields = _attributes(score, exclude={"customer_id"})
            fields["scored_at"] = scored_at.isoformat()
            # A customer known only to the archive (erased, or never profiled) is skipped.
            written += _held(
                self._table.update_item,
                Key={"pk": _customer(score.customer_id), "sk": "PROFILE"},
                # The version moves too, so a profile change read before this write is redone.
                UpdateExpression="SET "
                + ", ".join(f"#{name} = :{name}" for name in fields)
                + " ADD #version :one",
                ExpressionAttributeNames={f"#{name}": name for name in [*fields, "version"]},
                ExpressionAttributeValues={
                    **{f":{name}": value for name, value in fields.items()},
                    ":one": 1,
                },
                ConditionExpression=Attr("pk").exists(),
            )
        return written

    # the contact ledger (logic/policy.py)
    def contact_ledger(self, customer_id: str) -> ContactLedger:
        stored = _model(ContactLedger, self._get(_customer(customer_id), "CONTACTS"))
        return stored or ContactLedger(customer_id=customer_id)

    def save_contact_ledger(self, ledger: ContactLedger) -> bool:
        """Written only over the version it was read at (its version - 1); False if another send won."""
        read_at = ledger.version - 1
        condition = Attr("pk").not_exists() if read_at == 0 else Attr("version").eq(read_at)
        item = _item(ledger, _customer(ledger.customer_id), "CONTACTS")
        return _held(self._table.put_item, Item=item, ConditionExpression=condition)

    # decisions of branch and split steps, and survey answers
    def save_decision(self, decision: StepDecision) -> None:
        key = f"DECISION#{decision.execution_id}#{decision.step}"
        self._table.put_item(Item=self._expiring(decision, _customer(decision.customer_id), key, decision.at))

    def claim_decision(self, decision: StepDecision) -> StepDecision | None:
        """The step's decision, made once: None when this one is now recorded, else the one that was."""
        pk, sk = _customer(decision.customer_id), f"DECISION#{decision.execution_id}#{decision.step}"
        item = self._expiring(decision, pk, sk, decision.at)
        if _held(self._table.put_item, Item=item, ConditionExpression=Attr("pk").not_exists()):
            return None
        return _model(StepDecision, self._get(pk, sk))

    def release_decision(self, decision: StepDecision) -> None:
        """Let go of a claimed decision nothing came of, so the step's retry makes it again."""
        key = {
            "pk": _customer(decision.customer_id),
            "sk": f"DECISION#{decision.execution_id}#{decision.step}",
        }
        _held(self._table.delete_item, Key=key, ConditionExpression=Attr("outcome").eq(decision.outcome))

    def decisions_of(self, customer_id: str) -> list[StepDecision]:
        return self._query(StepDecision, _customer(customer_id), "DECISION#")

    def save_nps(self, answer: NpsAnswer) -> None:
        """One answer per survey message (the latest given wins); an answer sent without its
        message (by a storefront) is kept on its own."""
        key = f"NPS#{answer.message_id}" if answer.message_id else f"NPS#at#{_iso(answer.at)}"
        item = self._expiring(answer, _customer(answer.customer_id), key, answer.at)
        later = Attr("pk").not_exists() | Attr("at").lt(_iso(answer.at))
        _held(self._table.put_item, Item=item, ConditionExpression=later)

    # decided A/B winners, one item per experiment: what `winner: auto` splits apply
    def decided_winner(self, experiment: str) -> DecidedWinner | None:
        # Eventually consistent is safe: a split decided a second late uses the weights a second longer.
        item = self._table.get_item(Key={"pk": f"EXPERIMENT#{experiment}", "sk": "WINNER"}).get("Item")
        return _model(DecidedWinner, item)

    def record_winner(self, decided: DecidedWinner) -> None:
        """The first decision stands: a later report reading the same test does not move it."""
        item = _item(decided, f"EXPERIMENT#{decided.experiment}", "WINNER")
        _held(self._table.put_item, Item=item, ConditionExpression=Attr("pk").not_exists())

    def forget_winner(self, experiment: str) -> bool:
        deleted = self._table.delete_item(
            Key={"pk": f"EXPERIMENT#{experiment}", "sk": "WINNER"}, ReturnValues="ALL_OLD"
        )
        return "Attributes" in deleted

    # operators' controls, one item per journey: read by on_order at each entry, by run_step at each send
    def journey_control(self, journey: str) -> JourneyControl | None:
        # Strongly consistent: a send right after `pause` is held, not sent on a stale read.
        item = self._table.get_item(Key={"pk": f"JOURNEY#{journey}", "sk": "CONTROL"}, ConsistentRead=True)
        return _model(JourneyControl, item.get("Item"))

    def save_journey_control(self, control: JourneyControl) -> None:
        self._table.put_item(Item=_item(control, f"JOURNEY#{control.journey}", "CONTROL"))

    def claim_seed_copy(self, journey: str, step: str, channel: str, day: date) -> bool:
        """The day's one seed copy of a step on a channel: True for the first send to ask."""
        expires = datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=2)
        item = {
            "pk": f"SEED#{journey}#{step}#{channel}",
            "sk": day.isoformat(),
            "expires_at": int(expires.timestamp()),
        }
        return _held(self._table.put_item, Item=item, ConditionExpression=Attr("pk").not_exists())

    def answers_of(self, customer_id: str) -> list[NpsAnswer]:
        return self._query(NpsAnswer, _customer(customer_id), "NPS#")

    def latest_nps(self, customer_id: str) -> NpsAnswer | None:
        return max(self.answers_of(customer_id), key=lambda answer: answer.at, default=None)

    # the audiences' daily run: the whole table read, a page at a time
    def latest_answers(self) -> dict[str, NpsAnswer]:
        """Every customer's latest survey answer."""
        latest: dict[str, NpsAnswer] = {}
        for item in self._scan(Attr("sk").begins_with("NPS#")):
            answer = NpsAnswer.model_validate(item)
            held = latest.get(answer.customer_id)
            if held is None or answer.at > held.at:
                latest[answer.customer_id] = answer
        return latest

    def profiles(self) -> Iterator[CustomerProfile]:
        """Every customer's profile, never all in memory at once."""
        for item in self._scan(Attr("sk").eq("PROFILE")):
            yield CustomerProfile.model_validate(item)

    def _scan(self, condition: ConditionBase) -> Iterator[dict[str, Any]]:
        # Eventually consistent: a day's list need not see the last second's writes, at half the reads.
        return _pages(self._table.scan, FilterExpression=condition)

    # waits
    def put_wait(self, wait: PendingWait) -> None:
        expires = int((wait.registered_at + WAIT_RETENTION).timestamp())
        self._table.put_item(
            Item=_item(wait, _customer(wait.customer_id), self._wait_key(wait), expires_at=expires)
        )

    def delete_wait(self, wait: PendingWait) -> None:
        self._table.delete_item(Key={"pk": _customer(wait.customer_id), "sk": self._wait_key(wait)})

    def waits_for(self, customer_id: str, order_id: str | None, event: str) -> list[PendingWait]:
        prefixes = {f"WAIT#{ANY_ORDER}#{event}#", f"WAIT#{order_id or ANY_ORDER}#{event}#"}
        return [
            wait
            for prefix in sorted(prefixes)
            for wait in self._query(PendingWait, _customer(customer_id), prefix)
        ]

    def note_event(self, seen: SeenEvent) -> None:
        expires = int((seen.at + WAIT_RETENTION).timestamp())
        key = f"SEEN#{seen.event}#{seen.at.isoformat()}#{seen.event_id}"
        self._table.put_item(Item=_item(seen, _customer(seen.customer_id), key, expires_at=expires))

    def seen_since(self, customer_id: str, event: str, since: datetime) -> list[SeenEvent]:
        return [
            seen
            for seen in self._query(SeenEvent, _customer(customer_id), f"SEEN#{event}#")
            if seen.at >= since
        ]

    @staticmethod
    def _wait_key(wait: PendingWait) -> str:
        return f"WAIT#{wait.order_id or ANY_ORDER}#{wait.event}#{wait.execution_id}#{wait.step}"

    # erasure
    def keys_of(self, customer_id: str) -> list[dict[str, str]]:
        """Every item kept under the customer, and their orders with what came before them."""
        keys = self._keys(Key("pk").eq(_customer(customer_id)))
        for order in self.orders_of(customer_id):
            keys += self._keys(Key("pk").eq(f"ORDER#{order.order_id}"))
        return keys

    def delete(self, keys: list[dict[str, str]]) -> None:
        with self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)

    def _keys(self, condition: ConditionBase) -> list[dict[str, str]]:
        pages = _pages(
            self._table.query,
            ConsistentRead=True,
            KeyConditionExpression=condition,
            ProjectionExpression="pk, sk",
        )
        return [{"pk": item["pk"], "sk": item["sk"]} for item in pages]

    # plumbing
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")

    def _query(self, cls: type[Model], pk: str, sk_prefix: str) -> list[Model]:
        condition = Key("pk").eq(pk) & Key("sk").begins_with(sk_prefix)
        items = list(_pages(self._table.query, ConsistentRead=True, KeyConditionExpression=condition))
        return [cls.model_validate(item) for item in items]
