"""The Lambda functions: one asset (functions/postventa), one dependency layer, least-privilege
grants, and each function's environment: the settings it reads (composition.SETTINGS_USED)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Size, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from postventa.composition import SETTINGS_USED
from postventa.journeys.compiler import state_machine_name
from postventa.journeys.library import Library
from postventa.logic.links import ROTATION_DAYS
from postventa.models.actions import ACTION_REQUESTED, ACTIONS_SOURCE
from postventa.models.consent import CONSENT_CHANGED, CONSENT_SOURCE
from postventa.models.settings import Settings
from postventa_infra.ingest import Ingest
from postventa_infra.layer import RUNTIME_PYTHON, build_code, build_layer
from postventa_infra.log_groups import log_group
from postventa_infra.nag import XRAY, acknowledge, arn_of, key_grants
from postventa_infra.queues import dead_letter_queue
from postventa_infra.stable_ids import keep_logical_id
from postventa_infra.storage import Storage

RUNTIME = lambda_.Runtime.PYTHON_3_13  # layer.RUNTIME_PYTHON: the version the built assets are checked on
# x86_64, as the build machines are: the assets are imported there on the runtime's own Python
# before they ship (arm64 is a fifth cheaper per millisecond, and could not be checked here).
ARCHITECTURE = lambda_.Architecture.X86_64


class Handlers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: Storage,
        ingest: Ingest,
        observability: dict[str, str],
        settings: dict[str, str],
        state_machine_arns: dict[str, str],
        sender_identity_arn: str,
        configuration_set_arn: str,
        signing_secret: secretsmanager.ISecret,
        library: Library,
    ):
        """observability: Powertools' variables, for every function; settings: values by
        Settings field, each given only to the functions that read it; library: the journeys and
        templates the code is built with."""
        super().__init__(scope, construct_id)
        self._functions: dict[str, lambda_.Function] = {}
        self._storage = storage
        settings = {**settings, "state_machines": Stack.of(self).to_json_string(state_machine_arns)}
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(build_layer(library=library))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools, pydantic, Jinja2, boto3 and the rest of Postventa's runtime dependencies",
        )
        # numpy and scipy for the scoring job only.
        analytics_layer = lambda_.LayerVersion(
            self,
            "AnalyticsDependencies",
            code=lambda_.Code.from_asset(str(build_layer("analytics"))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="numpy and scipy for the scoring job's value models",
        )
        code = lambda_.Code.from_asset(str(build_code(library=library)))
        # The backtest's workers: the replay and the local engine beside the functions' code, and JSONata.
        backtest_code = lambda_.Code.from_asset(str(build_code(backtest=True, library=library)))
        backtest_layer = lambda_.LayerVersion(
            self,
            "BacktestDependencies",
            code=lambda_.Code.from_asset(str(build_layer("backtest"))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="jsonata-python for the backtest's local engine",
        )

        def function(
            construct_id: str,
            module: str,
            timeout: Duration,
            *,
            memory: int = 512,
            analytics: bool = False,
            backtest: bool = False,
        ) -> lambda_.Function:
            logs = log_group(self, f"{construct_id}Logs")
            # Its own role, writing to its own log group only (not the managed basic execution role).
            role = iam.Role(
                self, f"{construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
            )
            logs.grant_write(role)
            created = lambda_.Function(
                self,
                construct_id,
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                code=backtest_code if backtest else code,
                handler=f"postventa.{'backtest' if backtest else 'handlers'}.{module}.lambda_handler",
                layers=[
                    layer,
                    *([analytics_layer] if analytics else []),
                    *([backtest_layer] if backtest else []),
                ],
                memory_size=memory,
                # the backtest's idle customers wait in a temporary SQLite file (adapters/memory.CustomerShelf)
                ephemeral_storage_size=Size.gibibytes(2) if backtest else None,
                timeout=timeout,
                tracing=lambda_.Tracing.ACTIVE,
                log_group=logs,
                role=role,
                environment={
                    **observability,
                    **{
                        _variable(name): value
                        for name, value in settings.items()
                        if name in SETTINGS_USED[module]
                    },
                },
            )
            Validations.of(created).acknowledge(
                Acknowledgment(
                    id="AwsSolutions::AwsSolutions-L1",
                    reason=f"Python {RUNTIME_PYTHON}, supported by Lambda until 2029: the runtime the build "
                    "machine has, so every handler is imported from the built assets on it before they ship",
                )
            )
            acknowledge(role, XRAY)  # every function is traced
            self._functions[module] = created
            return created

        self._function = function
        self.on_order = function("OnOrder", "on_order", Duration.seconds(30))
        self.run_step = function("RunStep", "run_step", Duration.seconds(30))
        self.register_wait = function("RegisterWait", "register_wait", Duration.seconds(10))
        self.occasions = function("Occasions", "occasions", Duration.minutes(5))
        self.on_engagement = function("OnEngagement", "on_engagement", Duration.seconds(30))
        self.on_sms_status = function("OnSmsStatus", "on_sms_status", Duration.seconds(30))
        self.preferences = function("Preferences", "preferences", Duration.seconds(10))
        self.archive = function("Archive", "archive", Duration.minutes(1))  # Firehose's transformation
        # The scoring job: a fit that streams the whole summary once, and batches that score and write.
        self.score_fit = function("ScoreFit", "score_fit", Duration.minutes(15), memory=3008, analytics=True)
        self.rotate_link_key = function("RotateLinkKey", "rotate_link_key", Duration.seconds(30))
        self.score_batch = function(
            "ScoreBatch", "score_batch", Duration.minutes(5), memory=1024, analytics=True
        )
        self.record_winners = function(
            "RecordWinners", "record_winners", Duration.minutes(2), memory=512, analytics=True
        )
        # A history too large for one machine, replayed on AWS (backtest.py): one partition per
        # worker, within Lambda's 15 minutes (partitions.ORDERS_PER_PARTITION); 2 GB, about a vCPU
        # (the replay is single-threaded), and room for the partition's customers in flight.
        self.backtest_replay = function(
            "BacktestReplay", "backtest_replay", Duration.minutes(15), memory=2048, backtest=True
        )
        self.backtest_merge = function(
            "BacktestMerge", "backtest_merge", Duration.minutes(5), memory=1024, backtest=True
        )
        self.on_engagement.add_event_source(
            SqsEventSource(
                ingest.engagement_queue, batch_size=10, report_batch_item_failures=True, max_concurrency=10
            )
        )

        self.on_order.add_event_source(
            SqsEventSource(
                ingest.ingest_queue, batch_size=10, report_batch_item_failures=True, max_concurrency=20
            )
        )

        for handler in (
            self.on_order,
            self.run_step,
            self.register_wait,
            self.on_engagement,
        ):
            storage.table.grant_read_write_data(handler)
        # Internet-facing: one customer's profile and message, read and written back; no scan,
        # query, batch or delete (the signed link names the customer, the code reads only them).
        storage.table.grant(self.preferences, "dynamodb:GetItem", "dynamodb:PutItem")
        storage.key.grant_encrypt_decrypt(self.preferences)
        ingest.invalid_events.grant_send_messages(self.on_engagement)
        # CloudWatch Logs and EventBridge invoke it asynchronously: twice retried, then kept with
        # the error. A text found by its id (the index) or its number, one message and profile
        # written, the execution's wait for Message Undelivered resumed and deleted.
        storage.table.grant(
            self.on_sms_status,
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        )
        storage.key.grant_encrypt_decrypt(self.on_sms_status)
        ingest.invalid_events.grant_send_messages(self.on_sms_status)
        self.sms_status_failures = dead_letter_queue(
            self, "SmsStatusFailures", of="on_sms_status's invocations"
        )
        self.on_sms_status.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.sms_status_failures), retry_attempts=2
        )
        storage.table.grant_read_data(self.occasions)
        self._may_publish(self.occasions, ingest.bus, "postventa.occasions", "Occasion Reached")
        self._may_publish(self.preferences, ingest.bus, "postventa.preferences", "Survey Answered")
        for chooser in (self.preferences, self.on_engagement):  # the centre, unsubscribes, STOP replies
            self._may_publish(chooser, ingest.bus, CONSENT_SOURCE, CONSENT_CHANGED)
        for handler in (self.on_order, self.run_step):
            storage.idempotency_table.grant_read_write_data(handler)
        ingest.invalid_events.grant_send_messages(self.on_order)
        for signer in (self.run_step, self.preferences):
            signing_secret.grant_read(signer)
        # Rotated every 30 days; links live 90, and the value keeps the keys that signed them.
        signing_secret.add_rotation_schedule(
            "Rotation", rotation_lambda=self.rotate_link_key, automatically_after=Duration.days(ROTATION_DAYS)
        )

        machines = list(state_machine_arns.values())
        self._machines = machines
        executions = [arn.replace(":stateMachine:", ":execution:", 1) + ":*" for arn in machines]
        self.on_order.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=machines)
        )
        self.on_order.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StopExecution"], resources=executions)
        )
        # resume parked waits
        for handler in (self.on_order, self.register_wait, self.on_engagement, self.on_sms_status):
            handler.add_to_role_policy(
                iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=machines)
            )
        self.run_step.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ses:SendEmail"], resources=[sender_identity_arn, configuration_set_arn]
            )
        )
        self._acknowledge(storage, state_machine_arns)

    def _acknowledge(self, storage: Storage, state_machine_arns: dict[str, str]) -> None:
        """The findings these functions' grants raise, each with its reason."""
        table_grant = {
            **key_grants("table"),
            f"IAM5[Resource::{arn_of(storage.table)}/index/*]": "Queries the table's own indexes (order history by customer)",
        }
        for function in (
            self.on_order,
            self.run_step,
            self.register_wait,
            self.occasions,
            self.on_engagement,
            self.preferences,
            self.on_sms_status,
        ):
            acknowledge(function.role, table_grant)  # type: ignore[arg-type]  # each has its own role
        acknowledge(
            self.run_step.role,  # type: ignore[arg-type]
            {
                "IAM5[Resource::*]": "X-Ray tracing, and SNS's CheckIfPhoneNumberIsOptedOut, which has no "
                "resource (Publish is allowed on NotResource topics: phone numbers only)",
            },
        )
        acknowledge(
            self.on_order.role,  # type: ignore[arg-type]
            {
                f"IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{state_machine_name(name)}:*]": "Stops executions of our own journey state machine at an exit goal; execution names are made per customer"
                for name in state_machine_arns
            },
        )
        acknowledge(
            self.rotate_link_key.role,  # type: ignore[arg-type]
            {
                "IAM5[Resource::*]": "X-Ray tracing, and secretsmanager:GetRandomPassword, which CDK grants "
                "rotation functions and which has no resource"
            },
        )

    def configure(self, name: str, value: str) -> None:
        """A setting known once other constructs exist: given to each function that reads it."""
        for module, function in self._functions.items():
            if name in SETTINGS_USED[module]:
                function.add_environment(_variable(name), value)

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        """Every function, by handler module."""
        return dict(self._functions)

    @staticmethod
    def _may_publish(
        function: lambda_.Function, bus: events.IEventBus, source: str, detail_type: str
    ) -> None:
        """A publisher may put its own events only: its source and detail-type, on our bus."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
                conditions={"StringEquals": {"events:source": source, "events:detail-type": detail_type}},
            )
        )

    def accept_shopify_compliance(self, bus: events.IEventBus) -> None:
        """The preference centre's API also takes Shopify's compliance webhooks (HTTPS only),
        signed with the Shopify app's client secret: its value is set from the Partner Dashboard
        (Shopify rotates it there, not this stack)."""
        secret = secretsmanager.Secret(
            self, "ShopifyWebhookSecret", description="The Shopify app's client secret (webhook HMAC)"
        )
        keep_logical_id(secret)
        acknowledge(
            secret,
            {
                "SMG4": "The Shopify app's client secret: Shopify issues and rotates it in the Partner Dashboard"
            },
        )
        secret.grant_read(self.preferences)
        self.configure("shopify_webhook_secret_id", secret.secret_arn)
        self._may_publish(self.preferences, bus, "postventa.shopify", "Customer Erasure Requested")
        self._may_publish(self.preferences, bus, "postventa.shopify", "Customer Data Requested")

    def consent_writer(self) -> lambda_.Function:
        """write_consent, made only for a shop that set up the Shopify write-back (storefront.py)."""
        return self._function("WriteConsent", "write_consent", Duration.seconds(30))

    def audience_exporter(self) -> lambda_.Function:
        """export_audiences, made only when the library names audiences: it reads every profile
        and survey answer (a Scan, the table's only one); the key also encrypts its lists (the
        archive bucket's)."""
        exporter = self._function("ExportAudiences", "export_audiences", Duration.minutes(15), memory=1024)
        table = self._storage.table
        table.grant(exporter, "dynamodb:Scan")
        self._storage.key.grant_encrypt_decrypt(exporter)
        acknowledge(
            exporter.role,  # type: ignore[arg-type]
            {
                **key_grants("table"),
                f"IAM5[Resource::{arn_of(table)}/index/*]": "CDK's table grant names the indexes too; "
                "the only action is Scan, of the table",
            },
        )
        return exporter

    def app_inbox(self) -> tuple[lambda_.Function, secretsmanager.Secret]:
        """The app inbox's function, made only when a journey sends to the inbox, and its
        identity-verification key, which the shop's backend reads to sign its app's customers in.
        Internet-facing: the signed-in customer's cards (a Query of their partition) and one
        message read and written back, the execution's wait for Message Opened resumed and deleted."""
        key = secretsmanager.Secret(
            self,
            "InboxKey",
            description="Postventa app inbox: the shop's backend signs customer ids with this key",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
        )
        acknowledge(
            key,
            {
                "SMG4": "The shop's backend and its app's sessions hold signatures made with it: a rotation "
                "signs every app user out, so the shop rotates it when it chooses (docs/architecture.md)"
            },
        )
        inbox = self._function("Inbox", "inbox", Duration.seconds(10))
        table = self._storage.table
        table.grant(
            inbox,
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        self._storage.key.grant_encrypt_decrypt(inbox)
        key.grant_read(inbox)
        inbox.add_to_role_policy(
            iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=self._machines)
        )
        acknowledge(
            inbox.role,  # type: ignore[arg-type]
            {
                **key_grants("table"),
                f"IAM5[Resource::{arn_of(table)}/index/*]": "CDK's table grant names the indexes too; "
                "the code queries the signed-in customer's partition of the table only",
            },
        )
        self.configure("inbox_key_secret_id", key.secret_arn)
        return inbox, key

    def allow_calls(self, bus: events.IEventBus) -> None:
        """Call steps: run_step publishes each call on the bus, for its destination's rule."""
        self._may_publish(self.run_step, bus, ACTIONS_SOURCE, ACTION_REQUESTED)

    def allow_texts_and_push(self, push_app_arn: str | None) -> None:
        """SMS, and push when the shop has an End User Messaging push application."""
        # SMS to a phone number has no resource ARN: Publish is allowed on everything but a topic
        # (NotResource), so only phone numbers; the opt-out check has no resource at all.
        self.run_step.add_to_role_policy(
            iam.PolicyStatement(actions=["sns:Publish"], not_resources=["arn:*:sns:*:*:*"])
        )
        self.run_step.add_to_role_policy(
            iam.PolicyStatement(actions=["sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"])
        )
        if push_app_arn:
            self.run_step.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["mobiletargeting:SendMessages"], resources=[f"{push_app_arn}/messages"]
                )
            )


def _variable(name: str) -> str:
    """The environment variable Settings reads a field from."""
    if name not in Settings.model_fields:
        raise KeyError(f"{name!r} is not a Settings field")
    return f"POSTVENTA_{name.upper()}"
