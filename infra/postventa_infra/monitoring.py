"""Alarms: anything in a dead-letter queue, any failed journey execution, handler errors, and
anything that ends outside the delivery guarantee's happy outcomes (a step given up, an event
dead-lettered, a message failed)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from postventa.models.events import Channel
from postventa_infra.queues import dead_letter_queue

NAMESPACE, SERVICE = "Postventa", "postventa"  # the handlers' Powertools Metrics settings
CHANNELS = [channel.value for channel in Channel]
HOLD_RULES = ["quiet_hours", "min_gap", "priority"]  # the policy's rules that defer (the others drop)
# The handlers' metrics that mean a message or event ended outside sent, suppressed or applied.
GUARANTEE_ALARMS = {
    "StepFailed": "A journey step failed after its retries: the journey went on; the message log says why",
    "EventDeadLettered": "An event could not be applied: it waits in a dead-letter queue with its reason",
    "Message_failed": "A message failed for good (rejected, or its outcome unknown after a crash)",
    "CeilingReached": "A customer reached the daily ceiling of messages: a journey may be looping",
    "ShopRedactRequested": "Shopify asked for the shop's data to be erased (shop/redact): remove the stack's data",
}


def app_metric(name: str, label: str | None = None) -> cloudwatch.Metric:
    """A count the handlers publish through Powertools Metrics, per five minutes."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE},
        statistic="Sum",
        period=Duration.minutes(5),
        label=label,  # an alarm's metric has none: a labelled one would synthesize as metric math
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: dict[str, sqs.IQueue],
        machines: dict[str, sfn.StateMachine],
        functions: dict[str, lambda_.IFunction],
        alarm_email: str | None,
    ):
        super().__init__(scope, construct_id)
        key = kms.Key(
            self, "AlarmTopicKey", enable_key_rotation=True, description="Postventa alarm notifications"
        )
        key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(self, "Alarms", master_key=key, enforce_ssl=True)
        self.undelivered_alarms: sqs.Queue | None = None
        if alarm_email:
            # An alarm SNS could not mail is kept here (14 days), not lost.
            self.undelivered_alarms = dead_letter_queue(
                self, "UndeliveredAlarms", of="the alarm email subscription"
            )
            self.topic.add_subscription(
                subscriptions.EmailSubscription(alarm_email, dead_letter_queue=self.undelivered_alarms)
            )
        action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            self.alarms.append(created)

        for name, dead_letters in dead_letter_queues.items():
            alarm(
                f"{name}Depth",
                dead_letters.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                f"Messages are waiting in {name}: read the reason attribute, fix, then redrive",
            )
        for name, machine in machines.items():
            alarm(
                f"{name}Failed",
                machine.metric_failed(period=Duration.minutes(5)),
                f"A {name} journey execution failed",
            )
        for name, function in functions.items():
            alarm(
                f"{name}Errors", function.metric_errors(period=Duration.minutes(5)), f"{name} raised errors"
            )
        for metric_name, description in GUARANTEE_ALARMS.items():
            alarm(f"{metric_name.replace('_', '')}Guarantee", app_metric(metric_name), description)

    def dashboard(self, *, ingest_queue: sqs.IQueue) -> cloudwatch.Dashboard:
        """Operations at a glance: events in, sends by channel, messages held back by reason,
        dead-letter depth, errors. Business KPIs are in Athena and `postventa report`."""

        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=12, height=6, stacked=True)

        board = cloudwatch.Dashboard(self, "Dashboard", dashboard_name="postventa")
        board.add_widgets(
            graph(
                "Events in",
                [
                    app_metric("EventsReceived", "events handled by on_order"),
                    ingest_queue.metric_approximate_age_of_oldest_message(label="oldest waiting (s)"),
                ],
            ),
            graph("Sends by channel", [app_metric(f"Sent_{channel}", channel) for channel in CHANNELS]),
        )
        board.add_widgets(
            graph("Messages held back, by rule", [app_metric(f"Held_{rule}", rule) for rule in HOLD_RULES]),
            graph(
                "Messages not sent",
                [app_metric("Message_suppressed", "suppressed"), app_metric("Message_failed", "failed")],
            ),
        )
        board.add_widgets(
            graph(
                "Dead-letter queues (depth)",
                [
                    alarm.metric
                    for alarm in self.alarms
                    if alarm.node.id.endswith("Depth")  # one per dead-letter queue
                ],
            ),
            graph(
                "Errors",
                [
                    alarm.metric
                    for alarm in self.alarms
                    if alarm.node.id.endswith(("Errors", "Failed", "Guarantee"))
                ],
            ),
        )
        return board
