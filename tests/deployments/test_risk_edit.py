"""Graded risk flags through the NoteWriter and a real SQLite database: generated, stored, read
back, and edited by a clinician with or without the new fields."""

from __future__ import annotations

import asyncio

import pytest

from schemas.api import NoteEdit
from schemas.errors import InvalidNote
from schemas.notes import NoteFormat, RiskSource
from tests.deployments.test_logic import CLINIC, TRANSCRIPT, _write, _writer


def _stored(tmp_path):
    writer, generator = _writer(tmp_path, None)
    session_id = asyncio.run(writer.create_session(CLINIC, TRANSCRIPT, None, None))
    _write(writer, generator, session_id)
    return writer, session_id, asyncio.run(writer.get_session(CLINIC, session_id))


def test_generated_flags_are_graded_and_stored(tmp_path):
    _, _, stored = _stored(tmp_path)
    [flag] = stored.note.risk_flags
    assert (flag.severity, flag.turn, flag.source) == ("active_thoughts", 1, RiskSource.SCAN)
    assert "{{RED:Suicidal ideation (active_thoughts): I want to kill myself some days.}}" in (
        stored.note.text
    )


def _edit(stored, flags) -> NoteEdit:
    return NoteEdit(
        format=NoteFormat.SOAP, sections=stored.note.sections, summary="Edited.", risk_flags=flags
    )


def test_an_edit_accepts_flags_with_or_without_the_new_fields(tmp_path):
    writer, session_id, stored = _stored(tmp_path)
    full = stored.note.risk_flags[0].model_dump(mode="json")
    bare = {"category": "self_harm", "evidence": "Scratched her arm."}
    result, _ = asyncio.run(writer.save_edit(CLINIC, session_id, _edit(stored, [full, bare]), stored.etag))
    kept, added = result.note.risk_flags
    assert kept == stored.note.risk_flags[0]
    assert (added.severity, added.turn, added.source) == ("unknown", None, RiskSource.CLINICIAN)
    assert "{{RED:Self-harm: Scratched her arm.}}" in result.note.text
    again = asyncio.run(writer.get_session(CLINIC, session_id))
    assert again.note.risk_flags == result.note.risk_flags


@pytest.mark.parametrize(
    "flag",
    [
        {"category": "self_harm", "evidence": "x", "severity": "plan"},  # not a self-harm level
        {"category": "self_harm", "evidence": "x", "turn": -1},
        {"category": "self_harm", "evidence": "x", "source": "oracle"},
    ],
)
def test_an_edit_with_a_bad_flag_is_invalid(tmp_path, flag):
    writer, session_id, stored = _stored(tmp_path)
    with pytest.raises(InvalidNote):
        asyncio.run(writer.save_edit(CLINIC, session_id, _edit(stored, [flag]), stored.etag))
