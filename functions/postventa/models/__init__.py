"""Pydantic models at every edge: inbound events, stored records, settings."""
