"""The backtest on AWS, its moving parts against moto's S3 and Step Functions: the history split
and submitted, each partition replayed by the worker Lambda's handler as the Distributed Map hands
it an item, the tallies merged. The report is the one a local backtest over as many processes gives."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from postventa.backtest import (
    Assumptions,
    backtest_merge,
    backtest_replay,
    read_orders,
    run_backtest,
    run_backtest_file,
    write_synthetic_history,
)
from postventa.backtest.history import BacktestInputError
from postventa.backtest.on_aws import BacktestRuns, local_copy, stack_outputs, submit, wait_for
from postventa.journeys.loader import load_journeys
from tests.integration.test_archive import _Context

BUCKET = "postventa-archive"


def _history(path: Path, orders: int) -> Path:
    write_synthetic_history(path, orders, customers=orders * 2 // 3, months=6)
    with path.open("a", newline="") as handle:  # refused, and named in the report
        csv.writer(handle).writerow(["c-bad", "not a date", "10", "o-bad", "", ""])
    return path


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("POSTVENTA_ARCHIVE_BUCKET", BUCKET)
    backtest_replay.deployed.cache_clear()
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield
    backtest_replay.deployed.cache_clear()


def _machine() -> str:
    role = boto3.client("iam").create_role(RoleName="backtest", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    created = boto3.client("stepfunctions").create_state_machine(
        name="postventa-backtest", definition=definition, roleArn=role
    )
    return str(created["stateMachineArn"])


def test_partitions_replayed_by_the_worker_lambda_merge_into_the_local_report(aws, tmp_path):
    history = _history(tmp_path / "history.csv", 240)
    s3, stepfunctions = boto3.client("s3"), boto3.client("stepfunctions")
    runs = BacktestRuns(s3, BUCKET)
    assumptions = Assumptions(open_rate=0.4)

    run, execution = submit(runs, stepfunctions, _machine(), history, assumptions, per_partition=100)

    assert run.partitions == 3 and run.orders == 240
    assert run.refused == [f"{history}:242: Invalid isoformat string: 'not a date'"]
    started = stepfunctions.describe_execution(executionArn=execution)
    assert json.loads(started["input"]) == {
        "run_id": run.run_id,
        "partitions": f"backtests/{run.run_id}/partitions/",
    }
    # What the Distributed Map does with that input: list the prefix, one worker per object.
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=json.loads(started["input"])["partitions"])
    items = [entry["Key"] for entry in listed["Contents"]]
    assert len(items) == 3
    customers_seen: set[str] = set()
    for key in items:
        path = runs.download(key, tmp_path)
        customers = {o.customer.id for o in read_orders(path)[0]}
        assert not customers & customers_seen  # every customer's orders in one partition only
        customers_seen |= customers
        answer = backtest_replay.lambda_handler({"run_id": run.run_id, "key": key}, _Context())
        assert answer == {"tally": key.replace("/partitions/", "/tallies/").replace(".csv", ".json")}

    merged = backtest_merge.lambda_handler({"run_id": run.run_id}, _Context())

    assert merged["orders"] == 240
    report = json.loads(runs.report(run.run_id).as_json())
    orders, _ = read_orders(history)
    in_memory = json.loads(run_backtest(orders, load_journeys(), assumptions, workers=3).as_json())
    # The CLI's local run: the same 3 partitions on disk, by 2 worker processes.
    on_disk = json.loads(
        run_backtest_file(history, load_journeys(), assumptions, workers=2, per_partition=100).as_json()
    )
    for local in (in_memory, on_disk, report):
        local.pop("wall_seconds"), local.pop("orders_per_second")
    assert report.pop("refused_rows") == run.refused == on_disk.pop("refused_rows")
    in_memory.pop("refused_rows")
    assert report == in_memory == on_disk
    assert report["journeys"]["post-purchase"]["messages_sent"] > 0
    assert report["journeys"]["birthday"]["messages_sent"] > 0  # the history's birthday column
    assert report["assumptions"]["open_rate"] == 0.4 == asdict(assumptions)["open_rate"]


def test_the_cli_waits_for_the_execution_and_says_how_it_ended():
    client = boto3.client("stepfunctions", region_name="us-east-1")
    arn = "arn:aws:states:us-east-1:123456789012:execution:postventa-backtest:run-1"
    naps: list[float] = []
    with Stubber(client) as stub:
        for status in ("RUNNING", "RUNNING", "FAILED"):
            stub.add_response(
                "describe_execution",
                {
                    "executionArn": arn,
                    "stateMachineArn": arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
                    "status": status,
                    "startDate": "2026-12-03T10:00:00Z",
                    **({"error": "States.ExceedToleratedFailureThreshold"} if status == "FAILED" else {}),
                },
                {"executionArn": arn},
            )
        ended = wait_for(client, arn, poll_seconds=5, sleep=naps.append)
    assert ended["status"] == "FAILED" and ended["error"] == "States.ExceedToleratedFailureThreshold"
    assert naps == [5, 5]


def test_the_cli_finds_the_stack_it_runs_on_and_says_when_it_cannot():
    client = boto3.client("cloudformation", region_name="us-east-1")
    stack = {
        "StackName": "Postventa",
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
    }
    outputs = [
        {"OutputKey": "ArchiveBucketName", "OutputValue": "postventa-archive-1"},
        {"OutputKey": "BacktestStateMachineArn", "OutputValue": "arn:aws:states:::stateMachine:bt"},
    ]
    with Stubber(client) as stub:
        stub.add_response(
            "describe_stacks", {"Stacks": [{**stack, "Outputs": outputs}]}, {"StackName": "Postventa"}
        )
        stub.add_response(
            "describe_stacks", {"Stacks": [{**stack, "Outputs": outputs[:1]}]}, {"StackName": "Old"}
        )
        assert stack_outputs(client, "Postventa") == (
            "postventa-archive-1",
            "arn:aws:states:::stateMachine:bt",
        )
        with pytest.raises(BacktestInputError, match="stack Old has no output BacktestStateMachineArn"):
            stack_outputs(client, "Old")


def test_a_history_in_s3_is_read_from_there(aws, tmp_path):
    s3 = boto3.client("s3")
    s3.put_object(
        Bucket=BUCKET, Key="histories/2026.csv", Body=b"customer_id,placed_at,total\nc1,2026-01-01,10\n"
    )
    copy = local_copy(s3, f"s3://{BUCKET}/histories/2026.csv", tmp_path)
    assert copy.read_text() == "customer_id,placed_at,total\nc1,2026-01-01,10\n"
    assert local_copy(s3, "orders.csv", tmp_path) == Path("orders.csv")
