"""Audiences for ads: who is in which list, and the identifiers hashed as each platform matches them."""

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postventa.journeys.library import DEFAULT_AUDIENCES, JourneyError, Library
from postventa.logic.audiences import Identifiers, Platform, audiences_of, consented_identifiers, removed
from postventa.models.events import ConsentState
from postventa.models.records import CustomerProfile, NpsAnswer

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
SUBSCRIBED = ConsentState.SUBSCRIBED


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def customer(**changes) -> CustomerProfile:
    known = {
        "customer_id": "c1",
        "email": "Jane.Doe@Example.com",
        "phone": "(415) 555-0100",
        "country": "US",
        "email_marketing": SUBSCRIBED,
        "sms_marketing": SUBSCRIBED,
        "orders_count": 3,
        "last_order_at": NOW - timedelta(days=30),
        "updated_at": NOW,
    }
    return CustomerProfile(**{**known, **changes})


def test_an_address_is_trimmed_and_lower_cased_then_hashed_as_tiktoks_published_example():
    # ads.tiktok.com's customer-file guide: "janedoe@gmail.com" hashes to d6117306...
    row = Identifiers(email="  JaneDoe@Gmail.com ", phone=None).hashed(Platform.META)
    assert row == ("d6117306485ed0e50afab3ac871e98f81699151f30281527d63ff5f233656c69", "")


def test_a_number_is_e164_for_google_and_its_digits_without_the_plus_for_meta():
    identifiers = consented_identifiers(customer())
    assert identifiers == Identifiers(email="Jane.Doe@Example.com", phone="+14155550100")
    assert identifiers.hashed(Platform.GOOGLE) == (sha256("jane.doe@example.com"), sha256("+14155550100"))
    assert identifiers.hashed(Platform.META) == (sha256("jane.doe@example.com"), sha256("14155550100"))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"email_marketing": ConsentState.UNSUBSCRIBED}, Identifiers(None, "+14155550100")),
        ({"email_marketing": ConsentState.NOT_SUBSCRIBED}, Identifiers(None, "+14155550100")),
        ({"email_suppressed": "complaint"}, Identifiers(None, "+14155550100")),
        ({"sms_marketing": ConsentState.UNSUBSCRIBED}, Identifiers("Jane.Doe@Example.com", None)),
        ({"sms_opted_out": "STOP"}, Identifiers("Jane.Doe@Example.com", None)),
        ({"phone": "12"}, Identifiers("Jane.Doe@Example.com", None)),  # not a number
        ({"email_marketing": ConsentState.UNSUBSCRIBED, "sms_marketing": ConsentState.NOT_SUBSCRIBED}, None),
        ({"open_cases": ["case-1"]}, None),  # an ad is a promotion too
    ],
)
def test_only_what_the_customer_consented_to_be_marketed_on_is_matched(changes, expected):
    assert consented_identifiers(customer(**changes)) == expected


def test_the_default_audiences_find_promoters_at_risk_vips_and_the_lapsed():
    def answer(score: int) -> NpsAnswer:
        return NpsAnswer(customer_id="c1", score=score, at=NOW - timedelta(days=3))

    assert audiences_of(customer(), answer(10), DEFAULT_AUDIENCES, NOW) == ["promoters"]
    assert audiences_of(customer(), answer(8), DEFAULT_AUDIENCES, NOW) == []
    assert audiences_of(customer(), None, DEFAULT_AUDIENCES, NOW) == []
    at_risk = {"last_order_at": NOW - timedelta(days=120)}
    assert audiences_of(customer(**at_risk, vip=True), None, DEFAULT_AUDIENCES, NOW) == ["at_risk_vips"]
    assert audiences_of(customer(**at_risk), None, DEFAULT_AUDIENCES, NOW) == []
    lapsed = customer(last_order_at=NOW - timedelta(days=200), vip=True)
    assert audiences_of(lapsed, answer(9), DEFAULT_AUDIENCES, NOW) == ["promoters", "lapsed"]


def test_removals_name_each_identifier_that_left_one_a_row():
    before = [("e1", "p1"), ("e2", "p2"), ("e3", "")]
    now = [("e1", "p1"), ("", "p2")]  # e2 withdrew email consent; e3 left the segment
    assert removed(before, now) == [("e2", ""), ("e3", "")]
    assert removed(now, before) == []
    assert removed([("e1", "p1")], []) == [("e1", ""), ("", "p1")]


def test_a_shop_names_its_own_audiences_or_none_and_a_wrong_field_is_refused(tmp_path: Path):
    (tmp_path / "postventa.yaml").write_text(
        "audiences:\n"
        "  - name: big_spenders\n"
        "    conditions: [{field: customer.total_spent, op: gte, value: 500}]\n"
    )
    (audience,) = Library(tmp_path).settings.audiences
    assert audiences_of(customer(total_spent=620.0), None, [audience], NOW) == ["big_spenders"]
    (tmp_path / "postventa.yaml").write_text(
        "audiences:\n"
        "  - name: open_to_offers\n"
        "    conditions: [{field: customer.topics_unsubscribed, op: not_contains, value: offers}]\n"
    )
    (audience,) = Library(tmp_path).settings.audiences
    assert audiences_of(customer(), None, [audience], NOW) == ["open_to_offers"]
    assert audiences_of(customer(topics_unsubscribed=["offers"]), None, [audience], NOW) == []
    (tmp_path / "postventa.yaml").write_text("audiences: []\n")
    assert Library(tmp_path).settings.audiences == []
    assert Library().settings.audiences == list(DEFAULT_AUDIENCES)
    (tmp_path / "postventa.yaml").write_text(
        "audiences:\n  - name: recent\n    conditions: [{field: order.total, op: gt, value: 1}]\n"
    )
    with pytest.raises(JourneyError, match=r"audience recent: unknown field order\.total"):
        Library(tmp_path).settings  # noqa: B018
