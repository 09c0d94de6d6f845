"""make bench: on_order's cold import and warm per-event cost, as ratios measured in this one run.

Shared machines are noisy: every figure is paired with a baseline taken the same way, right beside it.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from postventa.cli import LOCAL_ENVIRONMENT  # noqa: E402

for key, value in LOCAL_ENVIRONMENT.items():
    os.environ.setdefault(key, value)

IMPORT_RUNS = 7
EVENTS = 1000


def import_seconds(statement: str) -> float:
    """Median wall time of a fresh interpreter running `statement`, minus a bare interpreter's."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
        )
        return time.perf_counter() - started

    run(statement)  # warm the bytecode cache and the file system
    bare = statistics.median(run("pass") for _ in range(IMPORT_RUNS))
    return statistics.median(run(statement) for _ in range(IMPORT_RUNS)) - bare


def warm_event_seconds() -> tuple[float, float]:
    import boto3

    from postventa.handlers import on_order
    from postventa.local.simulate import LocalPostventa, _FakeLambdaContext, _sqs_batch

    template = json.loads((ROOT / "events" / "order-placed.json").read_text())
    events = []
    for index in range(EVENTS):
        event = copy.deepcopy(template)
        event["id"] = f"bench-{index}"
        event["detail"]["order_id"] = f"B-{index}"
        event["detail"]["customer"]["id"] = f"cus-{index % 250}"
        events.append(event)

    with LocalPostventa() as local:
        context = _FakeLambdaContext("postventa-on-order")
        on_order.lambda_handler(_sqs_batch(events[0], 0), context)  # cold start outside the timing
        started = time.perf_counter()
        for index, event in enumerate(events[1:], start=1):
            on_order.lambda_handler(_sqs_batch(event, index), context)
        per_event = (time.perf_counter() - started) / (EVENTS - 1)

        # Baseline: one moto DynamoDB write and read per event, the floor of any handler's work here.
        table = boto3.resource("dynamodb").Table(local.settings.table_name)
        started = time.perf_counter()
        for index in range(EVENTS):
            table.put_item(Item={"pk": f"BENCH#{index}", "sk": "X", "n": index})
            table.get_item(Key={"pk": f"BENCH#{index}", "sk": "X"})
        baseline = (time.perf_counter() - started) / EVENTS
        assert len(local.engine.executions) == EVENTS, "every distinct order must start its journey"
    return per_event, baseline


def main() -> None:
    boto3_import = import_seconds("import boto3")
    handler_import = import_seconds("import postventa.handlers.on_order")
    print("on_order cold import")
    print(f"  import boto3 alone:                 {boto3_import * 1000:8.1f} ms")
    print(f"  import postventa.handlers.on_order: {handler_import * 1000:8.1f} ms")
    print(f"  ratio to import boto3:              {handler_import / boto3_import:8.2f} x")
    per_event, baseline = warm_event_seconds()
    print(f"on_order warm, {EVENTS} Order Placed events through the SQS batch handler against moto")
    print(f"  per event:                          {per_event * 1000:8.2f} ms")
    print(f"  one moto DynamoDB put+get (floor):  {baseline * 1000:8.2f} ms")
    print(f"  ratio to the floor:                 {per_event / baseline:8.2f} x")


if __name__ == "__main__":
    main()
