"""Two journeys sending to one customer at the same moment: the ledger's version check makes
the second judged on what the first wrote (no two promotions slip through together)."""

from __future__ import annotations

from datetime import UTC, datetime

from postventa.adapters.memory import (
    CountingSender,
    MemoryRateLimiter,
    MemoryStore,
    SubjectOnlyRenderer,
    UnsignedLinks,
)
from postventa.journeys.model import Purpose
from postventa.journeys.tasks import StepRequest
from postventa.logic.links import ShopLinks
from postventa.models.events import Channel, ConsentState
from postventa.models.policy import ContactPolicy
from postventa.models.records import CustomerProfile, MessageStatus
from postventa.models.settings import CampaignLinks
from postventa.services.steps import StepRunner
from tests.conftest import SEND_TIMES

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class RacingStore(MemoryStore):
    """Lets another run_step write the ledger between this one's read and write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.race: StepRunner | None = None

    def save_contact_ledger(self, ledger):
        if self.race is not None:
            racer, self.race = self.race, None
            racer.run(request("other-execution", "other_promotion"))
        return super().save_contact_ledger(ledger)


def request(execution: str, step: str) -> StepRequest:
    return StepRequest.model_validate(
        {
            "execution_id": execution,
            "step": step,
            "now": NOON,
            "journey": step,
            "version": 1,
            "customer_id": "c1",
            "action": {"kind": "send", "channels": ["email"], "template": "t", "purpose": Purpose.MARKETING},
        }
    )


def test_concurrent_promotions_to_one_customer_pass_the_daily_cap_one_at_a_time():
    store = RacingStore()
    store.save_profile(
        CustomerProfile(
            customer_id="c1", email="c1@example.com", email_marketing=ConsentState.SUBSCRIBED, updated_at=NOON
        ),
        None,
    )
    sender = CountingSender()
    runner = StepRunner(
        store=store,
        senders={Channel.EMAIL: sender},
        rate_limiter=MemoryRateLimiter({}, lambda: NOON),  # no quota: the ledger alone decides
        policy=ContactPolicy(),
        renderer=SubjectOnlyRenderer(),
        links=UnsignedLinks(),
        shop_links=ShopLinks.configured(CampaignLinks(), sender="s@example.com", links_base_url=None),
        shop_name="Shop",
        support_email="s@example.com",
        default_timezone="UTC",
        clock=lambda: NOON,
        send_times=SEND_TIMES,
    )
    store.race = runner
    outcome = runner.run(request("first-execution", "first_promotion"))
    assert sender.sent == 1
    assert (outcome.status, outcome.reason) == ("suppressed", "frequency cap: 1 marketing a day")
    statuses = {m.step: m.status for m in store.messages_of("c1")}
    assert statuses == {"first_promotion": MessageStatus.SUPPRESSED, "other_promotion": MessageStatus.SENT}
