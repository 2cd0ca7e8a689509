"""The deployments' own logic, without Ray: the classes behind the Serve decorators, the
NoteGenerator on a fake engine, and a real SQLite database."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from deployments import auth
from deployments.generator import NoteGenerator
from deployments.ingress import _error, _parse
from deployments.preprocessor import Preprocessor
from deployments.writer import NoteWriter
from models.pipeline import DraftOptions, prepare
from schemas.api import NoteEdit, SummarizeRequest
from schemas.errors import (
    ApiError,
    ClinicianEditExists,
    EmptyTranscript,
    GenerationTimeout,
    TranscriptTooLarge,
)
from schemas.notes import NoteFormat
from tests.fakes import FakeEngine

CLINIC = 1
TRANSCRIPT = (
    "Therapist: How was the week?\nClient: Tiring. I want to kill myself some days.\nTherapist: Let's plan."
)


def _generator(answer, options: DraftOptions | None = None):
    """The NoteGenerator's logic (not its Serve wrapper) on a FakeEngine."""
    generator = object.__new__(NoteGenerator.func_or_class)
    generator.engine, generator.options = FakeEngine(answer=answer), options or DraftOptions()
    generator.info = {"model": "fake", "model_version": "v0"}
    return generator


def _writer(tmp_path, answer):
    writer = NoteWriter.func_or_class(f"sqlite:///{tmp_path / 'notes.db'}")
    assert auth.clinic_id(writer.engine, "test", create=True) == CLINIC
    return writer, _generator(answer)


def _generate(generator, prepared, note_format=NoteFormat.SOAP, deadline=None):
    return asyncio.run(generator.generate(prepared, note_format, deadline))


def _write(writer, generator, session_id=None, force=False):
    generated = _generate(generator, prepare(TRANSCRIPT), deadline=time.time() + 60)
    return asyncio.run(writer.write(generated, session_id, force, clinic_id=CLINIC))


def test_a_valid_draft_is_kept_without_retry(tmp_path):
    writer, generator = _writer(tmp_path, None)
    result = _write(writer, generator)
    assert result.metadata.source == "model" and len(generator.engine.batches) == 1
    assert result.metadata.model == "fake" and result.metadata.generated_at.endswith("Z")
    assert "suicidal_ideation" in {f.category for f in result.note.risk_flags}


def test_an_invalid_draft_is_retried_once_by_the_generator_then_falls_back(tmp_path):
    writer, generator = _writer(tmp_path, lambda prompt, attempt: "{not json")
    generator.options = DraftOptions(strategy="json")
    result = _write(writer, generator)
    assert len(generator.engine.batches) == 2
    assert result.metadata.source == "fallback"
    assert "{{RED:" in result.note.text


def test_a_request_whose_time_is_spent_is_refused_before_the_engine(tmp_path):
    _, generator = _writer(tmp_path, None)
    with pytest.raises(GenerationTimeout):
        _generate(generator, prepare(TRANSCRIPT), deadline=time.time() + 0.5)  # inside the margin
    assert generator.engine.batches == []


def test_the_writer_stores_the_generators_note_as_it_is(tmp_path):
    writer, generator = _writer(tmp_path, lambda prompt, attempt: "")
    session_id = asyncio.run(writer.create_session(CLINIC, TRANSCRIPT, None, None))
    written = _write(writer, generator, session_id)
    stored = asyncio.run(writer.get_session(CLINIC, session_id))
    assert stored.note == written.note and stored.note_metadata == written.metadata


def test_notes_are_persisted_and_a_clinician_edit_blocks_regeneration(tmp_path):
    writer, generator = _writer(tmp_path, None)
    session_id = asyncio.run(writer.create_session(CLINIC, TRANSCRIPT, "c-1", None))
    _write(writer, generator, session_id)
    stored = asyncio.run(writer.get_session(CLINIC, session_id))
    edit = NoteEdit(format=NoteFormat.SOAP, sections=stored.note.sections, summary=stored.note.summary)
    _, etag = asyncio.run(writer.save_edit(CLINIC, session_id, edit, stored.etag))
    assert etag != stored.etag
    with pytest.raises(ClinicianEditExists):
        asyncio.run(writer.transcript_for_generation(CLINIC, session_id, force=False))
    with pytest.raises(ClinicianEditExists):
        _write(writer, generator, session_id)
    assert asyncio.run(writer.get_session(CLINIC, session_id)).note_metadata.source == "clinician"
    _write(writer, generator, session_id, force=True)
    assert asyncio.run(writer.get_session(CLINIC, session_id)).note_metadata.source == "model"


def test_an_edit_without_risk_flags_keeps_the_flagged_risks(tmp_path):
    writer, generator = _writer(tmp_path, None)
    session_id = asyncio.run(writer.create_session(CLINIC, TRANSCRIPT, None, None))
    _write(writer, generator, session_id)
    stored = asyncio.run(writer.get_session(CLINIC, session_id))
    edit = NoteEdit(format=NoteFormat.SOAP, sections=stored.note.sections, summary="Edited summary.")
    result, _ = asyncio.run(writer.save_edit(CLINIC, session_id, edit, stored.etag))
    assert result.note.risk_flags == stored.note.risk_flags and "{{RED:" in result.note.text


def test_preprocessor_rejects_empty_and_oversized_transcripts():
    pre = Preprocessor.func_or_class(max_transcript_chars=100)
    with pytest.raises(EmptyTranscript):
        pre.process(" \u200b\n\t")
    with pytest.raises(TranscriptTooLarge):
        pre.process("x" * 101)
    assert pre.process("Client: fine.").turns == [("client", "fine.")]


def _request(body: bytes) -> Request:
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/"}, receive)
    request.state.request_id = "r-1"
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=6, max_size=40
    ).filter(lambda s: len(s.strip()) >= 6 and s.strip() == s),
    shape=st.sampled_from(["format", "extra", "json", "utf8", "type", "size"]),
)
def test_error_bodies_never_echo_the_input(secret, shape):
    secret = f"\u2603{secret}\u2603"  # cannot occur by chance in the fixed error texts
    bodies = {
        "format": json.dumps({"transcript": secret, "note_format": secret}).encode(),
        "extra": json.dumps({"transcript": "x", secret: secret}).encode(),
        "json": b"{" + secret.encode(),
        "utf8": b'{"transcript": "' + secret.encode() + b'\xff"}',
        "type": json.dumps({"transcript": [secret]}).encode(),
        "size": json.dumps({"transcript": secret * 50}).encode(),
    }
    with pytest.raises(ApiError) as caught:
        asyncio.run(_parse(_request(bodies[shape]), SummarizeRequest, max_bytes=200))
    response = _error(caught.value, _request(b""))
    body = json.loads(response.body)
    assert set(body) == {"code", "message", "request_id"} and 400 <= response.status_code < 500
    assert secret not in response.body.decode() and secret not in str(caught.value)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    transcript=st.text(min_size=1, max_size=400).filter(lambda t: t.strip()),
    note_format=st.sampled_from(list(NoteFormat)),
)
def test_summarize_and_session_generation_give_the_same_note(tmp_path, transcript, note_format):
    """The two paths share one pipeline: the same transcript gives the same note (metadata aside)."""
    writer, generator = _writer(tmp_path, None)
    try:
        prepared = Preprocessor.func_or_class(max_transcript_chars=10_000).process(transcript)
    except EmptyTranscript:
        return
    summarized = asyncio.run(writer.write(_generate(generator, prepared, note_format)))
    session_id = asyncio.run(writer.create_session(CLINIC, prepared.text, None, None))
    stored = asyncio.run(writer.get_session(CLINIC, session_id))
    again = Preprocessor.func_or_class(max_transcript_chars=10_000).process(stored.transcript)
    generated = asyncio.run(
        writer.write(_generate(generator, again, note_format), session_id, False, clinic_id=CLINIC)
    )
    assert generated.note == summarized.note
    assert asyncio.run(writer.get_session(CLINIC, session_id)).note == summarized.note


def test_the_generator_process_does_not_load_the_database_stack() -> None:
    """The NoteGenerator only formats times: importing it must not pull SQLAlchemy, SQLModel or
    Alembic into its replica (about 32 MiB of memory and 0.4 s at every replica start)."""
    import subprocess
    import sys

    code = (
        "import sys, deployments.generator; "
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
