"""SES's published event records (the developer guide's examples) read as Postventa reads the
detail of an SES event on EventBridge: the same record, whichever destination carries it."""

from __future__ import annotations

import pytest

from postventa.models.engagement import SesRecord
from tests.conftest import PUBLISHED, load_json

SAMPLES = sorted(PUBLISHED.glob("ses_sns_*.json"))


def test_every_kind_of_record_is_there():
    assert {p.stem.removeprefix("ses_sns_") for p in SAMPLES} == {
        "bounce", "click", "complaint", "delivery", "open", "send",
    }  # fmt: skip


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_a_published_record_parses_with_its_times_and_tags(path):
    raw = load_json(path)
    record = SesRecord.model_validate(raw)
    assert record.eventType == raw["eventType"]
    assert record.mail.messageId == raw["mail"]["messageId"]
    assert record.mail.tags == raw["mail"].get("tags", {})
    part = {"Open": record.open, "Click": record.click, "Bounce": record.bounce,
            "Complaint": record.complaint, "Delivery": record.delivery}.get(record.eventType)  # fmt: skip
    if record.eventType != "Send":
        assert part is not None and part.timestamp.tzinfo is not None
