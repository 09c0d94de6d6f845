"""The best hour to send, end to end against moto: an open on_engagement records learns the
customer's local hour (and the shop's), and a wait_until at best_hour sends at it."""

from __future__ import annotations

from datetime import UTC, datetime

from postventa.journeys.loader import parse_journey
from postventa.local.simulate import LocalPostventa
from tests.conftest import EVENTS, load_json
from tests.integration.test_engagement import ses_event

AT_THEIR_HOUR = parse_journey(
    """
name: at-their-hour
version: 1
trigger: {event: Order Placed}
steps:
  - id: order_confirmation
    send: {channel: email, template: order_confirmation, purpose: transactional}
  - id: next_day
    wait: 1d
  - id: their_hour
    wait_until: {at: best_hour, spread: 0s}
  - id: product_tips
    send: {channel: email, template: product_tips, purpose: marketing, topic: tips}
""",
    "at-their-hour.yaml",
)


def test_an_open_teaches_the_customers_hour_and_the_next_message_waits_for_it():
    with LocalPostventa({"at-their-hour": AT_THEIR_HOUR}, start=datetime(2026, 3, 2, 9, tzinfo=UTC)) as local:
        local.deliver(load_json(EVENTS / "order-placed.json"))  # Ana, in Madrid (UTC+1 in March)
        local.engine.run_until(local.engine.now)
        (confirmation,) = local.services.store.messages_of("cus-ana")
        local.deliver(ses_event("open", confirmation, "2026-03-02T18:10:00Z"))  # 19:10 in Madrid
        local.deliver(ses_event("click", confirmation, "2026-03-02T18:12:00Z"))  # the same read
        profile = local.services.store.get_profile("cus-ana")
        assert [hour for hour, count in enumerate(profile.open_hours) if count] == [19]
        assert sum(profile.open_hours) == 1 and local.services.store.shop_open_hours()[19] == 1
        local.engine.run_until_idle()
        tips = next(m for m in local.services.store.messages_of("cus-ana") if m.step == "product_tips")
        assert tips.sent_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)  # 19:00 in Madrid, the next day
