"""End to end: the demo and user-supplied events through `postventa simulate`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postventa.cli import main
from postventa.local.simulate import DEMO_EVENTS, read_events, run_simulation
from tests.conftest import EVENTS, load_json


@pytest.fixture(scope="module")
def demo():
    return run_simulation(read_events(DEMO_EVENTS))


def messages(result, customer):
    return [
        (e.day, e.step, e.outcome, e.reason)
        for e in result.timeline
        if e.kind == "message" and e.customer_id == customer
    ]


def test_a_fulfilled_order_gets_the_whole_journey_on_time(demo):
    assert messages(demo, "cus-ana") == [
        (0, "order_confirmation", "sent", None),
        (4, "product_tips", "sent", None),  # fulfilled on day 1 (08:30) + 3 days
        (11, "review_request", "sent", None),
        (25, "nps_survey", "sent", None),
    ]


def test_a_refund_ends_the_journey(demo):
    assert messages(demo, "cus-carla") == [(0, "order_confirmation", "sent", None)]
    ended = [e for e in demo.timeline if e.outcome == "ended"]
    assert [(e.customer_id, e.reason) for e in ended] == [("cus-carla", "exit goal: Order Refunded")]


def test_an_unsubscribed_customer_gets_only_the_confirmation(demo):
    assert [(step, outcome) for _, step, outcome, _ in messages(demo, "cus-dev")] == [
        ("order_confirmation", "sent"),
        ("product_tips", "suppressed"),
        ("review_request", "suppressed"),
        ("nps_survey", "suppressed"),
    ]


def test_an_order_never_shipped_gets_the_apology_on_day_14(demo):
    ben = messages(demo, "9007199254740993001")  # a Shopify id above 2^53, exact
    assert [(step, outcome) for _, step, outcome, _ in ben] == [
        ("order_confirmation", "sent"),
        ("shipping_delay_apology", "sent"),
    ]
    confirmation, apology = [
        e for e in demo.timeline if e.kind == "message" and e.customer_id == "9007199254740993001"
    ]
    assert apology.at - confirmation.at == timedelta(days=14)


def test_duplicates_and_invalid_events_are_shown_and_send_nothing(demo):
    summary = demo.summary
    assert summary["duplicates_ignored"] == 2
    assert summary["invalid_events_in_dead_letter_queue"] == 1
    assert summary["journeys_started"] == 4
    assert summary["messages"] == {"sent": 8, "suppressed": 3}
    (invalid,) = [e for e in demo.timeline if e.outcome == "invalid"]
    assert (
        invalid.event_id == "evt-0004"
        and "detail.placed_at: Input should have timezone info" in invalid.reason
    )
    confirmations = [e for e in demo.timeline if e.step == "order_confirmation" and e.outcome == "sent"]
    assert len(confirmations) == len({e.customer_id for e in confirmations}) == 4


def test_simulate_replays_a_users_events_as_json_lines_and_writes_the_timeline(tmp_path, capsys):
    events = tmp_path / "bus.jsonl"
    lines = [
        load_json(EVENTS / "shopify" / "orders-create.json"),
        load_json(EVENTS / "shopify" / "orders-fulfilled.json"),
    ]
    events.write_text("\n".join(json.dumps(event) for event in lines) + "\n")
    out = tmp_path / "timeline.jsonl"
    assert main(["simulate", "--events", str(events), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Getting the most out of your Aviator sunglasses" in printed
    assert "Summary" in printed
    records = [json.loads(line) for line in out.read_text().splitlines()]
    sent = [r["step"] for r in records if r["kind"] == "message" and r["outcome"] == "sent"]
    assert sent == ["order_confirmation", "product_tips", "review_request", "nps_survey"]
    assert {r["customer_id"] for r in records if r.get("customer_id")} == {"9007199254740993001"}


def test_journeys_validate_reports_problems_with_exit_status(tmp_path, capsys):
    assert main(["journeys", "validate"]) == 0
    assert "ok  post-purchase v1: 10 steps" in capsys.readouterr().out
    (tmp_path / "broken.yaml").write_text(
        "name: broken\nversion: 1\ntrigger: {event: Order Placed}\nsteps: []\n"
    )
    assert main(["journeys", "validate", str(tmp_path)]) == 1
    assert "broken.yaml: journey: steps: List should have at least 1 item" in capsys.readouterr().err
