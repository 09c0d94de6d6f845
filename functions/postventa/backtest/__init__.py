"""postventa backtest: replay an order history through the journeys before they go live.

history (the input), assumptions (what a history cannot tell), engagement (the customers' side),
replay (one partition through the real services), workers (partitions over processes), cost and
report (what it adds up to).
"""

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.history import (
    BacktestInputError,
    read_orders,
    synthetic_history,
    write_synthetic_history,
)
from postventa.backtest.report import BacktestReport, format_report
from postventa.backtest.workers import run_backtest, run_backtest_file

__all__ = [
    "Assumptions",
    "BacktestInputError",
    "BacktestReport",
    "format_report",
    "read_orders",
    "run_backtest",
    "run_backtest_file",
    "synthetic_history",
    "write_synthetic_history",
]
