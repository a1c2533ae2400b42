"""Persistence: tables, engines per dialect, migrations."""
