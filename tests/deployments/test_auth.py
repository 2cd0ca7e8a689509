"""Clinics and keys, clinic scoping, the append-only audit, encryption at rest, idempotency and the
admin command, on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from deployments import admin, audit, auth, crypto, db, idempotency
from schemas.errors import IdempotencyInFlight, IdempotencyKeyReused, SessionNotFound
from schemas.notes import Note, NoteFormat, NoteMetadata, RiskCategory, RiskFlag
from schemas.tables import IdempotencyRecord, utcnow

SECRET = "QZV-transcript-sentinel-4417"
NOTE = Note(
    format=NoteFormat.DAP,
    sections={"data": f"Client said {SECRET}.", "assessment": "Stable.", "plan": "Review."},
    summary=f"Summary with {SECRET}.",
    risk_flags=[RiskFlag(category=RiskCategory.SELF_HARM, evidence=f"{SECRET} evidence")],
    text=f"DATA: {SECRET}",
)
META = NoteMetadata(
    model="m", model_version="1", source="model", generation_ms=1, generated_at="2026-01-01T00:00:00Z"
)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> crypto.Keyring:
    """Two data keys from the environment, k2 active."""
    monkeypatch.setenv("NOTES_DATA_KEYS", f"k1:{crypto.new_key()},k2:{crypto.new_key()}")
    monkeypatch.setenv("NOTES_ACTIVE_KEY_ID", "k2")
    crypto.keyring.cache_clear()
    yield crypto.keyring()
    crypto.keyring.cache_clear()


# Keys


def test_keys_authenticate_until_revoked_and_are_stored_only_hashed(engine: Engine) -> None:
    key_id, token = auth.create_key(engine, "north")
    principal = auth.authenticate(engine, token)
    assert principal is not None and principal.key_id == key_id
    assert principal.clinic_id == auth.clinic_id(engine, "north")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_sha256 FROM api_keys")).scalars().all()
    assert token not in stored and auth.hash_token(token) in stored
    for bad in (
        None,
        "",
        token[:-1],
        token + "x",
        "pn_" + "A" * 43,
        token.replace("pn_", "xx_"),
        "pn_" * 200,
    ):
        assert auth.authenticate(engine, bad) is None
    new_id, new_token = auth.rotate_key(engine, key_id)
    assert auth.authenticate(engine, token) is None
    assert auth.authenticate(engine, new_token) == auth.Principal(principal.clinic_id, new_id)
    auth.revoke_key(engine, new_id)
    assert auth.authenticate(engine, new_token) is None
    listed = auth.list_keys(engine, "north")
    assert [k["key_id"] for k in listed] == [key_id, new_id] and all(k["revoked_at"] for k in listed)
    assert token not in json.dumps(listed) and auth.hash_token(token) not in json.dumps(listed)


def test_the_key_comes_from_bearer_or_x_api_key() -> None:
    assert auth.token_from("Bearer abc", None) == "abc"
    assert auth.token_from("bearer  abc ", "other") == "abc"
    assert auth.token_from("Basic abc", "k") == "k"
    assert auth.token_from(None, " k ") == "k"
    assert auth.token_from("Bearer ", "") is None


# Clinic scoping, deletion


def test_another_clinics_sessions_are_not_found(engine: Engine) -> None:
    a, b = auth.clinic_id(engine, "a", create=True), auth.clinic_id(engine, "b", create=True)
    mine = db.create_session(engine, a, "Client: mine", None, None)
    db.save_generated_note(engine, a, mine, NOTE, META, force=False)
    for call in (
        lambda: db.get_session(engine, b, mine),
        lambda: db.save_generated_note(engine, b, mine, NOTE, META, force=True),
        lambda: db.save_clinician_edit(engine, b, mine, NOTE, '"1-1"'),
        lambda: db.delete_session(engine, b, mine, purge=True),
    ):
        with pytest.raises(SessionNotFound):
            call()
    assert db.list_sessions(engine, b, 10, 0) == ([], 0)
    assert [s.id for s, _ in db.list_sessions(engine, a, 10, 0)[0]] == [mine]
    assert db.note_of(db.get_session(engine, a, mine)[1]) == NOTE  # untouched by b


def test_soft_delete_hides_and_purge_removes_the_text(engine: Engine) -> None:
    session_id = db.create_session(engine, 1, f"Client: {SECRET}", None, None)
    db.save_generated_note(engine, 1, session_id, NOTE, META, force=False)
    db.delete_session(engine, 1, session_id, purge=False)
    with pytest.raises(SessionNotFound):
        db.get_session(engine, 1, session_id)
    with pytest.raises(SessionNotFound):
        db.delete_session(engine, 1, session_id, purge=False)
    assert db.list_sessions(engine, 1, 10, 0) == ([], 0)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT transcript_ct IS NOT NULL FROM sessions")).scalar_one()
    db.delete_session(engine, 1, session_id, purge=True)  # a purge may follow a soft delete
    with engine.connect() as connection:
        row = connection.execute(text("SELECT transcript_ct, purged_at FROM sessions")).one()
        assert row[0] is None and row[1] is not None
        assert connection.execute(text("SELECT COUNT(*) FROM notes")).scalar_one() == 0
    with pytest.raises(SessionNotFound):
        db.delete_session(engine, 1, session_id, purge=True)


# Encryption at rest


def test_no_plain_text_in_the_sqlite_file_or_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    clinic = auth.clinic_id(engine, "c", create=True)
    session_id = db.create_session(engine, clinic, f"Client: {SECRET} and more", None, None)
    row = db.save_generated_note(engine, clinic, session_id, NOTE, META, force=False)
    db.save_clinician_edit(engine, clinic, session_id, NOTE, db.etag(row))
    record, _ = idempotency.begin(engine, clinic, "k", b"body")
    idempotency.finish(engine, record, 200, json.dumps({"note": NOTE.model_dump()}).encode(), session_id)
    assert db.transcript_of(db.get_session(engine, clinic, session_id)[0]) == f"Client: {SECRET} and more"
    files = [p for p in tmp_path.iterdir() if p.name.startswith("notes.db")]
    assert any(p.name.endswith("-wal") for p in files)
    for file in files:
        assert SECRET.encode() not in file.read_bytes(), file.name
    engine.dispose()


def test_ciphertexts_are_bound_to_their_row_and_key(engine: Engine, keys: crypto.Keyring) -> None:
    kid, blob = keys.encrypt(b"text", "sessions.transcript:1:1")
    assert kid == "k2" and keys.decrypt(kid, blob, "sessions.transcript:1:1") == b"text"
    for wrong in ((kid, blob, "sessions.transcript:2:1"), ("k1", blob, "sessions.transcript:1:1")):
        with pytest.raises(crypto.KeyringError):
            keys.decrypt(*wrong)
    with pytest.raises(crypto.KeyringError):
        keys.decrypt("k9", blob, "sessions.transcript:1:1")
    for spec, active in (
        ("k1:notbase64!", None),
        ("k1:" + crypto.new_key() + ",k2:" + crypto.new_key(), None),
    ):
        with pytest.raises(crypto.KeyringError):
            crypto.parse_keys(spec, active)
    with pytest.raises(crypto.KeyringError):
        crypto.parse_keys("k1:" + "QUJD", None)  # 3 bytes


def test_rotate_data_reencrypts_every_row(engine: Engine, monkeypatch: pytest.MonkeyPatch, keys) -> None:
    session_id = db.create_session(engine, 1, "Client: before rotation", None, None)
    db.save_generated_note(engine, 1, session_id, NOTE, META, force=False)
    idempotency.begin(engine, 1, "old", b"x")
    new = crypto.new_key()
    monkeypatch.setenv("NOTES_DATA_KEYS", f"{os.environ['NOTES_DATA_KEYS']},k3:{new}")
    monkeypatch.setenv("NOTES_ACTIVE_KEY_ID", "k3")
    crypto.keyring.cache_clear()
    assert admin.rotate_data(engine) == {"sessions": 1, "notes": 1, "idempotency_dropped": 1}
    assert admin.rotate_data(engine) == {"sessions": 0, "notes": 0, "idempotency_dropped": 0}
    monkeypatch.setenv("NOTES_DATA_KEYS", f"k3:{new}")  # the old keys can go now
    crypto.keyring.cache_clear()
    session, note = db.get_session(engine, 1, session_id)
    assert db.transcript_of(session) == "Client: before rotation" and db.note_of(note) == NOTE


def test_the_local_key_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "var" / "data_keys.json"
    first = crypto.load_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.load_key_file(path) == first
    added = crypto.add_local_key(path)
    again = crypto.load_key_file(path)
    assert again.active == added and set(again.keys) == {first.active, added}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# Audit


def test_the_audit_is_append_only(engine: Engine) -> None:
    audit.record(
        engine, action="session.read", status=200, request_id="r1", clinic_id=1, key_id=1, session_id=3
    )
    audit.record(engine, action="note.summarize", status=401, request_id="r2")
    for statement in ("UPDATE audit_events SET outcome = 'ok'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    events = list(audit.export(engine))
    assert [(e["action"], e["outcome"], e["status"], e["request_id"]) for e in events] == [
        ("session.read", "ok", 200, "r1"),
        ("note.summarize", "denied", 401, "r2"),
    ]
    assert events[0]["at"].endswith("Z")
    assert list(audit.export(engine, since=utcnow() + timedelta(minutes=1))) == []


def test_group_commit_stores_every_event_of_a_burst_in_few_transactions(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """80 requests audited at once: every row stored, each caller released only after its commit,
    far fewer transactions than rows; a failed transaction fails each of its callers."""
    import asyncio

    batches: list[int] = []
    real = audit.record_many

    def counting(engine_: Engine, events: list) -> None:
        batches.append(len(events))
        real(engine_, events)

    monkeypatch.setattr(audit, "record_many", counting)
    group = audit.GroupCommit(engine)

    async def burst() -> None:
        await asyncio.gather(
            *(
                group.record(action="note.summarize", status=503, request_id=f"b{i}", code="queue_full")
                for i in range(80)
            )
        )

    asyncio.run(burst())
    events = [e for e in audit.export(engine) if e["request_id"].startswith("b")]
    assert sorted(e["request_id"] for e in events) == sorted(f"b{i}" for i in range(80))
    assert sum(batches) == 80 and len(batches) < 10, batches

    def failing(engine_: Engine, events: list) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record_many", failing)

    async def doomed() -> list:
        return await asyncio.gather(
            *(group.record(action="x", status=200, request_id=f"f{i}") for i in range(3)),
            return_exceptions=True,
        )

    assert [type(r) for r in asyncio.run(doomed())] == [RuntimeError] * 3


# Idempotency


def test_idempotency_replays_rejects_other_bodies_and_in_flight(engine: Engine) -> None:
    record, stored = idempotency.begin(engine, 1, "key-1", b"POST /v1/summarize body")
    assert stored is None
    with pytest.raises(IdempotencyInFlight):
        idempotency.begin(engine, 1, "key-1", b"POST /v1/summarize body")
    with pytest.raises(IdempotencyKeyReused):
        idempotency.begin(engine, 1, "key-1", b"POST /v1/summarize other body")
    idempotency.finish(engine, record, 200, b'{"note": 1}', None)
    assert idempotency.begin(engine, 1, "key-1", b"POST /v1/summarize body") == (
        record,
        idempotency.Stored(200, b'{"note": 1}'),
    )
    other = auth.clinic_id(engine, "other", create=True)
    assert idempotency.begin(engine, other, "key-1", b"POST /v1/summarize body")[1] is None  # per clinic

    failed, _ = idempotency.begin(engine, 1, "key-2", b"x")
    idempotency.finish(engine, failed, 503, b"{}", None)  # a 5xx frees the key
    assert idempotency.begin(engine, 1, "key-2", b"x")[1] is None

    stale, _ = idempotency.begin(engine, 1, "key-3", b"x")
    with db.transaction(engine, write=True) as session:
        row = session.get(IdempotencyRecord, stale)
        row.created_at = utcnow() - idempotency.IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
        session.add(row)
    assert idempotency.begin(engine, 1, "key-3", b"x") == (stale, None)  # a dead claim is taken over


# The admin command


def test_admin_creates_lists_revokes_and_exports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NOTES_LOCAL_API_KEY_FILE", str(tmp_path / "var" / "local_api_key"))
    assert admin.main(["keys", "create", "--clinic", "east"]) == 0
    token = capsys.readouterr().out.split()[-1]
    engine = db.make_engine(url)
    assert auth.authenticate(engine, token) is not None
    admin.main(["keys", "list"])
    listed = capsys.readouterr().out
    assert '"clinic": "east"' in listed and token not in listed and auth.hash_token(token) not in listed
    admin.main(["keys", "rotate", "--key-id", "1"])
    rotated = capsys.readouterr().out.split()[-1]
    assert auth.authenticate(engine, token) is None and auth.authenticate(engine, rotated) is not None
    admin.main(["keys", "revoke", "--key-id", "2"])
    assert auth.authenticate(engine, rotated) is None

    admin.main(["local-key"])
    local = capsys.readouterr().out.split()[-1]
    key_file = tmp_path / "var" / "local_api_key"
    assert key_file.read_text().strip() == local and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    admin.main(["local-key"])
    assert capsys.readouterr().out.split()[-1] == local  # kept while it is valid

    out = tmp_path / "audit.jsonl"
    admin.main(["audit", "export", "--out", str(out)])
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["action"] for e in events] == ["key.create", "key.rotate", "key.revoke", "key.create"]
    assert all(e["request_id"] == "admin" for e in events)
    engine.dispose()
