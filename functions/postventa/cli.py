"""The postventa command line: simulate, journeys, backtest, report, templates, schemas."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postventa.analytics.queries import CLICK_WINDOW_DAYS

if TYPE_CHECKING:
    from collections.abc import Callable

    from postventa.backtest import Assumptions
    from postventa.backtest.report import BacktestReport
    from postventa.journeys.library import Library
    from postventa.journeys.model import Journey
    from postventa.local.simulate import SimulationResult
    from postventa.services.controls import JourneyStatus

# The local runs use moto in-process: fake credentials, no tracing, no metric flushes to stdout.
LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "postventa",
    "POWERTOOLS_METRICS_NAMESPACE": "Postventa",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


def _simulate(args: argparse.Namespace) -> int:
    for key, value in LOCAL_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    # Powertools warns when metrics are disabled or a Lambda context is fake: expected locally.
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools")
    from postventa.local.faults import FaultInjector
    from postventa.local.outbox import OutboxError
    from postventa.local.simulate import (
        DEMO_EVENTS,
        format_timeline,
        read_events,
        run_simulation,
        write_jsonl,
    )

    faults = FaultInjector(rate=args.faults, seed=args.seed) if args.faults else None
    try:
        result = run_simulation(
            read_events(args.events or DEMO_EVENTS),
            archive=args.archive,
            faults=faults,
            library=_library(args),
            outbox=args.outbox,
            audiences=args.audiences,
        )
    except OutboxError as error:
        print(error, file=sys.stderr)
        return 1
    print(format_timeline(result))
    _print_outbox(args, result)
    if args.archive:
        print(f"\nAnalytics archive written to {args.archive} (postventa report --archive {args.archive})")
    if args.audiences:
        print(f"\nAd lists written to {args.audiences} (<audience>/<day>/meta.csv, google.csv)")
    if args.out:
        write_jsonl(result, args.out)
        print(f"\nTimeline written to {args.out} ({len(result.timeline)} lines)")
    return 0 if result.guarantee is None or result.guarantee.holds else 1


def _validate(args: argparse.Namespace) -> int:
    from postventa.journeys.checks import check_journeys, errors
    from postventa.journeys.loader import JourneyError, journey_files, load_journeys

    library = _library(args)
    try:
        journeys = load_journeys(args.path) if args.path else library.journeys()
    except JourneyError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    sources = {path.stem: str(path) for path in journey_files(args.path)} if args.path else library.sources()
    problems = check_journeys(journeys, sources, library)
    for problem in problems:
        print(f"{'note: ' if problem.note else ''}{problem}", file=sys.stdout if problem.note else sys.stderr)
    if any(errors(problems)):
        return 1
    if args.collisions and _print_collisions(args, journeys):
        return 1
    for journey in journeys.values():
        print(f"ok  {journey.name} v{journey.version}: {len(journey.all_steps())} steps")
        if args.cost:
            from postventa.journeys.compiler import compile_journey
            from postventa.journeys.cost import describe, journey_cost

            definition = compile_journey(journey, run_step_arn="run_step", register_wait_arn="register_wait")
            print("\n".join(describe(journey_cost(definition))))
    return 0


def _print_collisions(args: argparse.Namespace, journeys: dict[str, Journey]) -> bool:
    """Replays a history through the journeys; prints the steps the contact policy mostly drops."""
    from postventa.backtest.collisions import collisions_in_replay
    from postventa.backtest.history import BacktestInputError, read_orders, synthetic_history

    if args.orders:
        try:
            orders, _ = read_orders(args.orders)
        except BacktestInputError as error:
            print(f"{args.orders}: {error}", file=sys.stderr)
            return True
        print(f"Replaying {len(orders):,} orders of {args.orders} to find collisions", file=sys.stderr)
    else:
        orders = synthetic_history(orders=2_000, customers=800, months=12)
        print(
            f"Replaying {len(orders):,} generated orders to find collisions (--orders FILE for your own)",
            file=sys.stderr,
        )
    found = collisions_in_replay(orders, journeys)
    for collision in found:
        print(f"collision: {collision.describe()}", file=sys.stderr)
    return bool(found)


def _render(args: argparse.Namespace) -> int:
    from postventa.journeys.diagram import maps_markdown, render_mermaid, render_svg

    journeys = _library(args).journeys()
    if args.all and args.svg:
        args.svg.mkdir(parents=True, exist_ok=True)
        for name, journey in sorted(journeys.items()):
            (args.svg / f"{name}.svg").write_text(render_svg(journey), encoding="utf-8")
        print(f"{len(journeys)} maps in {args.svg}")
        return 0
    if args.all:
        print(maps_markdown(journeys), end="")
        return 0
    if args.name not in journeys:
        print(f"no journey {args.name!r}; there are: {', '.join(sorted(journeys))}", file=sys.stderr)
        return 1
    if args.svg:
        args.svg.write_text(render_svg(journeys[args.name]), encoding="utf-8")
        print(f"map in {args.svg}")
        return 0
    print(render_mermaid(journeys[args.name]))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from postventa.backtest import Assumptions, BacktestInputError, format_report, run_backtest_file
    from postventa.backtest.partitions import count_rows

    try:
        assumptions = Assumptions(
            fulfilment_days=args.fulfilment_days,
            open_rate=args.open_rate,
            click_rate=args.click_rate,
            timezone=args.timezone,
            sms_share=args.sms_share,
            push_share=args.push_share,
            phone_country=args.phone_country,
            sms_price_per_segment=args.sms_price,
            reading_hour_lift=args.reading_hour_lift,
        )
        if args.on_aws and args.journeys:
            raise BacktestInputError(
                "--on-aws replays the journeys the stack deployed: deploy the folder first"
            )
        if args.on_aws:
            return _backtest_on_aws(args, assumptions)
        history = Path(args.orders)

        def replay(journeys: dict[str, Journey], archive: Path | None) -> BacktestReport:
            with tqdm(total=count_rows(history), unit="order", file=sys.stderr, disable=args.quiet) as bar:
                return run_backtest_file(
                    history, journeys, assumptions, workers=args.workers, progress=bar.update, archive=archive
                )

        if args.compare:
            return _compare(args, replay)
        report = replay(_library(args).journeys(), args.archive)
    except (BacktestInputError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    print(report.as_json() if args.json else format_report(report))
    return 0


def _compare(
    args: argparse.Namespace, replay: Callable[[dict[str, Journey], Path | None], BacktestReport]
) -> int:
    """The history through the journeys at args.compare and through today's: the change in Markdown."""
    import tempfile

    from postventa.backtest.compare import compare_markdown, library_at

    with tempfile.TemporaryDirectory() as scratch:
        before = replay(library_at(args.compare, args.journeys, Path(scratch)).journeys(), None)
    after = replay(_library(args).journeys(), args.archive)
    print(compare_markdown(before, after, args.compare), end="")
    return 0


def _backtest_on_aws(args: argparse.Namespace, assumptions: Assumptions) -> int:
    """The history partitioned into the deployed stack's bucket, replayed there by its Distributed
    Map of Lambdas, and the merged report printed as a local backtest prints it."""
    import tempfile

    import boto3

    from postventa.backtest import format_report
    from postventa.backtest.on_aws import BacktestRuns, local_copy, stack_outputs, submit, wait_for

    bucket, machine = stack_outputs(boto3.client("cloudformation"), args.stack)
    stepfunctions = boto3.client("stepfunctions")
    runs = BacktestRuns(boto3.client("s3"), bucket)
    with tempfile.TemporaryDirectory() as scratch:
        history = local_copy(boto3.client("s3"), args.orders, Path(scratch))
        run, execution = submit(runs, stepfunctions, machine, history, assumptions)
    print(
        f"run {run.run_id}: {run.orders} orders in {run.partitions} partitions, s3://{bucket}/"
        f"{runs.partitions_prefix(run.run_id)}; execution {execution}",
        file=sys.stderr,
    )
    ended = wait_for(stepfunctions, execution)
    if ended["status"] != "SUCCEEDED":
        print(
            f"the backtest {ended['status'].lower()}: {ended.get('error', '')} {ended.get('cause', '')}",
            file=sys.stderr,
        )
        return 1
    report = runs.report(run.run_id)
    print(report.as_json() if args.json else format_report(report))
    return 0


def _report(args: argparse.Namespace) -> int:
    import tempfile

    from postventa.analytics.archive import order_row, write_archive
    from postventa.analytics.report import build_report, format_report
    from postventa.analytics.report_html import write_html
    from postventa.backtest import BacktestInputError, read_orders
    from postventa.models.records import OrderRecord

    try:
        with tempfile.TemporaryDirectory() as scratch:
            archive = args.archive
            if args.orders:
                orders, refused = read_orders(args.orders)
                for reason in refused:
                    print(f"skipped {reason}", file=sys.stderr)
                archive = Path(scratch)
                write_archive(
                    archive, "orders", (order_row(OrderRecord.placed(o, o.customer.id)) for o in orders)
                )
            report = build_report(
                archive,
                args.as_of,
                args.horizon,
                customers_file=args.customers,
                validate_from=args.validate_from,
                click_days=args.click_window,
            )
    except (BacktestInputError, ValueError) as error:
        print(error, file=sys.stderr)
        return 1
    if args.record_winners:
        _record_winners(report, args.record_winners)
    if args.html:
        write_html(report, args.html)
    print(json.dumps(report, indent=2, default=str) if args.json else format_report(report))
    return 0


def _record_winners(report: dict[str, Any], table: str) -> None:
    """The report's decided A/B tests into the deployed table, where `winner: auto` splits read
    them; a test already recorded keeps its first decision."""
    from postventa.analytics.experiments import decided_winners
    from postventa.composition import store_for_table

    store = store_for_table(table)
    for decided in decided_winners(report["journeys"], datetime.now(UTC)):
        store.record_winner(decided)
        kept = store.decided_winner(decided.experiment)
        print(
            f"winner of {decided.experiment}: {kept.winner if kept else decided.winner} (recorded)",
            file=sys.stderr,
        )


def _experiments(args: argparse.Namespace) -> int:
    """What `winner: auto` splits follow in a deployed stack: show or forget a recorded winner."""
    from postventa.composition import store_for_table

    store = store_for_table(args.table)
    decided = store.decided_winner(args.experiment)
    if args.action == "forget":
        if not store.forget_winner(args.experiment):
            print(f"no winner recorded for {args.experiment}", file=sys.stderr)
            return 1
        print(f"forgot the winner of {args.experiment}: its split goes back to its weights", file=sys.stderr)
        return 0
    print(json.dumps(decided.model_dump(mode="json") if decided else None, indent=2))
    return 0


def _init(args: argparse.Namespace) -> int:
    """A starter shop folder: a journey of its own with its templates, and the layout's README."""
    import shutil

    from postventa.journeys.library import STARTER

    target: Path = args.dir
    if target.exists() and any(target.iterdir()):
        print(f"{target} is not empty: give a new folder", file=sys.stderr)
        return 1
    shutil.copytree(STARTER, target, dirs_exist_ok=True)
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        print(path)
    print(f"\nNext: postventa journeys validate --journeys {target}")
    return 0


def _print_outbox(args: argparse.Namespace, result: SimulationResult) -> None:
    if args.outbox is not None:
        print(f"\nOutbox: {len(result.outbox)} messages as handed to the providers, in {args.outbox}")


def _library(args: argparse.Namespace) -> Library:
    from postventa.journeys.library import Library

    return Library(args.journeys)


def _end_of(text: str) -> datetime:
    """A date means the end of that day (UTC); a time is taken as given."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _archive_to_write(text: str) -> Path:
    from postventa.analytics.archive import fresh_archive

    try:
        return fresh_archive(Path(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _customers(args: argparse.Namespace) -> int:
    """Export or erase one customer in a deployed stack (the caller's AWS credentials)."""
    from postventa.composition import erasure_for_table

    if not args.table:
        print("name the stack's table: --table NAME (the stack output TableName)", file=sys.stderr)
        return 2
    erasure = erasure_for_table(args.table, args.archive_bucket)
    if args.action == "export":
        print(json.dumps(erasure.export(args.customer_id), indent=2, ensure_ascii=False))
        return 0
    if not args.yes:
        print(f"erase {args.customer_id} for good? repeat with --yes", file=sys.stderr)
        return 2
    print(json.dumps({"customer_id": args.customer_id, **erasure.erase(args.customer_id)}))
    return 0


def _control_journey(args: argparse.Namespace) -> int:
    """pause|resume|drain|stop|status of a journey in a deployed stack (the caller's credentials)."""
    from postventa.composition import controls_for_table
    from postventa.models.records import JourneyState

    if not args.table:
        print("name the stack's table: --table NAME (the stack output TableName)", file=sys.stderr)
        return 2
    try:
        controls = controls_for_table(args.table, args.name)
    except LookupError as error:
        print(error, file=sys.stderr)
        return 1
    if args.action == "status":
        print(format_status(controls.status(args.name, args.customer), args.json))
        return 0
    if args.action == "stop":
        whom = f"{args.customer} in {args.name}" if args.customer else f"{args.name} and everyone in it"
        if not args.yes:
            print(f"stop {whom}? repeat with --yes", file=sys.stderr)
            return 2
        stopped = controls.stop(args.name, args.reason or "by an operator", args.customer)
        print(f"stopped {len(stopped)} running executions of {whom}")
        return 0
    state = {"pause": JourneyState.PAUSED, "resume": JourneyState.RUNNING, "drain": JourneyState.DRAINING}
    control = controls.set_state(args.name, state[args.action], args.reason)
    print(json.dumps(control.model_dump(mode="json")) if args.json else f"{args.name}: {control.state.value}")
    return 0


def format_status(status: JourneyStatus, as_json: bool = False) -> str:
    control = status.control
    if as_json:
        return json.dumps(
            {
                "journey": status.journey,
                "state": status.state.value,
                "control": control.model_dump(mode="json") if control else None,
                "running": status.running,
                "placed": status.placed,
                "steps": dict(status.steps.most_common()),
                "held": dict(status.held),
            },
            indent=2,
        )
    since = f" since {control.changed_at:%Y-%m-%d %H:%M} UTC" if control else ""
    why = f" ({control.reason})" if control and control.reason else ""
    lines = [f"{status.journey}: {status.state.value}{since}{why}", f"  {status.running} customers in it"]
    if status.placed < status.running:
        lines.append(f"  steps of the first {status.placed} read:")
    for step, count in status.steps.most_common():
        held = f"  ({status.held[step]} held)" if status.held[step] else ""
        lines.append(f"    {step:<32} {count:>7}{held}")
    return "\n".join(lines)


def _send_test(args: argparse.Namespace) -> int:
    """One step's message to one recipient through the deployed providers, marked [TEST]."""
    from postventa.composition import provider_for
    from postventa.local.preview import PreviewCustomer
    from postventa.local.send_test import SendTestError, default_channel, send_step, send_test
    from postventa.models.events import Channel

    library = _library(args)
    try:
        step = send_step(library, args.journey, args.step)
        channel = Channel(args.channel) if args.channel else default_channel(step)
        provider = provider_for(
            channel,
            sender=args.sender,
            configuration_set=args.configuration_set,
            sms_sender_id=args.sms_sender_id,
            push_application_id=args.push_app,
        )
        customer = (
            PreviewCustomer.model_validate_json(args.customer.read_text(encoding="utf-8"))
            if args.customer
            else None
        )
        message, provider_id = send_test(
            library,
            args.journey,
            args.step,
            to=args.to,
            channel=channel,
            locale=args.locale,
            customer=customer,
            sender=provider,
        )
    except (SendTestError, LookupError) as error:
        print(error, file=sys.stderr)
        return 1
    shown = message.subject or message.title or message.text
    print(f"sent {channel.value} to {args.to}: {shown} (provider id {provider_id})")
    return 0


def _preview(args: argparse.Namespace) -> int:
    for key, value in LOCAL_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=UserWarning, module="aws_lambda_powertools")

    from postventa.local.outbox import OutboxError
    from postventa.local.preview import preview
    from postventa.local.simulate import format_timeline

    library = _library(args)
    journeys = library.journeys()
    if args.name not in journeys:
        print(f"no journey {args.name!r}; there are: {', '.join(sorted(journeys))}", file=sys.stderr)
        return 1
    try:
        result = preview(journeys[args.name], args.customer, datetime.now(UTC), library, args.outbox)
    except OutboxError as error:
        print(error, file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"{args.customer}: {error}", file=sys.stderr)
        return 1
    print(format_timeline(result))
    _print_outbox(args, result)
    return 0


def _render_template(args: argparse.Namespace) -> int:
    from jinja2 import TemplateNotFound

    from postventa.local.outbox import OutboxError
    from postventa.local.samples import render_sample, write_sample
    from postventa.models.events import Channel

    channel, library = Channel(args.channel), _library(args)
    try:
        print(
            render_sample(
                args.name, channel, args.locale, marketing=args.marketing, html=args.html, library=library
            )
        )
        if args.outbox is not None:
            path = write_sample(
                args.outbox, args.name, channel, args.locale, marketing=args.marketing, library=library
            )
            print(f"\nOutbox: {path}")
    except TemplateNotFound as error:
        print(f"no such template: {error}", file=sys.stderr)
        return 1
    except OutboxError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _export_schemas(args: argparse.Namespace) -> int:
    from postventa.models.schemas import export_schemas

    for path in export_schemas(args.dir, _library(args).contract):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="postventa", description="Post-purchase customer journeys on AWS.")
    commands = parser.add_subparsers(dest="command", required=True)
    library = argparse.ArgumentParser(add_help=False)
    library.add_argument(
        "--journeys",
        type=Path,
        default=os.environ.get("POSTVENTA_JOURNEYS_DIR") or None,
        metavar="DIR",
        help="the shop's folder of journeys and templates, over the default library "
        "(default: POSTVENTA_JOURNEYS_DIR; postventa init writes a starter)",
    )

    outbox = argparse.ArgumentParser(add_help=False)
    outbox.add_argument(
        "--outbox",
        type=Path,
        metavar="DIR",
        help="also write every message as handed to its provider: email as .eml, SMS and push as JSON",
    )

    init = commands.add_parser("init", help="write a starter folder of the shop's own journeys and templates")
    init.add_argument("dir", type=Path)
    init.set_defaults(run=_init)

    simulate = commands.add_parser(
        "simulate",
        help="play events through the journeys locally, on a virtual clock",
        parents=[library, outbox],
    )
    simulate.add_argument(
        "--events", type=Path, help="EventBridge events: a JSON array or JSON lines (default: the demo)"
    )
    simulate.add_argument(
        "--out", type=Path, help="write the timeline as JSON lines, one object per message or decision"
    )
    simulate.add_argument(
        "--archive",
        type=_archive_to_write,
        help="write the analytics archive (the input of postventa report) there, replacing an earlier run's",
    )
    simulate.add_argument(
        "--audiences",
        type=Path,
        metavar="DIR",
        help="also write the ad lists of the audiences' run at the end (hashed, consented members)",
    )
    simulate.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="RATE",
        help="inject faults (throttling, 5xx, timeouts, crashes before and after provider calls, "
        "duplicate and late deliveries) into this share of invocations and deliveries, then check "
        "the delivery guarantee against a run without them; exits 1 if it did not hold",
    )
    simulate.add_argument("--seed", type=int, default=0, help="the fault schedule's seed")
    simulate.set_defaults(run=_simulate)

    journeys = commands.add_parser("journeys", help="journey definitions").add_subparsers(
        dest="action", required=True
    )
    controls = {
        "status": "how many customers are in each step, and whether it is paused, draining or stopped",
        "pause": "hold new entries and every send; waiting customers keep their place",
        "resume": "release what a pause held (each held send looks again within the hour)",
        "drain": "admit no one; customers already in it finish",
        "stop": "end it: admit no one, end every running customer (or --customer's) with a recorded decision",
    }
    for action, help_text in controls.items():
        control = journeys.add_parser(action, help=f"deployed stack: {help_text}")
        control.add_argument("name", help="the journey")
        control.add_argument(
            "--table", default=os.environ.get("POSTVENTA_TABLE_NAME"), help="stack output TableName"
        )
        if action in ("status", "stop"):
            control.add_argument("--customer", metavar="ID", help="only this customer's executions")
        if action != "status":
            control.add_argument("--reason", help="kept with the change (and on each stopped customer)")
        if action == "stop":
            control.add_argument("--yes", action="store_true", help="really stop")
        else:
            control.add_argument("--json", action="store_true", help="machine-readable")
        control.set_defaults(run=_control_journey)

    validate = journeys.add_parser(
        "validate", help="check journey files, naming file, step and problem", parents=[library]
    )
    validate.add_argument("path", nargs="?", type=Path, help="a journey file or a folder of them")
    validate.add_argument(
        "--cost", action="store_true", help="Step Functions state transitions of each path, per message"
    )
    validate.add_argument(
        "--collisions",
        action="store_true",
        help="also replay a history and name the steps whose messages the contact policy mostly drops "
        "because other journeys took the customer's allowance (fails if any)",
    )
    validate.add_argument(
        "--orders",
        type=Path,
        metavar="FILE",
        help="with --collisions: the history (default: a generated one)",
    )
    validate.set_defaults(run=_validate)
    render = journeys.add_parser(
        "render", help="print the journey map as a Mermaid flowchart, or draw it (--svg)", parents=[library]
    )
    render.add_argument("name", nargs="?", default="")
    render.add_argument(
        "--all", action="store_true", help="every journey, as the markdown of docs/journey-maps.md"
    )
    render.add_argument(
        "--svg",
        type=Path,
        metavar="FILE",
        help="draw the map into this SVG file (with --all: a folder of them)",
    )
    render.set_defaults(run=_render)
    preview = journeys.add_parser(
        "preview", help="the timeline one customer would get from a journey", parents=[library, outbox]
    )
    preview.add_argument("name")
    preview.add_argument(
        "--customer", type=Path, required=True, help="JSON: customer, order, fulfilled_after_days"
    )
    preview.set_defaults(run=_preview)

    backtest = commands.add_parser(
        "backtest", help="replay an order history through the journeys", parents=[library]
    )
    backtest.add_argument(
        "--orders",
        required=True,
        help="CSV: customer_id, placed_at, total[, order_id, currency, email, items, categories, birthday]; "
        "with --on-aws also s3://bucket/key",
    )
    backtest.add_argument("--json", action="store_true", help="machine-readable report")
    backtest.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (customers are split)"
    )
    backtest.add_argument(
        "--fulfilment-days", type=float, default=2.0, help="assumed time from order to shipment"
    )
    backtest.add_argument("--open-rate", type=float, default=0.35, help="assumed share of sent emails opened")
    backtest.add_argument(
        "--click-rate", type=float, default=0.08, help="assumed share of sent emails clicked"
    )
    backtest.add_argument("--timezone", default="UTC", help="customers' timezone (the history has none)")
    backtest.add_argument(
        "--sms-share", type=float, default=0.0, help="share of customers who chose SMS first, with consent"
    )
    backtest.add_argument(
        "--push-share", type=float, default=0.0, help="share of customers who chose push first, with the app"
    )
    backtest.add_argument("--phone-country", default="US", help="the SMS customers' country (ISO 3166)")
    backtest.add_argument(
        "--reading-hour-lift",
        type=float,
        default=0.0,
        metavar="L",
        help="customers read at hours of their own; arriving then is opened 1+L times as often "
        "(a send-time test, wait_until's best_hour); default 0: the hour makes no difference",
    )
    backtest.add_argument(
        "--sms-price",
        type=float,
        metavar="USD",
        help="per SMS segment (default: the country's published price)",
    )
    backtest.add_argument("--quiet", action="store_true", help="no progress bar")
    backtest.add_argument(
        "--archive",
        type=_archive_to_write,
        help="write the analytics archive (the input of postventa report) there, replacing an earlier run's",
    )
    backtest.add_argument(
        "--on-aws",
        action="store_true",
        help="replay on the deployed stack (S3 partitions, a Distributed Map of Lambdas): for histories larger than this machine",
    )
    backtest.add_argument("--stack", default="Postventa", help="with --on-aws: the deployed stack's name")
    backtest.add_argument(
        "--compare",
        metavar="REF",
        help="also replay the journeys as they were at this git ref (of --journeys' folder, else the package) "
        "and print what changes as Markdown, for a pull-request comment",
    )
    backtest.set_defaults(run=_backtest)

    report = commands.add_parser(
        "report", help="KPIs, segments, predicted customer value and recommendations from an order history"
    )
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--orders", type=Path, help="order history CSV, the backtest's format")
    source.add_argument("--archive", type=Path, help="analytics archive written by simulate --archive")
    report.add_argument(
        "--as-of", type=_end_of, help="end of the observation period (YYYY-MM-DD; default: the last order)"
    )
    report.add_argument("--json", action="store_true", help="machine-readable report")
    report.add_argument("--html", type=Path, help="also write a self-contained HTML report with charts")
    report.add_argument(
        "--customers",
        type=Path,
        help="also write every customer's scores (P(alive), expected purchases and spend, predicted value, "
        "next purchase, lifecycle, RFM, VIP, recommendations) to this CSV, or JSON for a .json name",
    )
    report.add_argument(
        "--record-winners",
        metavar="TABLE",
        help="record the A/B winners the report decides in the deployed stack's table (output TableName): "
        "splits with `winner: auto` then send everyone outside the holdout the winner, no redeploy",
    )
    report.add_argument(
        "--validate-from",
        type=date.fromisoformat,
        metavar="DATE",
        help="also fit on the history before DATE and check the predictions against what customers did "
        "from DATE to the end: weekly repeat purchases predicted and actual, per-customer error, a verdict",
    )
    report.add_argument(
        "--click-window",
        type=float,
        default=CLICK_WINDOW_DAYS,
        metavar="DAYS",
        help=f"an order this many days after a click is the clicked journey's revenue (default {CLICK_WINDOW_DAYS})",
    )
    report.add_argument(
        "--horizon",
        type=float,
        default=365.0,
        help="days ahead for expected purchases and value (default 365)",
    )
    report.set_defaults(run=_report)

    experiments = commands.add_parser(
        "experiments", help="the A/B winners `winner: auto` splits follow in a deployed stack"
    ).add_subparsers(dest="action", required=True)
    for action, text in (("show", "the recorded winner, if any"), ("forget", "undo: back to the weights")):
        command = experiments.add_parser(action, help=text)
        command.add_argument("experiment", help="e.g. win-back.offer (the report's experiment)")
        command.add_argument("--table", required=True, help="the stack's table (output TableName)")
        command.set_defaults(run=_experiments)

    templates = commands.add_parser("templates", help="message templates").add_subparsers(
        dest="action", required=True
    )
    template = templates.add_parser(
        "render", help="one template with sample data, as a customer gets it", parents=[library, outbox]
    )
    template.add_argument("name", help="e.g. order_confirmation")
    template.add_argument("--channel", choices=["email", "sms", "push"], default="email")
    template.add_argument("--locale", default="en", help="falls back to the language, then the shop's")
    template.add_argument(
        "--marketing", action="store_true", help="as a marketing message (unsubscribe, STOP)"
    )
    template.add_argument("--html", action="store_true", help="email: print the HTML part, not the text")
    template.set_defaults(run=_render_template)

    send_test = commands.add_parser(
        "send-test",
        help="send one step's message to yourself through the deployed stack's SES, SNS or Pinpoint, "
        "marked [TEST] and never recorded or counted",
        parents=[library],
    )
    send_test.add_argument("journey")
    send_test.add_argument("step", help="a send step of the journey")
    send_test.add_argument(
        "--to", required=True, help="an email address, a phone number (+14155550100) or APNS:/FCM:<token>"
    )
    send_test.add_argument("--channel", choices=["email", "sms", "push"], help="default: the step's first")
    send_test.add_argument("--locale", help="default: the customer file's, else the shop's")
    send_test.add_argument(
        "--customer",
        type=Path,
        metavar="FILE",
        help="render for this customer and order (journeys preview's file)",
    )
    send_test.add_argument(
        "--sender", default=os.environ.get("POSTVENTA_SENDER"), help="email: the From address the stack uses"
    )
    send_test.add_argument(
        "--configuration-set", default="postventa", help="SES configuration set (the stack's)"
    )
    send_test.add_argument("--sms-sender-id", default=os.environ.get("POSTVENTA_SMS_SENDER_ID"))
    send_test.add_argument(
        "--push-app", default=os.environ.get("POSTVENTA_PUSH_APPLICATION_ID"), help="push: the application id"
    )
    send_test.set_defaults(run=_send_test)

    customers = commands.add_parser(
        "customers", help="one customer's data in a deployed stack: export it, or erase it"
    ).add_subparsers(dest="action", required=True)
    for action, help_text in (
        ("export", "print everything kept about the customer as JSON"),
        ("erase", "delete everything kept about the customer and stop their journeys"),
    ):
        command = customers.add_parser(action, help=help_text)
        command.add_argument("customer_id")
        command.add_argument(
            "--table", default=os.environ.get("POSTVENTA_TABLE_NAME"), help="stack output TableName"
        )
        if action == "erase":
            command.add_argument("--yes", action="store_true", help="really erase")
            command.add_argument(
                "--archive-bucket",
                default=os.environ.get("POSTVENTA_ARCHIVE_BUCKET"),
                help="stack output ArchiveBucketName: the customer's archive rows go too",
            )
        else:
            command.set_defaults(archive_bucket=None)
        command.set_defaults(run=_customers)

    schemas = commands.add_parser("schemas", help="event contract").add_subparsers(
        dest="action", required=True
    )
    export = schemas.add_parser(
        "export", parents=[library], help="write the JSON Schema of each detail-type, the shop's too"
    )
    export.add_argument("--dir", type=Path, default=Path("events/schemas"))
    export.set_defaults(run=_export_schemas)

    args = parser.parse_args(argv)
    from postventa.journeys.loader import JourneyError

    try:
        return int(args.run(args))
    except JourneyError as error:  # a journey or shop folder any command reads: every problem at once
        print("\n".join(error.problems), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
