"""Files in the archive bucket: the customer summary Athena wrote (CSV) and the fitted model for
the scoring job, customers' data exports, and the audiences' ad lists."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import Any

from postventa.analytics.archive import rows_without

MODEL_KEY = "models/scoring.json"
ARCHIVE_PREFIX = "archive/"


class ScoringFiles:
    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def rows(self, bucket: str, key: str, *, header: bool = False) -> Iterator[list[str]]:
        """The CSV's rows (after its header, unless asked for), streamed: a summary of millions of
        customers never sits in memory."""
        body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        lines = (line.decode("utf-8") for line in body.iter_lines())
        reader = csv.reader(lines)
        if not header:
            next(reader, None)
        yield from reader

    def save_model(self, text: str) -> str:
        self._s3.put_object(
            Bucket=self._bucket, Key=MODEL_KEY, Body=text.encode(), ContentType="application/json"
        )
        return MODEL_KEY

    def model(self, key: str) -> str:
        return str(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read().decode())


class ArchiveObjects:
    """Customers' objects in the archive bucket: their data exports (JSON under exports/, expired
    with the bucket's lifecycle) and their rows in the archive (gzipped JSON lines, as Firehose
    writes them), removed by rewriting each object that holds any. The S3 client is made at first
    use: most on_order invocations never touch the bucket, and their cold start need not pay for it."""

    def __init__(self, bucket: str, make_client: Callable[[], Any]):
        self._bucket = bucket
        self._make_client = make_client

    @cached_property
    def _s3(self) -> Any:
        return self._make_client()

    def save(self, request_id: str, data: dict[str, Any]) -> str:
        """A data export; where it was written."""
        key = f"exports/{request_id}.json"
        body = json.dumps(data, indent=2, ensure_ascii=False).encode()
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
        return f"s3://{self._bucket}/{key}"

    def erase(self, customer_id: str) -> int:
        """The customer's archive rows removed; how many."""
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


class AudienceFiles:
    """The ad lists, as CSV: audiences/<audience>/<day>/<name>.csv (the bucket's lifecycle expires
    them), each day's beside the earlier ones it is compared with."""

    PREFIX = "audiences/"

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def days(self, audience: str) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=f"{self.PREFIX}{audience}/", Delimiter="/"
        )
        return sorted(
            common["Prefix"].rstrip("/").rsplit("/", 1)[-1]
            for page in pages
            for common in page.get("CommonPrefixes", [])
        )

    def read(self, audience: str, day: str, name: str) -> list[tuple[str, str]]:
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key(audience, day, name))["Body"]
        rows = csv.reader(line.decode() for line in body.iter_lines())
        next(rows, None)
        return [(email, phone) for email, phone in rows]

    def write(
        self, audience: str, day: str, name: str, header: tuple[str, str], rows: Sequence[tuple[str, str]]
    ) -> str:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        key = self._key(audience, day, name)
        self._s3.put_object(
            Bucket=self._bucket, Key=key, Body=text.getvalue().encode(), ContentType="text/csv"
        )
        return key

    def _key(self, audience: str, day: str, name: str) -> str:
        return f"{self.PREFIX}{audience}/{day}/{name}.csv"
