"""Database access: the engine, migrations, and the queries the deployments run.

Every query about sessions and notes is scoped by clinic: another clinic's session, or a deleted
one, is not found. Transcripts and notes are encrypted here (deployments/crypto.py) before they
are written, and decrypted only when read one at a time.

SQLite (one file, WAL) by default, PostgreSQL in production. Writes that read before they write
(regenerating a note, a clinician's edit) take a lock first: `BEGIN IMMEDIATE` on SQLite, and
`SELECT ... FOR UPDATE` on the session row on PostgreSQL, so the check and the write are atomic.

Statement parameters are hidden from SQLAlchemy's error messages, and nothing here logs text,
so transcripts and notes never reach logs or exception messages.
"""

import functools
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import defer
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from deployments import crypto
from schemas.errors import (
    ClinicianEditExists,
    DatabaseUnavailable,
    EtagMismatch,
    IfMatchRequired,
    NoteNotFound,
    SessionNotFound,
)
from schemas.notes import GroundingCounts, Note, NoteMetadata, NoteSource
from schemas.tables import ClinicalSession, IdempotencyRecord, ProgressNote, utcnow
from schemas.times import format_time, parse_time

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_MIGRATION_THREADS = threading.Lock()  # Alembic's `context` is process-global: one at a time


def make_engine(url: str) -> Engine:
    """Create the engine for `url`: SQLite gets WAL, synchronous=FULL, foreign keys and a busy
    timeout on every connection (and its folder is created); PostgreSQL gets pre-ping."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # psycopg 3 is the driver we install
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)

    database = parsed.database or ""
    if not database or database == ":memory:":  # one shared connection, or each thread gets its own
        engine = create_engine(
            parsed, hide_parameters=True, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        if not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA secure_delete = ON")  # deleted (purged) content is overwritten
        cursor.close()

    return engine


def _set_wal(cursor: Any) -> None:
    """Switch to WAL. Two processes opening a new database at once can find it locked (the
    switch does not wait on the busy timeout): retry for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_REVISION_RE = re.compile(r'^(down_)?revision(?::[^=]*)?= *"([^"]+)"', re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts' `revision` and `down_revision`
    lines without Alembic; None when they do not name exactly one head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION_RE.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the database is already at the newest migration (read only; False when unsure)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return False
    return versions == [head]


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to `revision` with Alembic, in one transaction.

    Safe to call from several processes at once: the migration environment takes a
    database-wide lock for the whole upgrade, so later callers find the work done. A database
    already at the head is left as it is without Alembic (importing and running it cost each
    replica 0.13-0.2 s of CPU while the service starts).
    """
    if revision == "head" and at_head(engine):
        return
    from alembic import command  # only the process that migrates pays for importing Alembic
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    try:
        with _MIGRATION_THREADS:
            command.upgrade(config, revision)
    except OperationalError as e:
        raise DatabaseUnavailable() from e
    logger.info("database migrated", extra={"revision": revision})


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        logger.warning("database ping failed", extra={"error": type(e).__name__})
        return False
    return True


@contextmanager
def transaction(engine: Engine, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on any error.

    `write=True` takes SQLite's write lock up front (BEGIN IMMEDIATE), so a write that first
    reads cannot interleave with another writer. Connection failures become DatabaseUnavailable.
    """
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            if write and engine.dialect.name == "sqlite":
                session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
    except OperationalError as e:
        raise DatabaseUnavailable() from e


def transcript_aad(clinic_id: int, session_id: int) -> str:
    return f"sessions.transcript:{clinic_id}:{session_id}"


def note_aad(session_id: int) -> str:
    return f"notes.content:{session_id}"


def create_session(
    engine: Engine, clinic_id: int, transcript: str, client_ref: str | None, session_date: date | None
) -> int:
    """Store a new session of `clinic_id` with its transcript (encrypted); return its id."""
    row = ClinicalSession(
        clinic_id=clinic_id,
        transcript_words=len(transcript.split()),
        client_ref=client_ref,
        session_date=session_date,
    )
    with transaction(engine, write=True) as session:
        session.add(row)
        session.flush()  # the id is part of the ciphertext's associated data
        assert row.id is not None
        row.key_id, row.transcript_ct = crypto.keyring().encrypt(
            transcript.encode(), transcript_aad(clinic_id, row.id)
        )
        session_id = row.id
    logger.info("session created", extra={"session_id": session_id})
    return session_id


def transcript_of(row: ClinicalSession) -> str:
    """The session's transcript, decrypted ("" once purged)."""
    if row.transcript_ct is None:
        return ""
    assert row.id is not None
    return (
        crypto.keyring()
        .decrypt(row.key_id, row.transcript_ct, transcript_aad(row.clinic_id, row.id))
        .decode()
    )


def _with_note(clinic_id: int) -> Any:
    """SELECT the clinic's live (not deleted) sessions with their note (or None) in one query."""
    return (
        select(ClinicalSession, ProgressNote)
        .outerjoin(ProgressNote, col(ProgressNote.session_id) == col(ClinicalSession.id))
        .where(col(ClinicalSession.clinic_id) == clinic_id, col(ClinicalSession.deleted_at).is_(None))
    )


def get_session(
    engine: Engine, clinic_id: int, session_id: int
) -> tuple[ClinicalSession, ProgressNote | None]:
    """Return the clinic's session and its note (None if it has none); raise SessionNotFound when
    there is no such session, it is another clinic's, or it was deleted."""
    with transaction(engine) as session:
        found = session.exec(_with_note(clinic_id).where(col(ClinicalSession.id) == session_id)).first()
    if found is None:
        raise SessionNotFound()
    return found[0], found[1]


def list_sessions(
    engine: Engine, clinic_id: int, limit: int, offset: int
) -> tuple[list[tuple[ClinicalSession, ProgressNote | None]], int]:
    """Return one page of the clinic's live sessions (newest first) with their notes, and their count.

    The transcript is not loaded: reading `transcript_ct` on these rows raises.
    """
    query = (
        _with_note(clinic_id)
        .options(defer(ClinicalSession.transcript_ct, raiseload=True))  # type: ignore[arg-type]
        .order_by(col(ClinicalSession.id).desc())
        .limit(limit)
        .offset(offset)
    )
    count = (
        select(func.count())
        .select_from(ClinicalSession)
        .where(col(ClinicalSession.clinic_id) == clinic_id, col(ClinicalSession.deleted_at).is_(None))
    )
    with transaction(engine) as session:
        rows = session.exec(query).all()
        total = session.exec(count).one()
    return [(row[0], row[1]) for row in rows], total


def _lock_session(session: Session, clinic_id: int, session_id: int) -> ClinicalSession:
    """Lock the clinic's live session row (PostgreSQL; SQLite holds its write lock) and return it.

    Raise SessionNotFound when there is no such session (another clinic's, or deleted).
    """
    query = select(ClinicalSession).where(
        col(ClinicalSession.id) == session_id,
        col(ClinicalSession.clinic_id) == clinic_id,
        col(ClinicalSession.deleted_at).is_(None),
    )
    row = session.exec(query.with_for_update()).first()
    if row is None:
        raise SessionNotFound()
    return row


def _lock_note(session: Session, clinic_id: int, session_id: int) -> ProgressNote | None:
    """Lock the clinic's session row and return its note; SessionNotFound when there is none."""
    _lock_session(session, clinic_id, session_id)
    return session.exec(select(ProgressNote).where(col(ProgressNote.session_id) == session_id)).first()


def _set_content(row: ProgressNote, note: Note, now: datetime) -> None:
    row.format = note.format.value
    row.key_id, row.content_ct = crypto.keyring().encrypt(
        note.model_dump_json().encode(), note_aad(row.session_id)
    )
    row.updated_at = now


def save_generated_note(
    engine: Engine, clinic_id: int, session_id: int, note: Note, metadata: NoteMetadata, force: bool
) -> ProgressNote:
    """Insert or replace the session's note in one transaction and return the stored row.

    Raise SessionNotFound for a missing session (or another clinic's), and ClinicianEditExists
    when the current note is a clinician's edit and `force` is false.
    """
    generated_at = parse_time(metadata.generated_at)
    edited_at = parse_time(metadata.edited_at) if metadata.edited_at else None
    with transaction(engine, write=True) as session:
        row = _lock_note(session, clinic_id, session_id)
        if row is not None and row.source == NoteSource.CLINICIAN and not force:
            raise ClinicianEditExists()
        now = utcnow()
        if row is None:
            row = ProgressNote(
                session_id=session_id,
                format=note.format.value,
                content_ct=b"",
                key_id="",
                created_at=now,
                version=0,
            )
        _set_content(row, note, now)
        row.model = metadata.model
        row.model_version = metadata.model_version
        row.source = metadata.source.value
        row.generated_at = generated_at
        row.generation_ms = metadata.generation_ms
        row.truncated = metadata.truncated
        row.grounding = metadata.grounding.model_dump() if metadata.grounding else None
        row.edited_at = edited_at
        row.version += 1
        session.add(row)
    logger.info("note saved", extra={"session_id": session_id, "version": row.version})
    return row


def save_clinician_edit(
    engine: Engine, clinic_id: int, session_id: int, note: Note, if_match: str | None
) -> ProgressNote:
    """Replace the note's content with a clinician's edit if `if_match` holds its current ETag.

    Keeps the generation metadata (model, model_version, generated_at); sets source clinician,
    edited_at now and version + 1. Raise SessionNotFound, NoteNotFound, IfMatchRequired when
    `if_match` is missing, EtagMismatch when it names no current version (strong comparison).
    """
    with transaction(engine, write=True) as session:
        row = _lock_note(session, clinic_id, session_id)
        if row is None:
            raise NoteNotFound()
        if not if_match or not if_match.strip():
            raise IfMatchRequired()
        if etag(row) not in {tag.strip() for tag in if_match.split(",")}:
            raise EtagMismatch()
        now = utcnow()
        _set_content(row, note, now)
        row.source = NoteSource.CLINICIAN.value
        row.edited_at = now
        row.grounding = None  # the clinician's text is not the model's draft the counts describe
        row.version += 1
        session.add(row)
    logger.info("note edited", extra={"session_id": session_id, "version": row.version})
    return row


def delete_session(engine: Engine, clinic_id: int, session_id: int, purge: bool) -> None:
    """Soft-delete the clinic's session (it answers 404 from then on); with `purge`, also remove
    its transcript, its note and any stored idempotent answer about it.

    A purge may follow a soft delete; a second soft delete raises SessionNotFound.
    """
    with transaction(engine, write=True) as session:
        query = select(ClinicalSession).where(
            col(ClinicalSession.id) == session_id, col(ClinicalSession.clinic_id) == clinic_id
        )
        row = session.exec(query.with_for_update()).first()
        if row is None or row.purged_at is not None or (row.deleted_at is not None and not purge):
            raise SessionNotFound()
        now = utcnow()
        row.deleted_at = row.deleted_at or now
        if purge:
            row.transcript_ct, row.purged_at = None, now
            session.exec(delete(ProgressNote).where(col(ProgressNote.session_id) == session_id))  # type: ignore[call-overload]
            session.exec(  # type: ignore[call-overload]
                delete(IdempotencyRecord).where(
                    col(IdempotencyRecord.clinic_id) == clinic_id,
                    col(IdempotencyRecord.session_id) == session_id,
                )
            )
        session.add(row)
    logger.info("session deleted", extra={"session_id": session_id, "purged": purge})


def etag(row: ProgressNote) -> str:
    """The note's strong ETag, quoted: `"<note id>-<version>"`."""
    return f'"{row.id}-{row.version}"'


def note_of(row: ProgressNote) -> Note:
    """The stored note as the API's Note (decrypted)."""
    return Note.model_validate_json(
        crypto.keyring().decrypt(row.key_id, row.content_ct, note_aad(row.session_id))
    )


def metadata_of(row: ProgressNote) -> NoteMetadata:
    """The stored note's metadata; times as ISO 8601 UTC strings ending in `Z`."""
    return NoteMetadata(
        model=row.model,
        model_version=row.model_version,
        source=NoteSource(row.source),
        generation_ms=row.generation_ms if row.generation_ms is not None else 0,
        generated_at=format_time(row.generated_at or row.created_at),
        truncated=row.truncated,
        edited_at=format_time(row.edited_at) if row.edited_at else None,
        grounding=GroundingCounts.model_validate(row.grounding) if row.grounding else None,
    )
