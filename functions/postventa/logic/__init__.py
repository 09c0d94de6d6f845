"""Pure decisions: no boto3, no environment, time passed in."""
