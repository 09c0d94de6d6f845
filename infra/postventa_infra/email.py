"""The email channel's own resources: the SES identity Postventa sends as, the configuration set
whose events (send, delivery, open, click, bounce, complaint) come back through the default bus,
and the DNS records the shop adds so SES may send as its domain."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_ses as ses
from constructs import Construct

from postventa_infra.stable_ids import keep_logical_id


class EmailChannel(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sender_domain: str,
        mail_from_domain: str | None,
        configuration_set: str,
        engagement_bus: events.IEventBus,
    ):
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(sender_domain),
            # A custom MAIL FROM (e.g. mail.shop.example) aligns SPF with the sender's domain for DMARC.
            mail_from_domain=mail_from_domain,
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=configuration_set,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            reputation_metrics=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        engagement = self.configuration_set.add_event_destination(
            "Engagement",
            destination=ses.EventDestination.event_bus(engagement_bus),
            events=[
                ses.EmailSendingEvent.SEND,  # proof of a send whose record was interrupted
                ses.EmailSendingEvent.DELIVERY,
                ses.EmailSendingEvent.OPEN,
                ses.EmailSendingEvent.CLICK,
                ses.EmailSendingEvent.BOUNCE,
                ses.EmailSendingEvent.COMPLAINT,
                ses.EmailSendingEvent.REJECT,
                ses.EmailSendingEvent.DELIVERY_DELAY,
            ],
        )
        for construct in (self.identity, self.configuration_set, engagement):
            keep_logical_id(construct)
        self.identity_arn = stack.format_arn(service="ses", resource="identity", resource_name=sender_domain)
        self.configuration_set_arn = stack.format_arn(
            service="ses", resource="configuration-set", resource_name=configuration_set
        )
        self._dns_records(mail_from_domain)

    def _dns_records(self, mail_from_domain: str | None) -> None:
        """The DNS records the shop adds: Easy DKIM's three CNAMEs, and for a custom MAIL FROM
        domain its MX and SPF records (stack outputs, named as before)."""
        stack, identity = Stack.of(self), self.identity
        for number, (name, value) in enumerate(
            [
                (identity.dkim_dns_token_name1, identity.dkim_dns_token_value1),
                (identity.dkim_dns_token_name2, identity.dkim_dns_token_value2),
                (identity.dkim_dns_token_name3, identity.dkim_dns_token_value3),
            ],
            start=1,
        ):
            CfnOutput(stack, f"DkimRecord{number}", value=f"{name} CNAME {value}")
        if mail_from_domain:
            CfnOutput(
                stack,
                "MailFromMxRecord",
                value=f"{mail_from_domain} MX 10 feedback-smtp.{stack.region}.amazonses.com",
            )
            CfnOutput(
                stack,
                "MailFromSpfRecord",
                value=f'{mail_from_domain} TXT "v=spf1 include:amazonses.com ~all"',
            )
