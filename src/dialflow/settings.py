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
    # Server processes sharing the port (`serve --workers N`).
    workers: int = 1
    max_body_bytes: int = 10 * 1024 * 1024
    max_records_per_request: int = 10_000
    chunk_size: int = 1_000
    meta_max_bytes: int = 16_384
    idempotency_ttl_hours: int = 24
    # The engine inside `serve` (a `worker` always runs it).
    dialer: bool = True
    dialer_batch_size: int = 500
    dialer_max_in_flight: int = 2_000
    dialer_lease_seconds: float = 30.0
    dialer_poll_seconds: float = 1.0
    # The simulator provider: a fixed seed repeats the same outcomes; time_scale 1.0 is real
    # time, 0.02 plays a 2-minute call in 2.4 s, 0 ends calls at once.
    simulator_seed: int | None = None
    simulator_time_scale: float = 0.02
    public_url: str | None = None
    # Webhook deliveries, run wherever the engine runs.
    webhook_batch_size: int = 200
    webhook_max_in_flight: int = 128
    webhook_timeout_seconds: float = 10.0
    # Deliveries to private, loopback and link-local addresses are refused unless allowed
    # (`make serve` allows them for local development; tests post to loopback).
    webhook_allow_private: bool = False
