"""The backtest on AWS (`postventa backtest --on-aws`): a Distributed Map lists a run's partitions
in the archive bucket and hands each to a worker Lambda running the local backtest's own replay;
a last Lambda adds their tallies into the report. Nothing runs, and nothing is paid, between runs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from postventa.backtest.on_aws import RUNS_PREFIX
from postventa_infra.log_groups import log_group
from postventa_infra.nag import acknowledge, arn_of, distributed_map_grants, invoke_grant, key_grants

# Workers at once: the Lambda concurrency a backtest takes from the account's (1,000 by default),
# well clear of what the journeys' functions need at the same time.
CONCURRENT_PARTITIONS = 50
RUNS_KEPT = Duration.days(30)


class BacktestOnAws(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.Bucket,
        key: kms.IKey,
        replay: lambda_.IFunction,
        merge: lambda_.IFunction,
    ):
        super().__init__(scope, construct_id)
        bucket.add_lifecycle_rule(prefix=f"{RUNS_PREFIX}/", expiration=RUNS_KEPT)
        replay_every_partition = sfn.DistributedMap(
            self,
            "Replay every partition",
            item_reader=sfn.S3ObjectsItemReader(bucket=bucket, prefix=sfn.JsonPath.string_at("$.partitions")),
            item_selector={
                "run_id": sfn.JsonPath.string_at("$.run_id"),
                "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
            },
            max_concurrency=CONCURRENT_PARTITIONS,
            # A partition missing would be a report missing customers: one failed worker fails the run.
            tolerated_failure_percentage=0,
            result_path=sfn.JsonPath.DISCARD,
        )
        replay_every_partition.item_processor(
            tasks.LambdaInvoke(
                self, "Replay a partition", lambda_function=replay, payload_response_only=True
            ).add_retry(
                errors=["Lambda.TooManyRequestsException"], interval=Duration.seconds(10), max_attempts=6
            )
        )
        merge_tallies = tasks.LambdaInvoke(
            self,
            "Merge the tallies",
            lambda_function=merge,
            payload=sfn.TaskInput.from_object({"run_id": sfn.JsonPath.string_at("$.run_id")}),
            payload_response_only=True,
        )
        self.machine = sfn.StateMachine(
            self,
            "Machine",
            state_machine_name="postventa-backtest",
            definition_body=sfn.DefinitionBody.from_chainable(replay_every_partition.next(merge_tallies)),
            timeout=Duration.hours(2),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group(self, "Logs"), level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        runs = f"{RUNS_PREFIX}/*"
        bucket.grant_read(replay, runs)  # run.json and its partition
        bucket.grant_put(replay, f"{RUNS_PREFIX}/*/tallies/*")
        bucket.grant_read(merge, runs)  # run.json and the tallies
        bucket.grant_put(merge, f"{RUNS_PREFIX}/*/report.json")
        for function in (replay, merge):
            key.grant_encrypt_decrypt(function)
        self._acknowledge(bucket, replay, merge)

    def _acknowledge(self, bucket: s3.Bucket, replay: lambda_.IFunction, merge: lambda_.IFunction) -> None:
        runs = f"IAM5[Resource::{arn_of(bucket)}/{RUNS_PREFIX}/*"
        reads = {
            f"IAM5[Action::s3:{action}]": "CDK's bucket grant, limited to the backtests/ prefix named in the resources"
            for action in ("GetBucket*", "GetObject*", "List*", "Abort*")
        }
        for function, writes in ((replay, "tallies/*"), (merge, "report.json")):
            acknowledge(
                function.role,  # type: ignore[arg-type]
                {
                    **key_grants("archive key"),
                    **reads,
                    runs + "]": "Reads a run's files under backtests/<run>/; runs are named when submitted",
                    runs + f"/{writes}]": f"Writes the run's {writes.removesuffix('/*')} only",
                },
            )
        acknowledge(
            self.machine,
            {
                "IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery have no resource-level permissions",
                **invoke_grant(replay),
                **invoke_grant(merge),
                **distributed_map_grants(self.machine),
            },
        )
