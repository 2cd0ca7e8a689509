"""Clinics and their API keys.

A key is `pn_` + 43 random URL-safe characters (256 bits). Only its SHA-256 is stored: the token
has full entropy, so a plain hash cannot be reversed, and a lookup is one indexed equality. The
token is shown once, when it is created. A request authenticates with `Authorization: Bearer
<key>` or `X-API-Key: <key>`; a revoked or unknown key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import col, select

from deployments.db import transaction
from schemas.tables import ApiKey, Clinic, utcnow

TOKEN_PREFIX = "pn_"
MAX_TOKEN_CHARS = 128


@dataclass(frozen=True)
class Principal:
    """Who is calling: the clinic and the key it used."""

    clinic_id: int
    key_id: int


class UnknownClinic(LookupError):
    pass


class UnknownKey(LookupError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request carries (Bearer first, then X-API-Key), or None."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return x_api_key.strip() if x_api_key and x_api_key.strip() else None


def authenticate(engine: Engine, token: str | None) -> Principal | None:
    """The principal of a live key, or None (no key, unknown, revoked, malformed)."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(token)
    with transaction(engine) as session:
        row = session.exec(select(ApiKey).where(col(ApiKey.token_sha256) == digest)).first()
    # The lookup is by equality on the digest; compare again in constant time all the same.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    assert row.id is not None
    return Principal(clinic_id=row.clinic_id, key_id=row.id)


def clinic_id(engine: Engine, name: str, create: bool = False) -> int:
    """The id of the clinic called `name`, created when `create` (else UnknownClinic)."""
    with transaction(engine, write=create) as session:
        row = session.exec(select(Clinic).where(col(Clinic.name) == name)).first()
        if row is None:
            if not create:
                raise UnknownClinic(name)
            row = Clinic(name=name)
            session.add(row)
            session.flush()
        assert row.id is not None
        return row.id


def create_key(engine: Engine, clinic: str) -> tuple[int, str]:
    """A new key for `clinic` (created if needed): (key id, token). The token is not stored."""
    owner = clinic_id(engine, clinic, create=True)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(clinic_id=owner, token_sha256=hash_token(token))
    with transaction(engine, write=True) as session:
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id, token


def revoke_key(engine: Engine, key_id: int) -> int:
    """Revoke key `key_id` (idempotent); return its clinic id. UnknownKey if there is none."""
    with transaction(engine, write=True) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise UnknownKey(str(key_id))
        row.revoked_at = row.revoked_at or utcnow()
        session.add(row)
        return row.clinic_id


def rotate_key(engine: Engine, key_id: int) -> tuple[int, str]:
    """Replace key `key_id` with a new key of the same clinic: (new key id, token)."""
    with transaction(engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise UnknownKey(str(key_id))
        clinic = session.get(Clinic, row.clinic_id)
        assert clinic is not None
    created = create_key(engine, clinic.name)
    revoke_key(engine, key_id)
    return created


def list_keys(engine: Engine, clinic: str | None = None) -> list[dict]:
    """Every key (or one clinic's): id, clinic, created, revoked. Never the hash or the token."""
    query = (
        select(ApiKey, Clinic).join(Clinic, col(Clinic.id) == col(ApiKey.clinic_id)).order_by(col(ApiKey.id))
    )
    if clinic is not None:
        query = query.where(col(Clinic.name) == clinic)
    with transaction(engine) as session:
        rows = session.exec(query).all()
    return [
        {
            "key_id": key.id,
            "clinic": owner.name,
            "clinic_id": owner.id,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        for key, owner in rows
    ]
