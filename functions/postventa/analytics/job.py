"""The scheduled scoring job's steps, apart so that scoring can fan out: fit once on a uniform
sample of the summary's rows, score any number of batches against the saved model, then record
the A/B winners the journeys' conversions decide (what `winner: auto` splits apply)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from postventa.adapters.files import ScoringFiles
from postventa.analytics.experiments import decided_winners, experiments
from postventa.analytics.scoring import SUMMARY_COLUMNS, Customers, ScoringModel, fit_scoring_model

FIT_SAMPLE = 200_000  # customers: more changes the parameters in the third digit, not the decisions


def reservoir(rows: Iterable[Sequence[Any]], size: int, seed: int = 0) -> tuple[list[Sequence[Any]], int]:
    """A uniform sample of `size` rows from a stream of unknown length (Algorithm R), and the count."""
    chosen: list[Sequence[Any]] = []
    draw = random.Random(seed)
    count = 0
    for count, row in enumerate(rows, start=1):
        if len(chosen) < size:
            chosen.append(row)
        else:
            slot = draw.randrange(count)
            if slot < size:
                chosen[slot] = row
    return chosen, count


class ScoringJob:
    def __init__(self, files: ScoringFiles, save_scores: Any, record_winner: Any, sample: int = FIT_SAMPLE):
        self._files = files
        self._save_scores = save_scores
        self._record_winner = record_winner
        self._sample = sample
        self._models: dict[str, ScoringModel] = {}

    def record_winners(self, bucket: str, key: str, decided_at: datetime) -> dict[str, Any]:
        """The conversions query's result (Athena's CSV): each experiment's verdict, as the report
        gives it; the winners recorded (a test recorded before keeps its first decision)."""
        header, *rows = [list(row) for row in self._files.rows(bucket, key, header=True)]
        conversions = [
            {
                **dict(zip(header, row, strict=True)),
                "customers": int(row[header.index("customers")]),
                "conversions": int(row[header.index("conversions")]),
                "revenue": float(row[header.index("revenue")] or 0),
                "experiment": row[header.index("experiment")] or None,
            }
            for row in rows
        ]
        decided = decided_winners(experiments(conversions), decided_at)
        for winner in decided:
            self._record_winner(winner)
        return {
            "experiments": len({(r["journey"], r["experiment"]) for r in conversions}),
            "winners": len(decided),
        }

    def fit(self, bucket: str, key: str) -> dict[str, Any]:
        rows, customers = reservoir(self._files.rows(bucket, key), self._sample)
        model = fit_scoring_model(Customers.from_rows(rows))
        return {
            "customers": customers,
            "fitted_on": len(rows),
            "model_key": self._files.save_model(model.to_json()),
            "not_fitted": model.not_fitted,
        }

    def score(
        self, items: Sequence[Mapping[str, Any]], model_key: str, scored_at: datetime
    ) -> dict[str, int]:
        """One batch of the summary's rows (as the Distributed Map reads the CSV: header -> value)."""
        if model_key not in self._models:  # a warm Lambda scores many batches against one model
            self._models[model_key] = ScoringModel.from_json(self._files.model(model_key))
        customers = Customers.from_rows([tuple(item[column] for column in SUMMARY_COLUMNS) for item in items])
        _, scores = self._models[model_key].score(customers, scored_at.date())
        return {"customers": len(scores), "written": self._save_scores(scores, scored_at)}
