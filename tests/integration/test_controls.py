"""Live controls on a deployed journey: the CLI against moto's table and the journeys' state
machines (the local engine, which speaks Step Functions' API), with the real handlers."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import boto3
import pytest

from postventa.cli import main
from postventa.composition import controls_for_table
from postventa.models.records import JourneyState, MessageStatus
from tests.conftest import EVENTS, load_json
from tests.integration.conftest import T0, sent_emails

JOURNEY = "post-purchase"


def order_of(customer: str, order_id: str, days: float = 0) -> dict:
    event = copy.deepcopy(load_json(EVENTS / "order-placed.json"))
    event["detail"]["customer"]["id"] = customer
    event["detail"]["customer"]["email"] = f"{customer}@example.com"
    event["detail"]["order_id"] = order_id
    event["id"] = f"evt-{order_id}"
    event["time"] = (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")
    return event


@pytest.fixture
def running(local):
    """Ana's order confirmed and fulfilled: she goes on to tips, a review request and a survey."""
    local.deliver(load_json(EVENTS / "order-placed.json"))
    local.deliver(load_json(EVENTS / "order-fulfilled.json"))
    local.engine.run_until(T0 + timedelta(days=2))
    return local


@pytest.fixture
def cli(running, monkeypatch, capsys):
    """`postventa journeys ...` as an operator runs it, on the stack's table."""
    real_client = boto3.client
    monkeypatch.setattr(
        "postventa.composition.boto3.client",
        lambda name, *a, **k: running.engine if name == "stepfunctions" else real_client(name, *a, **k),
    )

    def run(*args: str) -> str:
        capsys.readouterr()
        assert main(["journeys", *args, "--table", running.settings.table_name]) == 0
        return capsys.readouterr().out

    return run


def controls(local):
    return controls_for_table(local.settings.table_name, JOURNEY, stepfunctions=local.engine)


def steps_of(local, customer: str) -> list[tuple[str, MessageStatus]]:
    return [(m.step, m.status) for m in local.services.store.messages_of(customer)]


def test_pause_holds_new_entries_and_sends_in_place_and_resume_releases_them(running, cli):
    assert cli("pause", JOURNEY, "--reason", "fixing the tips copy") == f"{JOURNEY}: paused\n"
    running.deliver(order_of("cus-ben", "B-1", days=3))  # enters, and is held at its first send
    running.engine.run_until(T0 + timedelta(days=12))
    assert steps_of(running, "cus-ana") == [("order_confirmation", MessageStatus.SENT)]
    assert steps_of(running, "cus-ben") == []
    status = json.loads(cli("status", JOURNEY, "--json"))
    assert (status["state"], status["running"]) == ("paused", 2)
    assert status["steps"] == {"product_tips": 1, "order_confirmation": 1}
    assert status["held"] == {"product_tips": 1, "order_confirmation": 1}

    resumed_at = running.engine.now
    assert cli("resume", JOURNEY) == f"{JOURNEY}: running\n"
    running.engine.run_until_idle()
    ana = {m.step: m for m in running.services.store.messages_of("cus-ana")}
    assert resumed_at < ana["product_tips"].sent_at <= resumed_at + timedelta(hours=1)
    # the waits after it count from the release: the review request a week after the tips
    assert ana["review_request"].sent_at - ana["product_tips"].sent_at >= timedelta(days=7)
    ben = {m.step: m for m in running.services.store.messages_of("cus-ben")}["order_confirmation"]
    assert ben.status is MessageStatus.SENT
    assert resumed_at < ben.sent_at <= resumed_at + timedelta(hours=1)
    sent = [m for m in running.messages() if m.status is MessageStatus.SENT]
    assert len(sent_emails()) == len(sent)  # each held send went out once


def test_drain_admits_no_one_and_lets_running_customers_finish(running, cli):
    cli("drain", JOURNEY)
    running.deliver(order_of("cus-ben", "B-1", days=3))
    running.engine.run_until_idle()
    assert ("not_entered", "journey draining") in [
        (d.kind, d.reason) for d in running.decisions if d.customer_id == "cus-ben" and d.journey == JOURNEY
    ]
    assert steps_of(running, "cus-ben") == []
    assert [step for step, _ in steps_of(running, "cus-ana")] == [
        "order_confirmation",
        "product_tips",
        "review_request",
        "nps_survey",
    ]
    assert json.loads(cli("status", JOURNEY, "--json"))["running"] == 0


def test_stop_ends_every_running_customer_with_a_recorded_decision_and_admits_no_one(running, cli, capsys):
    running.engine.run_until(T0 + timedelta(days=5))  # Ana waits a week for her review request
    assert main(["journeys", "stop", JOURNEY, "--table", running.settings.table_name]) == 2  # asks first
    assert "repeat with --yes" in capsys.readouterr().err
    out = cli("stop", JOURNEY, "--reason", "wrong coupon in the review request", "--yes")
    assert out == f"stopped 1 running executions of {JOURNEY} and everyone in it\n"
    running.deliver(order_of("cus-ben", "B-1", days=6))
    running.engine.run_until_idle()
    assert [step for step, _ in steps_of(running, "cus-ana")] == ["order_confirmation", "product_tips"]
    (decision,) = [d for d in running.services.store.decisions_of("cus-ana") if d.outcome == "stopped"]
    assert (decision.step, decision.reason) == ("wait_before_review", "wrong coupon in the review request")
    execution = running.engine.describe_execution(executionArn=decision.execution_id)
    assert execution["status"] == "ABORTED"
    (entry,) = running.services.store.entries_of("cus-ana")
    assert entry.ended_reason == "stopped: wrong coupon in the review request"
    assert ("not_entered", "journey stopped") in [(d.kind, d.reason) for d in running.decisions]
    assert json.loads(cli("status", JOURNEY, "--json"))["state"] == "stopped"


def test_stop_one_customer_leaves_the_others_and_the_journey_running(running, cli):
    running.deliver(order_of("cus-ben", "B-1", days=2.5))
    running.engine.run_until(T0 + timedelta(days=3))
    assert cli("status", JOURNEY, "--customer", "cus-ben").splitlines()[1:] == [
        "  1 customers in it",
        "    await_fulfilment                       1",
    ]
    cli("stop", JOURNEY, "--customer", "cus-ana", "--yes")
    running.engine.run_until_idle()
    assert [step for step, _ in steps_of(running, "cus-ana")] == ["order_confirmation"]
    assert ("order_confirmation", MessageStatus.SENT) in steps_of(running, "cus-ben")
    assert controls(running).status(JOURNEY).state is JourneyState.RUNNING


def test_a_send_racing_a_stop_is_recorded_suppressed_with_the_reason(running):
    controls(running).set_state(JOURNEY, JourneyState.STOPPED, "recalled")  # the journey's state only
    running.engine.run_until_idle()
    ana = {m.step: m for m in running.services.store.messages_of("cus-ana")}
    assert (ana["product_tips"].status, ana["product_tips"].reason) == (
        MessageStatus.SUPPRESSED,
        "journey stopped: recalled",
    )
