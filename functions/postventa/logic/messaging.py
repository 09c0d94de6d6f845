"""The ids that make each send happen at most once."""

from __future__ import annotations

import hashlib


def message_id(execution_id: str, step: str) -> str:
    """One message per (execution, step): a Step Functions retry maps to the same id."""
    return hashlib.sha256(f"{execution_id}|{step}".encode()).hexdigest()[:32]
