"""The audit log: one row per request and per administrative action, never any text.

Rows are only ever inserted: this module has no update or delete, and the database rejects
both with a trigger (migration 0005). `python -m deployments.admin audit export` reads it out as
JSON lines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from deployments.db import format_time, transaction
from schemas.tables import AuditEvent

logger = logging.getLogger(__name__)

EXPORT_BATCH = 1000


def outcome_of(status: int) -> str:
    """ok (2xx/3xx), denied (401/403), rejected (other 4xx) or failed (5xx)."""
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "rejected" if status < 500 else "failed"


def record(
    engine: Engine,
    *,
    action: str,
    status: int,
    request_id: str,
    clinic_id: int | None = None,
    key_id: int | None = None,
    session_id: int | None = None,
    code: str | None = None,
) -> None:
    """Append one event."""
    event = AuditEvent(
        action=action,
        status=status,
        outcome=outcome_of(status),
        request_id=request_id,
        clinic_id=clinic_id,
        key_id=key_id,
        session_id=session_id,
        code=code,
    )
    with transaction(engine, write=True) as session:
        session.add(event)


def export(engine: Engine, since: datetime | None = None) -> Iterator[dict]:
    """Every event (from `since` on), oldest first, as JSON-ready dicts; read in batches."""
    last = 0
    while True:
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.id) > last)
            .order_by(col(AuditEvent.id))
            .limit(EXPORT_BATCH)
        )
        if since is not None:
            query = query.where(col(AuditEvent.at) >= since)
        with transaction(engine) as session:
            rows = session.exec(query).all()
        if not rows:
            return
        for row in rows:
            yield {**row.model_dump(exclude={"at"}), "at": format_time(row.at)}
        last = rows[-1].id or last
