"""Postventa: serverless post-purchase customer journeys on AWS."""
