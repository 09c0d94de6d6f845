"""The compiled ASL of the default journey: lean, with the waits and branches the YAML asks for."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from postventa.journeys.compiler import JOURNEY_END, LAMBDA_CALLBACK, LAMBDA_INVOKE, compile_journey
from postventa.journeys.model import SendStep
from tests.conftest import SEND_TIMES, phase1_journeys

RUN_STEP, REGISTER_WAIT = "arn:run-step", "arn:register-wait"
C_PLACE = timedelta(minutes=20, seconds=39)  # customer c's place in a 30-minute spread (logic/spread.py)
EXECUTION_INPUT = {"journey": "j", "version": 1, "customer_id": "c", "order_id": "o", "trigger_event_id": "e"}


def compiled() -> dict:
    return compile_journey(
        phase1_journeys()["post-purchase"], run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT
    )


def test_starts_with_the_confirmation_and_ends_after_the_survey():
    asl = compiled()
    assert asl["StartAt"] == "order_confirmation"
    assert asl["States"]["nps_survey"]["End"] is True


def test_send_steps_invoke_run_step_with_the_state_machine_clock():
    state = compiled()["States"]["order_confirmation"]
    assert state["Type"] == "Task" and state["Resource"] == LAMBDA_INVOKE
    assert state["Parameters"]["FunctionName"] == RUN_STEP
    payload = state["Parameters"]["Payload"]
    assert payload["now.$"] == "$$.State.EnteredTime"
    assert payload["execution_id.$"] == "$$.Execution.Id"
    assert state["ResultPath"] is None  # the execution's input stays as it was
    assert {"SendThrottled"} <= {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
    assert state["Next"] == "await_fulfilment"


def test_waits_are_exact_durations():
    states = compiled()["States"]
    assert states["wait_before_tips"] == {"Type": "Wait", "Seconds": 3 * 86400, "Next": "product_tips"}
    assert states["wait_before_review"]["Seconds"] == 7 * 86400
    assert states["wait_before_nps"]["Seconds"] == 14 * 86400


def test_wait_for_fulfilment_times_out_into_the_apology():
    states = compiled()["States"]
    wait = states["await_fulfilment"]
    assert wait["Resource"] == LAMBDA_CALLBACK
    assert wait["Parameters"]["FunctionName"] == REGISTER_WAIT
    assert wait["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert wait["Parameters"]["Payload"]["event"] == "Order Fulfilled"
    assert wait["TimeoutSeconds"] == 14 * 86400
    assert wait["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"],
        "ResultPath": None,
        "Next": "shipping_delay_apology",
    }
    assert wait["Catch"][1] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.failure",
        "Next": "await_fulfilment (failed)",
    }
    assert wait["Next"] == "wait_before_tips"
    assert states["shipping_delay_apology"]["Next"] == "await_late_fulfilment"
    late = states["await_late_fulfilment"]
    assert late["TimeoutSeconds"] == 30 * 86400
    assert late["Next"] == "wait_before_tips"  # shipped late: the journey goes on
    assert late["Catch"][0]["Next"] == JOURNEY_END and states[JOURNEY_END] == {"Type": "Succeed"}


def test_one_state_per_step_plus_the_end_and_a_detour_for_held_sends():
    asl = compiled()
    journey = phase1_journeys()["post-purchase"]
    sends = [step.id for step in journey.all_steps() if isinstance(step, SendStep)]
    detours = {f"{send} (held)" for send in sends}
    # Every Task step has one state that records its failure; waits of a duration need none.
    tasks = {step.id for step in journey.all_steps() if asl["States"][step.id]["Type"] == "Task"}
    failures = {f"{task} (failed)" for task in tasks}
    assert (
        set(asl["States"]) == {step.id for step in journey.all_steps()} | {JOURNEY_END} | detours | failures
    )


def test_a_held_send_waits_until_the_time_run_step_names_then_runs_again():
    """Held costs two states: the Wait, which reads the time out of the error itself, and the send again."""
    from postventa.asl.engine import LocalStepFunctions
    from postventa.services.errors import SendDeferred

    states = compiled()["States"]
    catch, give_up = states["product_tips"]["Catch"]
    assert catch == {"ErrorEquals": ["SendDeferred"], "ResultPath": "$.held", "Next": "product_tips (held)"}
    assert give_up == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.failure",
        "Next": "product_tips (failed)",
    }
    assert states["product_tips (held)"]["Next"] == "product_tips"

    start = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    held_until = "2026-03-02T08:00:00Z"
    sent_at: list[str] = []

    def run_step(function: str, payload: dict) -> dict:
        if not sent_at and payload["step"] == "product_tips":
            sent_at.append("held")
            raise SendDeferred(held_until, "quiet hours")
        if payload["step"] == "product_tips":
            sent_at.append(payload["now"])
        return {}

    engine = LocalStepFunctions(start=start, invoke=run_step)
    one_send = {**states["product_tips"], "Next": None, "End": True}
    del one_send["Next"]
    definition = {"StartAt": "product_tips", "States": {**states, "product_tips": one_send}}
    arn = engine.create_state_machine(name="m", definition=json.dumps(definition))["stateMachineArn"]
    execution = engine.start_execution(stateMachineArn=arn, name="x", input=json.dumps(EXECUTION_INPUT))
    engine.run_until_idle()
    assert sent_at == ["held", "2026-03-02T08:00:00.000Z"]
    assert engine.executions[execution["executionArn"]].path == [
        "product_tips",
        "product_tips (held)",
        "product_tips",
    ]
    assert engine.transitions[arn] == 3


def shapes() -> dict:
    from pathlib import Path

    from postventa.journeys.loader import load_journey

    journey = load_journey(Path(__file__).parents[1] / "fixtures" / "engaged.yaml")
    return compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)["States"]


def test_send_tasks_carry_their_configuration_so_versions_need_no_lookup():
    payload = compiled()["States"]["product_tips"]["Parameters"]["Payload"]
    assert payload["action"] == {
        "kind": "send",
        "channels": ["email"],
        "template": "product_tips",
        "purpose": "marketing",
        "phase": 1,
        "priority": 50,
    }
    assert payload["started_at.$"] == "$$.Execution.StartTime"


def test_branch_is_a_decision_task_and_a_choice():
    states = shapes()
    task = states["opened_hello"]
    assert task["Parameters"]["Payload"]["action"] == {
        "kind": "branch",
        "cases": [{"name": "opened", "when": [{"field": "message.hello.opened", "op": "eq", "value": True}]}],
    }
    assert task["ResultSelector"] == {"case.$": "$.Payload.case"}
    assert task["ResultPath"] == "$.decisions.opened_hello" and task["Next"] == "opened_hello (choice)"
    choice = states["opened_hello (choice)"]
    assert choice["Choices"] == [
        {"Variable": "$.decisions.opened_hello.case", "StringEquals": "opened", "Next": "tips_for_readers"}
    ]
    assert choice["Default"] == "resend_hello"
    assert states["tips_for_readers"]["Next"] == states["resend_hello"]["Next"] == "offer_test"


def test_split_variants_tag_their_sends_and_the_holdout_ends():
    states = shapes()
    action = states["offer_test"]["Parameters"]["Payload"]["action"]
    assert action == {
        "kind": "split",
        "experiment": "engaged.offer_test",
        "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
        "holdout_percent": 20,
    }
    assert states["offer_test (choice)"]["Default"] == JOURNEY_END
    offer_b = states["offer_b"]["Parameters"]["Payload"]["action"]
    assert (offer_b["experiment"], offer_b["variant"]) == ("engaged.offer_test", "b")
    assert states["hello"]["Parameters"]["Payload"]["action"].get("variant") is None


def test_a_decided_split_carries_its_winner_to_run_step():
    from pathlib import Path

    from postventa.journeys.loader import parse_journey

    text = (Path(__file__).parents[1] / "fixtures" / "engaged.yaml").read_text()
    decided = parse_journey(
        text.replace("holdout_percent: 20", "holdout_percent: 20\n      winner: b"), "engaged.yaml"
    )
    states = compile_journey(decided, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)["States"]
    assert states["offer_test"]["Parameters"]["Payload"]["action"]["winner"] == "b"


def test_wait_until_computes_a_timestamp_then_waits_on_it():
    states = shapes()
    assert states["next_morning"]["Parameters"]["Payload"]["action"] == {
        "kind": "wait_until",
        "at": "10:00",
        "offset": "0s",
        "yearly": False,
        "spread": "0s",
    }
    assert states["next_morning"]["Next"] == "next_morning (wait)"
    assert states["next_morning (wait)"] == {
        "Type": "Wait",
        "TimestampPath": "$.decisions.next_morning.until",
        "Next": "opened_hello",
    }


def _madrid_customer(placed: datetime):
    from postventa.logic.facts import facts
    from postventa.models.common import Money
    from postventa.models.records import CustomerProfile, OrderRecord

    profile = CustomerProfile(customer_id="c", timezone="Europe/Madrid", updated_at=placed)
    order = OrderRecord(
        order_id="o", customer_id="c", placed_at=placed, total=Money(amount=1, currency="EUR"), items=[]
    )
    return facts(profile=profile, order=order)


def _waits_until(journey, step_id: str, execution_input: dict, start: datetime) -> datetime:
    """When the local engine leaves the compiled wait, given the execution input."""
    from postventa.asl.engine import LocalStepFunctions

    reached: list[datetime] = []
    engine = LocalStepFunctions(start=start, invoke=lambda f, p: reached.append(engine.now) or {})
    states = compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)["States"]
    definition = {"StartAt": step_id, "States": states}
    arn = engine.create_state_machine(name="m", definition=json.dumps(definition))["stateMachineArn"]
    engine.start_execution(stateMachineArn=arn, name="x", input=json.dumps(execution_input))
    engine.run_until_idle()
    return reached[0]


def test_a_wait_until_a_known_date_is_fixed_at_entry_and_costs_one_state():
    from postventa.journeys.loader import load_journeys
    from postventa.logic.entry import entry_schedule

    journey = load_journeys()["cross-sell"]
    states = compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)["States"]
    assert states["ten_days_later"]["Type"] == "Wait" and states["ten_days_later"]["Next"] == "cross_sell"

    placed = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Madrid
    schedule = entry_schedule(journey, _madrid_customer(placed), placed, "UTC", SEND_TIMES)
    # 10:00 in Madrid ten days on, at customer c's place in the half hour after it
    assert schedule == {"ten_days_later": "2026-03-12T09:20:39Z"}
    reached = _waits_until(journey, "ten_days_later", {**EXECUTION_INPUT, "schedule": schedule}, placed)
    assert reached == datetime(2026, 3, 12, 9, 0, tzinfo=UTC) + C_PLACE


def test_a_leading_time_of_day_wait_is_fixed_at_entry_too_and_runs_on_without_it():
    """welcome's next_morning: one Wait instead of a Task and a Wait. An execution started by an
    on_order older than its definition carries no schedule: it goes on at once, nothing is lost."""
    from postventa.journeys.loader import load_journeys
    from postventa.logic.entry import entry_schedule

    journey = load_journeys()["welcome"]
    placed = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
    schedule = entry_schedule(journey, _madrid_customer(placed), placed, "UTC", SEND_TIMES)
    assert schedule == {"next_morning": "2026-03-03T09:20:39Z"}  # 10:00 the next morning in Madrid, spread
    with_schedule = {**EXECUTION_INPUT, "schedule": schedule}
    reached = _waits_until(journey, "next_morning", with_schedule, placed)
    assert reached == datetime(2026, 3, 3, 9, tzinfo=UTC) + C_PLACE
    assert _waits_until(journey, "next_morning", EXECUTION_INPUT, placed) == placed


def test_a_time_of_day_wait_after_a_fixed_wait_counts_from_its_end():
    from postventa.journeys.loader import parse_journey
    from postventa.logic.entry import entry_schedule

    journey = parse_journey(
        """
name: later
version: 1
trigger: {event: Order Placed}
steps:
  - {id: two_days, wait: 2d}
  - {id: at_ten, wait_until: {at: "10:00", spread: 0s}}
  - {id: hello, send: {channel: email, template: welcome, purpose: marketing}}
  - {id: after_hello, wait_until: {at: "10:00"}}
""",
        "later.yaml",
    )
    assert journey.scheduled_at_entry() == {"at_ten"}  # after_hello follows a send, which may be held
    placed = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)
    schedule = entry_schedule(journey, _madrid_customer(placed), placed, "UTC", SEND_TIMES)
    assert schedule == {"at_ten": "2026-03-05T09:00:00Z"}  # two days on is 22:30 on the 4th in Madrid


def test_a_send_whose_retries_ran_out_is_recorded_failed_and_the_journey_goes_on():
    states = compiled()["States"]
    task = states["product_tips"]
    retried = {error for retry in task["Retry"] for error in retry["ErrorEquals"]}
    assert {"StepRetryable", "Sandbox.Timedout", "Lambda.Unknown", "SendThrottled"} <= retried
    assert all(retry["JitterStrategy"] == "FULL" for retry in task["Retry"])
    failed = states["product_tips (failed)"]
    payload = failed["Parameters"]["Payload"]
    assert payload["step"] == "product_tips"  # the failed step, not this state's own name
    assert payload["action"]["kind"] == "give_up"
    assert payload["action"]["error.$"] == "$.failure.Error"
    assert failed["Next"] == task["Next"]


def test_a_branch_that_cannot_decide_ends_the_journey_after_recording_why():
    states = shapes()
    (branch,) = [name for name, state in states.items() if state.get("ResultSelector", {}).get("case.$")]
    (give_up,) = states[branch]["Catch"]
    failed = states[give_up["Next"]]
    assert failed["Parameters"]["Payload"]["action"]["step_kind"] == "branch"
    assert failed["Next"] == JOURNEY_END


def _resolved(payload: dict, values: dict[str, object]) -> dict:
    """A Task's Payload as Step Functions hands it over: each `name.$` path replaced by its value."""
    return {
        key.removesuffix(".$"): values[value] if key.endswith(".$") else value
        for key, value in payload.items()
        for value in [_resolved(value, values) if isinstance(value, dict) else value]
    }


def test_every_task_of_every_journey_parses_as_the_request_its_handler_reads():
    """The compiler dumps journeys/tasks.py's models; the handlers parse them back: one schema."""
    from pathlib import Path

    from postventa.journeys.loader import load_journey, load_journeys
    from postventa.journeys.tasks import StepRequest, WaitRequest

    at = "2026-03-02T10:00:00Z"
    values = {
        "$$.Execution.Id": "arn:aws:states:us-east-1:1:execution:m:e",
        "$$.Execution.StartTime": at,
        "$$.State.Name": "a_step",
        "$$.State.EnteredTime": at,
        "$$.Task.Token": "token",
        "$.journey": "j",
        "$.version": 1,
        "$.customer_id": "c1",
        "$.order_id": "o1",
        "$.trigger": {"checkout_id": "k1"},  # only in the payloads of journeys that carry it
        "$.failure.Error": "States.Timeout",
        "$.failure.Cause": "{}",
    }
    kinds = set()
    # engaged.yaml has a time-of-day wait after a send: the only kind decided by a Task when reached.
    engaged = load_journey(Path(__file__).parents[1] / "fixtures" / "engaged.yaml")
    for journey in [*load_journeys().values(), engaged]:
        asl = compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)
        for state in asl["States"].values():
            if state["Type"] != "Task":
                continue
            payload = _resolved(state["Parameters"]["Payload"], values)
            if state["Resource"] == LAMBDA_CALLBACK:
                kinds.add(str(WaitRequest.model_validate(payload).event))
            else:
                kinds.add(StepRequest.model_validate(payload).action.kind)
    assert {"send", "branch", "split", "wait_until", "give_up"} <= kinds


def test_only_a_journey_that_carries_its_trigger_reads_it_from_the_execution():
    """An execution started before a journey carried its trigger has no $.trigger: a path to it
    would fail the Task (States.Runtime), so no other journey's payload names it."""
    from postventa.journeys.loader import load_journeys

    def reads_trigger(journey) -> set[bool]:
        asl = compile_journey(journey, run_step_arn=RUN_STEP, register_wait_arn=REGISTER_WAIT)
        return {
            state["Parameters"]["Payload"].get("trigger.$") == "$.trigger"
            for state in asl["States"].values()
            if state["Type"] == "Task"
        }

    journeys = load_journeys()
    assert {name: reads_trigger(j) for name, j in journeys.items() if j.carries_trigger} == {
        name: {True}
        for name in (
            "abandoned-checkout",
            "back-in-stock",
            "browse-abandonment",
            "failed-payment",
            "subscription-renewal",
        )
    }
    assert {reads for j in journeys.values() if not j.carries_trigger for reads in reads_trigger(j)} == {
        False
    }
