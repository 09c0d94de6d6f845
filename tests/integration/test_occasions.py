"""The hourly occasions run against moto: calendar items, the bus, the rule, the queue, on_order."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postventa.journeys.loader import load_journey
from postventa.local.simulate import LocalPostventa
from tests.conftest import EVENTS, load_json

BIRTHDAY = load_journey(Path(__file__).parents[1] / "fixtures" / "birthday-test.yaml")


@pytest.fixture
def local():
    with LocalPostventa({"birthday-test": BIRTHDAY}, start=datetime(2026, 3, 1, tzinfo=UTC)) as running:
        yield running


def ana_with_birthday(birthday: str) -> dict:
    event = copy.deepcopy(load_json(EVENTS / "order-placed.json"))  # Ana, Europe/Madrid
    event["detail"]["customer"]["birthday"] = birthday
    return event


def test_a_birthday_enters_the_journey_once_in_her_slot_of_the_9am_local_hour(local):
    local.deliver(ana_with_birthday("1990-03-04"))
    assert local.services.store.calendar("birthday#03-04") == [("cus-ana", "Europe/Madrid")]

    # Runs every five minutes around Ana's birthday: Madrid is UTC+1 in March, so 08:00 UTC is her
    # 09:00, and her slot of the hour is 09:30.
    runs = [datetime(2026, 3, 4, 5, 0, tzinfo=UTC) + timedelta(minutes=5 * n) for n in range(12 * 7)]
    published = {run: count for run in runs if (count := local.run_occasions(run))}
    assert published == {datetime(2026, 3, 4, 8, 30, tzinfo=UTC): 1}
    local.engine.run_until_idle()
    (greeting,) = [m for m in local.services.store.messages_of("cus-ana") if m.journey == "birthday-test"]
    assert greeting.at == datetime(2026, 3, 4, 8, 30, tzinfo=UTC)
    assert (
        local.run_occasions(datetime(2026, 3, 4, 8, 30, tzinfo=UTC)) == 1
    )  # a retried run publishes again...
    kinds = [d.kind for d in local.decisions if d.journey == "birthday-test"]
    assert kinds == ["started", "duplicate"]  # ...and the occasion id keeps the entry to one


def test_a_changed_birthday_moves_the_calendar_entry(local):
    local.deliver(ana_with_birthday("1990-03-04"))
    update = load_json(EVENTS / "customer-updated.json")
    update["detail"]["customer"]["birthday"] = "1990-07-01"
    local.deliver(update)
    assert local.services.store.calendar("birthday#03-04") == []
    assert local.services.store.calendar("birthday#07-01") == [("cus-ana", "Europe/Madrid")]
    assert local.run_occasions(datetime(2026, 3, 4, 10, 0, tzinfo=UTC)) == 0


def test_no_birthday_no_calendar_entry(local):
    local.deliver(load_json(EVENTS / "order-placed.json"))
    assert local.run_occasions(datetime(2026, 3, 2, 10, 0, tzinfo=UTC) + timedelta(days=1)) == 0


def test_a_new_timezone_rewrites_the_calendar_entries(local):
    local.deliver(ana_with_birthday("1990-03-04"))
    update = load_json(EVENTS / "customer-updated.json")
    update["detail"]["customer"]["timezone"] = "America/Mexico_City"
    local.deliver(update)
    assert local.services.store.calendar("birthday#03-04") == [("cus-ana", "America/Mexico_City")]
    assert local.services.store.calendar("first_order#03-02") == [("cus-ana", "America/Mexico_City")]
