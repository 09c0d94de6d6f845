"""The analytics path: the table's stream -> EventBridge Pipe -> Firehose (a Lambda turns each change
into an archive row, partitioned by table and day) -> S3; Glue tables over it; Athena runs the
same KPI queries that `postventa report` runs locally with DuckDB."""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from constructs import Construct

from postventa.adapters.files import AudienceFiles
from postventa.analytics.archive import PARTITION_BY, TABLES
from postventa.analytics.queries import NOW_IN_ATHENA, QUERIES, query_text
from postventa_infra.nag import acknowledge, arn_of, key_grants
from postventa_infra.queues import dead_letter_queue

DATABASE = "postventa"
ARCHIVE_PREFIX = "archive"
# The table's items that are analytics; everything else (profiles, claims, ledgers, waits) stays out.
AUDIENCE_PREFIX = AudienceFiles.PREFIX
ARCHIVED = [
    {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["ORDER"]}}}},
    {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "MESSAGE#"}]}}}},
    {
        "eventName": ["INSERT"],
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "DECISION#"}, {"prefix": "NPS#"}]}}},
    },
]


class Analytics(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.Table,
        key: kms.IKey,
        transform: lambda_.IFunction,
        retention: Duration,
    ):
        """retention: how long archived rows are kept (then S3 deletes them)."""
        super().__init__(scope, construct_id)
        # Who read or wrote the archive: S3 server access logs, kept a year. Log delivery writes
        # with S3-managed keys only, so this bucket cannot use ours.
        self.access_logs = s3.Bucket(
            self,
            "ArchiveAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        self.bucket = s3.Bucket(
            self,
            "Archive",
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="archive/",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    prefix=f"{ARCHIVE_PREFIX}/",
                    expiration=retention,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                            transition_after=Duration.days(30),
                        )
                    ],
                ),
                s3.LifecycleRule(prefix="athena-results/", expiration=Duration.days(30)),
                s3.LifecycleRule(prefix="exports/", expiration=Duration.days(30)),  # Shopify's 30 days
                # Hashed, consented ad lists: each day's replaces the last, kept a month to compare.
                s3.LifecycleRule(prefix=AUDIENCE_PREFIX, expiration=Duration.days(30)),
            ],
        )
        self.stream = firehose.DeliveryStream(
            self,
            "ArchiveStream",
            encryption=firehose.StreamEncryption.customer_managed_key(key),
            destination=firehose.S3Bucket(
                self.bucket,
                data_output_prefix=f"{ARCHIVE_PREFIX}/!{{partitionKeyFromLambda:table}}/dt=!{{partitionKeyFromLambda:dt}}/",
                error_output_prefix="errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/",
                dynamic_partitioning=firehose.DynamicPartitioningProps(enabled=True),
                processors=[
                    firehose.LambdaFunctionProcessor(
                        transform, buffer_interval=Duration.seconds(60), buffer_size=Size.mebibytes(1)
                    )
                ],
                buffering_interval=Duration.seconds(300),
                buffering_size=Size.mebibytes(64),
                compression=firehose.Compression.GZIP,
                file_extension=".json.gz",
                encryption_key=key,
            ),
        )
        self.dead_letters = dead_letter_queue(self, "ArchiveDeadLetters", of="the archive Pipe")
        self._pipe(table)
        self._catalog()
        self.workgroup = self._workgroup(key)
        # The Firehose construct maps its service's CIDR blocks for Redshift and HTTP destinations; ours is S3.
        Stack.of(self).node.try_remove_child("@aws-cdk--aws-kinesisfirehose.CidrBlocks")  # "/" becomes "--"
        self._acknowledge(transform)

    def _acknowledge(self, transform: lambda_.IFunction) -> None:
        acknowledge(self.stream.node.find_child("Service Role"), key_grants("archive key"))
        acknowledge(
            self.stream.node.find_child("S3 Destination Role"),
            {
                **key_grants("archive key"),
                **{
                    f"IAM5[Action::s3:{action}]": "CDK's bucket grant to Firehose: writes and multipart uploads in the archive bucket only"
                    for action in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
                },
                f"IAM5[Resource::{arn_of(self.bucket)}/*]": "Firehose writes objects under partition prefixes made at delivery time",
                f"IAM5[Resource::{arn_of(transform)}:*]": "CDK's grantInvoke also covers the transformation function's versions",
            },
        )
        acknowledge(
            self.access_logs,
            {
                "S1": "This bucket receives the archive's server access logs; logging it into itself would loop"
            },
        )
        acknowledge(
            self.node.find_child("PipeRole"),
            {
                "IAM5[Resource::*]": "dynamodb:ListStreams, part of CDK's stream-read grant, has no resource-level permissions"
            },
        )

    def allow_exports_and_erasure(self, function: lambda_.IFunction) -> None:
        """on_order answers Customer Data Requested with an export under exports/, and erasure reads
        and rewrites the archive objects that hold an erased customer's rows."""
        bucket = self.bucket
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=[bucket.arn_for_objects("exports/*")])
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects("archive/*")]
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["archive/*"]}},
            )
        )
        acknowledge(
            function.role,  # type: ignore[arg-type]
            {
                f"IAM5[Resource::{arn_of(bucket)}/exports/*]": "PutObject only: one data export per request under "
                "exports/, named by the request id",
                f"IAM5[Resource::{arn_of(bucket)}/archive/*]": "Erasure: reads and rewrites the archive objects that "
                "hold an erased customer's rows; day partitions are named at delivery time",
            },
        )

    def allow_audience_lists(self, function: lambda_.Function) -> lambda_.Function:
        """export_audiences lists the days written under audiences/<name>/, reads the latest
        earlier list and writes the day's."""
        bucket = self.bucket
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{AUDIENCE_PREFIX}*")],
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{AUDIENCE_PREFIX}*"]}},
            )
        )
        acknowledge(
            function.role,  # type: ignore[arg-type]
            {
                f"IAM5[Resource::{arn_of(bucket)}/{AUDIENCE_PREFIX}*]": "Reads and writes the ad lists under "
                "audiences/, one folder per audience and day",
            },
        )
        return function

    def _pipe(self, table: dynamodb.Table) -> None:
        """The stream's analytics items to Firehose; failed batches are split, retried, then dead-lettered."""
        role = iam.Role(self, "PipeRole", assumed_by=iam.ServicePrincipal("pipes.amazonaws.com"))
        table.grant_stream_read(role)
        self.stream.grant_put_records(role)
        self.dead_letters.grant_send_messages(role)
        assert table.table_stream_arn is not None
        pipes.CfnPipe(
            self,
            "ArchivePipe",
            role_arn=role.role_arn,
            source=table.table_stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position="TRIM_HORIZON",
                    batch_size=100,
                    maximum_batching_window_in_seconds=10,
                    maximum_retry_attempts=10,
                    on_partial_batch_item_failure="AUTOMATIC_BISECT",
                    dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(
                        arn=self.dead_letters.queue_arn
                    ),
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=json.dumps(rule)) for rule in ARCHIVED]
                ),
            ),
            target=self.stream.delivery_stream_arn,
        )

    def _catalog(self) -> None:
        """One Glue table per archive table, its days found by partition projection (no crawler)."""
        stack = Stack.of(self)
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=DATABASE, description="Postventa's archive: orders, messages, assignments, surveys"
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for name, columns in TABLES.items():
            location = f"s3://{self.bucket.bucket_name}/{ARCHIVE_PREFIX}/{name}/"
            created = glue.CfnTable(
                self,
                f"{name.capitalize()}Table",
                catalog_id=stack.account,
                database_name=DATABASE,
                table_input=glue.CfnTable.TableInputProperty(
                    name=name,
                    table_type="EXTERNAL_TABLE",
                    description=f"Archived {name}, one JSON row each, by day of {PARTITION_BY[name]}",
                    partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                    parameters={
                        "classification": "json",
                        "projection.enabled": "true",
                        "projection.dt.type": "date",
                        "projection.dt.format": "yyyy-MM-dd",
                        "projection.dt.range": "2020-01-01,NOW",
                        "projection.dt.interval": "1",
                        "projection.dt.interval.unit": "DAYS",
                        "storage.location.template": location + "dt=${dt}/",
                    },
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        location=location,
                        columns=[glue.CfnTable.ColumnProperty(name=c, type=t) for c, _, t in columns],
                        input_format="org.apache.hadoop.mapred.TextInputFormat",
                        output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library="org.openx.data.jsonserde.JsonSerDe",
                            parameters={"timestamp.formats": "yyyy-MM-dd HH:mm:ss.SSSSSS"},
                        ),
                    ),
                ),
            )
            created.node.add_dependency(database)
            self.tables[name] = created

    def _workgroup(self, key: kms.IKey) -> athena.CfnWorkGroup:
        """Results encrypted with our key and kept 30 days; a runaway query stops at 10 GB scanned."""
        workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name="postventa",
            description="Postventa's KPI queries",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=10 * 1024**3,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/athena-results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        for name in QUERIES:
            query = athena.CfnNamedQuery(
                self,
                f"{name.capitalize()}Query",
                database=DATABASE,
                work_group=workgroup.ref,
                name=f"postventa-{name}",
                description=f"The {name} KPIs, as `postventa report` computes them locally",
                query_string=query_text(name, NOW_IN_ATHENA),
            )
            query.node.add_dependency(workgroup)
        return workgroup
