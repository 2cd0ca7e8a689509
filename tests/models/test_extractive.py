"""The extractive note's sections: filled by kind, from the transcript's own words, no new facts."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.extractive import (
    NO_RISK_TEXT,
    client_words,
    extract,
    extract_sections,
    plan_statements,
    risk_text,
    themes,
)
from models.notes import fallback_note
from models.risk import scan
from models.text import normalize, parse_turns
from schemas.notes import SECTIONS, NoteFormat, RiskCategory, RiskFlag

SESSION = """Therapist: Hi, come on in. How has the week been?
Client: Okay I guess.
Client: Honestly I've been drinking more since the layoff, and I feel ashamed about it.
Therapist: It sounds like the drinking and the shame feed each other.
Client: Yeah. My wife says I'm not there for the kids, and she's right.
Therapist: What would be different if you cut back?
Client: I'd sleep better. I'd be around for the kids in the evenings.
Therapist: On a scale of zero to ten, how important is cutting back?
Client: Maybe a seven. The drinking helps me stop worrying about money though.
Therapist: Between now and next week, could you keep a count of drinks each night?
Client: I can do that. I'll write it on my phone.
Therapist: Good. We'll look at it together next Tuesday."""


def sections_of(transcript: str, note_format: NoteFormat, flags=()) -> dict[str, str]:
    return extract_sections(parse_turns(normalize(transcript)), note_format, list(flags))


def test_soap_sections_by_kind() -> None:
    s = sections_of(SESSION, NoteFormat.SOAP)
    assert list(s) == list(SECTIONS[NoteFormat.SOAP])
    assert s["subjective"].startswith("In the client's words (extracted): “")
    assert "I feel ashamed about it." in s["subjective"]
    assert "Hi, come on in" not in s["subjective"]
    assert s["objective"].startswith("The therapist used open questions and an importance ruler")
    assert "drinking" in s["assessment"] and s["assessment"].endswith(NO_RISK_TEXT)
    assert "keep a count of drinks each night" in s["plan"]
    assert "next Tuesday" in s["plan"]


def test_each_quote_appears_once_and_reasons_for_change_reach_the_assessment() -> None:
    transcript = SESSION.replace("I'd sleep better.", "I want to be a better dad to them. [laughs]")
    for note_format in NoteFormat:
        sections = sections_of(transcript, note_format)
        quoted = [q for text in sections.values() for q in re.findall(r"“[^”]*”", text)]
        assert len(quoted) == len(set(quoted))
        assert "[laughs]" not in " ".join(sections.values())
    # Three 20-word worries fill the client's words (60 words); the wish is left for the assessment.
    worry = (
        "I feel anxious and worried and scared and stressed and low about the {} thing at work every day now."
    )
    worries = [worry.format(w) for w in "abcdef"]
    s = sections_of(f"Client: {' '.join(worries)} I would like a quieter life.", NoteFormat.SOAP)
    assert "The client's stated reasons and intentions: “I would like a quieter life.”" in s["assessment"]


def test_dap_data_holds_words_and_interventions_birp_response_holds_the_clients_answer() -> None:
    dap = sections_of(SESSION, NoteFormat.DAP)
    assert "“" in dap["data"] and "The therapist used open questions" in dap["data"]
    birp = sections_of(SESSION, NoteFormat.BIRP)
    assert "I can do that." in birp["response"]
    assert birp["intervention"].startswith("The therapist used")


def test_client_words_prefer_telling_sentences() -> None:
    client = [t for t in parse_turns(SESSION) if t.speaker == "client"]
    picked = client_words(client, limit=20)
    assert any("ashamed" in s for s in picked)
    assert "Okay I guess." not in picked


def test_themes_need_two_mentions() -> None:
    client = parse_turns("Client: I drink beer. Work is fine.\nClient: The drinking is worse on weekends.")
    assert themes(client) == ["drinking"]


def test_plan_comes_from_the_closing_turns() -> None:
    turns = parse_turns("Therapist: We will talk about homework later.\n" + "Client: Sure.\n" * 6)
    assert plan_statements(turns) == []
    assert plan_statements(parse_turns(SESSION))[-1] == "We'll look at it together next Tuesday."


def test_risk_text_names_categories_without_numbers() -> None:
    flags = [
        RiskFlag(category=RiskCategory.SUICIDAL_IDEATION, evidence="a"),
        RiskFlag(category=RiskCategory.SUICIDAL_IDEATION, evidence="b"),
        RiskFlag(category=RiskCategory.SUBSTANCE_RELAPSE, evidence="c"),
    ]
    text = risk_text(flags)
    assert "suicidal ideation and substance relapse" in text.lower()
    assert not re.search(r"\d", text)
    assert risk_text([]) == NO_RISK_TEXT


def test_summary_text_is_marked_extractive() -> None:
    assert extract(parse_turns(SESSION), NoteFormat.SOAP, [])[1].startswith(
        "Extractive note: the session's themes included"
    )


@pytest.mark.parametrize("note_format", list(NoteFormat))
def test_fallback_states_no_number_the_transcript_lacks(note_format: NoteFormat) -> None:
    note = fallback_note(SESSION, note_format, scan(SESSION))
    assert set(re.findall(r"\d+", note.text)) <= set(re.findall(r"\d+", SESSION))


words = st.sampled_from(["I", "drink", "feel", "12", "next week", "will", "scale", "sad", "we'll", "2019"])
lines = st.tuples(
    st.sampled_from(["Therapist: ", "Client: ", "Counselor: "]), st.lists(words, min_size=1, max_size=12)
).map(lambda t: t[0] + " ".join(t[1]) + ".")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=10).map("\n".join), st.sampled_from(list(NoteFormat)))
def test_every_number_in_a_fallback_comes_from_the_transcript(
    transcript: str, note_format: NoteFormat
) -> None:
    note = fallback_note(transcript, note_format, scan(transcript))
    assert set(re.findall(r"\d+", note.text)) <= set(re.findall(r"\d+", transcript))
    assert all(text.strip() for text in note.sections.values())
