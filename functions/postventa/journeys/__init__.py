"""Journeys as data: the YAML model, its loader, and the compiler to Amazon States Language."""
