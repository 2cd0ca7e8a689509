"""Database tables: one row per therapy session, and at most one current note per session.

Times are stored in UTC. JSON columns use the generic `JSON` type, which is TEXT on SQLite and
`json` on PostgreSQL. The Alembic revisions in `deployments/migrations/` create these tables.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text
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


class ClinicalSession(SQLModel, table=True):
    """A therapy session and its transcript (the transcript never leaves through listings)."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    client_ref: str | None = Field(default=None, max_length=128, index=True)
    session_date: date | None = None
    transcript: str = Field(sa_type=Text)
    transcript_words: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProgressNote(SQLModel, table=True):
    """The current note of a session, with how it was made; `version` counts every write."""

    __tablename__ = "notes"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="sessions.id", unique=True)
    format: str = Field(max_length=16)
    sections: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    summary: str = Field(default="", sa_type=Text)
    risk_flags: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    text: str = Field(default="", sa_type=Text)
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
