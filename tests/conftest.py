"""Shared test setup: fake AWS credentials, quiet Powertools, paths to fixtures and samples."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postventa.cli import LOCAL_ENVIRONMENT
from postventa.logic.send_time import SendTimes
from postventa.models.policy import ContactPolicy

for _key, _value in LOCAL_ENVIRONMENT.items():
    os.environ[_key] = _value

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
SHOP = EVENTS / "shop"  # a shop's own folder of journeys and templates (its README)
PUBLISHED = EVENTS / "published"  # published samples, with their provenance


FIXTURES = Path(__file__).resolve().parent / "fixtures"


# A shop with no opens yet and the default contact policy (logic/send_time.py).
SEND_TIMES = SendTimes(ContactPolicy(), list)


def phase1_journeys() -> dict[str, Any]:
    """Phase 1's post-purchase journey, pinned: the mechanics tests must not move with the library."""
    from postventa.journeys.loader import load_journeys

    return load_journeys(FIXTURES / "phase1")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def event_fixture():
    return lambda name: load_json(EVENTS / name)


def shopify_envelope(topic: str, payload: dict[str, Any], event_id: str = "shopify-1") -> dict[str, Any]:
    """The partner source's envelope (from the published sample), carrying a given webhook payload."""
    envelope = load_json(EVENTS / "shopify" / "orders-create.json")
    envelope["id"] = event_id
    envelope["detail"]["metadata"]["X-Shopify-Topic"] = topic
    envelope["detail"]["payload"] = payload
    return envelope


SPREAD = timedelta(minutes=30)  # the default spread of releases and time-of-day waits (logic/spread.py)


def within_spread(moment: datetime, nominal: datetime) -> bool:
    """A send due at `nominal` (09:00 after quiet hours, a journey's 10:00) goes in the half hour after."""
    return nominal <= moment < nominal + SPREAD
