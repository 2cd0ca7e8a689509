"""Clinics and API keys, the append-only audit log, idempotency records, and encryption at rest.

Existing sessions are given to a clinic named "local"; their transcripts and notes are encrypted
with the active data key (deployments/crypto.py: NOTES_DATA_KEYS or the local key file) and the
plain-text columns are dropped. The audit table rejects UPDATE and DELETE with a trigger.

SQLite keeps `sessions.clinic_id` nullable at the column level (ALTER TABLE cannot add a NOT NULL
foreign key, and rebuilding `sessions` would break its notes' foreign key); the code always sets it.

Revision ID: 0005_clinics_audit_encryption
Revises: 0004_risk_flag_grades
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from deployments import crypto

revision: str = "0005_clinics_audit_encryption"
down_revision: str | None = "0004_risk_flag_grades"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The associated data of each ciphertext, as deployments/db.py writes it.
TRANSCRIPT_AAD = "sessions.transcript:{clinic}:{session}"
NOTE_AAD = "notes.content:{session}"
NOTE_TEXT_COLUMNS = ("sections", "summary", "risk_flags", "text")

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
]


def _new_tables() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_clinic_id", "api_keys", ["clinic_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_clinic_id", "audit_events", ["clinic_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=False),
        sa.Column("idem_key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response_ct", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("clinic_id", "idem_key"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def _encrypt_existing(connection: sa.Connection) -> None:
    """Give existing sessions to clinic "local" and encrypt their transcripts and notes."""
    if connection.execute(sa.text("SELECT COUNT(*) FROM sessions")).scalar_one() == 0:
        return
    keys = crypto.keyring()
    clinic = connection.execute(sa.text("SELECT id FROM clinics WHERE name = 'local'")).scalar()
    if clinic is None:
        connection.execute(
            sa.text("INSERT INTO clinics (name, created_at) VALUES ('local', CURRENT_TIMESTAMP)")
        )
        clinic = connection.execute(sa.text("SELECT id FROM clinics WHERE name = 'local'")).scalar_one()
    connection.execute(sa.text("UPDATE sessions SET clinic_id = :c"), {"c": clinic})
    for session_id, transcript in connection.execute(sa.text("SELECT id, transcript FROM sessions")).all():
        kid, blob = keys.encrypt(
            transcript.encode(), TRANSCRIPT_AAD.format(clinic=clinic, session=session_id)
        )
        connection.execute(
            sa.text("UPDATE sessions SET transcript_ct = :b, key_id = :k WHERE id = :i"),
            {"b": blob, "k": kid, "i": session_id},
        )
    notes = sa.table(
        "notes",
        *(
            sa.column(name, sa.JSON if name in ("sections", "risk_flags") else sa.Text)
            for name in NOTE_TEXT_COLUMNS
        ),
        sa.column("id"),
        sa.column("session_id"),
        sa.column("format"),
    )
    for row in connection.execute(sa.select(notes)).mappings().all():
        content = {"format": row["format"], **{name: row[name] for name in NOTE_TEXT_COLUMNS}}
        aad = NOTE_AAD.format(session=row["session_id"])
        kid, blob = keys.encrypt(json.dumps(content).encode(), aad)
        connection.execute(
            sa.text("UPDATE notes SET content_ct = :b, key_id = :k WHERE id = :i"),
            {"b": blob, "k": kid, "i": row["id"]},
        )


def upgrade() -> None:
    _new_tables()
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":  # Alembic's add_column cannot add a foreign key on SQLite; the SQL can
        op.execute("ALTER TABLE sessions ADD COLUMN clinic_id INTEGER REFERENCES clinics (id)")
    else:
        op.add_column(
            "sessions", sa.Column("clinic_id", sa.Integer(), sa.ForeignKey("clinics.id"), nullable=True)
        )
    op.add_column("sessions", sa.Column("transcript_ct", sa.LargeBinary(), nullable=True))
    op.add_column("sessions", sa.Column("key_id", sa.String(64), nullable=False, server_default=""))
    op.add_column("sessions", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sessions", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_sessions_clinic_id", "sessions", ["clinic_id"])
    op.add_column("notes", sa.Column("content_ct", sa.LargeBinary(), nullable=True))
    op.add_column("notes", sa.Column("key_id", sa.String(64), nullable=True))
    _encrypt_existing(op.get_bind())
    op.execute("ALTER TABLE sessions DROP COLUMN transcript")
    if dialect != "sqlite":
        op.alter_column("sessions", "clinic_id", nullable=False)
    with op.batch_alter_table("notes") as batch:
        for name in NOTE_TEXT_COLUMNS:
            batch.drop_column(name)
        batch.alter_column("content_ct", existing_type=sa.LargeBinary(), nullable=False)
        batch.alter_column("key_id", existing_type=sa.String(64), nullable=False)
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Back to plain text: decrypts every row (the data keys must still be configured)."""
    connection = op.get_bind()
    keys = crypto.keyring()
    op.add_column("sessions", sa.Column("transcript", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("notes") as batch:
        batch.add_column(sa.Column("sections", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("risk_flags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
    rows = connection.execute(sa.text("SELECT id, clinic_id, transcript_ct, key_id FROM sessions")).all()
    for session_id, clinic, blob, kid in rows:
        if blob is None:
            continue
        plain = keys.decrypt(kid, blob, TRANSCRIPT_AAD.format(clinic=clinic, session=session_id)).decode()
        connection.execute(
            sa.text("UPDATE sessions SET transcript = :t WHERE id = :i"), {"t": plain, "i": session_id}
        )
    query = "SELECT id, session_id, content_ct, key_id FROM notes"
    for note_id, session_id, blob, kid in connection.execute(sa.text(query)).all():
        content = json.loads(keys.decrypt(kid, blob, NOTE_AAD.format(session=session_id)))
        connection.execute(
            sa.text("UPDATE notes SET sections = :a, summary = :b, risk_flags = :c, text = :d WHERE id = :i"),
            {
                "a": json.dumps(content["sections"]),
                "b": content["summary"],
                "c": json.dumps(content["risk_flags"]),
                "d": content["text"],
                "i": note_id,
            },
        )
    with op.batch_alter_table("notes") as batch:
        batch.drop_column("key_id")
        batch.drop_column("content_ct")
    op.drop_index("ix_sessions_clinic_id", table_name="sessions")
    for name in ("purged_at", "deleted_at", "key_id", "transcript_ct", "clinic_id"):
        op.execute(f"ALTER TABLE sessions DROP COLUMN {name}")
    if connection.dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only() CASCADE")
    for table in ("idempotency_keys", "audit_events", "api_keys", "clinics"):
        op.drop_table(table)
