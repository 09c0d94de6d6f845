"""make bench: every handler's cold import as deployed, on_order's warm per-event cost, the
guarantee's cost, the backtest and the report, as ratios measured in this one run.

Shared machines are noisy: every figure is paired with a baseline taken the same way, right beside it.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "infra"))

from postventa.cli import LOCAL_ENVIRONMENT  # noqa: E402

for key, value in LOCAL_ENVIRONMENT.items():
    os.environ.setdefault(key, value)

EVENTS = 1000


HANDLERS = (
    "on_order", "run_step", "register_wait", "on_engagement", "occasions", "preferences",
    "rotate_link_key", "archive", "score_fit", "score_batch", "record_winners",
)  # fmt: skip
DEPLOYED_RUNS = 9


def cold_imports_as_deployed() -> None:
    """Each handler imported as Lambda would: the runtime's Python, isolated (-I -S), from the built
    code and layers alone with only the byte-code they ship; as a ratio to `import boto3` from the
    same layer in the same run."""
    from postventa_infra.layer import RUNTIME_PYTHON, build_code, build_layer, runtime_python

    python = runtime_python()
    if python is None:
        print("cold imports as deployed: skipped, this machine has no Python for the Lambda runtime")
        return
    code, layer, analytics = build_code(), build_layer() / "python", build_layer("analytics") / "python"
    # What Lambda's runtime sets: the X-Ray SDK reads it and, in Lambda, samples locally instead of
    # making an X-Ray client at import (about 80 ms a cold start that never happens when deployed).
    environment = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "postventa",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_NAME": "postventa-bench",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{RUNTIME_PYTHON}",
    }

    def statement(module: str) -> str:
        analytic = module.startswith("score_") or module == "record_winners"
        paths = [str(code), str(layer), *([str(analytics)] if analytic else [])]
        target = "boto3" if module == "boto3" else f"postventa.handlers.{module}"
        return f"import sys; sys.path[:0] = {paths!r}; import {target}"

    def run(source: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "-I", "-S", *flags, "-c", source],
            check=True,
            env=environment,
            capture_output=True,
            text=True,
        )

    names = ["boto3", *HANDLERS]
    samples: dict[str, list[float]] = {name: [] for name in ["bare", *names]}
    for _ in range(DEPLOYED_RUNS):
        for name in samples:
            started = time.perf_counter()
            run("pass" if name == "bare" else statement(name))
            samples[name].append(time.perf_counter() - started)
    bare = statistics.median(samples["bare"])
    seconds = {name: statistics.median(samples[name]) - bare for name in names}
    print(
        f"cold import as deployed (Python {RUNTIME_PYTHON}, built code and layers only, median of {DEPLOYED_RUNS})"
    )
    print(f"  import boto3 alone:                 {seconds['boto3'] * 1000:8.1f} ms")
    for name in HANDLERS:
        print(f"  {name:<34} {seconds[name] * 1000:8.1f} ms  {seconds[name] / seconds['boto3']:5.2f} x boto3")
    worst = max(HANDLERS, key=lambda name: seconds[name])
    cumulative: dict[str, int] = {}
    for line in run(statement(worst), "-X", "importtime").stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, total, module = line.split("|")
            if total.strip().isdigit():
                cumulative[module.strip()] = int(total)
    top = sorted(cumulative.items(), key=lambda item: -item[1])[:10]
    print(f"  the ten most expensive imports of {worst} (cumulative, nested ones inside their parents):")
    for module, microseconds in top:
        print(f"    {module:<48} {microseconds / 1000:8.1f} ms")


def warm_event_seconds() -> tuple[float, float, float]:
    """(per event, the floor, per event spent in moto's transact_write_items): moto snapshots every
    table for each transaction's rollback, so its cost grows with the table; DynamoDB's does not."""
    import boto3
    from moto.dynamodb.models import DynamoDBBackend

    from postventa.local.simulate import LocalPostventa

    transacting = [0.0]
    transact = DynamoDBBackend.transact_write_items

    def timed_transact(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return transact(self, *args, **kwargs)
        finally:
            transacting[0] += time.perf_counter() - started

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
        DynamoDBBackend.transact_write_items = timed_transact  # type: ignore[method-assign]
        started = time.perf_counter()
        try:
            for event in events[1:]:
                local.receive(event)
        finally:
            DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
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
    return per_event, baseline, transacting[0] / (EVENTS - 1)


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

    def per_message(prefix: str | tuple[str, ...]) -> float:
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


def journey_costs() -> None:
    """Each journey's price as compiled: its costliest path per message (the holdout aside), and
    what a held message adds; the backtest below shows what a history actually paid."""
    from postventa.journeys.compiler import compile_journey
    from postventa.journeys.cost import journey_cost
    from postventa.journeys.loader import load_journeys

    print("transitions per message as compiled (costliest path that sends; goal 3, aim 2)")
    for name, journey in load_journeys().items():
        cost = journey_cost(compile_journey(journey, run_step_arn="run_step", register_wait_arn="wait"))
        worst = cost.worst_per_message or 0.0
        print(
            f"  {name:<20} {worst:5.2f}   with one hold per message {worst + cost.per_hold:5.2f}   "
            f"({len(cost.paths)} paths)"
        )


def backtest_throughput(scale: int) -> tuple[float, float]:
    """The replay of a generated history `scale` times the size of CDNOW's (same 18 months), from
    its CSV as the CLI runs it (partitions on disk, 2 worker processes) at the default sending
    rate: CPU (the workers' own, from the OS) as well as wall time, peak memory, transitions per
    message sent, sends queued for the rate, and orchestration's cost beside SES's. Returns CPU seconds and the largest worker's peak, in MB."""
    import resource

    from postventa.backtest import run_backtest_file, write_synthetic_history
    from postventa.backtest.cost import PRICES
    from postventa.journeys.loader import load_journeys

    journeys = load_journeys()
    with tempfile.TemporaryDirectory() as scratch:
        history = write_synthetic_history(
            Path(scratch) / "history.csv", orders=70_000 * scale, customers=25_000 * scale, months=18
        )
        held = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # a fresh process, as the CLI's
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = run_backtest_file(history, journeys, workers=2)  # as `postventa backtest` runs
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    worker_mb = after.ru_maxrss / 1024  # the larger worker, the history it inherited included
    sent = sum(journey["messages_sent"] for journey in report.journeys.values())
    cost = report.cost_usd
    orchestration = cost["step_functions"] + cost["lambda"] + cost["dynamodb"]
    print(
        f"backtest, {report.orders} orders from {report.customers} customers over 18 months, 2 worker processes"
    )
    print(f"  wall seconds:                       {report.wall_seconds:8.1f}")
    print(
        f"  workers' CPU seconds:               {cpu:8.1f}   ({report.orders / cpu:,.0f} orders per CPU-second; goal 3,000)"
    )
    print(
        f"  peak memory of a worker:            {worker_mb:8.0f} MB   ({worker_mb * 1024 / report.orders:.1f} KB per order;"
        f" the parent {held:.0f} MB; partitions of at most 20,000 orders)"
    )
    print(
        f"  messages sent:                      {sent:8d}   queued for the rate {report.queued_for_rate} ({report.queued_for_rate / sent:.2f} per send)"
    )
    dynamodb = report.dynamodb
    print(
        f"  DynamoDB requests (counted):        {dynamodb['requests_per_invocation']:8.2f} per invocation"
        f"   {dynamodb['requests_per_message_sent']:.2f} per message sent"
        f"   ({dynamodb['read_units']:,.0f} read, {dynamodb['write_units']:,.0f} write units)"
    )
    print(
        f"  orchestration per email / SES's price: {orchestration / sent / PRICES['ses_per_email']:5.0%}   (goal 50%;"
        f" Step Functions {cost['step_functions'] / sent / PRICES['ses_per_email']:.0%}, Lambda"
        f" {cost['lambda'] / sent / PRICES['ses_per_email']:.0%}, DynamoDB {cost['dynamodb'] / sent / PRICES['ses_per_email']:.0%})"
    )
    for name, journey in report.journeys.items():
        print(f"  {name}: transitions per message sent {journey['transitions_per_message_sent']}   (goal: 3)")
    return cpu, worker_mb


def backtest_scaling() -> None:
    """The backtest at CDNOW's size and at ten times it (BENCH_SCALES=1 runs the first alone):
    CPU should grow with the history, memory with the customers in flight."""
    scales = [int(scale) for scale in os.environ.get("BENCH_SCALES", "1,10").split(",")]
    figures = {}
    for scale in scales:  # each in a fresh process: its memory is the backtest's, not the bench's so far
        lines = subprocess.run(
            [sys.executable, __file__, "backtest", str(scale)], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        print("\n".join(lines[:-1]))
        figures[scale] = tuple(json.loads(lines[-1]))
    if len(figures) > 1:
        (small, (cpu, memory)), (large, (large_cpu, large_memory)) = (
            min(figures.items()),
            max(figures.items()),
        )
        print(f"backtest at {large}x the history against {small}x, in this run")
        print(
            f"  CPU per order:                      {large_cpu / large / (cpu / small):8.2f} x   (linear: 1)"
        )
        print(
            f"  a worker's peak memory:             {large_memory / memory:8.2f} x   (goal: 10x the history in 4 GB)"
        )


def sale_day_spike() -> None:
    """Orders at the density of 100,000 in an hour (a tenth of them, in six minutes) at the default
    14 emails a second: every confirmation must go out; how long customers wait for it."""
    from datetime import datetime, timedelta

    from postventa.adapters.memory import Retired
    from postventa.backtest import Assumptions, synthetic_history
    from postventa.backtest.replay import replay
    from postventa.journeys.loader import load_journeys

    orders, window = 10_000, timedelta(minutes=6)
    history = synthetic_history(orders, orders, 1, seed="spike")
    start = history[0].placed_at
    spike = [o.model_copy(update={"placed_at": start + window * i / orders}) for i, o in enumerate(history)]
    assumptions = Assumptions()
    sent_at: dict[str, datetime] = {}

    def confirmations(records: Retired) -> None:
        sent_at.update(
            (m.order_id, m.sent_at)
            for m in records.messages
            if m.step == "order_confirmation" and m.order_id and m.sent_at
        )

    tally = replay(spike, load_journeys(), assumptions, lambda done: None, retired=confirmations)
    placed = {o.order_id: o.placed_at for o in spike}
    delays = sorted((at - placed[order]).total_seconds() for order, at in sent_at.items())
    last = (max(sent_at.values()) - start).total_seconds()
    print(
        f"sale-day spike: {orders} orders in {window.seconds // 60} minutes (100,000 an hour), email at 14/s"
    )
    print(f"  confirmations sent:                 {len(delays):8d} of {orders}")
    print(
        f"  order to confirmation:  p50 {delays[len(delays) // 2] / 60:6.1f} min   p99 {delays[int(len(delays) * 0.99)] / 60:6.1f} min"
        f"   (the last one {last / 60:.1f} min after the first order; the rate alone needs {orders / 14 / 60:.1f})"
    )
    print(
        f"  sends queued for the rate:          {tally.queued_for_rate:8d}   ({tally.queued_for_rate / orders:.1f} per order, one hold each)"
    )


def report_timing() -> None:
    """KPIs (the SQL over the archive) and the value models' fit for the same 70,000 orders."""
    import tempfile
    from datetime import UTC, timedelta

    from postventa.analytics.archive import order_row, write_archive
    from postventa.analytics.kpis import connect, rows
    from postventa.analytics.queries import QUERIES, query_text
    from postventa.analytics.scoring import Customers, fit_scoring_model
    from postventa.analytics.validation import validate
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
        check = validate(connection, as_of - timedelta(weeks=26), as_of)
    customers = Customers.from_rows(summary_rows)
    started = time.perf_counter()
    model = fit_scoring_model(customers)
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    model.score(customers, as_of.date())
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
    print(
        f"  holdout validation, the last 26 weeks: predicted {check['predicted_repeat_purchases']:,.0f} repeat "
        f"purchases against {check['actual_repeat_purchases']:,} ({check['total_error']:+.1%}); per customer "
        f"{check['mean_absolute_error_per_customer']:.2f} off against {check['naive_mean_absolute_error_per_customer']:.2f} naive"
    )


def model_checks() -> None:
    """The unit tests' simulations at full size: parameter recovery over several seeds, and the
    sequential decisions' false-winner rate and power over many more runs."""
    import numpy as np

    from postventa.analytics.checks import (
        holm_family_rate,
        peeking_rate,
        simulate_bgnbd,
        simulate_gamma_gamma,
    )
    from postventa.analytics.stats import ab_winner, compare
    from postventa.analytics.value import BgNbd, GammaGamma, _bgnbd_log_likelihood, fit_bgnbd, fit_gamma_gamma

    seeds = range(5)
    truth = BgNbd(r=0.24, alpha=30.9, a=0.79, b=2.43)  # CDNOW's, in days
    errors: dict[str, list[float]] = {name: [] for name in ("r", "alpha", "a", "b")}
    beat_truth = 0
    for seed in seeds:
        x, t_x, T = simulate_bgnbd(truth, 25_000, np.random.default_rng(seed), ages=(462, 546))
        fitted, fit = fit_bgnbd(x, t_x, T)
        truth_ll = _bgnbd_log_likelihood(np.log([truth.r, truth.alpha, truth.a, truth.b]), x, t_x, T)
        beat_truth += fit.log_likelihood >= truth_ll
        for name in errors:
            errors[name].append(getattr(fitted, name) / getattr(truth, name) - 1)
    print(f"model checks: BG/NBD on 25,000 simulated customers, {len(seeds)} seeds")
    print(f"  fit at least as likely as the truth:  {beat_truth} of {len(seeds)}")
    for name, errs in errors.items():
        print(f"  {name:<6} error: mean {np.mean(errs):+.1%}, worst {max(errs, key=abs):+.1%}")
    spend_truth = GammaGamma(p=6.0, q=4.0, v=15.0)
    spend_errors: dict[str, list[float]] = {name: [] for name in ("p", "q", "v")}
    for seed in seeds:
        spent, _ = fit_gamma_gamma(*simulate_gamma_gamma(spend_truth, 20_000, np.random.default_rng(seed)))
        for name in spend_errors:
            spend_errors[name].append(getattr(spent, name) / getattr(spend_truth, name) - 1)
    print(f"  Gamma-Gamma on 20,000, {len(seeds)} seeds:")
    for name, errs in spend_errors.items():
        print(f"  {name:<6} error: mean {np.mean(errs):+.1%}, worst {max(errs, key=abs):+.1%}")

    def winner(groups: dict[str, tuple[int, int]]) -> bool:
        return ab_winner(groups, min_sample=1000).winner is not None

    def naive(groups: dict[str, tuple[int, int]]) -> bool:
        return compare(groups["a"], groups["b"]).fixed_horizon_p_value < 0.05

    runs = 10_000
    print(f"sequential decisions: 20 looks, 250 more customers per variant each, {runs:,} runs")
    for label, rule in (("always valid (ours)", winner), ("fixed horizon, re-read", naive)):
        rate = peeking_rate((0.10, 0.10), runs, rule, np.random.default_rng(1))
        print(f"  false winners, no effect, {label:<24} {rate:6.2%}")
    for effect in (0.02, 0.03, 0.05):
        power = peeking_rate((0.10 + effect, 0.10), runs // 5, winner, np.random.default_rng(2))
        print(f"  power on +{effect * 100:.0f} points (10% base):              {power:6.1%}")
    for variants in (2, 3, 5):
        family = holm_family_rate(variants, runs // 5, np.random.default_rng(3))
        print(f"  {variants} variants against one holdout, any false (Holm): {family:6.2%}")


def audience_export_cost() -> None:
    """The audiences' daily run, per customer: deciding the default audiences and hashing both
    platforms' rows, as a ratio to validating the profile from its scanned item (which the run
    must do anyway, like every reader of the table)."""
    from datetime import UTC, datetime, timedelta

    from postventa.journeys.library import DEFAULT_AUDIENCES
    from postventa.logic.audiences import Platform, audiences_of, consented_identifiers
    from postventa.models.records import CustomerProfile

    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    items = [
        CustomerProfile(
            customer_id=f"cus-{index}",
            email=f"Customer.{index}@Example.com",
            phone=f"+1415555{index % 10000:04d}",
            email_marketing="subscribed",
            sms_marketing="subscribed" if index % 2 else "not_subscribed",
            orders_count=1 + index % 4,
            last_order_at=now - timedelta(days=index % 300),
            total_spent=50.0 * (1 + index % 7),
            vip=index % 10 == 0,
            updated_at=now,
        ).model_dump(mode="json")
        for index in range(2000)
    ]
    started = time.perf_counter()
    profiles = [CustomerProfile.model_validate(item) for item in items]
    parse = time.perf_counter() - started
    started = time.perf_counter()
    for profile in profiles:
        identifiers = consented_identifiers(profile)
        if identifiers is not None and audiences_of(profile, None, DEFAULT_AUDIENCES, now):
            for platform in Platform:
                identifiers.hashed(platform)
    decide = time.perf_counter() - started
    print(f"audiences' export, {len(items)} customers, the three default audiences")
    print(f"  deciding and hashing, per customer:  {decide / len(items) * 1e6:8.1f} us")
    print(f"  ratio to validating the profile:     {decide / parse:8.2f} x")


def main() -> None:
    cold_imports_as_deployed()
    per_event, baseline, transacting = warm_event_seconds()
    print(
        f"on_order warm, {EVENTS} Order Placed events through the SQS batch handler against moto (all journeys)"
    )
    print(f"  per event:                          {per_event * 1000:8.2f} ms")
    print(
        f"    of which moto's transaction copies: {transacting * 1000:6.2f} ms (moto copies every table per transaction)"
    )
    print(f"  one moto DynamoDB put+get (floor):  {baseline * 1000:8.2f} ms")
    print(f"  ratio to the floor:                 {per_event / baseline:8.2f} x")
    print(f"    without moto's copies:            {(per_event - transacting) / baseline:8.2f} x   (goal 5)")
    guarantee_cost()
    journey_costs()
    backtest_scaling()
    sale_day_spike()
    report_timing()
    model_checks()
    audience_export_cost()


if __name__ == "__main__":
    if sys.argv[1:2] == ["backtest"]:  # one scale, for backtest_scaling: the figures last, as JSON
        print(json.dumps(backtest_throughput(int(sys.argv[2]))))
    else:
        main()
