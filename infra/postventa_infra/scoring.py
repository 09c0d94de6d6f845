"""The daily scoring job: Athena summarizes every customer's history (one row each), a Lambda fits
the model on a uniform sample of those rows, then a Distributed Map reads the summary straight from
S3 and fans batches out to Lambdas that score and write the profiles. No step holds the whole history:
Athena scales with the orders, the fit with its sample, the map with the number of customers."""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from postventa.analytics.queries import NOW_IN_ATHENA, query_text
from postventa_infra.analytics import DATABASE, Analytics
from postventa_infra.log_groups import log_group
from postventa_infra.nag import acknowledge, arn_of, distributed_map_grants, invoke_grant, key_grants, ref_of
from postventa_infra.queues import dead_letter_queue

BATCH = 500  # customers per scoring Lambda call
CONCURRENT_BATCHES = 10  # keeps the profile writes within what on-demand DynamoDB absorbs at once


class ScoringWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        analytics: Analytics,
        key: kms.IKey,
        table: dynamodb.ITable,
        fit: lambda_.IFunction,
        score_batch: lambda_.IFunction,
        record_winners: lambda_.IFunction,
    ):
        super().__init__(scope, construct_id)
        bucket = analytics.bucket
        summarize, summary_key = self._athena_query("Summarize customers", "summary", analytics)
        fit_model = tasks.LambdaInvoke(
            self,
            "Fit the model",
            lambda_function=fit,
            payload=sfn.TaskInput.from_object({"bucket": bucket.bucket_name, "key": summary_key}),
            result_selector={"model_key.$": "$.Payload.model_key", "key.$": "$.Payload.key"},
            result_path="$.fit",
        )
        score = sfn.DistributedMap(
            self,
            "Score every customer",
            item_reader=sfn.S3CsvItemReader(
                bucket=bucket,
                key=sfn.JsonPath.string_at("$.fit.key"),
                csv_headers=sfn.CsvHeaders.use_first_row(),
            ),
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=BATCH,
                # written as paths by hand: the batcher's input is passed through as given
                batch_input={"model_key.$": "$.fit.model_key", "scored_at.$": "$$.Execution.StartTime"},
            ),
            max_concurrency=CONCURRENT_BATCHES,
            tolerated_failure_percentage=1,
            result_path=sfn.JsonPath.DISCARD,
        )
        score.item_processor(
            tasks.LambdaInvoke(self, "Score a batch", lambda_function=score_batch, payload_response_only=True)
        )
        # Then the journeys' A/B tests: what the conversions decide is recorded for `winner: auto` splits.
        count_conversions, conversions_key = self._athena_query("Count conversions", "conversions", analytics)
        record = tasks.LambdaInvoke(
            self,
            "Record winners",
            lambda_function=record_winners,
            payload=sfn.TaskInput.from_object(
                {
                    "bucket": bucket.bucket_name,
                    "key": conversions_key,
                    "decided_at": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        self.machine = sfn.StateMachine(
            self,
            "Machine",
            state_machine_name="postventa-scoring",
            definition_body=sfn.DefinitionBody.from_chainable(
                summarize.next(fit_model).next(score).next(count_conversions).next(record)
            ),
            timeout=Duration.hours(6),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group(self, "Logs"), level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self._allow_the_query(analytics.workgroup.ref)
        # Athena reads the archive and writes results with the job's own credentials.
        bucket.grant_read(self.machine, "archive/*")
        bucket.grant_read_write(self.machine, "athena-results/*")
        key.grant_encrypt_decrypt(self.machine)
        bucket.grant_read(fit, "athena-results/*")
        bucket.grant_put(fit, "models/*")
        bucket.grant_read(score_batch, "models/*")
        for function in (fit, score_batch):
            key.grant_encrypt_decrypt(function)
        table.grant(score_batch, "dynamodb:UpdateItem")  # scores onto existing profiles only
        bucket.grant_read(record_winners, "athena-results/*")
        key.grant_encrypt_decrypt(record_winners)
        # A decided winner is one EXPERIMENT# item: put, only there.
        record_winners.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EXPERIMENT#*"]}},
            )
        )
        self._schedule()
        self._acknowledge(analytics, table, fit, score_batch, record_winners)

    def _acknowledge(
        self,
        analytics: Analytics,
        table: dynamodb.ITable,
        fit: lambda_.IFunction,
        score_batch: lambda_.IFunction,
        record_winners: lambda_.IFunction,
    ) -> None:
        bucket, bucket_name = arn_of(analytics.bucket), ref_of(analytics.bucket)
        bucket_reads = {
            f"IAM5[Action::s3:{action}]": "CDK's bucket grant, limited to the prefixes named in the resources"
            for action in ("GetBucket*", "GetObject*", "List*", "Abort*", "DeleteObject*")
        }
        archive_key = key_grants("archive key")
        acknowledge(
            fit.role,  # type: ignore[arg-type]
            {
                **archive_key,
                **bucket_reads,
                f"IAM5[Resource::{bucket}/athena-results/*]": "Reads the summary Athena wrote; its key is the query id",
                f"IAM5[Resource::{bucket}/models/*]": "Writes the fitted model under models/",
            },
        )
        acknowledge(
            score_batch.role,  # type: ignore[arg-type]
            {
                **archive_key,
                **bucket_reads,
                f"IAM5[Resource::{bucket}/models/*]": "Reads the fitted model under models/",
                f"IAM5[Resource::{arn_of(table)}/index/*]": "CDK's table grant names the indexes too; the only action is UpdateItem",
            },
        )
        acknowledge(
            record_winners.role,  # type: ignore[arg-type]
            {
                **archive_key,
                **bucket_reads,
                f"IAM5[Resource::{bucket}/athena-results/*]": "Reads the conversions Athena wrote; its key is the query id",
            },
        )
        acknowledge(
            self.machine,
            {
                **archive_key,
                **bucket_reads,
                "IAM5[Resource::*]": "X-Ray tracing, CloudWatch Logs delivery and Lake Formation's GetDataAccess (Athena's table access check) have no resource-level permissions",
                f"IAM5[Resource::{bucket}/*]": "Athena's own S3 access check on the workgroup's bucket",
                f"IAM5[Resource::{bucket}/archive/*]": "Athena reads the archive's day partitions",
                f"IAM5[Resource::{bucket}/athena-results/*]": "Athena writes results; the map reads the summary",
                f"IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket_name}/*]": "GetObject only: the Distributed Map reads the summary CSV Athena wrote under athena-results/, whose key is the query id known at run time; CDK's item reader names the bucket's objects",
                "IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/postventa/*]": "Athena reads the postventa database's tables",
                **invoke_grant(fit),
                **invoke_grant(score_batch),
                **invoke_grant(record_winners),
                **distributed_map_grants(self.machine),
            },
        )

    def _athena_query(self, state: str, query: str, analytics: Analytics) -> tuple[sfn.CustomState, str]:
        """A state running sql/<query>.sql in our workgroup, and the key of the CSV it writes. A
        custom state, not CDK's Athena task: that task grants s3:CreateBucket and GetObject on "*"
        and Glue's writes; the job needs to run its queries in its workgroup and read the tables."""
        run = sfn.CustomState(
            self,
            state,
            state_json={
                "Type": "Task",
                "Resource": f"arn:{Aws.PARTITION}:states:::athena:startQueryExecution.sync",
                "Parameters": {
                    "QueryString": query_text(query, NOW_IN_ATHENA),
                    "QueryExecutionContext": {"Database": DATABASE},
                    "WorkGroup": analytics.workgroup.ref,
                },
                "ResultSelector": {"id.$": "$.QueryExecution.QueryExecutionId"},
                "ResultPath": f"$.{query}",
            },
        )
        return run, sfn.JsonPath.format("athena-results/{}.csv", sfn.JsonPath.string_at(f"$.{query}.id"))

    def _allow_the_query(self, workgroup: str) -> None:
        """Run, watch and stop a query in our workgroup; read the postventa database's tables."""
        stack = Stack.of(self)
        arn = lambda service, resource: stack.format_arn(  # noqa: E731
            service=service, resource=resource, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )
        statements = [
            (
                ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:StopQueryExecution"],
                [arn("athena", f"workgroup/{workgroup}")],
            ),
            (["athena:GetDataCatalog"], [arn("athena", "datacatalog/AwsDataCatalog")]),
            (
                ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"],
                [
                    arn("glue", "catalog"),
                    arn("glue", f"database/{DATABASE}"),
                    arn("glue", f"table/{DATABASE}/*"),
                ],
            ),
            (["lakeformation:GetDataAccess"], ["*"]),  # no resource-level permissions
        ]
        for actions, resources in statements:
            self.machine.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))

    def _schedule(self) -> None:
        self.dead_letters = dead_letter_queue(self, "MissedRuns", of="the scoring schedule")
        role = iam.Role(self, "ScheduleRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        self.machine.grant_start_execution(role)
        self.dead_letters.grant_send_messages(role)
        scheduler.CfnSchedule(
            self,
            "Daily",
            description="Postventa: score every customer (predicted value, VIPs, RFM, recommendations)",
            schedule_expression="cron(0 3 * * ? *)",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                mode="FLEXIBLE", maximum_window_in_minutes=60
            ),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=10
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn
                ),
            ),
        )
