"""Note assembly: rendering, risk merging, validation, JSON parsing, summaries, fallback."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.extractive import NO_RISK_TEXT
from models.notes import (
    build_note,
    compose_summary,
    fallback_note,
    merge_risks,
    parse_json_note,
    render,
    validate,
    with_interventions,
)
from models.risk import TITLES, scan
from models.sections import INTERVENTIONS_SECTION
from models.text import Turn, find_markers, word_count
from schemas.notes import (
    SECTIONS,
    SUMMARY_MAX_WORDS,
    SUMMARY_MIN_WORDS,
    NoteFormat,
    RiskCategory,
    RiskFlag,
    RiskSource,
)

SI = RiskFlag(category=RiskCategory.SUICIDAL_IDEATION, evidence="I want to die.")
SR = RiskFlag(category=RiskCategory.SUBSTANCE_RELAPSE, evidence="I relapsed on Friday.")
SUMMARY = " ".join(["word"] * 40)

formats = st.sampled_from(list(NoteFormat))
flags = st.lists(
    st.builds(RiskFlag, category=st.sampled_from(list(RiskCategory)), evidence=st.text(max_size=60)),
    max_size=4,
)


def sections_for(note_format: NoteFormat) -> dict[str, str]:
    return {name: f"Text of {name}." for name in SECTIONS[note_format]}


@pytest.mark.parametrize("note_format", list(NoteFormat))
def test_render_writes_sections_in_order_then_summary_then_risks(note_format: NoteFormat) -> None:
    sections = dict(reversed(sections_for(note_format).items()))
    text = render(note_format, sections, SUMMARY, [SI, SR])
    headings = [line for line in text.split("\n") if line.isupper()]
    assert headings == [n.upper() for n in SECTIONS[note_format]] + ["SUMMARY", "RISK"]
    assert text.endswith(
        "RISK\n{{RED:Suicidal ideation: I want to die.}}\n{{RED:Substance relapse: I relapsed on Friday.}}"
    )


def test_render_without_flags_has_no_risk_block_and_keeps_markers_verbatim() -> None:
    sections = sections_for(NoteFormat.DAP) | {"assessment": "Low mood. {{RED:Self-harm:  cut  }}"}
    text = render(NoteFormat.DAP, sections, SUMMARY, [])
    assert "RISK" not in text
    assert "{{RED:Self-harm:  cut  }}" in text


@settings(max_examples=150)
@given(formats, flags)
def test_every_flag_is_rendered_as_a_marker(note_format: NoteFormat, risk_flags: list[RiskFlag]) -> None:
    text = render(note_format, sections_for(note_format), SUMMARY, risk_flags)
    markers = find_markers(text)
    assert len(markers) == len(risk_flags)
    for marker, flag in zip(markers, risk_flags, strict=True):
        assert marker.startswith(TITLES[flag.category])
        assert "".join(flag.evidence.split()) in "".join(marker.split())


def test_build_note_lowercases_keys_and_renders() -> None:
    note = build_note(NoteFormat.SOAP, {"Subjective ": "a", "OBJECTIVE": "b"}, SUMMARY, [SI])
    assert list(note.sections) == ["subjective", "objective"]
    assert note.text == render(NoteFormat.SOAP, note.sections, SUMMARY, [SI])
    assert note.risk_flags == [SI]


def test_merge_risks_keeps_scan_flags_first_without_duplicates() -> None:
    model = [RiskFlag(category=SR.category, evidence=" i relapsed  on friday. "), SI]
    assert merge_risks(model, [SR]) == [SR, SI]
    assert merge_risks([], []) == []


def flag_key(flag: RiskFlag) -> tuple[RiskCategory, str]:
    return flag.category, " ".join(flag.evidence.split()).casefold()


@settings(max_examples=100)
@given(flags, flags)
def test_merge_risks_never_loses_a_scan_flag(model: list[RiskFlag], scanned: list[RiskFlag]) -> None:
    merged = [flag_key(f) for f in merge_risks(model, scanned)]
    assert len(merged) == len(set(merged))
    scan_keys = list(dict.fromkeys(flag_key(f) for f in scanned))
    assert merged[: len(scan_keys)] == scan_keys
    assert set(merged) == {flag_key(f) for f in [*scanned, *model]}


def test_validate_accepts_a_complete_note() -> None:
    note = build_note(NoteFormat.SOAP, sections_for(NoteFormat.SOAP), SUMMARY, [SI])
    assert validate(note, [SI]) == []


def test_validate_reports_section_problems() -> None:
    sections = sections_for(NoteFormat.BIRP) | {"plan": "  ", "extra": "x"}
    del sections["behavior"]
    note = build_note(NoteFormat.BIRP, sections, SUMMARY, [])
    assert validate(note, []) == [
        "missing_section:behavior",
        "empty_section:plan",
        "unexpected_section:extra",
    ]


@pytest.mark.parametrize(
    ("words", "valid"),
    [
        (SUMMARY_MIN_WORDS - 1, False),
        (SUMMARY_MIN_WORDS, True),
        (SUMMARY_MAX_WORDS, True),
        (SUMMARY_MAX_WORDS + 1, False),
    ],
)
def test_validate_checks_summary_length(words: int, valid: bool) -> None:
    note = build_note(NoteFormat.DAP, sections_for(NoteFormat.DAP), " ".join(["w"] * words), [])
    assert (validate(note, []) == []) is valid
    assert ("summary_length" in validate(note, [])) is not valid


def test_validate_requires_a_marker_for_each_scanned_category() -> None:
    note = build_note(NoteFormat.SOAP, sections_for(NoteFormat.SOAP), SUMMARY, [SI])
    assert validate(note, [SI, SR]) == ["risk_missing:substance_relapse"]
    plain = note.model_copy(update={"text": note.text.replace("{{RED:", "")})
    assert validate(plain, [SI]) == ["risk_missing:suicidal_ideation"]
    edited = note.model_copy(update={"text": note.text + "\n{{RED:substance RELAPSE: yes}}"})
    assert validate(edited, [SI, SR]) == []


def answer(**overrides: object) -> str:
    body = {
        "sections": {"Data": "d", "assessment": "a", "plan": "p"},
        "summary": SUMMARY,
        "risk_flags": [
            {"category": "suicidal_ideation", "evidence": "I want to die."},
            {"category": "bad_mood", "evidence": "x"},
            {"category": "Substance relapse", "evidence": "I relapsed on Friday."},
        ],
    }
    return json.dumps(body | overrides)


def test_parse_json_note_reads_a_model_answer() -> None:
    note = parse_json_note(answer(), NoteFormat.DAP)
    assert note is not None
    assert note.sections == {"data": "d", "assessment": "a", "plan": "p"}
    # unknown category dropped; what the model flagged is marked as the model's
    assert note.risk_flags == [f.model_copy(update={"source": RiskSource.MODEL}) for f in (SI, SR)]
    assert validate(note, [SI, SR]) == []
    fenced = parse_json_note(f"Here it is:\n```json\n{answer()}\n```", NoteFormat.DAP)
    assert fenced == note


@pytest.mark.parametrize(
    "raw",
    [
        "not json at all",
        "",
        "[1, 2]",
        '{"sections": {"data": "d"}}',
        answer(sections=["d", "a", "p"]),
        answer(sections={"data": 1}),
        answer(summary=12),
        answer(risk_flags={"category": "self_harm"}),
        "[" * 100_000,
    ],
)
def test_parse_json_note_rejects_other_shapes(raw: str) -> None:
    assert parse_json_note(raw, NoteFormat.DAP) is None


sentence = st.lists(
    st.sampled_from(["calm", "mood", "sleep", "work", "plan", "é"]), min_size=1, max_size=25
).map(lambda ws: " ".join(ws) + ".")
section_texts = st.lists(sentence, max_size=6).map(" ".join)


@settings(max_examples=200)
@given(formats, st.data())
def test_compose_summary_is_empty_or_30_to_70_words(note_format: NoteFormat, data: st.DataObject) -> None:
    sections = {name: data.draw(section_texts) for name in SECTIONS[note_format]}
    summary = compose_summary(sections, note_format)
    total = sum(word_count(t) for t in sections.values())
    if total < SUMMARY_MIN_WORDS:
        assert summary == ""
    else:
        assert SUMMARY_MIN_WORDS <= word_count(summary) <= SUMMARY_MAX_WORDS
    assert summary == compose_summary(sections, note_format)


def test_compose_summary_takes_whole_sentences_across_sections() -> None:
    sections = {
        "data": "Client reported poor sleep for two weeks. " * 3,
        "assessment": "Mood is low but stable and engagement in session was good today.",
        "plan": "Practice the breathing exercise daily and return next week for review.",
    }
    summary = compose_summary(sections, NoteFormat.DAP)
    assert summary.startswith("Client reported poor sleep for two weeks.")
    assert "Mood is low but stable" in summary and "Practice the breathing exercise" in summary
    assert SUMMARY_MIN_WORDS <= word_count(summary) <= SUMMARY_MAX_WORDS


def test_compose_summary_cuts_one_long_sentence() -> None:
    sections = {"data": " ".join(["word"] * 100) + ".", "assessment": "ok.", "plan": "ok."}
    assert word_count(compose_summary(sections, NoteFormat.DAP)) == SUMMARY_MAX_WORDS


TRANSCRIPT = """Therapist: Welcome back. How has the week been?
Client: It has been a hard week at work and home. I relapsed on Friday after the party.
Client: Sometimes I want to die when I wake up.
Therapist: Thank you for telling me. Next week we will review your safety plan together.
Therapist: For homework, practice the breathing exercise each morning."""


@pytest.mark.parametrize("note_format", list(NoteFormat))
def test_fallback_note_for_a_session(note_format: NoteFormat) -> None:
    flags = scan(TRANSCRIPT)
    note = fallback_note(TRANSCRIPT, note_format, flags)
    assert validate(note, flags) == []
    assert list(note.sections) == list(SECTIONS[note_format])
    assert note.risk_flags == flags
    assert "Next week we will review your safety plan together." in note.sections["plan"]
    first = SECTIONS[note_format][0]
    assert "Welcome back" not in note.sections[first]
    assert note.sections[first].startswith("In the client's words (extracted): “It has been a hard week")
    assert note.text.count("(extracted)") == 1
    assert "suicidal ideation" in note.summary.lower()


def test_fallback_note_without_risks() -> None:
    note = fallback_note("Client: A quiet and ordinary week.", NoteFormat.SOAP, [])
    assert note.sections["assessment"] == NO_RISK_TEXT
    assert note.sections["objective"] == "Interventions were not identified automatically."
    assert validate(note, []) == []


@pytest.mark.parametrize("transcript", ["", "word", "Therapist: hi", "\x00\n\n{{RED:", "}}" * 50])
def test_fallback_note_for_degenerate_transcripts(transcript: str) -> None:
    for note_format in NoteFormat:
        note = fallback_note(transcript, note_format, scan(transcript))
        assert validate(note, scan(transcript)) == []


def test_fallback_note_for_a_long_transcript_is_short_and_quick() -> None:
    lines = [
        f"{'Therapist' if i % 2 else 'Client'}: I talked about my week and we will meet again."
        for i in range(5000)
    ]
    transcript = "\n".join(lines)
    assert word_count(transcript) > 50_000
    started = time.perf_counter()
    note = fallback_note(transcript, NoteFormat.SOAP, scan(transcript))
    assert time.perf_counter() - started < 5
    assert validate(note, []) == []
    assert all(word_count(text) <= 120 for text in note.sections.values())


transcript_lines = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["Therapist:", "Client:", "[doctor]", "Dr. Lee:", "{{RED:", "}}", "I want to die."]),
    st.tuples(st.sampled_from(["Therapist: ", "Client: ", ""]), st.text(max_size=200)).map("".join),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(transcript_lines, max_size=12).map("\n".join), formats, flags)
def test_fallback_note_is_always_valid(
    transcript: str, note_format: NoteFormat, extra: list[RiskFlag]
) -> None:
    risk_flags = merge_risks(extra, scan(transcript))
    note = fallback_note(transcript, note_format, risk_flags)
    assert validate(note, risk_flags) == []
    assert SUMMARY_MIN_WORDS <= word_count(note.summary) <= SUMMARY_MAX_WORDS
    assert all(0 < word_count(text) <= 120 for text in note.sections.values())


def test_compose_summary_draws_on_the_filler_only_when_the_sections_are_too_short() -> None:
    sections = {"data": "Client slept badly.", "assessment": "Low mood.", "plan": "Sleep diary."}
    assert compose_summary(sections, NoteFormat.DAP) == ""
    filler = "The client described a week of poor sleep and low mood after the move. " * 3
    summary = compose_summary(sections, NoteFormat.DAP, filler)
    assert SUMMARY_MIN_WORDS <= word_count(summary) <= SUMMARY_MAX_WORDS
    assert summary.startswith("Client slept badly. Low mood. Sleep diary.")
    long = {"data": " ".join(["word"] * 35) + "."}
    assert compose_summary(long, NoteFormat.DAP, filler) == compose_summary(long, NoteFormat.DAP)


SESSION_TURNS = [
    Turn("Therapist", "What brings you in today?"),
    Turn("Client", "I can't sleep and I'm drinking more."),
    Turn("Therapist", "How has the drinking been this week?"),
    Turn("Client", "Most nights."),
    Turn("Therapist", "It sounds like the evenings are the hardest part."),
]


@pytest.mark.parametrize("note_format", list(NoteFormat))
def test_the_interventions_sentence_goes_to_the_section_that_holds_interventions(note_format) -> None:
    sections = {key: "The client attended." for key in SECTIONS[note_format]}
    out = with_interventions(sections, SESSION_TURNS, note_format)
    key = INTERVENTIONS_SECTION[note_format]
    assert out[key].startswith("The client attended. The therapist used open questions")
    assert {k: v for k, v in out.items() if k != key} == {k: v for k, v in sections.items() if k != key}
    # Not twice, not into an extracted section, nothing when the rules find nothing.
    assert with_interventions(out, SESSION_TURNS, note_format) == out
    assert with_interventions(sections, SESSION_TURNS, note_format, extracted=[key]) == sections
    assert with_interventions(sections, SESSION_TURNS[:2], note_format) == sections
