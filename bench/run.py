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

IMPORT_RUNS = 15
EVENTS = 1000


def import_seconds(statements: list[str]) -> list[float]:
    """Median wall time of a fresh interpreter running each statement, minus a bare interpreter's.

    The runs are interleaved (bare, a, b, bare, a, b...) so that load on the machine falls on all alike.
    """

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    codes = ["pass", *statements]
    for code in codes:
        run(code)  # warm the bytecode cache and the file system
    samples: dict[str, list[float]] = {code: [] for code in codes}
    for _ in range(IMPORT_RUNS):
        for code in codes:
            samples[code].append(run(code))
    bare = statistics.median(samples["pass"])
    return [statistics.median(samples[code]) - bare for code in statements]


def warm_event_seconds() -> tuple[float, float]:
    import boto3

    from postventa.local.simulate import LocalPostventa

    template = json.loads((ROOT / "events" / "order-placed.json").read_text())
    events = []
    for index in range(EVENTS):
        event = copy.deepcopy(template)
        event["id"] = f"bench-{index}"
        event["detail"]["order_id"] = f"B-{index}"
        event["detail"]["customer"]["id"] = f"cus-{index % 250}"
        events.append(event)

    with LocalPostventa() as local:
        # receive: on_order only; the journeys it starts stay queued on the engine's stopped clock.
        local.receive(events[0])  # cold start outside the timing
        started = time.perf_counter()
        for event in events[1:]:
            local.receive(event)
        per_event = (time.perf_counter() - started) / (EVENTS - 1)

        # Baseline: one moto DynamoDB write and read per event, the floor of any handler's work here.
        table = boto3.resource("dynamodb").Table(local.settings.table_name)
        started = time.perf_counter()
        for index in range(EVENTS):
            table.put_item(Item={"pk": f"BENCH#{index}", "sk": "X", "n": index})
            table.get_item(Key={"pk": f"BENCH#{index}", "sk": "X"})
        baseline = (time.perf_counter() - started) / EVENTS
        post_purchase = [e for e in local.engine.executions.values() if e.name.startswith("post-purchase-")]
        assert len(post_purchase) == EVENTS, "every distinct order must start post-purchase"
    return per_event, baseline


def guarantee_cost() -> None:
    """What the delivery guarantee costs on the demo: the handlers' AWS calls per message sent
    (each provider call is preceded by one hand-over write, each email confirmed by SES's Send
    event in one more on_engagement invocation), transitions, and the calls a faulted replay makes
    as a ratio of the clean one's."""
    from postventa.local.faults import FaultInjector
    from postventa.local.simulate import DEMO_EVENTS, read_events, run_simulation

    events = read_events(DEMO_EVENTS)
    clean, faulted = FaultInjector(rate=0.0), FaultInjector(rate=0.2, seed=7)
    result = run_simulation(events, faults=clean)
    faulted_result = run_simulation(events, faults=faulted)
    sent = result.summary["messages"].get("sent", 0)

    def per_message(prefix: str) -> float:
        return sum(n for name, n in clean.calls.items() if name.startswith(prefix)) / sent

    print(f"the delivery guarantee on the demo ({sent} messages sent)")
    print(f"  DynamoDB calls per message sent:    {per_message('dynamodb.'):8.2f}")
    print(f"    hand-over writes per message:     {sum(clean.handed_over.values()) / sent:8.2f}")
    print(f"  provider calls per message sent:    {per_message(('sesv2.', 'sns.Publish', 'pinpoint.')):8.2f}")
    print(f"  transitions per message sent:       {result.summary['transitions_per_message_sent']:8.2f}")
    ratio = sum(faulted.calls.values()) / sum(clean.calls.values())
    print(f"  AWS calls under faults (0.2, seed 7), to the clean run's: {ratio:.2f} x")
    assert faulted_result.guarantee is not None
    print(f"  {faulted_result.guarantee.describe()}")


def backtest_throughput() -> None:
    from postventa.backtest import run_backtest, synthetic_history
    from postventa.journeys.loader import load_journeys

    history = synthetic_history(orders=70_000, customers=25_000, months=18)
    journeys = load_journeys()
    report = run_backtest(history, journeys, workers=2)
    print(
        f"backtest, {report.orders} orders from {report.customers} customers over 18 months, 2 worker processes"
    )
    print(f"  orders per second:                  {report.orders_per_second:8.0f}   (goal: 1,000)")
    for name, journey in report.journeys.items():
        print(f"  {name}: transitions per message sent {journey['transitions_per_message_sent']}   (goal: 3)")


def report_timing() -> None:
    """KPIs (the SQL over the archive) and the value models' fit for the same 70,000 orders."""
    import tempfile
    from datetime import UTC

    from postventa.analytics.archive import order_row, write_archive
    from postventa.analytics.kpis import connect, rows
    from postventa.analytics.queries import QUERIES, query_text
    from postventa.analytics.scoring import Customers, fit_scoring_model
    from postventa.backtest import synthetic_history
    from postventa.models.records import OrderRecord

    history = synthetic_history(orders=70_000, customers=25_000, months=18)
    as_of = max(order.placed_at for order in history).astimezone(UTC)
    with tempfile.TemporaryDirectory() as scratch:
        archive = Path(scratch)
        write_archive(archive, "orders", (order_row(OrderRecord.placed(o, o.customer.id)) for o in history))
        connection = connect(archive)
        started = time.perf_counter()
        connection.execute("SELECT count(*), sum(total) FROM orders").fetchall()
        scan = time.perf_counter() - started
        started = time.perf_counter()
        for query in QUERIES:
            rows(connection, query, as_of)
        kpis = time.perf_counter() - started
        started = time.perf_counter()
        summary_rows = connection.execute(query_text("summary", as_of)).fetchall()
        summarized = time.perf_counter() - started
    customers = Customers.from_rows(summary_rows)
    started = time.perf_counter()
    model = fit_scoring_model(customers)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    model.score(customers)
    scored = time.perf_counter() - started
    orders = len(history)
    print(f"report, {orders} orders from {len(customers.ids)} customers (as of {as_of:%Y-%m-%d})")
    print(f"  one scan of the orders archive:      {scan * 1000:8.1f} ms")
    print(f"  the five KPI queries:                {kpis * 1000:8.1f} ms   ({kpis / scan:.1f} x the scan)")
    print(f"  per-customer summary (SQL):          {summarized * 1000:8.1f} ms")
    print(
        f"  fit (BG/NBD, Gamma-Gamma, rules):     {fitted * 1000:8.1f} ms   ({fitted / summarized:.1f} x the summary)"
    )
    print(
        f"  scoring every customer:              {scored * 1000:8.1f} ms   ({scored / summarized:.1f} x the summary)"
    )


def main() -> None:
    boto3_import, handler_import = import_seconds(["import boto3", "import postventa.handlers.on_order"])
    print("on_order cold import")
    print(f"  import boto3 alone:                 {boto3_import * 1000:8.1f} ms")
    print(f"  import postventa.handlers.on_order: {handler_import * 1000:8.1f} ms")
    print(f"  ratio to import boto3:              {handler_import / boto3_import:8.2f} x")
    per_event, baseline = warm_event_seconds()
    print(
        f"on_order warm, {EVENTS} Order Placed events through the SQS batch handler against moto (all journeys)"
    )
    print(f"  per event:                          {per_event * 1000:8.2f} ms")
    print(f"  one moto DynamoDB put+get (floor):  {baseline * 1000:8.2f} ms")
    print(f"  ratio to the floor:                 {per_event / baseline:8.2f} x")
    guarantee_cost()
    backtest_throughput()
    report_timing()


if __name__ == "__main__":
    main()
