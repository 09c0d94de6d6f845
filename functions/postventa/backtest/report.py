"""The backtest's report: per journey and step, messages per customer-week, cost, assumptions."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.cost import (
    ENGAGEMENT_BATCH,
    LAMBDA_GB_SECONDS,
    PRICES,
    SMS_PRICE_PER_SEGMENT,
    Usage,
    cost_usd,
    sms_price,
)
from postventa.backtest.replay import Tally
from postventa.journeys.model import Journey
from postventa.models.events import Channel
from postventa.models.records import MessageStatus


@dataclass
class BacktestReport:
    orders: int
    customers: int
    period: tuple[str, str]
    assumptions: dict[str, Any]
    journeys: dict[str, dict[str, Any]]
    steps: list[dict[str, Any]]
    messages_per_customer_week: dict[str, float]
    cost_usd: dict[str, float]
    drops: dict[str, int] = field(default_factory=dict)  # suppressed messages by reason
    # DynamoDB as the replay's calls add up (backtest/metering.py): requests and units, in total,
    # per order event and step invocation, per message sent, and the busiest operations.
    dynamodb: dict[str, Any] = field(default_factory=dict)
    queued_for_rate: int = 0  # in the cost already: each hold is two transitions and an invocation
    wall_seconds: float = 0.0
    orders_per_second: float = 0.0
    refused_rows: list[str] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, default=str)


def _percentile(histogram: Counter[int], share: float) -> int:
    """The value at rank share * (n - 1) of the n values the histogram counts, smallest first."""
    rank = int(share * (histogram.total() - 1))
    for value in sorted(histogram):
        rank -= histogram[value]
        if rank < 0:
            return value
    return 0


def _dynamodb(tally: Tally) -> dict[str, Any]:
    requests, units = tally.dynamodb_requests.total(), tally.dynamodb_units_in_all()
    invocations = (
        tally.events
        + tally.run_step_calls
        + tally.register_wait_calls
        + tally.schedule_runs
        + math.ceil(tally.engagement_events / ENGAGEMENT_BATCH)
    )
    sent = sum(n for (_, _, _, outcome), n in tally.volumes.items() if outcome == MessageStatus.SENT.value)
    return {
        "requests": requests,
        "read_units": round(units["read"], 1),
        "write_units": round(units["write"], 1),
        "requests_per_invocation": round(requests / invocations, 2) if invocations else 0.0,
        "requests_per_message_sent": round(requests / sent, 2) if sent else 0.0,
        "by_operation": dict(
            sorted(tally.dynamodb_requests.items(), key=lambda item: (-item[1], item[0]))[:8]
        ),
    }


def build_report(tally: Tally, journeys: dict[str, Journey], assumptions: Assumptions) -> BacktestReport:
    sent_by_journey: Counter[str] = Counter()
    sent_by_channel: Counter[str] = Counter()
    held_by_journey: Counter[str] = Counter()
    for (journey, _, channel, outcome), count in tally.volumes.items():
        if outcome == MessageStatus.SENT.value:
            sent_by_journey[journey] += count
            sent_by_channel[channel] += count
        elif outcome == MessageStatus.SUPPRESSED.value:
            held_by_journey[journey] += count
    per_journey = {}
    for name in journeys:
        entered, sent = tally.entries[name], sent_by_journey[name]
        per_journey[name] = {
            "entries": entered,
            "conversions": tally.conversions[name],
            "conversion_rate": round(tally.conversions[name] / entered, 4) if entered else 0.0,
            "messages_sent": sent,
            "messages_suppressed": held_by_journey[name],
            "state_transitions": tally.transitions[name],
            "transitions_per_message_sent": round(tally.transitions[name] / sent, 2) if sent else None,
        }
    steps = [
        {"journey": j, "step": s, "channel": c, "outcome": o, "messages": n}
        for (j, s, c, o), n in sorted(tally.volumes.items())
    ]
    weeks = tally.weekly.total()
    per_week = {
        "customer_weeks_with_mail": weeks,
        "mean": round(sum(n * w for n, w in tally.weekly.items()) / weeks, 3) if weeks else 0.0,
        "p95": _percentile(tally.weekly, 0.95),
        "max": max(tally.weekly, default=0),
    }
    assert tally.first is not None and tally.last is not None
    return BacktestReport(
        orders=tally.orders,
        customers=tally.customers,
        period=(tally.first.date().isoformat(), tally.last.date().isoformat()),
        assumptions={
            **assumptions.__dict__,
            "consent": assumptions.consent.value,
            "prices": {**PRICES, "sms_per_segment": SMS_PRICE_PER_SEGMENT},
            "lambda_gb_seconds_per_invocation": LAMBDA_GB_SECONDS,
            "send_rate": {channel.value: limit for channel, limit in assumptions.send_rate.items()},
        },
        journeys=per_journey,
        steps=steps,
        messages_per_customer_week=per_week,
        queued_for_rate=tally.queued_for_rate,
        cost_usd=cost_usd(
            Usage(
                events=tally.events,
                tasks=tally.run_step_calls + tally.register_wait_calls + tally.schedule_runs,
                engagement_events=tally.engagement_events,
                transitions=sum(tally.transitions.values()),
                emails=sent_by_channel[Channel.EMAIL.value],
                sms_segments=tally.sms_segments,
                pushes=sent_by_channel[Channel.PUSH.value],
                messages_sent=sent_by_channel.total(),
                archive_records=tally.archive_records,
                dynamodb_units=tally.dynamodb_units_in_all(),
                days=(tally.last - tally.first).total_seconds() / 86400 + 1,
            ),
            sms_price(assumptions.phone_country, assumptions.sms_price_per_segment),
        ),
        dynamodb=_dynamodb(tally),
        drops=dict(tally.drops.most_common()),
    )


def format_report(report: BacktestReport) -> str:
    lines = [
        f"Backtest: {report.orders} orders from {report.customers} customers, {report.period[0]} to {report.period[1]}",
        f"  ({report.orders_per_second:,.0f} orders/s, {report.wall_seconds:.1f} s)",
        "",
        f"{'journey':<20} {'entries':>8} {'sent':>8} {'held':>8} {'conv.':>7} {'rate':>7} {'transitions/msg':>16}",
    ]
    for name, j in report.journeys.items():
        per = j["transitions_per_message_sent"]
        lines.append(
            f"{name:<20} {j['entries']:>8} {j['messages_sent']:>8} {j['messages_suppressed']:>8} "
            f"{j['conversions']:>7} {j['conversion_rate']:>7.1%} {per if per is not None else '-':>16}"
        )
    lines += ["", f"{'journey':<20} {'step':<28} {'channel':<8} {'outcome':<11} {'messages':>9}"]
    lines += [
        f"{s['journey']:<20} {s['step']:<28} {s['channel']:<8} {s['outcome']:<11} {s['messages']:>9}"
        for s in report.steps
    ]
    week = report.messages_per_customer_week
    lines += [
        "",
        f"Messages per customer per week (weeks with mail): mean {week['mean']}, p95 {week['p95']}, max {week['max']}",
    ]
    rate = ", ".join(f"{channel} {limit}/s" for channel, limit in report.assumptions["send_rate"].items())
    lines += [
        "",
        f"Sending rate {rate}: {report.queued_for_rate} sends found their second full and were held"
        " for their turn (each two state transitions and a run_step invocation, in the cost below)",
    ]
    dynamodb = report.dynamodb
    lines += [
        "",
        f"DynamoDB, from the replay's calls: {dynamodb['requests']} requests"
        f" ({dynamodb['requests_per_invocation']} per invocation, {dynamodb['requests_per_message_sent']}"
        f" per message sent), {dynamodb['read_units']} read and {dynamodb['write_units']} write units;"
        " most: " + ", ".join(f"{name} {n}" for name, n in dynamodb["by_operation"].items()),
        "Cost on AWS at published prices (USD): " + ", ".join(f"{k} {v}" for k, v in report.cost_usd.items()),
    ]
    assumed = {k: v for k, v in report.assumptions.items() if k not in ("prices", "send_rate")}
    lines += ["", "Assumed: " + ", ".join(f"{k}={v}" for k, v in assumed.items())]
    if report.refused_rows:
        lines += ["", f"{len(report.refused_rows)} rows refused:", *report.refused_rows[:20]]
    return "\n".join(lines)
