"""The engine: claims due records, runs their steps through providers, records outcomes."""
