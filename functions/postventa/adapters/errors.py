"""Domain errors the adapters raise instead of botocore's ClientError."""


class SendThrottled(RuntimeError):
    """The provider is throttling: retry later with backoff; nothing was sent.

    The class name is the error name Step Functions sees, and the journey's Retry matches it.
    """


class SendRejected(RuntimeError):
    """The provider refused this message for good (bad address, unverified sender...)."""
