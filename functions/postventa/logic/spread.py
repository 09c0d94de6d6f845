"""Sends that fall due at one moment, spread over a window: a morning's releases from quiet hours,
or every customer's "10:00", would otherwise meet the account's sending rate in the same second
and come back as throttled retries, each a transition and an invocation (make bench counts them).

Each customer has one stable place in the window, the same for all their messages, so the
contact policy still sees their messages fall due together and lets the higher priority go first.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta


def fraction(*parts: str) -> float:
    """A stable pseudo-random number in [0, 1) for the same inputs: runs repeat exactly."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def spread(moment: datetime, window: timedelta, customer_id: str) -> datetime:
    """`moment` moved to this customer's place in `window` after it, in whole seconds (Step
    Functions' timestamps have none)."""
    return moment + timedelta(seconds=int(fraction("spread", customer_id) * window.total_seconds()))
