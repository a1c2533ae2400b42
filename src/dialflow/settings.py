"""Runtime settings, read from ``DIALFLOW_*`` environment variables (and CLI options)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIALFLOW_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/dialflow.db",
        description="sqlite:///path/to.db or postgresql://user@host:port/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 10 * 1024 * 1024
    max_records_per_request: int = 10_000
    chunk_size: int = 1_000
    meta_max_bytes: int = 16_384
    idempotency_ttl_hours: int = 24
