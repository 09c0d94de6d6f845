"""The backtest's cost model: each service by hand from a usage."""

from __future__ import annotations

import pytest

from postventa.backtest import Assumptions
from postventa.backtest.cost import SMS_PRICE_PER_SEGMENT, Usage, cost_usd, sms_price

USAGE = Usage(
    events=1_000,
    tasks=9_000,
    engagement_events=4_000,
    transitions=30_000,
    emails=3_000,
    sms_segments=1_500,  # 1,000 texts, half of them two parts
    pushes=500,
    messages_sent=4_500,
    archive_records=10_000,
    dynamodb_units={"read": 100_000, "write": 40_000},
    days=30.44,
)


def test_each_service_is_priced_from_what_the_replay_used():
    cost = cost_usd(USAGE, sms_per_segment=0.00883)
    assert cost["step_functions"] == round(30_000 * 0.000025, 4)
    assert cost["lambda"] == round(
        10_400 * (0.0000002 + 0.05 * 0.0000166667), 4
    )  # 4,000 events in 400 batches
    assert cost["ses"] == 0.3 and cost["push"] == round(500 / 1_000_000, 4)
    assert cost["sms"] == round(1_500 * 0.00883, 4)  # by segment, not by message
    # 14,000 rows, each billed as 5 KB by Firehose: 0.0668 GB at $0.029 + $0.020 (partitioning)
    assert cost["firehose"] == round(14_000 * 5 / 1024**2 * 0.049, 4)
    # one month of three keys, and the data-key requests of 10 resources every 5 minutes
    assert cost["kms"] == round(3 * 1.0 + 10 * 30.44 * 288 * 0.03 / 10_000, 4)
    assert cost["total"] == pytest.approx(
        sum(v for k, v in cost.items() if k not in ("total", "per_message_sent"))
    )
    assert cost["per_message_sent"] == round(cost["total"] / 4_500, 6)


def test_sms_is_priced_for_the_customers_country_or_as_configured():
    assert sms_price("ES", None) == SMS_PRICE_PER_SEGMENT["ES"]
    assert sms_price("ZZ", 0.05) == 0.05
    with pytest.raises(ValueError, match="no published SMS price for ZZ here: set one with --sms-price"):
        sms_price("ZZ", None)


def test_channel_shares_are_shares_of_the_customers():
    with pytest.raises(ValueError, match="together at most 1"):
        Assumptions(sms_share=0.7, push_share=0.4)
