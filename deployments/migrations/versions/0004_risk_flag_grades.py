"""Risk flags carry a severity, the speaker turn they came from and their source.

Flags stored before this revision are rewritten with `severity: "unknown"`, `turn: null` and
`source: "scan"` (until now only the deterministic scan and the model's JSON note wrote flags, and
they were not told apart; "scan" is the safe reading: the flag is kept and shown). The column stays
JSON; no DDL is needed, so the same data step runs on SQLite and PostgreSQL. Downgrade removes the
three keys again.

Revision ID: 0004_risk_flag_grades
Revises: 0002_notes_metadata
Create Date: 2026-12-01
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_risk_flag_grades"
down_revision: str | None = "0002_notes_metadata"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KEYS = {"severity": "unknown", "turn": None, "source": "scan"}

notes = sa.table("notes", sa.column("id", sa.Integer), sa.column("risk_flags", sa.JSON))


def _rewrite(change: Callable[[dict], dict]) -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(notes.c.id, notes.c.risk_flags)).all():
        flags = row.risk_flags or []
        updated = [change(dict(flag)) if isinstance(flag, dict) else flag for flag in flags]
        if updated != flags:
            connection.execute(sa.update(notes).where(notes.c.id == row.id).values(risk_flags=updated))


def upgrade() -> None:
    _rewrite(lambda flag: NEW_KEYS | flag)


def downgrade() -> None:
    _rewrite(lambda flag: {k: v for k, v in flag.items() if k not in NEW_KEYS})
