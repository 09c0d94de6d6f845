"""Transitions per path, read from the compiled definition, match what the engine bills running it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from postventa.asl.engine import LocalStepFunctions
from postventa.journeys.compiler import compile_journey
from postventa.journeys.cost import PathCost, describe, journey_cost
from postventa.journeys.loader import load_journeys

JOURNEYS = load_journeys()
EXECUTION_INPUT = {"journey": "j", "version": 1, "customer_id": "c", "order_id": "o", "trigger_event_id": "e"}


def definition(name: str) -> dict:
    return compile_journey(JOURNEYS[name], run_step_arn="arn:run", register_wait_arn="arn:wait")


def test_every_way_through_post_purchase_is_priced():
    cost = journey_cost(definition("post-purchase"))
    by_path = {path.decisions: path for path in cost.paths}
    # the confirmation delivered or refused (its fallback sent), times: fulfilled on time or late,
    # times three review cases; or never fulfilled
    assert len(cost.paths) == 14
    delivered = "await_confirmation_refused: timed out"
    happy = by_path[(delivered, "await_fulfilment: event", "review_followed_up: clicked")]
    # confirmation, await refusal, await, wait, tips, wait, review, wait, decide, choose, wait, survey
    assert (happy.transitions, happy.messages) == (12, 4)
    refused = by_path[
        ("await_confirmation_refused: event", "await_fulfilment: event", "review_followed_up: clicked")
    ]
    assert (refused.transitions, refused.messages) == (13, 5)  # and the fallback confirmation
    never = by_path[(delivered, "await_fulfilment: timed out", "await_late_fulfilment: timed out")]
    assert never == PathCost(never.decisions, transitions=6, messages=2)
    assert cost.per_hold == 2 and cost.worst_per_message == 3.0


def test_the_default_library_costs_at_most_three_transitions_per_message_on_every_path():
    for name in JOURNEYS:
        for path in journey_cost(definition(name)).paths:
            if path.holdout:
                continue  # win-back's holdout receives nothing on purpose
            assert path.per_message is not None and path.per_message <= 3, (name, path)


def test_a_split_names_its_holdout_and_the_table_prints_each_path():
    lines = describe(journey_cost(definition("win-back")))
    assert lines[-2].split() == ["5", "1", "5.00", "offer_test:", "holdout"]
    assert lines[-1] == "    a message held by the contact policy adds 2; each throttled attempt 1"


def test_the_priced_path_is_what_the_engine_bills():
    """post-purchase delivered, never fulfilled: the engine enters the six states the price says."""
    engine = LocalStepFunctions(start=datetime(2026, 3, 1, tzinfo=UTC), invoke=lambda function, payload: {})
    machine = engine.create_state_machine(name="m", definition=json.dumps(definition("post-purchase")))
    engine.start_execution(
        stateMachineArn=machine["stateMachineArn"], name="x", input=json.dumps(EXECUTION_INPUT)
    )
    engine.run_until_idle()
    never_fulfilled = (
        "await_confirmation_refused: timed out",
        "await_fulfilment: timed out",
        "await_late_fulfilment: timed out",
    )
    never = next(p for p in journey_cost(definition("post-purchase")).paths if p.decisions == never_fulfilled)
    assert engine.transitions[machine["stateMachineArn"]] == never.transitions == 6
