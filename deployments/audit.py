"""The audit log: one row per request and per administrative action, never any text.

Rows are only ever inserted: this module has no update or delete, and the database rejects
both with a trigger (migration 0005). `python -m deployments.admin audit export` reads it out as
JSON lines.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import col, select

from deployments.db import transaction
from schemas.tables import AuditEvent
from schemas.times import format_time

logger = logging.getLogger(__name__)

EXPORT_BATCH = 1000


def outcome_of(status: int) -> str:
    """ok (2xx/3xx), denied (401/403), rejected (other 4xx) or failed (5xx)."""
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "rejected" if status < 500 else "failed"


def event(
    *,
    action: str,
    status: int,
    request_id: str,
    clinic_id: int | None = None,
    key_id: int | None = None,
    session_id: int | None = None,
    code: str | None = None,
) -> AuditEvent:
    """One event, not yet stored."""
    return AuditEvent(
        action=action,
        status=status,
        outcome=outcome_of(status),
        request_id=request_id,
        clinic_id=clinic_id,
        key_id=key_id,
        session_id=session_id,
        code=code,
    )


def record_many(engine: Engine, events: list[AuditEvent]) -> None:
    """Append `events` in one transaction: all of them are stored, or none."""
    with transaction(engine, write=True) as session:
        session.add_all(events)


def record(engine: Engine, **fields) -> None:
    """Append one event (see `event` for its fields)."""
    record_many(engine, [event(**fields)])


class GroupCommit:
    """The audit rows of one process's requests, written by one writer, many per transaction.

    Each request awaits the commit of the transaction that holds its row (so an answer is given
    only once it is audited), but rows that arrive while a transaction commits wait for the next
    one together. A burst of requests then costs a few commits instead of one each, and the
    process's threads never contend for SQLite's write lock (whose busy handler sleeps up to
    100 ms a try): 80 requests refused at once took up to 1.3 s to answer with one transaction
    per request, most of it in those commits (py-spy over the Ingress replica, 2026-12-04).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._waiting: list[tuple[AuditEvent, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, **fields) -> None:
        """Append one event (see `event`); returns once it is committed, raises if that failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((event(**fields), done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        await done

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await asyncio.to_thread(record_many, self.engine, [e for e, _ in batch])
                except Exception as e:  # every request of the failed transaction learns it
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(e)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writer = None


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
