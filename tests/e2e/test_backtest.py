"""Backtests: totals checked against a small history computed by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from postventa.backtest import (
    Assumptions,
    BacktestInputError,
    read_orders,
    run_backtest,
    synthetic_history,
)
from postventa.cli import main
from postventa.journeys.loader import load_journey, load_journeys
from postventa.models.policy import ContactPolicy
from tests.conftest import EVENTS, FIXTURES, phase1_journeys

HISTORY = EVENTS / "backtest" / "small-history.csv"


def test_the_small_history_by_hand():
    orders, refused = read_orders(HISTORY)
    assert [o.order_id for o in orders] == ["o1", "o2", "o3"]
    assert refused == [f"{HISTORY}:5: Invalid isoformat string: 'not a date'"]
    report = run_backtest(orders, phase1_journeys())
    journey = report.journeys["post-purchase"]
    # 3 orders x (confirmation, tips, review, survey); every order ships after 2 days.
    assert (journey["entries"], journey["messages_sent"], journey["messages_suppressed"]) == (3, 12, 0)
    # 8 states per order: confirmation, wait for fulfilment, wait, tips, wait, review, wait, survey.
    assert journey["state_transitions"] == 24 and journey["transitions_per_message_sent"] == 2.0
    assert {(s["step"], s["messages"]) for s in report.steps} == {
        ("order_confirmation", 3),
        ("product_tips", 3),
        ("review_request", 3),
        ("nps_survey", 3),
    }
    # c1: ISO weeks 2 (2 mails), 3 (1), 4 (2), 5 (2), 7 (1); c2: weeks 2, 3, 4, 6 (1 each).
    assert report.messages_per_customer_week == {
        "customer_weeks_with_mail": 9,
        "mean": 1.333,
        "p95": 2,
        "max": 2,
    }
    # 24 transitions x $0.000025 + 12 emails x $0.0001 + DynamoDB ~$0.00005 + Lambda ~$0.00002;
    # the 16 days' share of the stack's three KMS keys ($1 a month each) is most of it.
    assert report.cost_usd["step_functions"] == 0.0006 and report.cost_usd["ses"] == 0.0012
    assert report.cost_usd["kms"] == pytest.approx(3 * 16 / 30.44 + 0.14, abs=0.01)
    assert report.cost_usd["total"] == pytest.approx(1.7219, abs=0.0001)
    assert (report.orders, report.customers, report.period) == (3, 2, ("2026-01-05", "2026-01-20"))


EVERY_MESSAGE = ContactPolicy(marketing_per_day=9, marketing_per_week=9, min_gap=timedelta(0))


def test_branches_follow_the_assumed_engagement_and_the_holdout_is_counted():
    journey = load_journey(Path(__file__).parents[1] / "fixtures" / "engaged.yaml")
    orders = synthetic_history(400, 400, 6)
    everyone_opens = run_backtest(
        orders, {"engaged": journey}, Assumptions(open_rate=1.0, click_rate=0.0, contact_policy=EVERY_MESSAGE)
    )
    nobody_opens = run_backtest(
        orders, {"engaged": journey}, Assumptions(open_rate=0.0, click_rate=0.0, contact_policy=EVERY_MESSAGE)
    )

    def sent(report, step):
        return sum(s["messages"] for s in report.steps if s["step"] == step and s["outcome"] == "sent")

    # Everyone opens, two hours after the confirmation: those placed from 08:00 have not yet when
    # the branch looks at 10:00 (opens arrive as SES events, through EngagementService).
    not_yet = sum(1 for order in orders if 8 <= order.placed_at.hour < 10)
    assert 0 < not_yet < 400
    assert (sent(everyone_opens, "tips_for_readers"), sent(everyone_opens, "resend_hello")) == (
        400 - not_yet,
        not_yet,
    )
    assert (sent(nobody_opens, "tips_for_readers"), sent(nobody_opens, "resend_hello")) == (0, 400)
    offers = sent(everyone_opens, "offer_a") + sent(everyone_opens, "offer_b")
    assert 400 * 0.7 < offers < 400 * 0.9  # a 20% holdout receives nothing


def test_worker_processes_change_nothing_but_speed():
    """Where the sending rate does not bind: under it, each worker has its share of the rate, so
    which sends are throttled (and a retry's seconds) depend a little on how customers are split."""
    # In a fresh interpreter: this one may host jsii's reader thread, and forking beside it is unsafe.
    script = """
from postventa.journeys.loader import load_journeys
from postventa.backtest import Assumptions, run_backtest, synthetic_history
orders = synthetic_history(600, 250, 6)
unlimited = Assumptions(send_rate={})
one = run_backtest(orders, load_journeys(), unlimited, workers=1)
two = run_backtest(orders, load_journeys(), unlimited, workers=2)
for report in (one, two):
    report.wall_seconds = report.orders_per_second = 0
# Units come from record sizes sampled on the first records of each kind a partition sees: within
# a thousandth whatever the split; requests and everything else are the same exactly.
for unit in ("read_units", "write_units"):
    assert abs(one.dynamodb[unit] - two.dynamodb[unit]) <= one.dynamodb[unit] / 1000, unit
    one.dynamodb[unit] = two.dynamodb[unit] = 0
assert one == two, (one, two)
print("same")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "same", result.stderr


def test_a_history_without_the_required_columns_is_refused(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,when,amount\nc1,2026-01-01,10\n")
    with pytest.raises(BacktestInputError, match="lacks customer_id, placed_at, total"):
        read_orders(path)


def test_cli_prints_json(capsys):
    assert main(["backtest", "--orders", str(HISTORY), "--json", "--quiet", "--workers", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["journeys"]["post-purchase"]["entries"] == 3
    assert (
        report["journeys"]["welcome"]["entries"] == 2
        and report["journeys"]["returning-thanks"]["entries"] == 1
    )
    assert report["assumptions"]["fulfilment_days"] == 2.0 and len(report["refused_rows"]) == 1
    # The hourly schedule's calendar reads are most of the requests, its runs among the invocations.
    dynamodb = report["dynamodb"]
    assert dynamodb["by_operation"]["calendar"] > dynamodb["requests"] / 2
    assert dynamodb["requests_per_invocation"] < 20


def test_a_backtest_into_an_earlier_archive_replaces_it(tmp_path, capsys):
    """An earlier run's days the new history does not reach would otherwise mix into the report."""
    archive, later = tmp_path / "archive", tmp_path / "later.csv"
    later.write_text("customer_id,placed_at,total\nz1,2027-03-01T10:00:00Z,40\n")
    for history in (HISTORY, later):
        assert main(["backtest", "--orders", str(history), "--quiet", "--archive", str(archive)]) == 0
    capsys.readouterr()
    assert main(["report", "--archive", str(archive), "--json"]) == 0
    business = json.loads(capsys.readouterr().out)["business"]
    assert (business["customers"], business["orders"]) == (1, 1)


def test_an_archive_is_not_written_over_other_files(tmp_path, capsys):
    (tmp_path / "thesis.docx").write_text("mine")
    with pytest.raises(SystemExit):
        main(["backtest", "--orders", str(HISTORY), "--quiet", "--archive", str(tmp_path)])
    assert "holds thesis.docx, not an archive" in capsys.readouterr().err
    assert (tmp_path / "thesis.docx").read_text() == "mine"


def test_the_occasions_schedule_runs_and_is_paid_for_every_five_minutes_as_deployed():
    """From the first order's hour to a day past the last one's longest lapse: each run an
    invocation, and each reads the calendar, though only those in the customers' slots fire."""
    from postventa.backtest.replay import replay
    from postventa.logic.occasions import inactivity_thresholds

    journeys = load_journeys()
    orders = synthetic_history(300, 120, 14)
    tally = replay(orders, journeys, Assumptions(timezone="Europe/Madrid"), progress=lambda done: None)
    first = min(o.placed_at for o in orders).replace(minute=0, second=0, microsecond=0)
    last = max(o.placed_at for o in orders) + timedelta(
        days=max(inactivity_thresholds(journeys.values())) + 1
    )
    assert tally.schedule_runs == (last - first) // timedelta(minutes=5)
    assert tally.dynamodb_requests["calendar"] >= tally.schedule_runs
    assert tally.entries["win-back"] > 0 and tally.entries["loyalty-anniversary"] > 0


@pytest.mark.parametrize(
    ("promoter_share", "detractor_share", "entries", "follow_ups"),
    [
        # c1 answers twice within 90 days: nps-promoter spaces its entries, nps-detractor does not.
        (1.0, 0.0, {"nps-promoter": 2, "nps-detractor": 0}, {("nps-promoter", "referral_request"): 2}),
        (0.0, 1.0, {"nps-promoter": 0, "nps-detractor": 3}, {("nps-detractor", "service_follow_up"): 3}),
        (0.0, 0.0, {"nps-promoter": 0, "nps-detractor": 0}, {}),  # passives (8) enter neither
    ],
)
def test_a_click_on_the_survey_is_an_answer_routed_by_its_band(
    promoter_share, detractor_share, entries, follow_ups
):
    orders, _ = read_orders(HISTORY)
    library = load_journeys()
    journeys = {**phase1_journeys(), **{name: library[name] for name in entries}}
    everyone_answers = Assumptions(
        open_rate=1.0,
        click_rate=1.0,
        promoter_share=promoter_share,
        detractor_share=detractor_share,
        contact_policy=EVERY_MESSAGE,  # routing by band is the point here, not the caps
    )
    report = run_backtest(orders, journeys, everyone_answers)
    assert {name: report.journeys[name]["entries"] for name in entries} == entries
    sent = {(s["journey"], s["step"]): s["messages"] for s in report.steps if s["journey"] in entries}
    assert sent == follow_ups


def test_the_synthetic_history_reaches_every_default_journey_an_order_history_can_start():
    journeys = load_journeys()
    report = run_backtest(synthetic_history(2000, 800, 18), journeys)
    silent = {name for name, journey in report.journeys.items() if journey["messages_sent"] == 0}
    # An order history holds no checkouts nor the shop's own events: what they start is measured
    # on events (simulate).
    assert silent == {name for name, j in journeys.items() if j.carries_trigger}
    assert silent == {
        "abandoned-checkout",
        "back-in-stock",
        "browse-abandonment",
        "failed-payment",
        "subscription-renewal",
    }


def test_the_report_reads_what_a_two_worker_backtest_archived(tmp_path):
    from postventa.analytics.report import build_report
    from postventa.backtest import synthetic_history

    history = synthetic_history(orders=1500, customers=500, months=18)
    result = run_backtest(history, load_journeys(), workers=2, archive=tmp_path)
    parts = {path.name for path in (tmp_path / "orders").glob("*/*.jsonl")}
    assert parts == {"part-0.jsonl", "part-1.jsonl"}  # each worker writes its own files
    report = build_report(tmp_path)
    assert (report["business"]["customers"], report["business"]["orders"]) == (500, 1500)
    sent = sum(step["messages"] for step in result.steps if step["outcome"] == "sent")
    assert sum(row["sent"] for row in report["messages"]) == sent
    assert report["nps"]["answers"] > 0  # survey clicks answered in the replay
    (win_back,) = [j for j in report["journeys"] if j["journey"] == "win-back"]
    assert win_back["holdout"] is not None and {v["variant"] for v in win_back["variants"]} == {
        "ten_percent",
        "free_shipping",
    }


def test_a_click_resumes_a_wait_for_message_clicked():
    """Clicks reach the journeys as SES Click events through EngagementService, as in production."""
    journey = load_journey(Path(__file__).parents[1] / "fixtures" / "clicked.yaml")
    orders = synthetic_history(300, 300, 6)
    clicks = Assumptions(open_rate=0.5, click_rate=0.25, contact_policy=EVERY_MESSAGE)
    report = run_backtest(orders, {"clicked": journey}, clicks)
    sent = {s["step"]: s["messages"] for s in report.steps if s["outcome"] == "sent"}
    assert sent["offer"] == 300
    # The same stable draw per message decides who clicks: a quarter or so, never all, never none.
    assert 300 * 0.15 < sent["thanks_for_clicking"] < 300 * 0.35


def test_a_burst_of_orders_is_sent_at_the_configured_rate_and_none_is_lost():
    """300 orders in one second: every confirmation goes out, never more than 14 in a second, and
    the sends a full second refused are counted (each then held once for its turn)."""
    from collections import Counter

    from postventa.backtest.replay import replay

    history = synthetic_history(300, 300, 1, seed="burst")
    moment = history[0].placed_at
    burst = [order.model_copy(update={"placed_at": moment}) for order in history]
    messages: list = []
    tally = replay(
        burst,
        phase1_journeys(),
        Assumptions(),
        progress=lambda done: None,
        retired=lambda records: messages.extend(records.messages),
    )
    confirmations = [m for m in messages if m.step == "order_confirmation"]
    assert len(confirmations) == 300 and {m.status.value for m in confirmations} == {"sent"}
    per_second = Counter(m.sent_at.replace(microsecond=0) for m in confirmations)
    assert max(per_second.values()) <= 14
    assert max(m.sent_at for m in confirmations) - moment >= timedelta(seconds=300 // 14 - 1)
    assert tally.queued_for_rate >= 300 - 14


def test_in_a_burst_confirmations_take_the_rate_before_promotions_due_at_the_same_moment():
    """300 orders in one second, each due a confirmation and a promotion at once, at 14 emails a
    second: every confirmation leaves as if the promotions were not there (the last one when the
    rate allows for confirmations alone, one second's grace for the first second, which both
    share), the promotions after them, all sent, never more than 14 in a second."""
    from collections import Counter

    from postventa.backtest.replay import replay
    from postventa.journeys.loader import parse_journey

    journeys = {
        **phase1_journeys(),
        "promotion": parse_journey(
            "name: promotion\nversion: 1\npriority: 90\ntrigger: {event: Order Placed}\n"
            "steps:\n  - id: offer\n"
            "    send: {channel: email, template: cross_sell, purpose: marketing, topic: offers}\n",
            "test",
        ),
    }
    history = synthetic_history(300, 300, 1, seed="burst")
    moment = history[0].placed_at.replace(hour=14)  # outside quiet hours
    burst = [order.model_copy(update={"placed_at": moment}) for order in history]
    messages: list = []
    replay(
        burst,
        journeys,
        Assumptions(contact_policy=ContactPolicy(min_gap="0s")),  # both due at once
        progress=lambda done: None,
        retired=lambda records: messages.extend(records.messages),
    )
    sent = {(m.step, m.customer_id): m.sent_at for m in messages if m.status.value == "sent"}
    confirmations = [at for (step, _), at in sent.items() if step == "order_confirmation"]
    promotions = [at for (step, _), at in sent.items() if step == "offer"]
    assert len(confirmations) == 300 and len(promotions) == 300
    assert max(confirmations) - moment < timedelta(seconds=300 // 14 + 2)
    assert sorted(promotions)[14] >= max(confirmations).replace(microsecond=0)
    assert max(Counter(at.replace(microsecond=0) for at in sent.values()).values()) <= 14
    held = [m for m in messages if m.step == "offer" and m.held]
    assert held and {m.held for m in held} == {"sending rate: email after transactional sends"}


def test_texts_are_paid_per_segment_at_the_customers_countrys_price():
    from postventa.backtest.cost import SMS_PRICE_PER_SEGMENT
    from postventa.journeys.library import Library

    orders, _ = read_orders(HISTORY)
    report = run_backtest(orders, Library().journeys(), Assumptions(sms_share=1.0, phone_country="ES"))
    texts = {
        s["step"]: s["messages"] for s in report.steps if s["channel"] == "sms" and s["outcome"] == "sent"
    }
    assert texts == {"order_confirmation": 3, "cross_sell": 2, "we_miss_you": 2}  # each one segment
    assert report.cost_usd["sms"] == round(7 * SMS_PRICE_PER_SEGMENT["ES"], 4)
    pushed = run_backtest(orders, Library().journeys(), Assumptions(push_share=1.0))
    assert {s["channel"] for s in pushed.steps if s["step"] == "order_confirmation"} == {"push"}
    assert pushed.cost_usd["sms"] == 0.0


def test_a_send_time_test_finds_the_best_hour_opened_more_where_readers_keep_hours(tmp_path):
    """The backtest's customers read at hours of their own (reading_hour_lift): a split of the
    same offer at each customer's best hour (learnt from their opens of the post-purchase mail,
    with the shop's as the prior) or at 10:00 measures what the best hour is worth, and never
    sends in quiet hours."""
    from zoneinfo import ZoneInfo

    from postventa.backtest import Assumptions, synthetic_history
    from postventa.backtest.replay import replay
    from postventa.journeys.loader import load_journey, load_journeys

    journeys = {
        "post-purchase": load_journeys()["post-purchase"],
        "send-time-test": load_journey(FIXTURES / "send-time-test.yaml"),
    }
    messages: list = []
    replay(
        synthetic_history(600, 250, 12, seed="golden"),
        journeys,
        Assumptions(timezone="Europe/Madrid", reading_hour_lift=0.5),
        progress=lambda done: None,
        retired=lambda records: messages.extend(records.messages),
        archive=tmp_path,
    )

    def sent(step: str) -> list:
        return [m for m in messages if m.step == step and m.status.value == "sent"]

    def open_rate(step: str) -> float:
        return sum(m.opened_at is not None for m in sent(step)) / len(sent(step))

    assert min(len(sent("offer_at_their_hour")), len(sent("offer_at_ten"))) > 200
    assert open_rate("offer_at_their_hour") > 1.1 * open_rate("offer_at_ten")
    local_hours = {m.sent_at.astimezone(ZoneInfo("Europe/Madrid")).hour for m in sent("offer_at_their_hour")}
    assert local_hours <= set(range(9, 21)) and len(local_hours) > 2  # learnt per customer, never quiet
    # the report of what the replay archived: the split's two steps, side by side
    from postventa.analytics.report import build_report

    rows = {
        row["step"]: row for row in build_report(tmp_path)["messages"] if row["journey"] == "send-time-test"
    }
    assert (
        rows["offer_at_their_hour"]["variant"] == "best_hour" and rows["offer_at_ten"]["variant"] == "ten_am"
    )
    assert rows["offer_at_their_hour"]["opened_rate"] == round(open_rate("offer_at_their_hour"), 4)
    assert rows["offer_at_their_hour"]["opened_rate"] > rows["offer_at_ten"]["opened_rate"]
