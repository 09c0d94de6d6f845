"""The backtest on AWS, for a history that outgrows one machine: the history split by customer into
S3 (partitions.py), a Step Functions Distributed Map over the partitions, each replayed by a Lambda
running the very replay a local backtest runs, and a merge that adds the tallies into the same report.

Files of a run, in the archive bucket (expired with its lifecycle):
    backtests/<run>/run.json               the period, assumptions and partition count every worker reads
    backtests/<run>/partitions/part-N.csv  the history's rows of the customers of partition N
    backtests/<run>/tallies/part-N.json    what replaying partition N produced
    backtests/<run>/report.json            the report, as `postventa backtest --json` prints it
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from postventa.backtest.assumptions import Assumptions
from postventa.backtest.history import BacktestInputError, read_orders
from postventa.backtest.partitions import (
    ORDERS_PER_PARTITION,
    BacktestRun,
    count_rows,
    partitions_for,
    read_tally,
    split_history,
    tally_json,
)
from postventa.backtest.replay import Tally, paused_garbage_collector, replay
from postventa.backtest.report import BacktestReport, build_report
from postventa.journeys.model import Journey

RUNS_PREFIX = "backtests"
FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


class BacktestRuns:
    """A run's files in the bucket."""

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self.bucket = bucket

    @staticmethod
    def partitions_prefix(run_id: str) -> str:
        return f"{RUNS_PREFIX}/{run_id}/partitions/"

    def upload(self, run: BacktestRun, partitions: Path) -> None:
        """The partitions first, run.json last: a run is whole once its run.json is there."""
        for part in sorted(partitions.glob("part-*.csv")):
            self._s3.upload_file(str(part), self.bucket, self.partitions_prefix(run.run_id) + part.name)
        self._put(f"{RUNS_PREFIX}/{run.run_id}/run.json", run.model_dump_json().encode())

    def run(self, run_id: str) -> BacktestRun:
        return BacktestRun.model_validate_json(self._get(f"{RUNS_PREFIX}/{run_id}/run.json"))

    def download(self, key: str, directory: Path) -> Path:
        path = directory / PurePosixPath(key).name
        self._s3.download_file(self.bucket, key, str(path))
        return path

    def put_tally(self, run_id: str, partition_key: str, tally: Tally) -> str:
        key = f"{RUNS_PREFIX}/{run_id}/tallies/{PurePosixPath(partition_key).stem}.json"
        self._put(key, tally_json(tally))
        return key

    def tallies(self, run_id: str) -> Iterator[Tally]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{RUNS_PREFIX}/{run_id}/tallies/"
        )
        for page in pages:
            for entry in page.get("Contents", []):
                yield read_tally(self._get(entry["Key"]))

    @classmethod
    def deployed(cls) -> BacktestRuns:
        """The deployed stack's: in its archive bucket (the function's POSTVENTA_ARCHIVE_BUCKET)."""
        import boto3

        from postventa.models.settings import Settings

        bucket = Settings().archive_bucket
        if bucket is None:
            raise RuntimeError(
                "POSTVENTA_ARCHIVE_BUCKET is not set: a backtest's files live in the archive bucket"
            )
        return cls(boto3.client("s3"), bucket)

    def put_report(self, run_id: str, report: BacktestReport) -> str:
        key = f"{RUNS_PREFIX}/{run_id}/report.json"
        self._put(key, report.as_json().encode())
        return key

    def report(self, run_id: str) -> BacktestReport:
        return BacktestReport(**json.loads(self._get(f"{RUNS_PREFIX}/{run_id}/report.json")))

    def _put(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def _get(self, key: str) -> bytes:
        body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


def replay_partition(runs: BacktestRuns, journeys: dict[str, Journey], run_id: str, key: str) -> str:
    """One partition replayed as a local worker process replays it; where its tally was written."""
    run = runs.run(run_id)
    with tempfile.TemporaryDirectory() as scratch:
        orders, _ = read_orders(runs.download(key, Path(scratch)))  # the split refused what fails here
    with paused_garbage_collector():
        tally = replay(
            orders,
            journeys,
            run.assumptions,
            lambda done: None,
            partitions=run.partitions,
            period=(run.first, run.last),
        )
    return runs.put_tally(run_id, key, tally)


def merge(runs: BacktestRuns, journeys: dict[str, Journey], run_id: str, now: datetime) -> BacktestReport:
    """The partitions' tallies added into one report, as a local backtest over processes adds them."""
    run = runs.run(run_id)
    report = build_report(sum(runs.tallies(run_id), Tally()), journeys, run.assumptions)
    report.refused_rows = run.refused
    report.wall_seconds = round((now - run.submitted_at).total_seconds(), 2)
    report.orders_per_second = round(run.orders / report.wall_seconds, 1) if report.wall_seconds else 0.0
    runs.put_report(run_id, report)
    return report


def submit(
    runs: BacktestRuns,
    stepfunctions: Any,
    machine_arn: str,
    history: Path,
    assumptions: Assumptions,
    *,
    per_partition: int = ORDERS_PER_PARTITION,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[BacktestRun, str]:
    """The history split and uploaded, and the map started on it: the run and its execution."""
    run_id = f"{now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as scratch:
        split = split_history(history, partitions_for(count_rows(history), per_partition), Path(scratch))
        run = BacktestRun(**split.model_dump(), run_id=run_id, assumptions=assumptions, submitted_at=now())
        runs.upload(run, Path(scratch))
    execution = stepfunctions.start_execution(
        stateMachineArn=machine_arn,
        name=run_id,
        input=json.dumps({"run_id": run_id, "partitions": runs.partitions_prefix(run_id)}),
    )
    return run, str(execution["executionArn"])


def local_copy(s3: Any, history: str, directory: Path) -> Path:
    """The history as a local file: an s3://bucket/key one downloaded (the split streams it)."""
    if not history.startswith("s3://"):
        return Path(history)
    bucket, _, key = history.removeprefix("s3://").partition("/")
    path = directory / (PurePosixPath(key).name or "history.csv")
    s3.download_file(bucket, key, str(path))
    return path


def wait_for(
    stepfunctions: Any,
    execution_arn: str,
    *,
    poll_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The execution once it has ended, as DescribeExecution tells it."""
    while True:
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
        if described["status"] in FINISHED:
            return described
        sleep(poll_seconds)


def stack_outputs(cloudformation: Any, stack: str) -> tuple[str, str]:
    """The deployed stack's archive bucket and backtest state machine."""
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    }
    missing = [name for name in ("ArchiveBucketName", "BacktestStateMachineArn") if name not in outputs]
    if missing:
        raise BacktestInputError(
            f"stack {stack} has no output {', '.join(missing)}: is it deployed from this version?"
        )
    return outputs["ArchiveBucketName"], outputs["BacktestStateMachineArn"]
