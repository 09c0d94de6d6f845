"""Branches, splits, local-time waits and versions, through the real handlers on the local engine."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postventa.journeys.compiler import compile_journey
from postventa.journeys.loader import load_journey, parse_journey
from postventa.local.simulate import REGISTER_WAIT_ARN, RUN_STEP_ARN, LocalPostventa
from postventa.logic.splits import assign
from tests.conftest import EVENTS, load_json

JOURNEY = load_journey(Path(__file__).parents[1] / "fixtures" / "engaged.yaml")
PLACED = load_json(EVENTS / "order-placed.json")  # Ana, Europe/Madrid, 2026-03-02 09:15 UTC


def order_for(customer: str, index: int, placed_at: str = "2026-03-02T09:15:00Z") -> dict:
    event = copy.deepcopy(PLACED)
    event["id"] = f"evt-{customer}-{index}"
    event["time"] = placed_at
    event["detail"].update(order_id=f"{customer}-{index}", placed_at=placed_at)
    event["detail"]["customer"].update(id=customer, email=f"{customer}@example.com")
    return event


@pytest.fixture
def local():
    with LocalPostventa({"engaged": JOURNEY}, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as running:
        yield running


def test_wait_until_the_next_local_10am_then_branch_on_no_open(local):
    local.deliver(order_for("ana", 1))
    local.engine.run_until_idle()
    messages = {m.step: m for m in local.services.store.messages_of("ana")}
    assert "tips_for_readers" not in messages  # never opened
    resend = messages["resend_hello"]
    assert resend.at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 in Madrid the next morning
    (decision,) = [d for d in local.services.store.decisions_of("ana") if d.step == "opened_hello"]
    assert decision.outcome == "otherwise"


def test_an_opened_message_takes_the_opened_branch(local):
    local.deliver(order_for("ana", 1))
    local.engine.run_until(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    store = local.services.store
    (hello,) = store.messages_of("ana")
    store.save_message(hello.model_copy(update={"opened_at": datetime(2026, 3, 2, 11, 0, tzinfo=UTC)}))
    local.engine.run_until_idle()
    steps = [m.step for m in store.messages_of("ana")]
    assert steps[:2] == ["hello", "tips_for_readers"] and "resend_hello" not in steps


def test_split_assignment_is_recorded_and_the_holdout_gets_nothing(local):
    customers = [f"c{i:02d}" for i in range(30)]
    for index, customer in enumerate(customers):
        local.deliver(order_for(customer, index))
    local.engine.run_until_idle()
    store = local.services.store
    for customer in customers:
        expected = assign(customer, "engaged.offer_test", [("a", 1), ("b", 1)], 20)
        (decision,) = [d for d in store.decisions_of(customer) if d.step == "offer_test"]
        assert (decision.outcome, decision.experiment) == (expected, "engaged.offer_test")
        offers = [m for m in store.messages_of(customer) if m.step.startswith("offer_")]
        if expected == "holdout":
            assert offers == []
        else:
            (offer,) = offers
            assert (offer.step, offer.experiment, offer.variant) == (
                f"offer_{expected}",
                "engaged.offer_test",
                expected,
            )
    outcomes = {d.outcome for c in customers for d in store.decisions_of(c) if d.step == "offer_test"}
    assert outcomes == {"a", "b", "holdout"}


def test_a_repurchase_is_recorded_as_a_conversion(local):
    local.deliver(order_for("ana", 1))
    local.deliver(order_for("ana", 2, placed_at="2026-03-02T20:00:00Z"))  # before the morning wait ends
    local.engine.run_until_idle()
    first, second = sorted(local.services.store.entries_of("ana"), key=lambda e: e.entered_at)
    assert first.converted is True and first.ended_reason == "goal reached: Order Placed"
    assert second.converted is False and second.ended_reason is None
    assert [d.kind for d in local.decisions if d.journey == "engaged"] == ["started", "started", "converted"]


def test_running_executions_finish_on_the_version_they_started_with(local):
    local.deliver(order_for("ana", 1))
    local.engine.run_until(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))  # hello sent, waiting for 10:00 tomorrow

    # Deploy version 2: the resend now uses another template and the split is gone.
    text = (Path(__file__).parents[1] / "fixtures" / "engaged.yaml").read_text()
    text = text.replace("version: 1", "version: 2").replace(
        "template: review_request", "template: shipping_delay"
    )
    text = text[: text.index("  - id: offer_test")]
    v2 = parse_journey(text, "engaged.yaml")
    machine = local.settings.state_machines["engaged"]
    asl = compile_journey(v2, run_step_arn=RUN_STEP_ARN, register_wait_arn=REGISTER_WAIT_ARN)
    local.engine.update_state_machine(stateMachineArn=machine, definition=json.dumps(asl))
    local.function_services["on_order"].order_events._journeys["engaged"] = (
        v2  # what on_order reads after the deploy
    )
    local.deliver(order_for("ben", 1, placed_at="2026-03-02T09:40:00Z"))
    local.engine.run_until_idle()

    ana = {m.step: m for m in local.services.store.messages_of("ana")}
    ben = {m.step: m for m in local.services.store.messages_of("ben")}
    assert (ana["resend_hello"].template, ana["resend_hello"].version) == ("review_request", 1)
    assert any(step.startswith("offer_") for step in ana) or any(
        d.outcome == "holdout" for d in local.services.store.decisions_of("ana")
    )
    assert (ben["resend_hello"].template, ben["resend_hello"].version) == ("shipping_delay", 2)
    assert not any(step.startswith("offer_") for step in ben)
    names = sorted(e.name for e in local.engine.executions.values())
    assert names[0].startswith("engaged-v1-") and names[1].startswith("engaged-v2-")


def test_a_replayed_order_is_not_a_repurchase(local):
    first = order_for("ana", 1)
    local.deliver(first)
    local.deliver(
        {**first, "id": "evt-webhook-retry", "time": "2026-03-02T09:20:00Z"}
    )  # same order, new event id
    local.engine.run_until_idle()
    (entry,) = local.services.store.entries_of("ana")
    assert entry.converted is False and entry.ended_reason is None


def test_a_split_with_winner_auto_follows_the_recorded_winner_without_a_redeploy():
    """Weights until a winner is recorded; then all but the holdout get it (the decision says when
    it was recorded and why); forgotten, the weights again."""
    from postventa.models.records import DecidedWinner

    text = (Path(__file__).parents[1] / "fixtures" / "engaged.yaml").read_text()
    auto = parse_journey(
        text.replace("holdout_percent: 20", "holdout_percent: 20\n      winner: auto"), "engaged.yaml"
    )
    with LocalPostventa({"engaged": auto}, start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) as local:
        store = local.services.store

        def variants(batch: str) -> dict[str, str]:
            customers = [f"{batch}{i:02d}" for i in range(20)]
            for index, customer in enumerate(customers):
                local.deliver(order_for(customer, index))
            local.engine.run_until_idle()
            return {c: d.outcome for c in customers for d in store.decisions_of(c) if d.step == "offer_test"}

        before = variants("p")
        assert set(before.values()) == {"a", "b", "holdout"}  # no winner recorded: the weights
        recorded_at = local.engine.now
        store.record_winner(
            DecidedWinner(
                experiment="engaged.offer_test",
                winner="b",
                decided_at=recorded_at,
                reason="b beats a at 0.05",
            )
        )
        decided = variants("q")
        for customer, variant in decided.items():
            expected = assign(customer, "engaged.offer_test", [("a", 1), ("b", 1)], 20)
            assert variant == ("holdout" if expected == "holdout" else "b")
        (decision,) = [d for d in store.decisions_of("q00") if d.step == "offer_test"]
        assert decision.reason == f"winner recorded {recorded_at:%Y-%m-%d}: b beats a at 0.05"
        assert store.forget_winner("engaged.offer_test")
        assert "a" in variants("r").values()  # undone: the weights again
