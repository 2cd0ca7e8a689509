"""Idempotency keys for POST requests (IETF draft-ietf-httpapi-idempotency-key-header).

The first request with a key claims it (a row with no status yet); a repeat with the same body
gets the stored answer, one with another body `422 idempotency_key_reused`, and one while the
first is still running `409 idempotency_in_flight`. Keys are per clinic and kept 24 hours. The
body's fingerprint is an HMAC under a data key (a plain hash of a short transcript could be
guessed); the stored answer is encrypted like any note. A 5xx answer is not stored, so the
client can retry with the same key; a claim whose request died is taken over after 15 minutes.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from deployments import crypto
from deployments.db import transaction
from schemas.errors import IdempotencyInFlight, IdempotencyKeyReused
from schemas.tables import IdempotencyRecord, utcnow

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII
TTL = timedelta(hours=24)
IN_FLIGHT_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes


def _aad(clinic_id: int, record_id: int) -> str:
    return f"idempotency.response:{clinic_id}:{record_id}"


def begin(engine: Engine, clinic_id: int, key: str, request: bytes) -> tuple[int, Stored | None]:
    """Claim `key` for `request` (method, path and body): (record id, None) when this request
    should run, or (record id, the stored answer) for a replay.

    Raise IdempotencyKeyReused when the key was used with another request, IdempotencyInFlight
    while the first request runs.
    """
    try:
        return _begin(engine, clinic_id, key, request)
    except IntegrityError:  # PostgreSQL: another request claimed the key between our read and insert
        return _begin(engine, clinic_id, key, request)


def _begin(engine: Engine, clinic_id: int, key: str, request: bytes) -> tuple[int, Stored | None]:
    keys = crypto.keyring()
    now = utcnow()
    with transaction(engine, write=True) as session:
        session.exec(  # type: ignore[call-overload]
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.clinic_id) == clinic_id, col(IdempotencyRecord.created_at) < now - TTL
            )
        )
        query = select(IdempotencyRecord).where(
            col(IdempotencyRecord.clinic_id) == clinic_id, col(IdempotencyRecord.idem_key) == key
        )
        row = session.exec(query.with_for_update()).first()
        if row is None:
            row = IdempotencyRecord(
                clinic_id=clinic_id,
                idem_key=key,
                fingerprint=keys.fingerprint(keys.active, request),
                key_id=keys.active,
                created_at=now,
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id, None
        assert row.id is not None
        if not hmac.compare_digest(row.fingerprint, keys.fingerprint(row.key_id, request)):
            raise IdempotencyKeyReused()
        if row.status is None:
            if row.created_at > now - IN_FLIGHT_TIMEOUT:
                raise IdempotencyInFlight()
            row.created_at = now  # the first request died without an answer: this one runs
            session.add(row)
            return row.id, None
        assert row.response_ct is not None
        return row.id, Stored(row.status, keys.decrypt(row.key_id, row.response_ct, _aad(clinic_id, row.id)))


def finish(engine: Engine, record_id: int, status: int, body: bytes, session_id: int | None) -> None:
    """Store the answer of a claimed key; a 5xx answer frees the key instead."""
    if status >= 500:
        abandon(engine, record_id)
        return
    with transaction(engine, write=True) as session:
        row = session.get(IdempotencyRecord, record_id)
        if row is None:  # purged with its session meanwhile
            return
        _, row.response_ct = crypto.keyring().encrypt(body, _aad(row.clinic_id, record_id), row.key_id)
        row.status, row.session_id = status, session_id
        session.add(row)


def abandon(engine: Engine, record_id: int) -> None:
    """Free a claimed key (the request failed without an answer worth replaying)."""
    with transaction(engine, write=True) as session:
        session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id) == record_id))  # type: ignore[call-overload]
