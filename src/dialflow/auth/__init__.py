"""API keys and workspace scoping."""
