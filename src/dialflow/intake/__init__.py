"""The one ingestion pipeline: decode -> validate -> dedup -> write -> per-record results."""
