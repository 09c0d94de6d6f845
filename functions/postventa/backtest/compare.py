"""`postventa backtest --compare REF`: the same history replayed through the journeys at a git
ref and in the working tree, and what changes, as Markdown for a pull-request comment."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from postventa.backtest.history import BacktestInputError
from postventa.backtest.report import BacktestReport
from postventa.journeys.library import DEFINITIONS, SETTINGS_FILE, TEMPLATES, Library

STEPS_SHOWN = 30


def _git(cwd: Path, *args: str) -> bytes:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True).stdout
    except FileNotFoundError as error:
        raise BacktestInputError("--compare needs git on the PATH") from error
    except subprocess.CalledProcessError as error:
        raise BacktestInputError(f"git {' '.join(args)}: {error.stderr.decode().strip()}") from error


def _export(folder: Path, ref: str, into: Path) -> Path:
    """The folder as it was at ref (git archive), under `into`; the path of its copy."""
    folder = folder.resolve()
    root = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    inside = folder.relative_to(root).as_posix()
    archive = _git(root, "archive", "--format=tar", ref, "--", inside)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / inside


def library_at(ref: str, journeys_dir: Path | None, scratch: Path) -> Library:
    """The journeys and templates as they were at ref: the shop's folder (journeys_dir), or the
    package's own library (its definitions and templates, laid out as a shop folder that keeps
    none of today's defaults)."""
    if journeys_dir is not None:
        return Library(_export(journeys_dir, ref, scratch))
    shop = scratch / "library"
    shop.mkdir(parents=True)
    _export(DEFINITIONS, ref, scratch / "git").rename(shop / "journeys")
    _export(TEMPLATES, ref, scratch / "git").rename(shop / "templates")
    (shop / SETTINGS_FILE).write_text("defaults: none\n", encoding="utf-8")
    return Library(shop)


def _shown(value: float, money: bool) -> str:
    if money:
        return f"{value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


def _change(before: float, after: float, money: bool = False) -> str:
    difference = after - before
    if not difference:
        return "="
    relative = f" ({difference / before:+.1%})" if before else ""
    amount = f"{abs(difference):,.4f}" if money and abs(difference) < 0.01 else _shown(abs(difference), money)
    return f"{'+' if difference > 0 else '-'}{amount}{relative}"


def _row(name: str, before: float, after: float, money: bool = False) -> str:
    return f"| {name} | {_shown(before, money)} | {_shown(after, money)} | {_change(before, after, money)} |"


def _totals(report: BacktestReport, key: str) -> int:
    return sum(journey[key] for journey in report.journeys.values())


def compare_markdown(before: BacktestReport, after: BacktestReport, ref: str) -> str:
    """What the change does to the same history: totals, journeys and steps that move, drops by
    rule, cost. Only what changes is listed beyond the totals."""
    week_before, week_after = before.messages_per_customer_week, after.messages_per_customer_week
    lines = [
        f"### Postventa what-if: `{ref}` → this change",
        "",
        f"The same history ({after.orders:,} orders from {after.customers:,} customers, "
        f"{after.period[0]} to {after.period[1]}) and assumptions, replayed through both.",
        "",
        "| | before | after | change |",
        "| --- | ---: | ---: | ---: |",
        _row("messages sent", _totals(before, "messages_sent"), _totals(after, "messages_sent")),
        _row(
            "held back (suppressed)",
            _totals(before, "messages_suppressed"),
            _totals(after, "messages_suppressed"),
        ),
        _row("messages per customer-week, mean", week_before["mean"], week_after["mean"]),
        _row("messages per customer-week, p95", week_before["p95"], week_after["p95"]),
        _row("conversions", _totals(before, "conversions"), _totals(after, "conversions")),
        _row("cost (USD)", before.cost_usd["total"], after.cost_usd["total"], money=True),
    ]
    journeys = sorted(set(before.journeys) | set(after.journeys))
    empty = {"entries": 0, "messages_sent": 0, "messages_suppressed": 0, "conversions": 0}
    moved = [
        name
        for name in journeys
        if {k: before.journeys.get(name, empty)[k] for k in empty}
        != {k: after.journeys.get(name, empty)[k] for k in empty}
    ]
    if moved:
        lines += ["", "#### Journeys that change", "", "| journey | entries | sent | held | conversions |"]
        lines.append("| --- | ---: | ---: | ---: | ---: |")
        for name in moved:
            old, new = before.journeys.get(name, empty), after.journeys.get(name, empty)
            cells = [f"{old[k]:,} → {new[k]:,}" if old[k] != new[k] else f"{new[k]:,}" for k in empty]
            lines.append(
                f"| {name}{'' if name in before.journeys else ' (new)'}{'' if name in after.journeys else ' (removed)'} | "
                + " | ".join(cells)
                + " |"
            )

    def volumes(report: BacktestReport) -> dict[tuple[str, str, str, str], int]:
        return {(s["journey"], s["step"], s["channel"], s["outcome"]): s["messages"] for s in report.steps}

    old_steps, new_steps = volumes(before), volumes(after)
    changed = sorted(
        (
            key
            for key in old_steps.keys() | new_steps.keys()
            if old_steps.get(key, 0) != new_steps.get(key, 0)
        ),
        key=lambda key: (-abs(new_steps.get(key, 0) - old_steps.get(key, 0)), key),
    )
    if changed:
        lines += ["", "#### Steps whose volumes change", ""]
        lines += [
            "| journey | step | channel | outcome | before | after | change |",
            "| --- | --- | --- | --- | ---: | ---: | ---: |",
        ]
        for journey, step, channel, outcome in changed[:STEPS_SHOWN]:
            was = old_steps.get((journey, step, channel, outcome), 0)
            now = new_steps.get((journey, step, channel, outcome), 0)
            lines.append(
                f"| {journey} | {step} | {channel} | {outcome} | {was:,} | {now:,} | {_change(was, now)} |"
            )
        if len(changed) > STEPS_SHOWN:
            lines.append(f"| … {len(changed) - STEPS_SHOWN} more | | | | | | |")
    rules = sorted(
        (
            r
            for r in before.drops.keys() | after.drops.keys()
            if before.drops.get(r, 0) != after.drops.get(r, 0)
        ),
        key=lambda r: (-abs(after.drops.get(r, 0) - before.drops.get(r, 0)), r),
    )
    if rules:
        lines += [
            "",
            "#### Held back, by rule",
            "",
            "| rule | before | after | change |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [_row(rule, before.drops.get(rule, 0), after.drops.get(rule, 0)) for rule in rules]
    services = [
        k
        for k in after.cost_usd
        # a change under a cent would read "+0.00": not listed
        if k not in ("total", "per_message_sent")
        and round(before.cost_usd.get(k, 0.0), 2) != round(after.cost_usd[k], 2)
    ]
    if services:
        lines += [
            "",
            "#### Cost by service (USD)",
            "",
            "| service | before | after | change |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [_row(k, before.cost_usd.get(k, 0.0), after.cost_usd[k], money=True) for k in services]
    if not (moved or changed or rules or services):
        lines += ["", "Nothing changes for this history."]
    return "\n".join(lines) + "\n"
