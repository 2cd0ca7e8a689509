"""Note metadata: which model wrote the note, how, whether a clinician edited it, its version.

Server defaults keep the rows written before this revision valid: they read as model-written,
version 1, not truncated, with unknown model and generation time.

Revision ID: 0002_notes_metadata
Revises: 0001_initial
Create Date: 2025-01-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_notes_metadata"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "model",
    "model_version",
    "source",
    "generated_at",
    "generation_ms",
    "truncated",
    "edited_at",
    "version",
)


def upgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.add_column(sa.Column("model", sa.String(256), nullable=False, server_default=""))
        batch.add_column(sa.Column("model_version", sa.String(256), nullable=False, server_default=""))
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="model"))
        batch.add_column(sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("generation_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("truncated", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
