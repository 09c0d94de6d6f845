"""journeys validate: each rule beyond a file's shape, with the exact message a marketer reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from postventa.journeys.checks import check_journeys, errors
from postventa.journeys.library import Library
from postventa.journeys.loader import parse_journey
from tests.conftest import SHOP

HEAD = """\
name: demo
version: 1
phase: {phase}
trigger: {trigger}
entry: {entry}
"""
THANKS = "  - id: thanks\n    send: {channel: email, template: order_confirmation, purpose: transactional}\n"


def found(
    steps: str,
    *,
    trigger: str = "{event: Order Placed}",
    extra: str = "",
    phase: int = 1,
    entry: str = "once_per_order",
    library: Library | None = None,
    notes: bool = False,
) -> list[str]:
    text = HEAD.format(phase=phase, trigger=trigger, entry=entry) + extra + "steps:\n" + steps
    journey = parse_journey(text, "demo.yaml")
    problems = check_journeys({"demo": journey}, {"demo": "demo.yaml"}, library or Library())
    return [str(problem) for problem in (problems if notes else errors(problems))]


def branch_on(field: str, value: str = "true", op: str = "eq") -> str:
    return (
        "  - id: review_request\n    send: {channel: email, template: review_request, purpose: marketing, topic: reviews}\n"
        "  - id: review_followed_up\n    branch:\n      cases:\n"
        f"        - name: opened\n          when: [{{field: {field}, op: {op}, value: {value}}}]\n"
        "          steps: [{id: tips, send: {channel: email, template: product_tips, purpose: marketing, topic: tips}}]\n"
    )


def test_the_default_library_and_the_shops_folder_have_no_errors():
    for library in (Library(), Library(SHOP)):
        assert list(errors(check_journeys(library.journeys(), library.sources(), library))) == []


def test_a_template_that_does_not_exist_is_named_with_the_nearest():
    steps = (
        "  - id: tips\n    send: {channel: email, template: product_tipz, purpose: marketing, topic: tips}\n"
    )
    assert found(steps) == [
        "demo.yaml: step tips: no email template product_tipz in templates/email/en; did you mean product_tips?"
    ]


def test_every_channel_a_step_can_take_needs_its_template():
    # review_request is written for email only: a phase-2 journey may send it by SMS first
    steps = "  - id: ask\n    send: {channels: [sms, email], template: review_request, purpose: marketing, topic: reviews}\n"
    assert found(steps, phase=2) == [
        "demo.yaml: step ask: no sms template review_request in templates/sms/en"
    ]
    assert found(steps, phase=1) == []  # phase 1 sends email alone: the SMS is never tried
    preferred = "  - id: ask\n    send: {channels: preferred, template: cross_sell, purpose: marketing, topic: offers}\n"
    assert found(preferred, phase=3) == []  # cross_sell has email, SMS and push


def shop_with(tmp_path: Path, files: dict[str, str]) -> Library:
    for name, text in files.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Library(tmp_path)


def test_a_locale_without_the_template_falls_back_and_says_so(tmp_path):
    library = shop_with(tmp_path, {f"email/en/vip.{part}": "x" for part in ("subject.txt", "txt", "html")})
    steps = "  - id: vip\n    send: {channel: email, template: vip, purpose: marketing, topic: news}\n"
    assert found(steps, library=library, notes=True) == [
        "demo.yaml: step vip: email in es falls back to en (no templates/email/es/vip.html)"
    ]
    assert found(steps, library=library) == []  # a note, not an error


def test_a_locale_chosen_by_its_html_but_missing_a_part_cannot_render(tmp_path):
    files = {f"email/en/vip.{part}": "x" for part in ("subject.txt", "txt", "html")}
    library = shop_with(tmp_path, {**files, "email/es/vip.html": "x", "email/es/vip.txt": "x"})
    steps = "  - id: vip\n    send: {channel: email, template: vip, purpose: marketing, topic: news}\n"
    assert found(steps, library=library) == [
        "demo.yaml: step vip: email in es is chosen by its html but cannot render: missing "
        "templates/email/es/vip.subject.txt"
    ]


def test_a_template_missing_a_part_in_the_default_locale(tmp_path):
    library = shop_with(tmp_path, {"email/en/vip.html": "x", "email/en/vip.txt": "x"})
    steps = "  - id: vip\n    send: {channel: email, template: vip, purpose: marketing, topic: news}\n"
    assert found(steps, library=library) == [
        "demo.yaml: step vip: email template vip lacks templates/email/en/vip.subject.txt"
    ]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("custmer.orders_count", "unknown field custmer.orders_count; did you mean customer.orders_count?"),
        ("customer.lifecyle", "unknown field customer.lifecyle; did you mean customer.lifecycle?"),
        (
            "message.review_requst.clicked",
            "unknown field message.review_requst.clicked; did you mean message.review_request.clicked?",
        ),
        (
            "message.review_request.click",
            "unknown field message.review_request.click; did you mean message.review_request.clicked?",
        ),
        ("customer.shoe_size", "unknown field customer.shoe_size"),
    ],
)
def test_a_misspelt_fact_is_named_with_the_nearest(field, message):
    assert found(branch_on(field)) == [f"demo.yaml: step review_followed_up, case opened: {message}"]


def test_the_event_a_journey_carries_is_known_only_in_that_journey():
    cart_over = "[{field: event.total.amount, op: gte, value: 100}]"
    reminder = "  - {id: reminder, send: {channel: email, template: cart_reminder, purpose: marketing, topic: offers}}\n"
    assert found(reminder, trigger=f"{{event: Checkout Started, conditions: {cart_over}}}") == []
    assert found(THANKS, trigger=f"{{event: Order Placed, conditions: {cart_over}}}") == [
        "demo.yaml: trigger, condition 1: unknown field event.total.amount"
    ]


def test_a_message_fact_names_a_send_that_comes_before():
    steps = (
        "  - id: check\n    branch:\n      cases:\n"
        "        - name: opened\n          when: [{field: message.later.opened, op: eq, value: true}]\n"
        "  - id: later\n    send: {channel: email, template: product_tips, purpose: marketing, topic: tips}\n"
    )
    assert found(steps) == [
        "demo.yaml: step check, case opened: message.later.opened: step later has not run yet here, so its "
        "message is never known: name a send step that comes before"
    ]


def test_a_fallback_stands_in_for_a_send_that_comes_before():
    fallback = (
        "  - id: again\n    send: {channels: preferred, template: order_confirmation, "
        "purpose: transactional, instead_of: %s}\n"
    )
    assert found(THANKS + fallback % "thanks") == []
    assert found(fallback % "thanks" + THANKS) == [
        "demo.yaml: step again: instead_of: thanks is not a send step that comes before"
    ]
    assert found(THANKS + fallback % "thank") == [
        "demo.yaml: step again: instead_of: thank is not a send step that comes before; did you mean thanks?"
    ]


def test_values_a_field_never_takes_and_operators_that_do_not_fit():
    assert found(branch_on("customer.lifecycle", '"vipp"')) == [
        "demo.yaml: step review_followed_up, case opened: customer.lifecycle is never 'vipp': it is one of "
        "new, returning, vip, at_risk, lapsed; did you mean vip?"
    ]
    assert found(branch_on("message.review_request.status", "[sent, bounced]", op="in")) == [
        "demo.yaml: step review_followed_up, case opened: message.review_request.status is never 'bounced': "
        "it is one of sending, deferred, sent, suppressed, failed"
    ]
    assert found(branch_on("customer.first_name", "3", op="gt")) == [
        "demo.yaml: step review_followed_up, case opened: customer.first_name holds text: op gt compares "
        "numbers or dates"
    ]
    assert found(branch_on("message.review_request.clicked", '"yes"')) == [
        "demo.yaml: step review_followed_up, case opened: message.review_request.clicked is true or false: "
        "compare it with true or false, not 'yes'"
    ]
    assert found(branch_on("customer.orders_count", "2", op="contains")) == [
        "demo.yaml: step review_followed_up, case opened: customer.orders_count holds number: op contains "
        "looks inside a list or text"
    ]
    assert found(branch_on("customer.orders_count", "2", op="not_contains")) == [
        "demo.yaml: step review_followed_up, case opened: customer.orders_count holds number: op "
        "not_contains looks inside a list or text"
    ]


def test_an_unknown_topic_is_named_with_the_nearest_and_a_shop_adds_its_own(tmp_path):
    steps = (
        "  - id: tips\n    send: {channel: email, template: product_tips, purpose: marketing, topic: tipps}\n"
    )
    assert found(steps) == [
        "demo.yaml: step tips: unknown topic tipps; did you mean tips? (topics: news, offers, reviews, "
        "surveys, tips; a shop adds its own in postventa.yaml)"
    ]
    (tmp_path / "postventa.yaml").write_text("topics: [tipps]\n")
    assert found(steps, library=Library(tmp_path)) == []


def test_a_trigger_cannot_read_what_only_a_running_journey_knows():
    trigger = (
        "{event: Order Placed, conditions: [{field: journey.purchased_again, op: eq, value: true}, "
        "{field: nps.band, op: eq, value: promoter}]}"
    )
    assert found(THANKS, trigger=trigger) == [
        "demo.yaml: trigger, condition 1: journey.purchased_again: a trigger is checked before the journey "
        "starts, when journey.* knows nothing yet",
        "demo.yaml: trigger, condition 2: nps.band: nps.* is the answer a Survey Answered trigger carries; "
        "this journey starts on Order Placed",
    ]
    survey = "{event: Survey Answered, conditions: [{field: nps.band, op: eq, value: promoter}]}"
    assert found(THANKS, trigger=survey) == []


def test_conditions_that_cannot_all_hold():
    both = "[{field: customer.orders_count, op: gte, value: 5}, {field: customer.orders_count, op: lt, value: 3}]"
    assert found(THANKS, trigger=f"{{event: Order Placed, conditions: {both}}}") == [
        "demo.yaml: trigger: the conditions on customer.orders_count cannot all hold: nobody ever matches"
    ]
    values = "[{field: customer.lifecycle, op: in, value: [new, vip]}, {field: customer.lifecycle, op: ne, value: new}, {field: customer.lifecycle, op: ne, value: vip}]"
    assert found(THANKS, trigger=f"{{event: Order Placed, conditions: {values}}}") == [
        "demo.yaml: trigger: the conditions on customer.lifecycle cannot all hold: nobody ever matches"
    ]
    fine = "[{field: customer.orders_count, op: gte, value: 2}, {field: customer.orders_count, op: lte, value: 2}]"
    assert found(THANKS, trigger=f"{{event: Order Placed, conditions: {fine}}}") == []


def test_steps_after_a_wait_that_ends_every_way_are_never_reached():
    steps = (
        "  - id: await_delivery\n    wait_for_event:\n      event: Order Fulfilled\n      timeout: 14d\n"
        "      on_event: {then: end}\n      on_timeout: {then: end}\n" + THANKS
    )
    assert found(steps) == [
        "demo.yaml: step thanks: never reached: every way through step await_delivery ends the journey"
    ]


def test_a_case_with_the_conditions_of_an_earlier_one_is_never_taken():
    steps = branch_on("message.review_request.opened") + (
        "        - name: opened_again\n          when: [{field: message.review_request.opened, op: eq, value: true}]\n"
    )
    assert found(steps) == [
        "demo.yaml: step review_followed_up, case opened_again: never taken: case opened before it has the "
        "same conditions"
    ]


def test_an_occasion_has_no_order_to_match():
    steps = (
        "  - id: await_order\n    wait_for_event: {event: Order Placed, timeout: 7d}\n"
        "  - id: hello\n    send: {channel: email, template: birthday, purpose: marketing, topic: offers}\n"
    )
    assert found(steps, trigger="{occasion: birthday}", extra="exit_on: [{event: Order Placed}]\n") == [
        "demo.yaml: exit goal 1: exits on Order Placed with same_order: true, but an occasion (occasion "
        "birthday) has no order: it never matches; say same_order: false",
        "demo.yaml: step await_order: waits for Order Placed with same_order: true, but an occasion (occasion "
        "birthday) has no order: it never matches; say same_order: false",
    ]


def test_entry_rules_that_contradict_each_other():
    assert found(THANKS, entry="once_per_customer", extra="reentry_after: 30d\n") == [
        "demo.yaml: entry: reentry_after never applies: entry: once_per_customer admits a customer once"
    ]
    assert found(THANKS, extra="exit_on: [{event: Order Placed, same_order: true}]\n") == [
        "demo.yaml: exit goal 1: the journey starts on Order Placed and exits on the same order's Order "
        "Placed: it ends as it begins; say same_order: false"
    ]


def test_a_journey_longer_than_an_execution_can_run():
    steps = (
        "  - id: long_wait\n    wait: 40w\n"
        + THANKS.replace("thanks", "later")
        + "  - id: more\n    wait: 20w\n"
        + THANKS
    )
    assert found(steps) == [
        "demo.yaml: journey: its longest path waits 420 days: a Step Functions execution runs at most 365; "
        "split it into journeys (an occasion or an event can start the next)"
    ]


def test_a_wait_until_a_field_that_is_not_a_date():
    steps = "  - id: until\n    wait_until: {date_field: customer.email}\n" + THANKS
    assert found(steps) == ["demo.yaml: step until: wait_until: customer.email is not a date"]
    misspelt = "  - id: until\n    wait_until: {date_field: customer.birthdy, yearly: true}\n" + THANKS
    assert found(misspelt) == [
        "demo.yaml: step until: unknown field customer.birthdy; did you mean customer.birthday?"
    ]
