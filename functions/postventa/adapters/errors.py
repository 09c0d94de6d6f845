"""Domain errors the adapters raise instead of botocore's ClientError."""

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})


class SendThrottled(RuntimeError):
    """The provider is throttling: retry later with backoff; nothing was sent.

    The class name is the error name Step Functions sees, and the journey's Retry matches it.
    """


class SendRejected(RuntimeError):
    """The provider refused this message for good (bad address, unverified sender...)."""


class RecipientOptedOut(SendRejected):
    """The recipient told the provider to stop (an SMS STOP reply, an uninstalled app)."""


class SendDeferred(RuntimeError):
    """The contact policy holds the message until the time given as the message (ISO 8601 UTC).

    The journey catches it, waits until then and runs the step again (see journeys/compiler.py).
    """

    def __init__(self, until: str, rule: str):
        super().__init__(until)
        self.rule = rule  # the policy rule that held it, for the held-back metric


def provider_error(
    provider: str,
    error: ClientError,
    throttled: frozenset[str] | set[str],
    rejected: frozenset[str] | set[str],
) -> Exception:
    """The domain error for a provider's refusal, or the ClientError itself when it is neither."""
    code = error.response["Error"]["Code"]
    if code in throttled:
        return SendThrottled(f"{provider} throttled the send ({code})")
    if code in rejected:
        return SendRejected(f"{provider} rejected the message ({code})")
    return error
