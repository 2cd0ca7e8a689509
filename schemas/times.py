"""Times as the API and the database write them: ISO 8601 in UTC with a `Z` suffix.

Kept apart from `deployments.db` so that a process that only formats times (the NoteGenerator)
does not import SQLAlchemy, SQLModel and Alembic (about 32 MiB and 0.4 s at each replica start).
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix (a naive value is taken to be UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 time (`Z`, an offset, or naive meaning UTC) into an aware UTC time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise ValueError("time is not ISO 8601") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
