"""Migration 0004: stored risk flags gain severity, turn and source (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), and lose them again on downgrade."""

from __future__ import annotations

import json

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from deployments import db
from schemas.notes import RiskFlag

OLD = [
    {"category": "suicidal_ideation", "evidence": "I want to die."},
    {"category": "substance_relapse", "evidence": "I relapsed."},
]


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def _flags(engine: Engine) -> list[list[dict]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT risk_flags FROM notes ORDER BY id")).all()
    return [r[0] if isinstance(r[0], list) else json.loads(r[0]) for r in rows]


def test_backfill_and_downgrade(bare_engine: Engine) -> None:
    config = _config(bare_engine)
    command.upgrade(config, "0002_notes_metadata")
    with bare_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sessions (id, transcript, transcript_words, created_at) "
                "VALUES (1, 't', 1, CURRENT_TIMESTAMP), (2, 't', 1, CURRENT_TIMESTAMP)"
            )
        )
        for session_id, flags in ((1, OLD), (2, [])):
            connection.execute(
                text(
                    "INSERT INTO notes (session_id, format, sections, summary, risk_flags, text, "
                    "created_at, updated_at) VALUES (:s, 'SOAP', '{}', '', :f, '', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"s": session_id, "f": json.dumps(flags)},
            )

    command.upgrade(config, "0004_risk_flag_grades")
    upgraded = _flags(bare_engine)
    assert upgraded[1] == []
    assert upgraded[0] == [f | {"severity": "unknown", "turn": None, "source": "scan"} for f in OLD]
    assert [RiskFlag.model_validate(f) for f in upgraded[0]] == [RiskFlag.model_validate(f) for f in OLD]

    command.downgrade(config, "0002_notes_metadata")
    assert _flags(bare_engine) == [OLD, []]
