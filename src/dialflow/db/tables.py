"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` must match it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from dialflow.db.types import Json, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A big integer that is INTEGER on SQLite, so it aliases the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("transfer_number", String(20)),
    Column("timezone", String(64), nullable=False, server_default="America/New_York"),
    # Calls in flight across all of the workspace's workflows; NULL = no cap.
    Column("max_concurrent_calls", Integer),
    Column("created_at", UtcDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("key", String(16), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("definition", Json, nullable=False),
    Column("ends_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_workflows_workspace_id_id", "workspace_id", "id"),
)

lists = Table(
    "lists",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("workflow_id", Id, ForeignKey("workflows.id"), nullable=False),
    Column("name", String(200)),
    Column("source", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("accepted", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("duplicate", Integer, nullable=False, server_default="0"),
    Column("invalid", Integer, nullable=False, server_default="0"),
    Column("suppressed", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("cancelled_at", UtcDateTime()),
    # Set once, when every record of the list is terminal and list.completed was emitted.
    Column("completed_at", UtcDateTime()),
    Index("ix_lists_workflow_id_id", "workflow_id", "id"),
)

RECORD_COLUMNS = (
    "id",
    "workspace_id",
    "workflow_id",
    "list_id",
    "dedup_key",
    "phone",
    "phones",
    "first_name",
    "last_name",
    "email",
    "zip",
    "timezone",
    "timezone_source",
    "timezone_candidates",
    "priority",
    "placeholders",
    "meta",
    "external_id",
    "case_id",
    "external_provider",
    "external_url",
    "profile_id",
    "transfer_number",
    "status",
    "cycle",
    "step_id",
    "attempts",
    "dispatch_rank",
    "cycle_started_at",
    "next_due_at",
    "created_at",
    "updated_at",
)

records = Table(
    "records",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    # No foreign keys on the three parents: checking them per row cost PostgreSQL about two
    # fifths of a bulk COPY (migration 0008). Workspaces, workflows and lists are never
    # deleted, and intake reads the workflow and writes the list before the records naming them.
    Column("workspace_id", Id, nullable=False),
    Column("workflow_id", Id, nullable=False),
    Column("list_id", BigInteger),
    # One live record per key and workflow: the phone, the external id, or NULL (no dedup).
    Column("dedup_key", String(200)),
    Column("phone", String(20), nullable=False),
    Column("phones", Json, nullable=False),
    Column("first_name", String(80)),
    Column("last_name", String(80)),
    Column("email", String(254)),
    Column("zip", String(10)),
    Column("timezone", String(64), nullable=False),
    Column("timezone_source", String(16), nullable=False),
    Column("timezone_candidates", Json),
    # NULL is a hot lead, dialed before any numbered priority; 10 is the highest number.
    Column("priority", Integer),
    Column("placeholders", Json, nullable=False),
    Column("meta", Json),
    Column("external_id", String(200)),
    Column("case_id", String(200)),
    Column("external_provider", String(100)),
    Column("external_url", String(2000)),
    Column("profile_id", String(200)),
    Column("transfer_number", String(20)),
    Column("status", String(16), nullable=False),
    Column("cycle", Integer, nullable=False, server_default="1"),
    Column("step_id", String(64)),
    Column("day", Integer, nullable=False, server_default="1"),
    Column("call", Integer, nullable=False, server_default="1"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Call attempts per phone type in this cycle, e.g. {"MOBILE": 2}.
    Column("phone_attempts", Json),
    # Claim order: hot leads first, then priority 10..1, unattempted before retries.
    Column("dispatch_rank", Integer, nullable=False, server_default="0"),
    Column("cycle_started_at", UtcDateTime()),
    Column("workflow_ended", Boolean, nullable=False, server_default=text("false")),
    Column("final_outcome", String(32)),
    Column("next_due_at", UtcDateTime()),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index(
        "uq_records_workflow_id_dedup_key",
        "workflow_id",
        "dedup_key",
        unique=True,
        sqlite_where=text("dedup_key IS NOT NULL"),
        postgresql_where=text("dedup_key IS NOT NULL"),
    ),
    Index("ix_records_workflow_id_status_id", "workflow_id", "status", "id"),
    Index("ix_records_workspace_id_phone", "workspace_id", "phone"),
    Index("ix_records_workflow_id_external_id", "workflow_id", "external_id"),
    Index("ix_records_list_id", "list_id"),
    # Look-ups by case id or external id across a workspace (partial: most records have none,
    # and bulk intake should not pay for them).
    Index(
        "ix_records_workspace_id_case_id",
        "workspace_id",
        "case_id",
        sqlite_where=text("case_id IS NOT NULL"),
        postgresql_where=text("case_id IS NOT NULL"),
    ),
    Index(
        "ix_records_workspace_id_external_id",
        "workspace_id",
        "external_id",
        sqlite_where=text("external_id IS NOT NULL"),
        postgresql_where=text("external_id IS NOT NULL"),
    ),
    Index(
        "ix_records_dispatch",
        "workflow_id",
        "dispatch_rank",
        "next_due_at",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "ix_records_lease",
        "lease_expires_at",
        sqlite_where=text("status = 'in_progress'"),
        postgresql_where=text("status = 'in_progress'"),
    ),
)

ATTEMPT_LIVE = ("dialing", "in_progress")

attempts = Table(
    "attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("workflow_id", Id, ForeignKey("workflows.id"), nullable=False),
    Column("record_id", BigInteger, ForeignKey("records.id"), nullable=False),
    Column("cycle", Integer, nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("day", Integer, nullable=False),
    Column("call", Integer, nullable=False),
    Column("phone_type", String(16)),
    Column("to_address", String(254), nullable=False),
    Column("from_address", String(254)),
    Column("provider", String(64), nullable=False),
    # Saved as soon as the provider accepts the call, before waiting on it: a recovered
    # attempt with an id is reconciled with the provider, never dialed again.
    Column("provider_call_id", String(128)),
    Column("status", String(16), nullable=False),
    Column("end_reason", String(32)),
    Column("answered", Boolean),
    Column("duration_seconds", Integer),
    Column("message_left", Boolean),
    Column("transcript", Json),
    Column("recording_url", String(2000)),
    Column("collected_fields", Json),
    Column("error", Text),
    # What the outcome meant for the record ("no_answer: retry call-1 in 60 min"), so the
    # timeline needs no separate log row per attempt.
    Column("note", Text),
    Column("worker", String(64)),
    Column("deadline_at", UtcDateTime(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("ended_at", UtcDateTime()),
    Index("ix_attempts_record_id_id", "record_id", "id"),
    Index("ix_attempts_to_address_created_at", "to_address", "created_at"),
    Index("ix_attempts_workflow_id_created_at", "workflow_id", "created_at"),
    # The calls query API: a workspace's calls newest first, and recordings by call id.
    Index("ix_attempts_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    Index(
        "ix_attempts_workspace_id_provider_call_id",
        "workspace_id",
        "provider_call_id",
        sqlite_where=text("provider_call_id IS NOT NULL"),
        postgresql_where=text("provider_call_id IS NOT NULL"),
    ),
    # One attempt in flight per record, ever: enforced by the database itself.
    Index(
        "uq_attempts_live_record_id",
        "record_id",
        unique=True,
        sqlite_where=text("status IN ('dialing', 'in_progress')"),
        postgresql_where=text("status IN ('dialing', 'in_progress')"),
    ),
    Index(
        "ix_attempts_deadline",
        "deadline_at",
        sqlite_where=text("status IN ('dialing', 'in_progress')"),
        postgresql_where=text("status IN ('dialing', 'in_progress')"),
    ),
)

record_logs = Table(
    "record_logs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("record_id", BigInteger, ForeignKey("records.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", Json),
    Index("ix_record_logs_record_id_id", "record_id", "id"),
)

dnc_entries = Table(
    "dnc_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("reason", String(200)),
    Column("expires_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("workspace_id", "phone"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    # NULL until the first request finishes; a concurrent repeat sees it in progress.
    Column("status_code", Integer),
    Column("response", LargeBinary),
    Column("created_at", UtcDateTime(), nullable=False),
)

# -- Webhooks: the transactional outbox and its deliveries ---------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    # NULL: every workflow of the workspace.
    Column("workflow_id", Id, ForeignKey("workflows.id")),
    Column("url", String(2000), nullable=False),
    Column("description", String(200)),
    # NULL: every event type.
    Column("event_types", Json),
    # "standard" sends the event envelope; a vendor format sends that vendor's body.
    Column("format", String(16), nullable=False),
    Column("secret", String(100), nullable=False),
    # After a rotation the old secret also signs until it expires, so receivers can switch.
    Column("previous_secret", String(100)),
    Column("previous_secret_expires_at", UtcDateTime()),
    Column("auth_header_name", String(100)),
    Column("auth_header_value", String(1000)),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", String(500)),
    Column("failing_since", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_webhook_endpoints_workspace_id_id", "workspace_id", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("workflow_id", Id),
    Column("record_id", BigInteger),
    Column("type", String(64), nullable=False),
    # The envelope, serialised once: every delivery sends exactly these bytes.
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_events_workspace_id_id", "workspace_id", "id"),
    Index("ix_events_record_id", "record_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("endpoint_id", BigInteger, ForeignKey("webhook_endpoints.id"), nullable=False),
    # A vendor-format body rendered once at emission; NULL sends the event's own payload.
    Column("body", LargeBinary),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_due_at", UtcDateTime()),
    Column("lease_owner", String(64)),
    Column("lease_expires_at", UtcDateTime()),
    Column("last_status_code", Integer),
    Column("last_error", String(1000)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime()),
    Index(
        "ix_deliveries_next_due_at",
        "next_due_at",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "ix_deliveries_lease_expires_at",
        "lease_expires_at",
        sqlite_where=text("status = 'in_progress'"),
        postgresql_where=text("status = 'in_progress'"),
    ),
    Index("ix_deliveries_event_id", "event_id"),
    Index("ix_deliveries_endpoint_id_status", "endpoint_id", "status"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("delivery_id", BigInteger, ForeignKey("deliveries.id"), nullable=False),
    Column("workspace_id", Id, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("duration_ms", Integer, nullable=False),
    Column("response_body", String(2000)),
    Column("error", String(1000)),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_delivery_attempts_delivery_id_id", "delivery_id", "id"),
)

# Talkdesk dialect
# A record list is backed by a workflow of its own (its records, its dedup mode); a campaign holds
# the Talkdesk dialing settings and status that the workflows of its record lists follow. A
# do-not-call list names a group of the workspace's do-not-call entries.

talkdesk_campaigns = Table(
    "talkdesk_campaigns",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("name", String(35), nullable=False),
    Column("status", String(16), nullable=False),
    # The campaign's configuration as Talkdesk shows it (dialing_strategy and the rest).
    Column("settings", Json, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

talkdesk_record_lists = Table(
    "talkdesk_record_lists",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("workflow_id", Id, ForeignKey("workflows.id"), nullable=False, unique=True),
    Column("campaign_id", BigInteger, ForeignKey("talkdesk_campaigns.id"), index=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

talkdesk_dnc_lists = Table(
    "talkdesk_dnc_lists",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

talkdesk_dnc_list_entries = Table(
    "talkdesk_dnc_list_entries",
    metadata,
    Column("dnc_list_id", BigInteger, ForeignKey("talkdesk_dnc_lists.id"), primary_key=True),
    # Removing the number from the workspace's do-not-call list removes it from every list.
    Column(
        "dnc_entry_id",
        Id,
        ForeignKey("dnc_entries.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

# Altcraft dialect
#
# Profile matching looks records up across a workspace by email and by profile id.
Index(
    "ix_records_workspace_id_email",
    records.c.workspace_id,
    records.c.email,
    sqlite_where=text("email IS NOT NULL"),
    postgresql_where=text("email IS NOT NULL"),
)
Index(
    "ix_records_workspace_id_profile_id",
    records.c.workspace_id,
    records.c.profile_id,
    sqlite_where=text("profile_id IS NOT NULL"),
    postgresql_where=text("profile_id IS NOT NULL"),
)

# An import_and_start_batch_task: queued, running (under a lease), then done or failed.
altcraft_tasks = Table(
    "altcraft_tasks",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("status", String(16), nullable=False),
    # The import to run (dropped once it has run); kept so a task survives a restart.
    Column("request", Json),
    Column("result", Json),
    Column("error", Text),
    Column("lease_expires_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Index(
        "ix_altcraft_tasks_status",
        "status",
        sqlite_where=text("status IN ('queued', 'running')"),
        postgresql_where=text("status IN ('queued', 'running')"),
    ),
)

# Airudder dialect
#
# A token from POST /service/cloud/auth. Only its SHA-256 is stored. It belongs to the API key
# that was sent as APPSecret, so revoking that key also ends its tokens.
airudder_tokens = Table(
    "airudder_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("api_key_id", Id, ForeignKey("api_keys.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)
