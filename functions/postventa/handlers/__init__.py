"""Thin Lambda entry points: parse, call one service, map the result."""
