"""The shop's own events and customer attributes: declared, checked as they arrive, read by
conditions, waits and templates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from postventa.journeys.checks import check_journeys, errors
from postventa.journeys.library import Library
from postventa.journeys.loader import parse_journey
from postventa.journeys.model import ExitGoal, Journey
from postventa.logic.entry import journeys_to_enter, reaches_goal
from postventa.logic.facts import declared_facts
from postventa.logic.render import MessageRenderer
from postventa.models.custom import CustomAttributes, CustomEventDeclaration, PropertySpec, ShopContract
from postventa.models.events import CustomerV1
from postventa.models.inbound import InvalidEvent, parse_inbound
from postventa.models.records import CustomerProfile, JourneyEntry
from tests.conftest import EVENTS, SEND_TIMES, SHOP, load_json

LIBRARY = Library()
CONTRACT = LIBRARY.contract
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def custom(name: str, **changes) -> dict:
    event = load_json(EVENTS / "custom" / f"{name}.json")
    return {**event, **changes}


def test_a_declaration_refuses_what_would_break_the_events_it_checks():
    with pytest.raises(ValidationError, match="one of Postventa's own events"):
        CustomEventDeclaration(name="Order Placed")
    with pytest.raises(ValidationError, match="'customer' is every event's own field"):
        CustomEventDeclaration(name="Gift Sent", properties={"customer": PropertySpec(type="text")})
    with pytest.raises(ValidationError, match="key 'sku' must be a required property"):
        CustomEventDeclaration(name="Gift Sent", properties={"sku": "text"}, key=["sku"])
    with pytest.raises(ValidationError, match="a customer attribute is text, a number"):
        CustomAttributes(attributes={"sizes": PropertySpec(type="list")})


def test_a_declared_event_is_checked_against_its_declaration_and_keyed_by_its_occurrence():
    event = parse_inbound(custom("subscription-renewal-scheduled"), CONTRACT)
    assert event.detail_type == "Subscription Renewal Scheduled"
    assert event.customer_id == "cus-kai"
    assert event.trigger_id == "subscription_id=sub-kai-1|renews_at=2026-03-10T06:00:00Z"
    carried = event.detail.model_dump(mode="json")
    assert carried["amount"] == {"amount": "24.00", "currency": "EUR"}
    assert carried["occurred_at"] == "2026-03-02T10:00:00Z"  # the event's own time when not stated
    # Without a key, each event is its own occurrence.
    assert parse_inbound(custom("product-viewed"), CONTRACT).trigger_id == "evt-0206"

    bad = custom("back-in-stock")
    bad["detail"] = {**bad["detail"], "url": "javascript:alert(1)", "colour": "red"}
    del bad["detail"]["product_name"]
    with pytest.raises(InvalidEvent) as refused:
        parse_inbound(bad, CONTRACT)
    assert refused.value.reason == (
        "detail.product_name: Field required; detail.url: Value error, links must be absolute "
        "http(s) URLs; detail.colour: Extra inputs are not permitted (as Back In Stock is declared)"
    )
    # A shop that declared nothing: the detail-type is no event of Postventa's.
    with pytest.raises(InvalidEvent, match="does not match any of the expected tags"):
        parse_inbound(custom("back-in-stock"))


def test_customer_attributes_are_typed_as_declared_kept_and_removed_by_null():
    contract = ShopContract(attributes=CustomAttributes(attributes={"tier": "text", "since": "date"}))
    updated = load_json(EVENTS / "customer-updated.json")
    updated["detail"]["customer"]["attributes"] = {"tier": "gold", "since": "2024-05-01"}
    customer = parse_inbound(updated, contract).detail.customer
    assert customer.attributes == {"tier": "gold", "since": "2024-05-01"}
    updated["detail"]["customer"]["attributes"] = {"since": "May 2024"}
    with pytest.raises(InvalidEvent) as refused:
        parse_inbound(updated, contract)
    assert refused.value.reason.startswith("detail.customer.attributes.since: Input should be a valid date")

    profile = CustomerProfile.from_contract(customer, AT)
    later = profile.merged_with(
        CustomerV1(id=customer.id, attributes={"tier": None, "since": "2024-06-01"}), AT
    )
    assert later.attributes == {"since": "2024-06-01"}
    # Nothing new: the profile is not written again (a shopper's every product view names them).
    assert later.merged_with(CustomerV1(id=customer.id), AT + timedelta(hours=1)) is later


def test_conditions_and_waits_may_name_the_declared_properties_and_attributes_only(tmp_path):
    facts = declared_facts(Library(SHOP).contract, "Points Expiring")
    assert facts["event.points"].kind == "number"
    assert facts["event.expires_on"].kind == "date"
    assert facts["customer.attributes.loyalty_tier"].kind == "text"
    assert "event.customer.email" not in facts  # who it is about is customer.*, not carried

    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "restock.yaml").write_text(
        "name: restock\nversion: 1\ntrigger:\n  event: Back In Stock\n  conditions:\n"
        "    - {field: event.prodcut_name, op: exists, value: true}\n"
        "steps:\n  - id: later\n    wait_until: {date_field: event.product_name}\n"
        "  - id: tell\n    send: {channel: email, template: back_in_stock, purpose: transactional}\n"
    )
    library = Library(tmp_path)
    found = [str(p) for p in errors(check_journeys(library.journeys(), library.sources(), library))]
    assert any("unknown field event.prodcut_name; did you mean event.product_name?" in p for p in found)
    assert any("wait_until: event.product_name is not a date" in p for p in found)


def test_a_wait_counts_back_from_a_declared_date():
    journey = LIBRARY.journeys()["subscription-renewal"]
    event = parse_inbound(custom("subscription-renewal-scheduled"), CONTRACT)
    profile = CustomerProfile(customer_id="cus-kai", timezone="Europe/Madrid", updated_at=AT)
    (start,) = journeys_to_enter(event, [journey], profile, None, send_times=SEND_TIMES)
    # Three days before 10 March, at 10:00 in Madrid (09:00 UTC), within the wait's spread.
    end = datetime.fromisoformat(start.execution_input["schedule"]["three_days_before"])
    assert timedelta(0) <= end - datetime(2026, 3, 7, 9, 0, tzinfo=UTC) <= timedelta(minutes=30)
    assert "customer" not in start.execution_input["trigger"]  # no contact details in the execution
    assert parse_journey(
        "name: x\nversion: 1\ntrigger: {event: Order Placed}\nsteps:\n"
        "  - id: w\n    wait_until: {date_field: order.placed_at, offset: -3d}\n",
        "x.yaml",
    ).steps[0].wait_until.offset == timedelta(days=-3)


def _entry(order_id: str | None, trigger_id: str) -> JourneyEntry:
    return JourneyEntry(
        customer_id="cus-kai",
        journey="subscription-renewal",
        version=1,
        trigger_id=trigger_id,
        order_id=order_id,
        execution_name="x",
        entered_at=AT,
    )


def test_an_exit_goal_of_any_order_reaches_entries_without_one_but_never_their_own_occurrence():
    journey: Journey = LIBRARY.journeys()["subscription-renewal"]
    newer = ExitGoal(event="Subscription Renewal Scheduled", same_order=False)
    scheduled = parse_inbound(custom("subscription-renewal-scheduled"), CONTRACT)
    own = _entry(None, scheduled.trigger_id)
    older = _entry(None, "subscription_id=sub-kai-1|renews_at=2026-02-10T06:00:00Z")
    assert not reaches_goal(scheduled, journey, newer, own)  # the same renewal, sent again
    assert reaches_goal(scheduled, journey, newer, older)  # moved: the older schedule ends
    cancelled = parse_inbound(custom("subscription-cancelled"), CONTRACT)
    assert reaches_goal(cancelled, journey, ExitGoal(event="Subscription Cancelled", same_order=False), own)
    # same_order: only the entry's own order
    same = ExitGoal(event="Subscription Cancelled", same_order=True)
    assert not reaches_goal(cancelled, journey, same, _entry("O-1", "t"))


def test_the_day_filter_names_a_moments_date_in_the_customers_timezone_and_language():
    renderer = MessageRenderer()
    template = renderer._env.from_string("{{ moment | day }} / {{ plain | day }}")
    values = {"moment": "2026-03-10T23:30:00Z", "plain": date(2026, 3, 10)}
    assert template.render(values, locale="es", timezone="Europe/Madrid") == (
        "11 de marzo de 2026 / 10 de marzo de 2026"
    )
    assert (
        template.render(values, locale="en", timezone="America/Chicago") == "March 10, 2026 / March 10, 2026"
    )


def test_an_audience_may_name_a_declared_customer_attribute():
    from postventa.journeys.library import ShopSettings
    from postventa.logic.audiences import audiences_of

    gold = {
        "name": "gold",
        "conditions": [{"field": "customer.attributes.loyalty_tier", "op": "eq", "value": "gold"}],
    }
    settings = ShopSettings.model_validate(
        {"customer_attributes": {"loyalty_tier": "text"}, "audiences": [gold]}
    )
    members = {
        tier: audiences_of(
            CustomerProfile(customer_id="c", attributes={"loyalty_tier": tier}, updated_at=AT),
            None,
            settings.audiences,
            AT,
        )
        for tier in ("gold", "silver")
    }
    assert members == {"gold": ["gold"], "silver": []}
    with pytest.raises(ValidationError, match=r"unknown field customer\.attributes\.loyalty_tier"):
        ShopSettings.model_validate({"audiences": [gold]})  # not declared


def test_a_declared_events_occurrence_is_its_entry_whatever_its_properties_are_called():
    declared = CustomEventDeclaration(
        name="Review Submitted",
        properties={"message_id": PropertySpec(type="text", required=True), "sku": "text"},
        key=["message_id"],
    )
    raw = custom("product-viewed", **{"detail-type": "Review Submitted"})
    raw["detail"] = {"customer": {"id": "c1"}, "order_id": "O-1", "message_id": "m-7", "sku": "MUG"}
    event = parse_inbound(raw, ShopContract(events={declared.name: declared}))
    assert (event.order_id, event.trigger_id) == ("O-1", "message_id=m-7")


def test_same_compares_the_triggers_properties_with_the_arriving_events():
    journey: Journey = LIBRARY.journeys()["subscription-renewal"]
    (goal,) = [goal for goal in journey.exit_on if goal.event == "Subscription Cancelled"]
    assert goal.same == ["subscription_id"] and journey.matched_at_entry() == {"subscription_id"}
    scheduled = parse_inbound(custom("subscription-renewal-scheduled"), CONTRACT)
    profile = CustomerProfile(customer_id="cus-kai", timezone="Europe/Madrid", updated_at=AT)
    (start,) = journeys_to_enter(scheduled, [journey], profile, None, send_times=SEND_TIMES)
    assert start.matched == {"subscription_id": "sub-kai-1"}
    entry = _entry(None, scheduled.trigger_id).model_copy(update={"matched": start.matched})
    cancelled = custom("subscription-cancelled")
    cancelled["detail"] = {**cancelled["detail"], "subscription_id": "sub-kai-1"}
    assert reaches_goal(parse_inbound(cancelled, CONTRACT), journey, goal, entry)
    cancelled["detail"] = {**cancelled["detail"], "subscription_id": "sub-kai-2"}
    assert not reaches_goal(parse_inbound(cancelled, CONTRACT), journey, goal, entry)


def test_same_names_properties_both_events_declare(tmp_path):
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "restock.yaml").write_text(
        "name: restock\nversion: 1\ntrigger: {event: Back In Stock}\n"
        "exit_on:\n  - {event: Order Placed, same_order: false, same: [product_id]}\n"
        "steps:\n  - id: tell\n    send: {channel: email, template: back_in_stock, purpose: transactional}\n"
    )
    library = Library(tmp_path)
    found = [str(p) for p in errors(check_journeys(library.journeys(), library.sources(), library))]
    assert any(
        "exit goal 1: same: product_id is no property of Order Placed: `same` compares properties" in p
        for p in found
    )
