"""Journey files: the default loads; mistakes are reported with file, step and problem."""

from __future__ import annotations

from datetime import timedelta

import pytest

from postventa.journeys.library import Library
from postventa.journeys.loader import JourneyError, load_journey, load_journeys, parse_journey
from postventa.journeys.model import SendStep, WaitForEventStep

VALID = """
name: demo
version: 1
trigger: {event: Order Placed}
steps:
  - id: hello
    send: {channel: email, template: order_confirmation, purpose: transactional}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(JourneyError) as error:
        parse_journey(text, "journeys/demo.yaml")
    return error.value.problems


def test_default_post_purchase_journey_loads():
    journey = load_journeys()["post-purchase"]
    assert journey.version == 5
    assert [step.id for step in journey.steps] == [
        "order_confirmation",
        "await_confirmation_refused",
        "await_fulfilment",
        "wait_before_tips",
        "product_tips",
        "wait_before_review",
        "review_request",
        "wait_for_review",
        "review_followed_up",
        "wait_before_nps",
        "nps_survey",
    ]
    wait = journey.step("await_fulfilment")
    assert isinstance(wait, WaitForEventStep)
    assert wait.wait_for_event.timeout == timedelta(days=14)
    assert [step.id for step in wait.wait_for_event.on_timeout.steps] == [
        "shipping_delay_apology",
        "await_late_fulfilment",
    ]
    assert {goal.event.value for goal in journey.exit_on} == {"Order Refunded", "Order Cancelled"}


def test_the_default_library():
    assert sorted(load_journeys()) == [
        "abandoned-checkout",
        "back-in-stock",
        "birthday",
        "browse-abandonment",
        "cross-sell",
        "failed-payment",
        "loyalty-anniversary",
        "nps-detractor",
        "nps-promoter",
        "post-purchase",
        "replenishment",
        "returning-thanks",
        "subscription-renewal",
        "welcome",
        "win-back",
    ]


def test_a_valid_minimal_journey_parses():
    journey = parse_journey(VALID, "demo.yaml")
    assert isinstance(journey.steps[0], SendStep)


def test_unknown_template_field_names_the_step():
    text = VALID.replace("template: order_confirmation", "templat: order_confirmation")
    found = problems(text)
    assert any(
        "journeys/demo.yaml: step hello: send.templat: Extra inputs are not permitted" in p for p in found
    )
    assert any("step hello: send.template: Field required" in p for p in found)


def test_bad_duration_explains_the_format():
    text = VALID + "  - id: pause\n    wait: three days\n"
    assert problems(text) == [
        "journeys/demo.yaml: step pause: wait: 'three days' is not a duration: write a whole number and a unit, "
        "e.g. 30m, 12h, 3d, 2w"
    ]


def test_a_step_without_a_kind_is_explained():
    text = VALID + "  - id: mystery\n    shout: loudly\n"
    assert problems(text) == [
        "journeys/demo.yaml: step mystery: a step needs an id and exactly one of: "
        "send, call, wait, wait_for_event, wait_until, branch, split"
    ]


def test_nested_step_errors_name_the_nested_step():
    text = VALID + (
        "  - id: await\n    wait_for_event:\n      event: Order Fulfilled\n      timeout: 14d\n"
        "      on_timeout:\n        steps:\n          - id: sorry\n            send: {channel: fax, template: x, purpose: marketing}\n"
    )
    found = problems(text)
    assert found == [
        "journeys/demo.yaml: step sorry: send.channels: 'fax' is not a channel: use email, sms, push, inbox"
    ]


def test_unknown_event_and_duplicate_ids_are_reported(tmp_path):
    assert problems(VALID.replace("Order Placed", "order placed"))[0].startswith(
        "journeys/demo.yaml: journey: trigger.event: 'order placed' is neither one of Postventa's events"
    )
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "demo.yaml").write_text(VALID.replace("Order Placed", "Back In Stok"))
    with pytest.raises(JourneyError) as undeclared:
        Library(tmp_path).journeys()
    assert undeclared.value.problems == [
        f"{tmp_path}/journeys/demo.yaml: event 'Back In Stok' is not declared; did you mean Back In "
        "Stock? (a shop declares its own under events: in postventa.yaml)"
    ]
    duplicated = VALID + "  - id: hello\n    wait: 1d\n"
    assert problems(duplicated) == [
        "journeys/demo.yaml: journey: step id 'hello' is used twice: each step needs its own id"
    ]


def test_timeout_beyond_a_year_is_refused():
    text = VALID + "  - id: await\n    wait_for_event: {event: Order Fulfilled, timeout: 400d}\n"
    assert any("timeout must be between 1s and 365d" in p for p in problems(text))


def test_file_name_must_match_the_journey_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(VALID)
    with pytest.raises(JourneyError, match="name 'demo' must match the file name 'other'"):
        load_journey(path)


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    (tmp_path / "demo.yaml").write_text("name: [unclosed")
    with pytest.raises(JourneyError, match=r"demo\.yaml: not valid YAML"):
        load_journeys(tmp_path)


def test_docs_show_the_current_map_of_every_journey():
    from postventa.journeys.diagram import maps_markdown
    from tests.conftest import ROOT

    assert (ROOT / "docs" / "journey-maps.md").read_text() == maps_markdown(load_journeys()), "run make docs"


def test_maps_show_branches_splits_and_the_holdout():
    from pathlib import Path

    from postventa.journeys.diagram import render_mermaid

    journey = load_journey(Path(__file__).parents[1] / "fixtures" / "engaged.yaml")
    text = render_mermaid(journey)
    assert 'opened_hello -- "opened: message.hello.opened eq True" --> tips_for_readers' in text
    assert "opened_hello -- otherwise --> resend_hello" in text
    assert 'offer_test -- "holdout 20%" --> journey_end' in text
    assert 'next_morning(["wait until at 10:00 local"])' in text
    assert 'goal_order_placed[/"goal: Order Placed (any order) ends the journey"/]' in text
