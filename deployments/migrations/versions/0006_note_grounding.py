"""Notes keep the grounding guard's counts: what it removed from the model's draft, by reason.

A JSON column of counts (never text), null for notes stored before this revision, fallback notes
and clinician edits.

Revision ID: 0006_note_grounding
Revises: 0005_clinics_audit_encryption
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_note_grounding"
down_revision: str | None = "0005_clinics_audit_encryption"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.add_column(sa.Column("grounding", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.drop_column("grounding")
