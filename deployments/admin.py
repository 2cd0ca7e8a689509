"""Administration: API keys, data-key rotation and the audit export.

    python -m deployments.admin keys create --clinic NAME      # prints the new key, once
    python -m deployments.admin keys rotate --key-id N         # a new key for N's clinic; N revoked
    python -m deployments.admin keys revoke --key-id N
    python -m deployments.admin keys list [--clinic NAME]      # ids and dates, never a key or hash
    python -m deployments.admin keys rotate-data [--new-local-key]   # re-encrypt under the active key
    python -m deployments.admin audit export [--since 2026-12-01T00:00:00Z] [--out FILE]
    python -m deployments.admin local-key                      # `make run`: the local clinic's key

The database is DATABASE_URL (default: var/notes.db), migrated first. Each key operation is
written to the audit log (request id `admin`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, delete, select

from deployments import audit, auth, crypto, db
from schemas.settings import Settings
from schemas.tables import ClinicalSession, IdempotencyRecord, ProgressNote
from schemas.times import parse_time

LOCAL_CLINIC = "local"
ROTATE_BATCH = 200


def _engine(settings: Settings) -> Engine:
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    return engine


def _audit(engine: Engine, action: str, clinic_id: int | None, key_id: int | None) -> None:
    audit.record(engine, action=action, status=200, request_id="admin", clinic_id=clinic_id, key_id=key_id)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def local_key(engine: Engine, path: Path) -> str:
    """The local clinic's key from `path`, or a new one (saved there, 0600) when it is missing,
    unknown to this database, or revoked."""
    if path.exists():
        token = path.read_text().strip()
        if auth.authenticate(engine, token) is not None:
            return token
    key_id, token = auth.create_key(engine, LOCAL_CLINIC)
    _audit(engine, "key.create", auth.clinic_id(engine, LOCAL_CLINIC), key_id)
    _write_private(path, token + "\n")
    return token


def rotate_data(engine: Engine) -> dict[str, int]:
    """Re-encrypt every transcript and note under the active data key; drop idempotency records
    under other keys (their fingerprints cannot be recomputed; they live 24 hours anyway).
    Returns counts per table. Runs in batches, each in its own transaction."""
    keys = crypto.keyring()
    counts = {"sessions": 0, "notes": 0, "idempotency_dropped": 0}
    while True:
        with db.transaction(engine, write=True) as session:
            rows = session.exec(
                select(ClinicalSession)
                .where(
                    col(ClinicalSession.key_id) != keys.active,
                    col(ClinicalSession.transcript_ct).is_not(None),
                )
                .limit(ROTATE_BATCH)
            ).all()
            for row in rows:
                plain = db.transcript_of(row)
                assert row.id is not None
                row.key_id, row.transcript_ct = keys.encrypt(
                    plain.encode(), db.transcript_aad(row.clinic_id, row.id)
                )
                session.add(row)
        counts["sessions"] += len(rows)
        if not rows:
            break
    while True:
        with db.transaction(engine, write=True) as session:
            notes = session.exec(
                select(ProgressNote).where(col(ProgressNote.key_id) != keys.active).limit(ROTATE_BATCH)
            ).all()
            for note in notes:
                content = db.note_of(note).model_dump_json().encode()
                note.key_id, note.content_ct = keys.encrypt(content, db.note_aad(note.session_id))
                session.add(note)
        counts["notes"] += len(notes)
        if not notes:
            break
    with db.transaction(engine, write=True) as session:
        result = session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.key_id) != keys.active))
        counts["idempotency_dropped"] = result.rowcount or 0
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.admin", description=__doc__.split("\n\n")[0])
    groups = parser.add_subparsers(dest="group", required=True)
    keys = groups.add_parser("keys", help="API keys and data keys").add_subparsers(
        dest="command", required=True
    )
    keys.add_parser("create", help="a new key for a clinic (created if new)").add_argument(
        "--clinic", required=True
    )
    keys.add_parser("rotate", help="replace a key").add_argument("--key-id", type=int, required=True)
    keys.add_parser("revoke", help="revoke a key").add_argument("--key-id", type=int, required=True)
    keys.add_parser("list", help="keys without secrets").add_argument("--clinic")
    rotate = keys.add_parser("rotate-data", help="re-encrypt stored text under the active data key")
    rotate.add_argument(
        "--new-local-key",
        action="store_true",
        help="first add a fresh key to the local key file and activate it",
    )
    export = groups.add_parser("audit", help="the audit log").add_subparsers(dest="command", required=True)
    out = export.add_parser("export", help="write the audit log as JSON lines")
    out.add_argument("--since", help="ISO 8601 time; only events from then on")
    out.add_argument("--out", type=Path, help="file to write (default: stdout)")
    groups.add_parser("local-key", help="print (or create) the local clinic's key for `make run`")
    args = parser.parse_args(argv)

    settings = Settings()
    engine = _engine(settings)
    if args.group == "local-key":
        token = local_key(engine, settings.local_api_key_file)
        print(f"API key of clinic '{LOCAL_CLINIC}' (also in {settings.local_api_key_file}, mode 0600):")
        print(token)
    elif args.group == "audit":
        since = parse_time(args.since) if args.since else None
        stream = args.out.open("w") if args.out else sys.stdout
        try:
            count = 0
            for event in audit.export(engine, since):
                stream.write(json.dumps(event) + "\n")
                count += 1
        finally:
            if args.out:
                stream.close()
        print(f"{count} audit events", file=sys.stderr)
    elif args.command == "create":
        key_id, token = auth.create_key(engine, args.clinic)
        _audit(engine, "key.create", auth.clinic_id(engine, args.clinic), key_id)
        print(f"key {key_id} for clinic '{args.clinic}'; it is shown only now:")
        print(token)
    elif args.command == "rotate":
        try:
            key_id, token = auth.rotate_key(engine, args.key_id)
        except auth.UnknownKey:
            parser.exit(2, f"no key with id {args.key_id}\n")
        clinic = auth.revoke_key(engine, args.key_id)
        _audit(engine, "key.rotate", clinic, key_id)
        print(f"key {args.key_id} revoked; new key {key_id}, shown only now:")
        print(token)
    elif args.command == "revoke":
        try:
            clinic = auth.revoke_key(engine, args.key_id)
        except auth.UnknownKey:
            parser.exit(2, f"no key with id {args.key_id}\n")
        _audit(engine, "key.revoke", clinic, args.key_id)
        print(f"key {args.key_id} revoked")
    elif args.command == "list":
        for row in auth.list_keys(engine, args.clinic):
            print(json.dumps(row))
    elif args.command == "rotate-data":
        if args.new_local_key:
            if settings.data_keys:
                parser.exit(2, "NOTES_DATA_KEYS is set: add the new key there and set NOTES_ACTIVE_KEY_ID\n")
            crypto.keyring.cache_clear()
            crypto.load_key_file(settings.data_key_file)
            print(f"active data key: {crypto.add_local_key(settings.data_key_file)}")
            crypto.keyring.cache_clear()
        counts = rotate_data(engine)
        _audit(engine, "data.rotate", None, None)
        print(json.dumps({"active_key_id": crypto.keyring().active, **counts}))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
