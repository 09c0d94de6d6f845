"""What can go wrong in a step, as the services see it; the adapters raise these instead of
botocore's (adapters/errors.py decides which is which).

The class names are the error names Step Functions sees: the journey's Retry and Catch match them.
"""

from __future__ import annotations


class SendThrottled(RuntimeError):
    """The provider is throttling or paused: retry later with backoff; nothing was sent."""


class SendRejected(RuntimeError):
    """The provider refused this message for good (bad address, unverified sender...)."""


class RecipientOptedOut(SendRejected):
    """The recipient told the provider to stop (an SMS STOP reply, an uninstalled app)."""


class SendUnknown(RuntimeError):
    """The provider's answer was lost (read timeout, connection closed): it may have accepted the
    message. The claim stays in place, so the message is never handed over again blindly."""


class StepRetryable(RuntimeError):
    """A transient failure (throttling, 5xx, timeout, connection, another attempt in progress).
    Nothing the step decided was kept: the journey retries it with backoff."""


class SendDeferred(RuntimeError):
    """The contact policy holds the message until the time given as the message (ISO 8601 UTC).

    The journey catches it, waits until then and runs the step again (see journeys/compiler.py).
    """

    def __init__(self, until: str, rule: str):
        super().__init__(until)
        self.rule = rule  # the policy rule that held it, for the held-back metric


def describe(error: BaseException) -> str:
    """For a dead-letter reason or a message log: the error's type and text, never the event."""
    return f"{type(error).__name__}: {str(error)[:300]}"


class EventsNotPublished(RuntimeError):
    """EventBridge answered that it did not take the events (an error, or failed entries):
    nothing of them was published, so publishing them again cannot make a second."""


class ConsentRefused(ValueError):
    """The storefront refused a consent change (a customer without the email or phone, one it
    does not know): the event waits in the dead-letter queue with its words."""
