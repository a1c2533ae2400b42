"""Idempotency-Key: a repeated request returns the first response and writes nothing."""
