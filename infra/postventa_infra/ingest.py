"""Events in: the custom bus, the rules (ours and Shopify's partner source), the queues between."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from postventa.models.custom import ShopContract
from postventa.models.engagement import ENGAGEMENT_DETAIL_TYPES
from postventa.models.shopify import PARTNER_TOPICS
from postventa_infra.queues import dead_letter_queue, work_queue

# EventBridge's default quota on a rule's event pattern, in characters.
EVENT_PATTERN_LIMIT = 2048


def detail_type_groups(names: list[str], limit: int = EVENT_PATTERN_LIMIT) -> list[list[str]]:
    """The detail-types in as few rules' patterns as fit the quota: a shop declaring many events
    gets another rule rather than a failed deploy."""
    groups: list[list[str]] = [[]]
    for name in names:
        if groups[-1] and len(json.dumps({"detail-type": [*groups[-1], name]})) > limit:
            groups.append([])
        groups[-1].append(name)
    return groups


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shopify_event_source: str | None,
        configuration_set: str,
        contract: ShopContract,
    ):
        """contract: the shop's own events, which the contract's rule passes on beside Postventa's."""
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name="postventa")
        self.invalid_events = dead_letter_queue(self, "InvalidEvents", of="on_order (events it refused)")
        self.ingest_dead_letters = dead_letter_queue(self, "IngestDeadLetters", of="the ingest queue")
        self.undelivered_events = dead_letter_queue(self, "UndeliveredEvents", of="the rules' targets")
        self.ingest_queue = work_queue(self, "IngestQueue", self.ingest_dead_letters)
        target = self._delivered_to(self.ingest_queue)
        self.rules = [
            events.Rule(
                self,
                "ContractEvents" + (str(number) if number else ""),
                event_bus=self.bus,
                description="Postventa's own contract (orders and customers) and the shop's declared events",
                event_pattern=events.EventPattern(detail_type=group),
                targets=[target],
            )
            for number, group in enumerate(detail_type_groups(contract.detail_types()))
        ]
        if shopify_event_source:
            partner_bus = events.EventBus.from_event_bus_name(self, "ShopifyBus", shopify_event_source)
            self.rules.append(
                events.Rule(
                    self,
                    "ShopifyEvents",
                    event_bus=partner_bus,
                    description="Shopify's partner event source: the topics Postventa understands",
                    event_pattern=events.EventPattern(
                        detail_type=["shopifyWebhook"],
                        detail={"metadata": {"X-Shopify-Topic": list(PARTNER_TOPICS)}},
                    ),
                    targets=[target],
                )
            )

        # SES publishes engagement to the default bus only; this rule keeps our configuration set's.
        self.engagement_dead_letters = dead_letter_queue(
            self, "EngagementDeadLetters", of="the engagement queue"
        )
        self.engagement_queue = work_queue(self, "EngagementQueue", self.engagement_dead_letters)
        self.default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        self.rules.append(
            events.Rule(
                self,
                "EngagementEvents",
                event_bus=self.default_bus,
                description="SES delivery, open, click, bounce and complaint events of Postventa's sends",
                event_pattern=events.EventPattern(
                    source=["aws.ses"],
                    detail_type=list(ENGAGEMENT_DETAIL_TYPES),
                    detail={"mail": {"tags": {"ses:configuration-set": [configuration_set]}}},
                ),
                targets=[self._delivered_to(self.engagement_queue)],
            )
        )

    def routed(
        self, scope: Construct, name: str, *, description: str, pattern: events.EventPattern
    ) -> tuple[sqs.Queue, sqs.Queue]:
        """Postventa's own events that match, in a work queue of `scope`: (its dead letters, it)."""
        dead_letters = dead_letter_queue(scope, f"{name}DeadLetters", of=f"the {name.lower()} queue")
        queue = work_queue(scope, f"{name}Queue", dead_letters)
        self.rules.append(
            events.Rule(
                scope,
                f"{name}Events",
                event_bus=self.bus,
                description=description,
                event_pattern=pattern,
                targets=[self._delivered_to(queue)],
            )
        )
        return dead_letters, queue

    def _delivered_to(self, queue: sqs.IQueue) -> targets.SqsQueue:
        """A rule target that retries a day, then keeps what it could not deliver."""
        return targets.SqsQueue(
            queue,
            dead_letter_queue=self.undelivered_events,
            retry_attempts=185,
            max_event_age=Duration.hours(24),
        )
