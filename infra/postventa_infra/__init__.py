"""Postventa's infrastructure as code (aws-cdk-lib)."""
