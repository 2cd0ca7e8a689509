"""The note pipeline with a fake engine: strategies, map-reduce, truncation, retry and fallback."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from models import notes
from models.pipeline import DraftOptions, draft, draft_note, finalize, prepare
from models.prompts import section_prompt
from schemas.notes import SECTIONS, NoteFormat
from tests.fakes import GOOD_SECTION, FakeEngine
from training_jobs.data import Pair, to_examples

TRANSCRIPT = "Therapist: How are you?\nClient: I feel low and I have not slept well.\nTherapist: Let's plan."


def test_sections_strategy_asks_once_per_section_with_the_training_prompt():
    engine = FakeEngine()
    result = draft(engine, prepare(TRANSCRIPT), NoteFormat.BIRP, DraftOptions())
    assert list(result.sections) == list(SECTIONS[NoteFormat.BIRP])
    text = prepare(TRANSCRIPT).text
    assert engine.prompts == [section_prompt(engine.profile, text, s) for s in SECTIONS[NoteFormat.BIRP]]
    assert result.generation_ms == 7 * 4 and not result.truncated


@settings(max_examples=50, deadline=None)
@given(
    transcript=st.text(min_size=1, max_size=300).filter(lambda t: t.strip()),
    section=st.sampled_from(["subjective", "plan", "GENHX", "assessment"]),
)
def test_training_and_serving_prompts_are_identical(transcript, section):
    """What the service sends for a transcript is exactly the prompt the model was trained on."""
    engine = FakeEngine()
    prepared = prepare(transcript)
    if not prepared.text:
        return
    engine.generate(section_prompt(engine.profile, prepared.text, section))
    pair = Pair(transcript=prepared.text, target="Target.", section=section, group="g", row=1)
    example = to_examples([pair], engine.profile)[0]
    assert example["prompt"] == engine.prompts[-1]
    assert example["completion"] == "Target." + engine.profile.assistant_suffix


def test_long_transcripts_are_condensed_by_map_reduce_not_cut():
    turns = [f"Client: sentence number {i} about sleep and work and family." for i in range(400)]
    engine = FakeEngine(n_ctx=1200, answer=lambda p, a: "Part summary: low mood, poor sleep.")
    result = draft(engine, prepare("\n".join(turns)), NoteFormat.SOAP, DraftOptions(section_max_tokens=100))
    partials = [p for p in engine.prompts if "summary of this part" in p]
    assert len(partials) >= 2 and result.chunks == len(partials)
    assert not result.truncated
    words = " ".join(engine.prompts[len(partials) :])
    assert "sentence number 399" not in words  # the sections were written from the parts' summaries


def test_a_transcript_that_cannot_be_condensed_is_cut_and_reported():
    turns = [f"Client: sentence number {i} about sleep and work and family." for i in range(400)]
    engine = FakeEngine(n_ctx=1200, answer=lambda p, a: p)  # a "summary" as long as its input
    result = draft(engine, prepare("\n".join(turns)), NoteFormat.SOAP, DraftOptions(section_max_tokens=100))
    assert result.truncated


def test_json_strategy_parses_a_whole_note():
    note = {
        "sections": {s: GOOD_SECTION for s in SECTIONS[NoteFormat.DAP]},
        "summary": " ".join(["word"] * 40),
        "risk_flags": [],
    }
    engine = FakeEngine(answer=lambda p, a: json.dumps(note))
    result = draft(engine, prepare(TRANSCRIPT), NoteFormat.DAP, DraftOptions(strategy="json"))
    final, problems = finalize(prepare(TRANSCRIPT), result)
    assert problems == [] and final.sections["data"] == GOOD_SECTION


def test_invalid_output_is_retried_once_then_falls_back():
    engine = FakeEngine(answer=lambda p, a: "")
    note, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP)
    assert info["source"] == "fallback" and info["attempts"] == 2
    assert notes.validate(note, prepare(TRANSCRIPT).risk_flags) == []


def test_retry_that_succeeds_gives_a_model_note():
    engine = FakeEngine(answer=lambda p, a: GOOD_SECTION if a == 1 else "")
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP)
    assert info == {
        "source": "model",
        "attempts": 2,
        "generation_ms": 7 * 8,
        "truncated": False,
        "problems": [],
    }


def test_a_timed_out_draft_falls_back_without_retry():
    engine = FakeEngine(timed_out=True)
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP)
    assert info["source"] == "fallback" and info["attempts"] == 1 and info["problems"] == ["timed_out"]


def test_every_scanned_risk_reaches_the_note_even_when_the_model_omits_it():
    risky = TRANSCRIPT + "\nClient: Some nights I want to kill myself."
    note, info = draft_note(FakeEngine(), risky, NoteFormat.SOAP)
    assert info["source"] == "model"
    assert "suicidal_ideation" in {f.category for f in note.risk_flags}
    assert "{{RED:Suicidal ideation:" in note.text
