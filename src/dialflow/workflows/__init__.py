"""Workflows: their definition (steps, schedule, retry policy) and lifecycle."""
