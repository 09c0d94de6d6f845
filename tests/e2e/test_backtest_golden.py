"""The backtest's every outcome on a generated history, compared with the stored record of it: a
change meant to make the replay faster or leaner must leave every message as it was (who, which
journey and step, channel, outcome and reason, when). A change meant to change outcomes (a journey,
the contact policy) rewrites the record on purpose: `python tests/e2e/test_backtest_golden.py --write`,
and the diff of events/backtest/golden-messages.txt.gz shows what changed."""

from __future__ import annotations

import difflib
import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "events" / "backtest" / "golden-messages.txt.gz"


def outcomes() -> list[str]:
    from postventa.backtest import Assumptions, synthetic_history
    from postventa.backtest.replay import replay
    from postventa.journeys.loader import load_journeys

    assumptions = Assumptions(timezone="Europe/Madrid")
    orders = synthetic_history(600, 250, 12, seed="golden")
    messages: list = []
    replay(
        orders,
        load_journeys(),
        assumptions,
        progress=lambda done: None,
        retired=lambda records: messages.extend(records.messages),
    )
    return sorted(
        "|".join(
            [m.customer_id, m.journey, m.step, m.channel, m.status.value, m.at.isoformat(), m.reason or ""]
        )
        for m in messages
    )


def test_every_message_of_the_generated_history_is_as_recorded():
    recorded = gzip.decompress(GOLDEN.read_bytes()).decode().splitlines()
    now = outcomes()
    diff = list(difflib.unified_diff(recorded, now, "recorded", "now", lineterm="", n=0))
    assert not diff, f"{len(diff)} lines differ (regenerate only if meant):\n" + "\n".join(diff[:40])
    assert len(now) > 2000  # every journey of the library, hundreds of customers


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    sys.path.insert(0, str(ROOT))
    lines = outcomes()
    GOLDEN.write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))
    print(f"{GOLDEN}: {len(lines)} messages")
