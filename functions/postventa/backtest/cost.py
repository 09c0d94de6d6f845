"""What the replayed journeys would cost on AWS, at published prices."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Published on-demand prices, us-east-1, November 2026 (USD).
PRICES = {
    "step_functions_per_transition": 0.025 / 1000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_per_gb_second_x86": 0.0000166667,  # the functions run on x86_64 (infra/handlers.py)
    "ses_per_email": 0.10 / 1000,
    "dynamodb_per_write_request": 0.625 / 1_000_000,
    "dynamodb_per_read_request": 0.125 / 1_000_000,
    "push_per_notification": 1.00 / 1_000_000,  # End User Messaging push
    "firehose_per_gb": 0.029,  # Direct PUT, each record rounded up to 5 KB
    "firehose_partitioning_per_gb": 0.020,  # dynamic partitioning (table and day)
    "s3_per_put": 0.005 / 1000,
    "s3_per_gb_month": 0.023,
    "athena_per_tb_scanned": 5.0,  # at least 10 MB a query
    "kms_per_key_month": 1.00,
    "kms_per_request": 0.03 / 10_000,
}
# End User Messaging SMS, outbound, per message part: the base price plus the carriers' average fee,
# as listed in November 2026 (these move; set yours with --sms-price).
SMS_PRICE_PER_SEGMENT = {
    "US": 0.00883,
    "CA": 0.00757,
    "MX": 0.02950,
    "GB": 0.04030,
    "ES": 0.08000,
    "FR": 0.07600,
    "DE": 0.10200,
}
# Assumed per invocation (a replay runs no Lambda): memory 512 MB, 100 ms.
LAMBDA_GB_SECONDS = 0.5 * 0.1
# on_engagement reads its queue in batches of up to 10 (infra/handlers.py): SES's events per invocation.
ENGAGEMENT_BATCH = 10
FIREHOSE_RECORD_KB = 5
ARCHIVE_ROW_KB = 0.6  # a JSON row as archived (measured on the demo's archive)
# Firehose flushes every 5 minutes (infra/analytics.py): an object per flush while rows flow.
FLUSHES_PER_DAY = 24 * 12
# The report's saved queries, run once a day, each scanning the archive.
ATHENA_QUERIES_PER_DAY = 6
# Customer managed keys in the stack (infra: storage, SMS replies, alarms; an infra test counts them).
STACK_KMS_KEYS = 3
# Each encrypted queue, table and topic asks KMS for a data key about every 5 minutes (SQS's and
# DynamoDB's reuse period): the requests are the key's resources times that.
KMS_RESOURCES = 10
GB = 1024 * 1024  # in KB


@dataclass(frozen=True)
class Usage:
    """What a replay adds up to; days: the period it covers."""

    events: int
    tasks: int
    engagement_events: int
    transitions: int
    emails: int
    sms_segments: int
    pushes: int
    messages_sent: int  # every channel's
    archive_records: int
    dynamodb_units: dict[str, float]
    days: float


def sms_price(country: str, configured: float | None) -> float:
    if configured is not None:
        return configured
    if country not in SMS_PRICE_PER_SEGMENT:
        raise ValueError(f"no published SMS price for {country} here: set one with --sms-price")
    return SMS_PRICE_PER_SEGMENT[country]


def cost_usd(usage: Usage, sms_per_segment: float) -> dict[str, float]:
    """Per service. Usage.events: on_order invocations; tasks: run_step, register_wait and schedule
    invocations; engagement_events: SES's events, read by on_engagement in batches and archived;
    dynamodb_units: the read and write request units the replay's calls add up to (metering.py)."""
    invocations = usage.events + usage.tasks + math.ceil(usage.engagement_events / ENGAGEMENT_BATCH)
    rows = usage.archive_records + usage.engagement_events
    ingested_gb = rows * FIREHOSE_RECORD_KB / GB
    stored_gb = rows * ARCHIVE_ROW_KB / GB
    months = usage.days / 30.44
    cost = {
        "step_functions": usage.transitions * PRICES["step_functions_per_transition"],
        "lambda": invocations
        * (PRICES["lambda_per_request"] + LAMBDA_GB_SECONDS * PRICES["lambda_per_gb_second_x86"]),
        "ses": usage.emails * PRICES["ses_per_email"],
        "sms": usage.sms_segments * sms_per_segment,
        "push": usage.pushes * PRICES["push_per_notification"],
        "dynamodb": usage.dynamodb_units.get("write", 0) * PRICES["dynamodb_per_write_request"]
        + usage.dynamodb_units.get("read", 0) * PRICES["dynamodb_per_read_request"],
        "firehose": ingested_gb * (PRICES["firehose_per_gb"] + PRICES["firehose_partitioning_per_gb"]),
        # the archive grows through the period: half its final size, on average, every month
        "s3": min(rows, usage.days * FLUSHES_PER_DAY) * PRICES["s3_per_put"]
        + stored_gb / 2 * months * PRICES["s3_per_gb_month"],
        "athena": usage.days
        * ATHENA_QUERIES_PER_DAY
        * max(stored_gb / 2, 10 / 1024)
        / 1024
        * PRICES["athena_per_tb_scanned"],
        "kms": STACK_KMS_KEYS * months * PRICES["kms_per_key_month"]
        + KMS_RESOURCES * usage.days * FLUSHES_PER_DAY * PRICES["kms_per_request"],
    }
    cost = {key: round(value, 4) for key, value in cost.items()}
    cost["total"] = round(sum(cost.values()), 4)
    sent = usage.messages_sent
    cost["per_message_sent"] = round(cost["total"] / sent, 6) if sent else 0.0
    return cost
