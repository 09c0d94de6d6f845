"""End to end: the demo and user-supplied events through `postventa simulate`, with the default library."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postventa.cli import main
from postventa.local.simulate import DEMO_EVENTS, read_events, run_simulation
from tests.conftest import EVENTS, load_json, within_spread


@pytest.fixture(scope="module")
def demo():
    return run_simulation(read_events(DEMO_EVENTS))


def messages(result, customer, journey=None):
    return [
        (e.day, e.step, e.outcome, e.reason)
        for e in result.timeline
        if e.kind == "message" and e.customer_id == customer and journey in (None, e.journey)
    ]


def test_a_fulfilled_order_gets_the_whole_post_purchase_journey_on_time(demo):
    assert messages(demo, "cus-ana", "post-purchase") == [
        (0, "order_confirmation", "sent", None),
        (4, "product_tips", "sent", None),  # fulfilled on day 1 (08:30) + 3 days
        (11, "review_request", "sent", None),
        (15, "review_request_resend", "sent", None),  # not opened within 4 days: another subject
        (25, "nps_survey", "sent", None),
    ]


def test_a_first_order_gets_a_welcome_the_next_morning_in_local_time(demo):
    welcome = [e for e in demo.timeline if e.step == "welcome" and e.outcome == "sent"]
    local = {e.customer_id: e.at.hour for e in welcome}
    # 10:00 in Madrid, Chicago, UTC, Berlin, New York and Tokyo. Fran's, due at 10:00 in Los Angeles,
    # was held until 13:00: 4 h after her SMS confirmation (09:00 there), the contact policy's gap;
    # Jun's likewise, 4 h after the text the carrier then refused (it was handed over all the same).
    assert local == {
        "cus-jun": 20,
        "cus-ana": 9,
        "cus-carla": 16,
        "9007199254740993001": 10,
        "cus-gus": 9,
        "cus-hana": 15,
        "cus-ivan": 1,
        "cus-fran": 21,
        "9007199254740994001": 10,
        "cus-omar": 15,
    }


def test_cross_sell_comes_ten_days_after_the_order_at_10am_local(demo):
    (cross_sell,) = [e for e in demo.timeline if e.customer_id == "cus-ana" and e.step == "cross_sell"]
    assert within_spread(cross_sell.at, datetime(2026, 3, 12, 9, 0, tzinfo=UTC))  # 10:00 in Madrid


def test_a_refund_ends_every_journey_of_that_order(demo):
    assert [(step, outcome) for _, step, outcome, _ in messages(demo, "cus-carla")] == [
        ("order_confirmation", "sent"),
        ("welcome", "sent"),
    ]
    ended = sorted(
        (e.customer_id, e.journey, e.reason)
        for e in demo.timeline
        if e.outcome == "ended" and e.customer_id == "cus-carla"
    )
    assert ended == [
        ("cus-carla", "cross-sell", "exit goal: Order Refunded"),
        ("cus-carla", "post-purchase", "exit goal: Order Refunded"),
    ]


def test_an_unsubscribed_customer_gets_only_transactional_email(demo):
    dev = messages(demo, "cus-dev")
    assert [step for _, step, outcome, _ in dev if outcome == "sent"] == ["order_confirmation"]
    assert {reason for _, _, outcome, reason in dev if outcome == "suppressed"} == {
        "email: unsubscribed from marketing email",
        # cross-sell goes by the customer's preferred channel: every channel says why not
        "email: unsubscribed from marketing email; sms: no phone number; push: no app installation (push token)",
    }
    assert len(dev) == 7


def test_an_order_never_shipped_gets_the_apology_on_day_14(demo):
    ben = messages(demo, "9007199254740993001", "post-purchase")  # a Shopify id above 2^53, exact
    assert [(step, outcome) for _, step, outcome, _ in ben] == [
        ("order_confirmation", "sent"),
        ("shipping_delay_apology", "sent"),
    ]
    confirmation, apology = [
        e
        for e in demo.timeline
        if e.kind == "message" and e.journey == "post-purchase" and e.customer_id == "9007199254740993001"
    ]
    # The 14 days run after the hour in which a refused receipt would be sent again.
    assert apology.at - confirmation.at == timedelta(hours=1) + timedelta(days=14)


def test_duplicates_and_invalid_events_are_shown_and_send_nothing(demo):
    summary = demo.summary
    # Ana's redelivered event; Ben's retried webhook for three journeys (post-purchase, welcome,
    # cross-sell); Lena's checkout updated (the same checkout enters once).
    assert summary["duplicates_ignored"] == 5
    assert summary["events_in_dead_letter_queue"] == 1
    # 11 customers x (post-purchase, welcome, cross-sell), Lena's abandoned checkout, Ivan's and
    # Fran's answers; the shop's own events: Kai's and Lea's renewals, Kai's failed payment, Milo's
    # restock, Nora's and Omar's first views
    assert summary["journeys_started"] == 42
    # Jun's confirmation: a text the carrier refused (blocked number), recorded failed with its
    # words; the receipt again by email
    assert summary["messages"] == {"sent": 62, "suppressed": 11, "failed": 1}
    (invalid,) = [e for e in demo.timeline if e.outcome == "invalid"]
    assert (
        invalid.event_id == "evt-0004"
        and "detail.placed_at: Input should have timezone info" in invalid.reason
    )
    confirmations = [e for e in demo.timeline if e.step == "order_confirmation" and e.outcome == "sent"]
    assert len(confirmations) == len({e.customer_id for e in confirmations}) == 10


def test_a_detractor_gets_a_personal_follow_up_and_a_ticket_the_help_desk_opens(demo):
    """Ivan answers 3 (Survey Answered, 12:30): the service email, then the ticket posted to the
    help desk (call: helpdesk), which opens case T-1 and says so on the bus ten minutes later."""
    ivan = [
        (e.at, e.kind, e.step, e.channel, e.outcome, e.reason)
        for e in demo.timeline
        if e.customer_id == "cus-ivan" and e.journey == "nps-detractor"
    ]
    at = datetime(2026, 3, 28, 12, 30, tzinfo=UTC)
    assert ivan == [
        (at, "decision", None, None, "started", None),
        (at, "message", "service_follow_up", "email", "sent", None),
        (at, "call", "open_ticket", "helpdesk", "called", "to helpdesk"),
    ]
    assert demo.summary["calls"] == {"called": 1}
    assert demo.summary["tickets_opened_by_the_stand_in_help_desk"] == 1


def test_an_abandoned_checkout_is_reminded_of_and_recovered(demo):
    """Lena (Shopify's checkouts/create at 08:30 UTC, checkouts/update at 08:45, orders/create at
    11:00): the cart an hour later, and her order ends the journey before the follow-up."""
    lena = "9007199254740994001"
    journey = [
        (e.at, e.step, e.outcome, e.reason)
        for e in demo.timeline
        if e.customer_id == lena and e.journey == "abandoned-checkout"
    ]
    assert journey == [
        (datetime(2026, 3, 5, 8, 30, 5, tzinfo=UTC), None, "started", None),
        (
            datetime(2026, 3, 5, 8, 45, 4, tzinfo=UTC),
            None,
            "duplicate",
            "already entered for b7c4e1f0a9d2436e8f15c0d3a6e9b2f4",
        ),
        (datetime(2026, 3, 5, 9, 30, tzinfo=UTC), "reminder", "sent", None),  # an hour after it started
        (datetime(2026, 3, 5, 11, 0, 3, tzinfo=UTC), None, "converted", "goal reached: Order Placed"),
    ]
    (reminder,) = [e for e in demo.timeline if e.customer_id == lena and e.step == "reminder"]
    assert reminder.subject == "Lena, your cart is saved"
    # her order, placed from the checkout, starts the order's own journeys as any other
    assert [step for _, step, outcome, _ in messages(demo, lena, "post-purchase")][:1] == [
        "order_confirmation"
    ]


def test_phase_3_each_customer_on_the_channel_they_chose(demo):
    def sent(customer):
        return [
            (e.step, e.channel)
            for e in demo.timeline
            if e.kind == "message" and e.customer_id == customer and e.outcome == "sent"
        ]

    # Fran chose SMS: receipt and cross-sell by text; steps written for email stay email.
    assert ("order_confirmation", "sms") in sent("cus-fran") and ("cross_sell", "sms") in sent("cus-fran")
    assert ("review_request", "email") in sent("cus-fran")
    # Gus chose app notifications.
    assert ("order_confirmation", "push") in sent("cus-gus") and ("cross_sell", "push") in sent("cus-gus")
    # Everyone else never chose: email first.
    assert {channel for _, channel in sent("cus-ana")} == {"email"}


def test_an_open_support_case_holds_back_marketing_until_it_is_closed(demo):
    hana = messages(demo, "cus-hana")
    held = {step for _, step, outcome, reason in hana if outcome == "suppressed"}
    assert held == {"product_tips", "cross_sell", "review_request", "review_request_resend"}
    assert {reason for _, _, outcome, reason in hana if outcome == "suppressed"} == {
        "support case open: no marketing until it is closed"
    }
    assert ("nps_survey", "sent") in [(step, outcome) for _, step, outcome, _ in hana]  # after it closed


def test_quiet_hours_hold_a_message_to_9am_local_and_the_timeline_says_why(demo):
    (tips,) = [e for e in demo.timeline if e.customer_id == "cus-ivan" and e.step == "product_tips"]
    assert tips.outcome == "sent"
    assert within_spread(tips.at, datetime(2026, 3, 7, 0, 0, tzinfo=UTC))  # 09:00 in Tokyo
    assert tips.held == "held from 03-06 13:45: quiet hours (21:00-09:00 local)"  # due at 22:45 Tokyo
    assert demo.summary["held_back_by_reason"]["quiet hours"] == 4


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
    sent = [
        r["step"]
        for r in records
        if r["kind"] == "message" and r["outcome"] == "sent" and r["journey"] == "post-purchase"
    ]
    assert sent == [
        "order_confirmation",
        "product_tips",
        "review_request",
        "review_request_resend",
        "nps_survey",
    ]
    assert {r["customer_id"] for r in records if r.get("customer_id")} == {"9007199254740993001"}


def test_journeys_validate_reports_problems_with_exit_status(tmp_path, capsys):
    assert main(["journeys", "validate"]) == 0
    assert "ok  post-purchase v5: 16 steps" in capsys.readouterr().out
    (tmp_path / "broken.yaml").write_text(
        "name: broken\nversion: 1\ntrigger: {event: Order Placed}\nsteps: []\n"
    )
    assert main(["journeys", "validate", str(tmp_path)]) == 1
    assert "broken.yaml: journey: steps: List should have at least 1 item" in capsys.readouterr().err


def test_the_report_reads_what_simulate_archived(tmp_path, capsys):
    assert main(["simulate", "--archive", str(tmp_path / "archive")]) == 0
    capsys.readouterr()
    assert (
        main(["report", "--archive", str(tmp_path / "archive"), "--json", "--html", str(tmp_path / "r.html")])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    # the demo: eleven customers placed one order each (a duplicate and a retried webhook count once)
    assert (report["business"]["customers"], report["business"]["orders"]) == (11, 11)
    sent = {(m["journey"], m["step"], m["channel"]): m["sent"] for m in report["messages"]}
    assert sent[("post-purchase", "order_confirmation", "push")] == 1  # Gus
    # every message the timeline shows as sent, and Jun's text: handed to the carrier, then refused
    # (counted sent, as a bounced email is, so the delivery rate shows it)
    assert sum(sent.values()) == 63
    assert sent[("post-purchase", "order_confirmation", "sms")] == 2
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "Cohort retention" in html and "<script" not in html


def confirmation_at(result, customer):
    (entry,) = [e for e in result.timeline if e.customer_id == customer and e.step == "order_confirmation"]
    return entry.at


def test_a_text_the_carrier_refused_is_failed_and_the_customers_next_messages_go_by_email(demo):
    jun = messages(demo, "cus-jun")
    (confirmation,) = [m for m in jun if m[1] == "order_confirmation"]
    assert confirmation[2:] == ("failed", "sms: Phone is on a blocked list")
    # the journey heard of the refusal and sent the receipt again, once, by the next channel
    (fallback,) = [
        e for e in demo.timeline if e.customer_id == "cus-jun" and e.step == "order_confirmation_fallback"
    ]
    assert (fallback.channel, fallback.outcome, fallback.subject) == (
        "email",
        "sent",
        "Thank you for your order #6001, Jun",
    )
    assert fallback.at - confirmation_at(demo, "cus-jun") < timedelta(hours=1)
    (cross_sell,) = [e for e in demo.timeline if e.customer_id == "cus-jun" and e.step == "cross_sell"]
    assert (cross_sell.channel, cross_sell.outcome) == ("email", "sent")  # SMS first, but not to this number
    assert cross_sell.reason == "sms: number opted out (carrier: Phone is on a blocked list)"


def test_a_promoter_is_thanked_and_asked_for_a_referral_and_joins_the_promoters_ad_list(demo):
    """Fran answers 10 the morning after her survey: the nps-promoter journey's referral request,
    and the audiences' run at the end of the demo finds her (email and text marketing consent)."""
    fran = [(e.journey, e.step, e.outcome) for e in demo.timeline if e.customer_id == "cus-fran"]
    assert ("nps-promoter", "referral_request", "sent") in fran
    assert demo.summary["audience_members"] == {"promoters": 1, "at_risk_vips": 0, "lapsed": 0}


def test_an_unsubscribe_from_the_mailbox_reaches_shopify_and_ends_marketing_email(demo):
    """Ben's mailbox provider POSTs the one-click unsubscribe of his welcome email (a history's
    Mailbox Unsubscribe, 03-05 19:00): stated as of then, written back to his Shopify customer,
    and his cross-sell, a marketing email, is suppressed."""
    ben = [e for e in demo.timeline if e.customer_id == "9007199254740993001"]
    (choice,) = [e for e in ben if e.kind == "consent"]
    assert (choice.at, choice.step) == (datetime(2026, 3, 5, 19, tzinfo=UTC), "unsubscribe_link")
    assert choice.reason.startswith("email marketing unsubscribed") and choice.reason.endswith(
        "written to Shopify"
    )
    (cross_sell,) = [e for e in ben if e.step == "cross_sell"]
    assert (
        cross_sell.outcome == "suppressed" and "email: unsubscribed from marketing email" in cross_sell.reason
    )
    assert ("shipping_delay_apology", "sent") in [(e.step, e.outcome) for e in ben]  # transactional
    assert demo.summary["consent_written_to_the_stand_in_shopify"] == 1


def test_a_customer_with_the_app_finds_his_tips_in_its_inbox_and_reading_them_is_an_open(demo):
    """Gus has the app: post-purchase puts his product tips in its inbox, not in his mailbox; he
    opens the app that evening (a history's App Inbox Opened, 03-07 18:00) and the card read is
    the message's open. Customers without the app get their tips by email, nothing said of it."""
    gus = messages(demo, "cus-gus", "post-purchase")
    assert (5, "product_tips", "sent", None) in gus
    (tips,) = [m for m in demo.final.messages if m.customer_id == "cus-gus" and m.step == "product_tips"]
    assert (tips.channel, tips.opened_at) == ("inbox", datetime(2026, 3, 7, 18, tzinfo=UTC))
    assert demo.summary["inbox_cards"] == {"kept": 1, "read": 1}
    others = [m for m in demo.final.messages if m.step == "product_tips" and m.customer_id != "cus-gus"]
    assert {m.channel for m in others if m.status.value == "sent"} == {"email"}
    assert not any("inbox" in (m.reason or "") for m in others)  # Dev's suppression names email only


def test_a_customer_with_no_opens_of_her_own_gets_the_shops_best_hour(demo):
    """Ana opens her tips at 19:40 in Madrid (a history's Mailbox Open) and Gus reads his card at
    19:00 in Berlin: the shop's readers read at 19:00. Fran, who never opened anything, answers
    the survey on 03-29; her referral request waits a day, then for the shop's hour in her
    timezone. Cross-sell, fixed at the orders before any open, kept the 10:00 of a shop without
    history."""
    (referral,) = [e for e in demo.timeline if e.step == "referral_request"]
    local = referral.at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (local.date(), local.hour) == (date(2026, 3, 30), 19)
    (ana,) = [m for m in demo.final.messages if m.customer_id == "cus-ana" and m.step == "product_tips"]
    assert ana.opened_at == datetime(2026, 3, 7, 18, 40, tzinfo=UTC)
    cross_sell = [e for e in demo.timeline if e.step == "cross_sell" and e.customer_id == "cus-ana"]
    assert within_spread(cross_sell[0].at, datetime(2026, 3, 12, 9, 0, tzinfo=UTC))


def test_simulate_writes_the_ad_lists_fran_is_on_hashed_as_each_platform_reads_them(tmp_path, capsys):
    import hashlib

    def sha256(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    assert main(["simulate", "--audiences", str(tmp_path)]) == 0
    assert "Ad lists written to" in capsys.readouterr().out
    (day,) = [folder.name for folder in (tmp_path / "promoters").iterdir()]
    # the demo's last day; her address and number (+1 415 555 0134, SMS marketing consent)
    assert day == "2026-04-18"
    assert (tmp_path / "promoters" / day / "meta.csv").read_text().splitlines() == [
        "email,phone",
        f"{sha256('fran@example.com')},{sha256('14155550134')}",
    ]
    assert (tmp_path / "promoters" / day / "google.csv").read_text().splitlines()[1] == (
        f"{sha256('fran@example.com')},{sha256('+14155550134')}"
    )
    assert (tmp_path / "lapsed" / day / "meta.csv").read_text() == "email,phone\n"


def test_the_shops_own_events_start_end_and_resume_journeys(demo):
    """The default library's examples, on the events declared in journeys/events.yaml."""
    timeline = demo.timeline

    def about(customer):
        return [(e.at, e.journey, e.step, e.outcome, e.reason) for e in timeline if e.customer_id == customer]

    # Milo asked to hear about the kettle: told at once, as a service (he gave no marketing consent).
    (alert,) = [e for e in timeline if e.customer_id == "cus-milo" and e.kind == "message"]
    assert (alert.at, alert.step, alert.outcome, alert.subject) == (
        datetime(2026, 3, 4, 8, 30, tzinfo=UTC),
        "back_in_stock",
        "sent",
        "Gooseneck kettle is back in stock",
    )
    # Nora looked at the grinder and ordered nothing: reminded a day after the view, of that
    # product; her look at a gift card started nothing.
    (reminder,) = [e for e in timeline if e.customer_id == "cus-nora" and e.kind == "message"]
    assert (reminder.at, reminder.subject) == (
        datetime(2026, 3, 4, 19, 0, tzinfo=UTC),
        "Still thinking about Hand burr grinder?",
    )
    assert [e.outcome for e in timeline if e.customer_id == "cus-nora" and e.kind != "message"] == ["started"]
    # Omar looked twice and ordered the same day: one entry, ended by his order as a conversion.
    omar = [(j, o, r) for _, j, _, o, r in about("cus-omar") if j == "browse-abandonment"]
    assert omar == [
        ("browse-abandonment", "started", None),
        ("browse-abandonment", "not_entered", "entered 0 days ago; re-entry after 7 days"),
        ("browse-abandonment", "converted", "goal reached: Order Placed"),
    ]
    # Kai's renewal: reminded three days before at 10:00 in Madrid; its charge failed, he was told
    # at once, and the renewal that followed ended the wait before a final notice.
    kai = [e for e in timeline if e.customer_id == "cus-kai" and e.kind == "message"]
    assert [(e.step, e.outcome) for e in kai] == [("renewal_reminder", "sent"), ("payment_failed", "sent")]
    assert within_spread(kai[0].at, datetime(2026, 3, 7, 9, 0, tzinfo=UTC))
    assert kai[0].subject == "Your Coffee Club, monthly renews on March 10, 2026"
    assert kai[1].at == datetime(2026, 3, 10, 6, 5, tzinfo=UTC)
    assert ("resumed", "Subscription Renewed arrived at step renewed") in [
        (o, r) for _, _, _, o, r in about("cus-kai")
    ]
    # Lea cancelled before her reminder was due: the journey ended, nothing was sent.
    assert [(j, o, r) for _, j, _, o, r in about("cus-lea")] == [
        ("subscription-renewal", "started", None),
        ("subscription-renewal", "ended", "exit goal: Subscription Cancelled"),
    ]


def test_a_shops_event_is_applied_once_per_occurrence_and_refused_with_its_reason_if_undeclared():
    scheduled = load_json(EVENTS / "custom" / "subscription-renewal-scheduled.json")
    failed = load_json(EVENTS / "custom" / "subscription-payment-failed.json")
    again = {**scheduled, "id": "evt-again", "time": "2026-03-02T11:00:00Z"}  # the same renewal, sent again
    moved = {
        **scheduled,
        "id": "evt-moved",
        "time": "2026-03-03T10:00:00Z",
        "detail": {**scheduled["detail"], "renews_at": "2026-03-17T06:00:00Z"},
    }
    retried = {**failed, "id": "evt-retry-failed", "time": "2026-03-18T06:00:00Z"}
    first_failure = {**failed, "time": "2026-03-17T06:05:00Z", "detail": moved["detail"] | failed["detail"]}
    first_failure["detail"]["renews_at"] = "2026-03-17T06:00:00Z"
    retried["detail"] = first_failure["detail"]
    broken = {**failed, "id": "evt-broken", "detail": {**failed["detail"], "amount": "24.00"}}
    # Kai's second subscription: cancelled, then renewed (a separate plan): neither touches the first.
    other = {"customer": {"id": "cus-kai"}, "subscription_id": "sub-kai-2"}
    other_scheduled = {
        **scheduled,
        "id": "evt-other",
        "time": "2026-03-02T12:00:00Z",
        "detail": {**scheduled["detail"], **other, "renews_at": "2026-03-20T06:00:00Z"},
    }
    other_cancelled = {**scheduled, "id": "evt-other-off", "detail-type": "Subscription Cancelled"}
    other_cancelled |= {"time": "2026-03-04T12:00:00Z", "detail": other}
    other_renewed = {**other_cancelled, "id": "evt-other-on", "detail-type": "Subscription Renewed"}
    other_renewed["time"] = "2026-03-18T12:00:00Z"
    result = run_simulation(
        [
            scheduled,
            again,
            moved,
            first_failure,
            retried,
            broken,
            other_scheduled,
            other_cancelled,
            other_renewed,
        ]
    )
    decisions = [(e.journey, e.outcome, e.reason) for e in result.timeline if e.kind != "message"]
    sent = [(e.step, e.subject) for e in result.timeline if e.kind == "message"]
    # The same renewal twice: one journey. Moved: the old one ends and the new one reminds of the new date.
    assert (
        "subscription-renewal",
        "duplicate",
        "already entered for subscription_id=sub-kai-1|renews_at=2026-03-10T06:00:00Z",
    ) in decisions
    assert ("subscription-renewal", "ended", "exit goal: Subscription Renewal Scheduled") in decisions
    assert sent[0] == ("renewal_reminder", "Your Coffee Club, monthly renews on March 17, 2026")
    # Two failed tries of one renewal: one follow-up; never renewed (the other subscription's
    # renewal is not this one's): the final notice three days on.
    assert [step for step, _ in sent] == ["renewal_reminder", "payment_failed", "final_notice"]
    # The other subscription's cancellation ended its own reminder only.
    assert decisions.count(("subscription-renewal", "ended", "exit goal: Subscription Cancelled")) == 1
    assert not [d for d in decisions if d[1] == "resumed"]
    assert decisions.count(("failed-payment", "started", None)) == 1
    # A detail that breaks the declaration waits in the dead-letter queue, saying why.
    (invalid,) = [reason for _, outcome, reason in decisions if outcome == "invalid"]
    assert invalid.startswith("detail.amount: Input should be a valid dictionary")
    assert invalid.endswith("(as Subscription Payment Failed is declared)")
    assert result.summary["events_in_dead_letter_queue"] == 1
