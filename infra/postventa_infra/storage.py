"""State: the single table, Powertools' idempotency table, and the key that encrypts them."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str):
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "DataKey",
            description="Postventa: customer profiles, orders and message log",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table = self._table(
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
            stream=dynamodb.StreamViewType.NEW_IMAGE,  # the analytics archive's source
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name="gsi1",
            partition_key=dynamodb.Attribute(name="gsi1pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="gsi1sk", type=dynamodb.AttributeType.STRING),
        )
        self.idempotency_table = self._table(
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            removal_policy=RemovalPolicy.DESTROY,  # only replay protection, expires within two days anyway
        )

    def _table(
        self,
        construct_id: str,
        *,
        partition_key: dynamodb.Attribute,
        time_to_live_attribute: str,
        removal_policy: RemovalPolicy,
        sort_key: dynamodb.Attribute | None = None,
        stream: dynamodb.StreamViewType | None = None,
        deletion_protection: bool | None = None,
    ) -> dynamodb.Table:
        """On demand, encrypted with our key, point-in-time recovery on. The classic Table
        construct: TableV2 with a customer key needs a region-bound stack, and `cdk synth` must
        work without credentials."""
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=partition_key,
            sort_key=sort_key,
            time_to_live_attribute=time_to_live_attribute,
            stream=stream,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
        )
