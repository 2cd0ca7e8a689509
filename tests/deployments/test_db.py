"""Tests of deployments.db on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, inspect, text
from sqlmodel import SQLModel

from deployments import auth, db
from schemas.errors import (
    ApiError,
    ClinicianEditExists,
    EtagMismatch,
    IfMatchRequired,
    NoteNotFound,
    SessionNotFound,
)
from schemas.notes import GroundingCounts, Note, NoteFormat, NoteMetadata, NoteSource, RiskCategory, RiskFlag
from schemas.times import parse_time

NOTE = Note(
    format=NoteFormat.DAP,
    sections={"data": "Client reported poor sleep.", "assessment": "Stable.", "plan": "Review."},
    summary="A short session about sleep.",
    risk_flags=[RiskFlag(category=RiskCategory.SELF_HARM, evidence="I scratched my arm.")],
    text="DATA: Client reported poor sleep.",
)
#: The clinic the `engine` fixture creates (tests/deployments/conftest.py); the first clinic of a
#: database migrated from before clinics existed ("local") gets the same id.
CLINIC = 1
HEAD = "0006_note_grounding"
EDIT = NOTE.model_copy(update={"summary": "Edited by the clinician.", "text": "Edited."})
HYPOTHESIS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def metadata(source: NoteSource = NoteSource.MODEL) -> NoteMetadata:
    return NoteMetadata(
        model="gemma3-270m",
        model_version="1.0.0",
        source=source,
        generation_ms=1234,
        generated_at="2024-05-01T10:00:00.250Z",
        truncated=True,
        grounding=GroundingCounts(sentences_in=9, sentences_kept=7, removed={"number": 1, "duplicate": 1}),
    )


@contextmanager
def on_statement(engine: Engine, prefix: str, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` right after each statement that starts with `prefix` has executed."""

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith(prefix):
            action()

    event.listen(engine, "after_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", listener)


def attempt(error: type[Exception] | None, call: Callable[..., Any], *args: Any) -> None:
    """Call `call(*args)`, expecting it to raise `error` (or to succeed when it is None)."""
    if error is None:
        call(*args)
        return
    with pytest.raises(error):
        call(*args)


def fail() -> None:
    raise RuntimeError("injected failure")


def in_threads(count: int, work: Callable[[], Any]) -> list[Any]:
    """Run `work` in `count` threads started together; return each result or raised error."""
    barrier, results = threading.Barrier(count), []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as e:  # noqa: BLE001 (the test inspects what each thread got)
            results.append(e)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def revision(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()


# Migrations


def test_migrate_creates_the_tables_of_the_models(bare_engine: Engine) -> None:
    db.migrate(bare_engine)
    assert revision(bare_engine) == HEAD
    assert columns(bare_engine, "sessions") == {
        "id",
        "clinic_id",
        "client_ref",
        "session_date",
        "transcript_ct",
        "key_id",
        "transcript_words",
        "created_at",
        "deleted_at",
        "purged_at",
    }
    assert columns(bare_engine, "notes") == {
        "id",
        "session_id",
        "format",
        "content_ct",
        "key_id",
        "created_at",
        "updated_at",
        "model",
        "model_version",
        "source",
        "generated_at",
        "generation_ms",
        "truncated",
        "edited_at",
        "version",
        "grounding",
    }
    with bare_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    if bare_engine.dialect.name == "sqlite":  # ALTER TABLE cannot add a NOT NULL foreign key (0005)
        differences = [
            d for d in differences if not (d[0][0] == "modify_nullable" and d[0][3] == "clinic_id")
        ]
    assert differences == []


def test_upgrade_from_0001_keeps_existing_notes(bare_engine: Engine) -> None:
    db.migrate(bare_engine, "0001_initial")
    assert "version" not in columns(bare_engine, "notes")
    with bare_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sessions (transcript, transcript_words, created_at)"
                " VALUES ('one two', 2, '2024-01-02 03:04:05')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO notes (session_id, format, sections, summary, risk_flags, text,"
                " created_at, updated_at) VALUES (1, 'SOAP', '{\"plan\": \"p\"}', 's', '[]', 't',"
                " '2024-01-02 03:04:05', '2024-01-02 03:04:05')"
            )
        )
    db.migrate(bare_engine)
    session, note = db.get_session(bare_engine, CLINIC, 1)
    assert session.transcript_words == 2 and note is not None
    assert db.note_of(note) == Note(sections={"plan": "p"}, summary="s", text="t")
    assert db.etag(note) == '"1-1"'
    legacy = db.metadata_of(note)
    assert (legacy.source, legacy.truncated, legacy.model, legacy.generation_ms) == ("model", False, "", 0)
    assert legacy.generated_at == "2024-01-02T03:04:05Z"  # the note's creation time


def test_failed_migration_leaves_the_previous_revision(bare_engine: Engine) -> None:
    db.migrate(bare_engine, "0001_initial")
    with pytest.raises(RuntimeError), on_statement(bare_engine, "UPDATE alembic_version", fail):
        db.migrate(bare_engine)
    assert revision(bare_engine) == "0001_initial"
    assert "version" not in columns(bare_engine, "notes")
    db.migrate(bare_engine)
    assert "version" in columns(bare_engine, "notes")


def test_a_database_at_the_head_is_not_migrated_again_and_one_behind_is(bare_engine: Engine) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert db.head_revision() == ScriptDirectory.from_config(config).get_current_head() == HEAD
    assert not db.at_head(bare_engine)  # no alembic_version table yet
    db.migrate(bare_engine, "0005_clinics_audit_encryption")
    assert not db.at_head(bare_engine)
    db.migrate(bare_engine)
    assert db.at_head(bare_engine) and revision(bare_engine) == HEAD
    statements: list[str] = []
    with on_statement(bare_engine, "", lambda: statements.append("one")):
        db.migrate(bare_engine)  # at the head: one read, and Alembic does not run
    assert len(statements) == 1


def migrate_in_a_process(url: str, barrier: Any) -> None:
    engine = db.make_engine(url)
    barrier.wait()
    db.migrate(engine)


def test_concurrent_migrations_from_several_processes_all_succeed(database_url: str) -> None:
    fork = multiprocessing.get_context("fork")  # separate processes, without re-importing
    barrier = fork.Barrier(3)
    processes = [fork.Process(target=migrate_in_a_process, args=(database_url, barrier)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    engine = db.make_engine(database_url)
    assert revision(engine) == HEAD
    db.migrate(engine)  # and again, at head: nothing to do
    clinic = auth.clinic_id(engine, "test", create=True)
    assert db.create_session(engine, clinic, "still works", None, None) == 1
    engine.dispose()


# Engine


def test_sqlite_connections_use_wal_and_full_sync(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'notes.db'}")
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_ping(engine: Engine) -> None:
    assert db.ping(engine)
    unreachable = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert not db.ping(unreachable)


# Sessions


def test_create_get_and_list_with_counts_and_pages(engine: Engine) -> None:
    ids = [
        db.create_session(engine, CLINIC, f"word {i} " * i, f"client-{i}", date(2024, 1, i))
        for i in range(1, 6)
    ]
    session, note = db.get_session(engine, CLINIC, ids[2])
    assert (db.transcript_of(session), session.transcript_words) == ("word 3 " * 3, 6)
    assert (session.client_ref, session.session_date, note) == ("client-3", date(2024, 1, 3), None)
    assert session.created_at.tzinfo is not None
    db.save_generated_note(engine, CLINIC, ids[1], NOTE, metadata(), force=False)

    page, total = db.list_sessions(engine, CLINIC, limit=2, offset=0)
    assert total == 5 and [s.id for s, _ in page] == [ids[4], ids[3]]
    page, total = db.list_sessions(engine, CLINIC, limit=2, offset=2)
    assert [(s.id, n is not None) for s, n in page] == [(ids[2], False), (ids[1], True)]
    assert page[1][1] is not None and page[1][1].session_id == ids[1]
    with pytest.raises(Exception, match="transcript"):  # listings never load transcripts
        _ = page[0][0].transcript_ct
    assert db.list_sessions(engine, CLINIC, limit=2, offset=4)[0][0][0].id == ids[0]
    assert db.list_sessions(engine, CLINIC, limit=2, offset=10) == ([], 5)


def test_missing_sessions_raise(engine: Engine) -> None:
    with pytest.raises(SessionNotFound):
        db.get_session(engine, CLINIC, 42)
    with pytest.raises(SessionNotFound):
        db.save_generated_note(engine, CLINIC, 42, NOTE, metadata(), force=True)
    with pytest.raises(SessionNotFound):
        db.save_clinician_edit(engine, CLINIC, 42, EDIT, '"1-1"')


# Notes and their metadata

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
times = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]),
)
notes = st.builds(
    Note,
    format=st.sampled_from(NoteFormat),
    sections=st.dictionaries(texts, texts, max_size=4),
    summary=texts,
    risk_flags=st.lists(
        st.builds(RiskFlag, category=st.sampled_from(RiskCategory), evidence=texts), max_size=3
    ),
    text=texts,
)
metadatas = st.builds(
    NoteMetadata,
    model=texts,
    model_version=texts,
    source=st.sampled_from(NoteSource),
    generation_ms=st.integers(0, 2**31 - 1),
    generated_at=st.just(""),  # set from `times` by the test
    truncated=st.booleans(),
    grounding=st.none()
    | st.builds(
        GroundingCounts,
        sentences_in=st.integers(0, 99),
        sentences_kept=st.integers(0, 99),
        removed=st.dictionaries(st.sampled_from(["number", "name", "loop"]), st.integers(1, 9)),
        extracted_sections=st.lists(st.sampled_from(["plan", "objective"]), unique=True),
    ),
)


@HYPOTHESIS
@given(note=notes, saved=metadatas, generated=times, edited=st.none() | times)
def test_saved_note_and_metadata_come_back(
    engine: Engine, note: Note, saved: NoteMetadata, generated: datetime, edited: datetime | None
) -> None:
    saved.generated_at = generated.isoformat()
    saved.edited_at = edited.isoformat() if edited else None
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    db.save_generated_note(engine, CLINIC, session_id, note, saved, force=True)
    row = db.get_session(engine, CLINIC, session_id)[1]
    assert row is not None and db.note_of(row) == note
    back = db.metadata_of(row)
    assert back.model_dump(exclude={"generated_at", "edited_at"}) == saved.model_dump(
        exclude={"generated_at", "edited_at"}
    )
    assert back.generated_at.endswith("Z") and parse_time(back.generated_at) == generated
    assert (back.edited_at and parse_time(back.edited_at)) == edited


def test_clinician_edit_keeps_the_generation_metadata(engine: Engine) -> None:
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    generated = db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), force=False)
    edited = db.save_clinician_edit(engine, CLINIC, session_id, EDIT, db.etag(generated))
    assert (edited.id, edited.version, db.etag(edited)) == (generated.id, 2, f'"{generated.id}-2"')
    assert db.note_of(edited) == EDIT
    before, after = db.metadata_of(generated), db.metadata_of(edited)
    assert after.source == NoteSource.CLINICIAN and after.edited_at is not None
    assert before.grounding is not None and after.grounding is None  # counts describe the model's draft
    assert after.model_dump(exclude={"source", "edited_at", "grounding"}) == before.model_dump(
        exclude={"source", "edited_at", "grounding"}
    )


def test_edits_need_the_current_etag(engine: Engine) -> None:
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    with pytest.raises(NoteNotFound):
        db.save_clinician_edit(engine, CLINIC, session_id, EDIT, '"1-1"')
    row = db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), force=False)
    current = db.etag(row)
    for missing in (None, "", "  "):
        with pytest.raises(IfMatchRequired) as required:
            db.save_clinician_edit(engine, CLINIC, session_id, EDIT, missing)
        assert required.value.status == 428
    for stale in (f'"{row.id}-0"', f'"{row.id + 1}-1"', f"W/{current}", current.strip('"')):
        with pytest.raises(EtagMismatch) as mismatch:
            db.save_clinician_edit(engine, CLINIC, session_id, EDIT, stale)
        assert mismatch.value.status == 412
    row = db.save_clinician_edit(engine, CLINIC, session_id, EDIT, f'"0-0", {current}')
    with pytest.raises(EtagMismatch):  # the ETag read before this edit is stale now
        db.save_clinician_edit(engine, CLINIC, session_id, EDIT, current)
    assert db.etag(row) == f'"{row.id}-2"'


operations = st.lists(
    st.tuples(st.just("generate"), st.booleans())
    | st.tuples(st.just("edit"), st.sampled_from(["current", "stale", "none"])),
    max_size=8,
)


@HYPOTHESIS
@given(ops=operations)
def test_overwrite_protection_follows_a_simple_model(engine: Engine, ops: list[tuple]) -> None:
    """Expected state: (source, version) of the note or None; a clinician's note blocks
    regeneration unless forced, and edits need the current ETag."""
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    expected: tuple[str, int] | None = None
    for op, arg in ops:
        error: type[ApiError] | None
        if op == "generate":
            blocked = expected is not None and expected[0] == "clinician" and not arg
            error = ClinicianEditExists if blocked else None
            attempt(error, db.save_generated_note, engine, CLINIC, session_id, NOTE, metadata(), arg)
            if not blocked:
                expected = ("model", expected[1] + 1 if expected else 1)
        else:
            row = db.get_session(engine, CLINIC, session_id)[1]
            tag = {"current": row and db.etag(row), "stale": '"0-0"', "none": None}[arg]
            outcomes = {"current": None, "stale": EtagMismatch, "none": IfMatchRequired}
            error = NoteNotFound if expected is None else outcomes[arg]
            attempt(error, db.save_clinician_edit, engine, CLINIC, session_id, EDIT, tag)
            if expected is not None and error is None:
                expected = ("clinician", expected[1] + 1)
        row = db.get_session(engine, CLINIC, session_id)[1]
        assert (row and (row.source, row.version)) == expected


# Concurrency and atomicity


def test_racing_clinician_edits_with_one_etag_exactly_one_wins(engine: Engine) -> None:
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    tag = db.etag(db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), force=False))
    # Widen the window between reading the version and writing it, to expose a lost update.
    with on_statement(engine, "UPDATE notes", lambda: time.sleep(0.2)):
        results = in_threads(4, lambda: db.save_clinician_edit(engine, CLINIC, session_id, EDIT, tag))
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and winners[0].version == 2
    assert [type(r) for r in results if isinstance(r, Exception)] == [EtagMismatch] * 3
    assert db.get_session(engine, CLINIC, session_id)[1].version == 2


def test_racing_first_generations_store_one_note(engine: Engine) -> None:
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    with on_statement(engine, "INSERT INTO notes", lambda: time.sleep(0.2)):
        results = in_threads(
            3, lambda: db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), False)
        )
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.version for r in results) == [1, 2, 3]
    assert len({r.id for r in results}) == 1


def test_failed_saves_leave_the_previous_note(engine: Engine) -> None:
    session_id = db.create_session(engine, CLINIC, "transcript", None, None)
    with pytest.raises(RuntimeError), on_statement(engine, "INSERT INTO notes", fail):
        db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), force=False)
    assert db.get_session(engine, CLINIC, session_id)[1] is None
    row = db.save_generated_note(engine, CLINIC, session_id, NOTE, metadata(), force=False)
    with pytest.raises(RuntimeError), on_statement(engine, "UPDATE notes", fail):
        db.save_clinician_edit(engine, CLINIC, session_id, EDIT, db.etag(row))
    with pytest.raises(RuntimeError), on_statement(engine, "UPDATE notes", fail):
        db.save_generated_note(engine, CLINIC, session_id, EDIT, metadata(NoteSource.FALLBACK), force=True)
    kept = db.get_session(engine, CLINIC, session_id)[1]
    assert kept is not None and db.note_of(kept) == NOTE
    assert (kept.source, kept.version, db.metadata_of(kept)) == ("model", 1, db.metadata_of(row))


# Privacy

SENTINEL = "SENTINEL-7f3a-transcript-text"


def test_texts_never_reach_logs_or_error_messages(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="deployments")
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL statements and parameters
    secret = NOTE.model_copy(update={"summary": SENTINEL, "text": SENTINEL})
    session_id = db.create_session(engine, CLINIC, f"Client: {SENTINEL}", SENTINEL[:20], None)
    row = db.save_generated_note(engine, CLINIC, session_id, secret, metadata(), force=False)
    db.save_clinician_edit(engine, CLINIC, session_id, secret, db.etag(row))
    db.get_session(engine, CLINIC, session_id)
    db.list_sessions(engine, CLINIC, 10, 0)
    errors: list[BaseException] = []
    for failing in (
        lambda: db.create_session(engine, CLINIC, SENTINEL, None, "not-a-date"),  # type: ignore[arg-type]
        lambda: db.save_generated_note(engine, CLINIC, session_id, secret, metadata(), force=False),
        lambda: db.save_clinician_edit(engine, CLINIC, session_id, secret, '"0-0"'),
    ):
        with pytest.raises(Exception) as raised:
            failing()
        error: BaseException | None = raised.value
        while error is not None:
            errors.append(error)
            error = error.__cause__ or error.__context__
    assert any("INSERT INTO sessions" in str(e) for e in errors)  # the SQL error was raised
    assert not [str(e) for e in errors if SENTINEL in str(e)]
    assert "INSERT INTO notes" in caplog.text  # SQL logging was on
    assert SENTINEL not in caplog.text
