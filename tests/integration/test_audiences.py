"""The audiences' daily run against the local stack: profiles and answers in DynamoDB (moto), the
lists in the archive bucket, and a withdrawn consent taken out the next day."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.conftest import EVENTS, load_json

BUCKET = "postventa-archive"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def order_by(customer: dict[str, Any], number: int) -> dict[str, Any]:
    event = copy.deepcopy(load_json(EVENTS / "order-placed.json"))
    event["id"] = f"evt-aud-{number}"
    event["detail"]["order_id"] = f"A-{2000 + number}"
    event["detail"]["customer"] = {**event["detail"]["customer"], **customer}
    return event


def answer(customer_id: str, score: int, at: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"evt-answer-{customer_id}",
        "detail-type": "Survey Answered",
        "source": "com.shop.example.storefront",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": [],
        "detail": {"schema_version": "1", "customer_id": customer_id, "score": score, "answered_at": at},
    }


def csv_rows(key: str) -> list[list[str]]:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [line.split(",") for line in body.splitlines()]


@pytest.fixture
def promoters(local):
    """Ana (email consent), Bo (SMS consent only) and Cy (no marketing consent) all answered 9 or 10;
    Dee answered 7."""
    local.deliver(load_json(EVENTS / "order-placed.json"))  # cus-ana, ana@example.com, subscribed
    bo = {"id": "cus-bo", "email": "Bo@Example.com", "phone": "600 000 001", "email_marketing": "not_subscribed",
          "sms_marketing": "subscribed"}  # fmt: skip
    local.deliver(order_by(bo, 1))
    local.deliver(order_by({"id": "cus-cy", "email": "cy@example.com", "email_marketing": "unsubscribed"}, 2))
    local.deliver(order_by({"id": "cus-dee", "email": "dee@example.com"}, 3))
    for customer_id, score in (("cus-ana", 10), ("cus-bo", 9), ("cus-cy", 10), ("cus-dee", 7)):
        local.deliver(answer(customer_id, score, "2026-03-04T12:00:00Z"))
    return local


def test_a_days_lists_hold_the_consented_promoters_hashed_for_each_platform(promoters):
    (exported,) = [
        a
        for a in promoters.export_audiences(datetime(2026, 3, 5, 9, tzinfo=UTC))
        if a["audience"] == "promoters"
    ]
    assert (exported["members"], exported["emails"], exported["phones"], exported["removed"]) == (
        2,
        1,
        1,
        None,
    )
    ana, bo_meta, bo_google = sha256("ana@example.com"), sha256("34600000001"), sha256("+34600000001")
    assert csv_rows("audiences/promoters/2026-03-05/meta.csv") == [
        ["email", "phone"],
        *sorted([[ana, ""], ["", bo_meta]]),
    ]
    assert csv_rows("audiences/promoters/2026-03-05/google.csv") == [
        ["Email", "Phone"],
        *sorted([[ana, ""], ["", bo_google]]),
    ]
    assert sorted(exported["keys"]) == [
        "audiences/promoters/2026-03-05/google.csv",
        "audiences/promoters/2026-03-05/meta.csv",
    ]


def test_an_unsubscribe_takes_the_address_out_the_next_day_and_a_repeated_run_writes_the_same(promoters):
    promoters.export_audiences(datetime(2026, 3, 5, 9, tzinfo=UTC))
    promoters.deliver(load_json(EVENTS / "customer-updated.json"))  # Ana unsubscribes, 03-10
    day = datetime(2026, 3, 11, 9, tzinfo=UTC)
    for _ in range(2):
        (exported,) = [a for a in promoters.export_audiences(day) if a["audience"] == "promoters"]
        assert exported["removed"] == {"meta": 1, "google": 1} and exported["members"] == 1
        assert csv_rows("audiences/promoters/2026-03-11/meta.csv") == [
            ["email", "phone"],
            ["", sha256("34600000001")],
        ]
        assert csv_rows("audiences/promoters/2026-03-11/meta-removals.csv") == [
            ["email", "phone"],
            [sha256("ana@example.com"), ""],
        ]
        assert csv_rows("audiences/promoters/2026-03-11/google-removals.csv")[1:] == [
            [sha256("ana@example.com"), ""]
        ]
