"""backtest --compare REF: the same history through a shop folder's journeys at a git commit and
in the working tree; the change as Markdown."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from postventa.backtest import read_orders, run_backtest
from postventa.backtest.compare import compare_markdown, library_at
from postventa.cli import main
from postventa.journeys.library import Library
from tests.conftest import EVENTS, SHOP

HISTORY = EVENTS / "backtest" / "small-history.csv"


def git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def shop_repo(tmp_path):
    """The example shop folder committed in a repository of its own, then changed: the shop
    drops the welcome journey from the defaults it keeps."""
    shop = tmp_path / "repo" / "shop"
    shutil.copytree(SHOP, shop)
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "shop")
    kept = sorted(name for name in Library().journeys() if name != "welcome")
    settings = (
        (shop / "postventa.yaml").read_text().replace("defaults: all", f"defaults: [{', '.join(kept)}]")
    )
    (shop / "postventa.yaml").write_text(settings)
    return shop


def test_the_comparison_shows_what_the_change_does_to_the_same_history(shop_repo, tmp_path, capsys):
    orders, _ = read_orders(HISTORY)
    before = run_backtest(orders, library_at("HEAD", shop_repo, tmp_path / "scratch").journeys())
    after = run_backtest(orders, Library(shop_repo).journeys())
    assert "welcome" in before.journeys and "welcome" not in after.journeys
    markdown = compare_markdown(before, after, "HEAD")
    sent_before = sum(j["messages_sent"] for j in before.journeys.values())
    sent_after = sum(j["messages_sent"] for j in after.journeys.values())
    assert sent_before - sent_after >= 2
    change = sent_after - sent_before
    assert (
        f"| messages sent | {sent_before} | {sent_after} | {change} ({change / sent_before:+.1%}) |"
        in markdown
    )
    assert "| welcome (removed) | 2 → 0 | 2 → 0 | 0 | 0 |" in markdown
    assert "| welcome | welcome | email | sent | 2 | 0 | -2 (-100.0%) |" in markdown

    args = ["backtest", "--orders", str(HISTORY), "--journeys", str(shop_repo), "--compare", "HEAD"]
    assert main([*args, "--quiet", "--workers", "1"]) == 0
    assert capsys.readouterr().out == markdown  # the CLI prints the same comparison


def test_a_ref_git_does_not_know_is_a_clear_error(shop_repo, capsys):
    args = ["backtest", "--orders", str(HISTORY), "--journeys", str(shop_repo), "--compare", "no-such-ref"]
    assert main([*args, "--quiet", "--workers", "1"]) == 1
    assert "git archive" in capsys.readouterr().err


def test_an_unchanged_library_says_nothing_changes(tmp_path):
    orders, _ = read_orders(HISTORY)
    report = run_backtest(orders, Library().journeys())
    assert compare_markdown(report, report, "main").endswith("Nothing changes for this history.\n")
