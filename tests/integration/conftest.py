from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from postventa.local.simulate import LocalPostventa
from tests.conftest import phase1_journeys

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def local():
    with LocalPostventa(phase1_journeys(), start=T0) as running:
        yield running


def sent_emails() -> list:
    """What moto's SES accepted: SES v2 sends land in the SES backend."""
    return list(ses_backends["123456789012"]["us-east-1"].sent_messages)


def sent_sms() -> list[tuple[str, str]]:
    """What moto's SNS was asked to text: (number, text)."""
    return [
        (phone, text) for phone, text, *_ in sns_backends["123456789012"]["us-east-1"].sms_messages.values()
    ]
