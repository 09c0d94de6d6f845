"""What the replayed journeys would cost on AWS, at published prices."""

from __future__ import annotations

import math

# Published on-demand prices, us-east-1, November 2026 (USD).
PRICES = {
    "step_functions_per_transition": 0.025 / 1000,
    "lambda_per_request": 0.20 / 1_000_000,
    "lambda_per_gb_second_x86": 0.0000166667,  # the functions run on x86_64 (infra/handlers.py)
    "ses_per_email": 0.10 / 1000,
    "dynamodb_per_write_request": 0.625 / 1_000_000,
    "dynamodb_per_read_request": 0.125 / 1_000_000,
}
# Assumed per invocation (a replay runs no Lambda): memory 512 MB, 100 ms.
LAMBDA_GB_SECONDS = 0.5 * 0.1
# on_engagement reads its queue in batches of up to 10 (infra/handlers.py): SES's events per invocation.
ENGAGEMENT_BATCH = 10


def cost_usd(
    *,
    events: int,
    tasks: int,
    engagement_events: int,
    transitions: int,
    emails: int,
    dynamodb_units: dict[str, float],
) -> dict[str, float]:
    """events: on_order invocations; tasks: run_step, register_wait and schedule invocations;
    engagement_events: SES's events, read by on_engagement in batches; dynamodb_units: the read
    and write request units the replay's calls add up to (metering.py)."""
    invocations = events + tasks + math.ceil(engagement_events / ENGAGEMENT_BATCH)
    cost = {
        "step_functions": transitions * PRICES["step_functions_per_transition"],
        "lambda": invocations
        * (PRICES["lambda_per_request"] + LAMBDA_GB_SECONDS * PRICES["lambda_per_gb_second_x86"]),
        "ses": emails * PRICES["ses_per_email"],
        "dynamodb": dynamodb_units.get("write", 0) * PRICES["dynamodb_per_write_request"]
        + dynamodb_units.get("read", 0) * PRICES["dynamodb_per_read_request"],
    }
    cost = {key: round(value, 4) for key, value in cost.items()}
    cost["total"] = round(sum(cost.values()), 4)
    cost["per_message_sent"] = round(cost["total"] / emails, 6) if emails else 0.0
    return cost
