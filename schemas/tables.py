"""Database tables: clinics and their API keys, one row per therapy session, at most one current
note per session, the append-only audit log, and idempotency records.

Times are stored in UTC. Transcript and note text are stored only encrypted (`*_ct` columns,
AES-GCM, see deployments/crypto.py). The Alembic revisions in `deployments/migrations/` create
these tables.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, LargeBinary, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware in UTC.

    SQLite keeps no offset (values come back naive) and PostgreSQL answers in the connection's
    time zone; both are normalised here. Naive values written are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _as_utc(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return _as_utc(value) if value is not None else None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Clinic(SQLModel, table=True):
    """A clinic: the unit of access. Every session belongs to one, and each key to one."""

    __tablename__ = "clinics"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A clinic's API key: only the SHA-256 of the token is kept (the token is shown once)."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinics.id", index=True)
    token_sha256: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClinicalSession(SQLModel, table=True):
    """A therapy session; its transcript is stored encrypted (`transcript_ct`, key `key_id`).

    A soft delete sets `deleted_at`; a purge also removes the transcript (`transcript_ct` NULL).
    """

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinics.id", index=True)
    client_ref: str | None = Field(default=None, max_length=128, index=True)
    session_date: date | None = None
    transcript_ct: bytes | None = Field(default=None, sa_type=LargeBinary)
    key_id: str = Field(default="", max_length=64)
    transcript_words: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProgressNote(SQLModel, table=True):
    """The current note of a session, with how it was made; `version` counts every write.

    The note itself (format, sections, summary, risk flags, text) is one encrypted JSON document,
    `content_ct`, under data key `key_id`.
    """

    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", unique=True)
    format: str = Field(max_length=16)
    content_ct: bytes = Field(sa_type=LargeBinary)
    key_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    model: str = Field(default="", max_length=256)
    model_version: str = Field(default="", max_length=256)
    source: str = Field(default="model", max_length=16, description="model, fallback or clinician")
    generated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    generation_ms: int | None = None
    truncated: bool = False
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, description="1 on insert, +1 on every write; the ETag uses it.")
    grounding: dict[str, Any] | None = Field(
        default=None, sa_type=JSON, description="The grounding guard's counts (never text)."
    )


class AuditEvent(SQLModel, table=True):
    """One request or administrative action: who, what, on which session, how it ended. Never text.

    Append-only: the database rejects UPDATE and DELETE on this table (a trigger).
    """

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    clinic_id: int | None = Field(default=None, index=True)
    key_id: int | None = None
    action: str = Field(max_length=32, description="e.g. session.create, note.generate, auth.denied")
    session_id: int | None = None
    outcome: str = Field(max_length=16, description="ok, denied, rejected or failed")
    status: int
    code: str | None = Field(default=None, max_length=64, description="The error code, if any.")
    request_id: str = Field(max_length=64)


class IdempotencyRecord(SQLModel, table=True):
    """A POST with an Idempotency-Key: the body's fingerprint and, once done, the encrypted answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("clinic_id", "idem_key"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic_id: int = Field(foreign_key="clinics.id")
    idem_key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    key_id: str = Field(max_length=64, description="The data key of the fingerprint and the answer.")
    session_id: int | None = Field(default=None, description="The session the answer is about.")
    status: int | None = Field(default=None, description="NULL while the first request is in flight.")
    response_ct: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
