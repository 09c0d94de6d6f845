"""Files in the archive bucket: the customer summary Athena wrote (CSV) and the fitted model for
the scoring job, and customers' data exports."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from typing import Any

from postventa.analytics.archive import rows_without

MODEL_KEY = "models/scoring.json"
ARCHIVE_PREFIX = "archive/"


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


class ArchiveRows:
    """The analytics archive's objects (gzipped JSON lines, as Firehose writes them): a customer's
    rows are removed by rewriting each object that holds any, the rest of it unchanged."""

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def erase(self, customer_id: str) -> int:
        removed = 0
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=ARCHIVE_PREFIX
        ):
            for entry in page.get("Contents", []):
                removed += self._rewrite(entry["Key"], customer_id)
        return removed

    def _rewrite(self, key: str, customer_id: str) -> int:
        raw = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        zipped = raw[:2] == b"\x1f\x8b"
        kept, removed = rows_without(customer_id, (gzip.decompress(raw) if zipped else raw).decode())
        if removed:
            body = gzip.compress(kept.encode()) if zipped else kept.encode()
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body)
        return removed
