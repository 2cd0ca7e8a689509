"""The note pipeline with a fake engine: one batch per note, map-reduce in one batch, truncation,
grounding, retry and fallback under one time budget, and the model's risk opinion."""

from __future__ import annotations

import json
import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from models import notes, risk_model
from models.pipeline import DraftOptions, draft, draft_note, finalize, fit, prepare
from models.prompts import PARTIAL, section_prompt
from schemas.notes import SECTIONS, NoteFormat, RiskCategory, RiskSource
from tests.fakes import GOOD_SECTION, FakeEngine
from training_jobs.data import Pair, to_examples

TRANSCRIPT = "Therapist: How are you?\nClient: I feel low and I have not slept well.\nTherapist: Let's plan."
LONG = "\n".join(f"Client: sentence number {i} about sleep and work and family." for i in range(400))


def _draft(engine, transcript, note_format=NoteFormat.SOAP, options=None, attempt=0):
    prepared, options = prepare(transcript), options or DraftOptions()
    return draft(engine, prepared, note_format, options, fit(engine, prepared, note_format, options), attempt)


def test_all_sections_of_a_note_are_asked_in_one_batch_with_the_training_prompts():
    engine = FakeEngine()
    result = _draft(engine, TRANSCRIPT, NoteFormat.BIRP)
    assert list(result.sections) == list(SECTIONS[NoteFormat.BIRP])
    text = prepare(TRANSCRIPT).text
    expected = [section_prompt(engine.profile, text, s, NoteFormat.BIRP) for s in SECTIONS[NoteFormat.BIRP]]
    assert engine.batches == [expected]
    assert not result.truncated and result.chunks == 1


@settings(max_examples=50, deadline=None)
@given(
    transcript=st.text(min_size=1, max_size=300).filter(lambda t: t.strip()),
    note_format=st.sampled_from(list(NoteFormat)),
    data=st.data(),
)
def test_training_and_serving_prompts_are_identical(transcript, note_format, data):
    """What the service sends for a transcript is exactly the prompt the model was trained on."""
    prepared = prepare(transcript)
    if not prepared.text:
        return
    section = data.draw(st.sampled_from(SECTIONS[note_format]))
    engine = FakeEngine()
    sent = _draft(engine, transcript, note_format)
    pair = Pair(
        transcript=prepared.text,
        target="Target.",
        section=section,
        group="g",
        row=1,
        note_format=note_format.value,
    )
    example = to_examples([pair], engine.profile)[0]
    assert example["prompt"] in engine.batches[-1] and sent.sections
    assert example["completion"] == "Target." + engine.profile.assistant_suffix


def test_long_transcripts_are_condensed_by_map_reduce_one_part_after_another():
    engine = FakeEngine(n_ctx=1200, answer=lambda p, a: "Part summary: low mood, poor sleep.")
    result = _draft(engine, LONG, options=DraftOptions(section_max_tokens=100))
    *parts, sections = engine.batches
    assert len(parts) >= 2 and result.chunks == len(parts) and all(len(b) == 1 for b in parts)
    map_step = [p for b in parts for p in b]
    assert all(p.startswith(section_prompt(engine.profile, "", PARTIAL)[:20]) for p in map_step)
    assert not result.truncated
    assert "sentence number 399" in map_step[-1] and "sentence number 399" not in " ".join(sections)


def test_a_transcript_that_cannot_be_condensed_is_cut_and_reported():
    engine = FakeEngine(n_ctx=1200, answer=lambda p, a: p)  # a "summary" as long as its input
    assert _draft(engine, LONG, options=DraftOptions(section_max_tokens=100)).truncated


def test_json_strategy_parses_a_whole_note():
    note = {
        "sections": {s: GOOD_SECTION for s in SECTIONS[NoteFormat.DAP]},
        "summary": " ".join(["word"] * 40),
        "risk_flags": [],
    }
    engine = FakeEngine(answer=lambda p, a: json.dumps(note))
    result = _draft(engine, TRANSCRIPT, NoteFormat.DAP, DraftOptions(strategy="json"))
    final, problems, _ = finalize(prepare(TRANSCRIPT), result)
    assert problems == [] and final.sections["data"]


SUPPORTED = {
    "Subjective": "The client said they feel low and have not slept well.",
    "Objective": "The therapist asked how the client was doing and listened.",
    "Assessment": "Low mood and poor sleep are the main concerns raised in this session.",
    "Plan": "The therapist and the client agreed to make a plan together.",
}


def test_the_grounding_guard_removes_what_the_transcript_does_not_hold():
    def answer(prompt, attempt):
        title = re.search(r"Write the (\w+) section", prompt).group(1)
        return SUPPORTED[title] + " The client is a 45-year-old divorced father who takes lorazepam."

    note, info = draft_note(FakeEngine(answer=answer), TRANSCRIPT, NoteFormat.SOAP)
    assert info["source"] == "model"
    assert "lorazepam" not in note.text and note.sections["subjective"] == SUPPORTED["Subjective"]
    assert info["grounding"]["removed"] and info["grounding"]["sentences_kept"] == 4


def test_invalid_output_is_retried_once_then_falls_back():
    engine = FakeEngine(answer=lambda p, a: "{not json")
    note, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP, DraftOptions(strategy="json"))
    assert (info["source"], info["attempts"], info["problems"]) == ("fallback", 2, ["unparseable"])
    assert len(engine.batches) == 2  # the first draft and the retry, each one batch
    assert notes.validate(note, prepare(TRANSCRIPT).risk_flags) == []


def test_a_retry_that_succeeds_gives_a_model_note():
    engine = FakeEngine(answer=lambda p, a: "{not json" if a == 0 else json.dumps(_note(NoteFormat.SOAP)))
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP, DraftOptions(strategy="json"))
    assert (info["source"], info["attempts"], info["problems"]) == ("model", 2, [])


def _note(note_format):
    return {"sections": {s: GOOD_SECTION for s in SECTIONS[note_format]}, "summary": "x", "risk_flags": []}


def test_a_timed_out_draft_falls_back_without_retry():
    engine = FakeEngine(timed_out=True)
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP)
    assert info["source"] == "fallback" and info["attempts"] == 1 and info["problems"] == ["timed_out"]


def test_one_time_budget_covers_the_retry():
    """An invalid first draft that used most of the budget is not retried: the fallback comes in time."""

    class Slow(FakeEngine):
        def generate_many(self, requests):
            time.sleep(0.2)
            return super().generate_many(requests)

    engine = Slow(answer=lambda p, a: "{not json")
    start = time.monotonic()
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP, DraftOptions(strategy="json", timeout_s=0.3))
    assert time.monotonic() - start < 0.3
    assert info["source"] == "fallback" and info["attempts"] == 1 and "no_time_to_retry" in info["problems"]
    late = Slow(answer=lambda p, a: "{not json")
    _, info = draft_note(late, TRANSCRIPT, NoteFormat.SOAP, DraftOptions(strategy="json"), deadline=0.0)
    assert info["source"] == "fallback" and info["attempts"] == 1


def test_every_scanned_risk_reaches_the_note_even_when_the_model_omits_it():
    risky = TRANSCRIPT + "\nClient: Some nights I want to kill myself."
    note, info = draft_note(FakeEngine(), risky, NoteFormat.SOAP)
    assert info["source"] == "model"
    assert "suicidal_ideation" in {f.category for f in note.risk_flags}
    assert "{{RED:Suicidal ideation" in note.text


def test_the_risk_opinion_is_asked_in_the_notes_batch_and_its_flags_kept():
    risky = (
        "Therapist: How was the week?\nClient: Honestly the pills in the cabinet have been on my mind a lot."
    )
    question = risk_model.QUESTIONS[RiskCategory.SUBSTANCE_RELAPSE]

    def answer(prompt, attempt):
        if question in prompt:
            return 'yes: "the pills in the cabinet have been on my mind a lot"'
        return "no" if "Question about what the client said" in prompt else GOOD_SECTION

    engine = FakeEngine(answer=answer)
    note, info = draft_note(engine, risky, NoteFormat.SOAP, DraftOptions(risk_opinion=True))
    [batch] = engine.batches
    assert len(batch) == len(SECTIONS[NoteFormat.SOAP]) + len(risk_model.QUESTIONS)
    by_source = {(f.category, f.source) for f in note.risk_flags}
    assert (RiskCategory.SUBSTANCE_RELAPSE, RiskSource.MODEL) in by_source
    assert (RiskCategory.SUICIDAL_IDEATION, RiskSource.SCAN) in by_source
    engine = FakeEngine(answer=answer)
    draft_note(engine, risky, NoteFormat.SOAP)
    assert len(engine.batches[0]) == len(SECTIONS[NoteFormat.SOAP])  # off by default


def test_a_guarded_note_too_short_for_a_summary_is_still_the_models():
    """Short, supported sections give too few words for a summary: the extractive note's summary
    completes it, so the model's note is served rather than the fallback."""
    short = {"Subjective": "The client feels low.", "Objective": "The client was quiet.",
             "Assessment": "Low mood.", "Plan": "Sleep diary."}  # fmt: skip
    engine = FakeEngine(answer=lambda p, a: short[re.search(r"Write the (\w+) section", p).group(1)])
    _, info = draft_note(engine, TRANSCRIPT, NoteFormat.SOAP)
    assert (info["source"], info["attempts"], info["problems"]) == ("model", 1, [])


def test_finalize_adds_the_interventions_sentence_after_the_guard():
    transcript = (
        "Therapist: What brings you in today?\nClient: I can't sleep.\n"
        "Therapist: How has the week been?\nClient: Long.\n"
    )
    engine = FakeEngine(answer=lambda p, a: GOOD_SECTION)
    note, problems, report = finalize(prepare(transcript), _draft(engine, transcript, NoteFormat.BIRP))
    assert problems == []
    assert "The therapist used open questions." in note.sections["intervention"]
    assert "open questions" not in note.sections["response"]
    assert report is not None and report["sentences_kept"] <= report["sentences_in"]
