"""Calls (attempts) and their recordings."""
