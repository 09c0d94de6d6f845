"""Files in the archive bucket: the customer summary Athena wrote (CSV) and the fitted model for
the scoring job, and customers' data exports."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

MODEL_KEY = "models/scoring.json"


class ScoringFiles:
    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def rows(self, bucket: str, key: str) -> Iterator[list[str]]:
        """The CSV's rows after its header, streamed: a summary of millions of customers never sits in memory."""
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        lines = (line.decode("utf-8") for line in body.iter_lines())
        reader = csv.reader(lines)
        next(reader, None)
        yield from reader

    def save_model(self, text: str) -> str:
        self._s3.put_object(
            Bucket=self._bucket, Key=MODEL_KEY, Body=text.encode(), ContentType="application/json"
        )
        return MODEL_KEY

    def model(self, key: str) -> str:
        return str(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read().decode())


class ExportFiles:
    """A customer's data export, as JSON under exports/ (encrypted with the bucket's key, expired
    with its lifecycle): the shop sends it on to the customer."""

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def save(self, request_id: str, data: dict[str, Any]) -> str:
        key = f"exports/{request_id}.json"
        body = json.dumps(data, indent=2, ensure_ascii=False).encode()
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self._bucket}/{key}"
