"""The grounding guard: unsupported facts, denials, repetition, and the extractive fill."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import grounding
from models.pipeline import prepare
from schemas.notes import SECTIONS, NoteFormat

TRANSCRIPT = (
    "Therapist: How has the week been?\n"
    "Client: Rough. I drank four nights out of seven, mostly on my own. My sister Dana noticed.\n"
    "Therapist: Any thoughts of hurting yourself?\n"
    "Client: No, nothing like that.\n"
    "Therapist: You mentioned the sertraline last time.\n"
    "Client: I stopped taking it in March because it made me tired.\n"
)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The client is a 40-year-old man who drinks.", "register"),
        ("The client drank on nine nights.", "number"),
        ("The client drank twelve beers.", "number"),
        ("The client started drinking in 2019.", "date"),
        ("The client will return on Thursday.", "date"),
        ("The client takes lorazepam at night.", "medication"),
        ("The client takes 50 mg daily.", "medication"),
        ("The client's brother Marcus is worried.", "name"),
        ("The client is a divorced father.", "demographic"),
        ("The client denies any history of depression or anxiety.", "denial"),
        ("Lungs are clear and the abdomen is soft.", "register"),
        ("The patient reported drinking.", "register"),
    ],
)
def test_unsupported_facts_are_found(sentence: str, reason: str) -> None:
    assert reason in grounding.unsupported(sentence, TRANSCRIPT)


@pytest.mark.parametrize(
    "sentence",
    [
        "The client reported drinking four nights out of seven, mostly alone.",
        "The client's sister Dana noticed the drinking.",
        "The client stopped taking sertraline in March because it made them tired.",
        "The client denied thoughts of hurting themself.",
        "The client was open about the week and engaged in the session.",
        "Therapist used open questions and reflections.",
        "The client may want support from one friend.",
    ],
)
def test_supported_sentences_pass(sentence: str) -> None:
    assert grounding.unsupported(sentence, TRANSCRIPT) == []


def test_numbers_in_words_and_digits_agree() -> None:
    transcript = "Client: I sleep about 5 hours and I've been sober twenty-one days."
    assert grounding.unsupported("The client sleeps about five hours.", transcript) == []
    assert grounding.unsupported("The client has been sober for 21 days.", transcript) == []
    assert grounding.unsupported("The client has been sober for 22 days.", transcript) == ["number"]


def test_guard_removes_duplicates_loops_and_unsupported_and_counts_them() -> None:
    prepared = prepare(TRANSCRIPT)
    sections = {
        "subjective": "The client drank four nights out of seven. The client is a 52-year-old male.",
        "objective": "The client drank four nights out of seven. The client was engaged.",
        "assessment": "The client is ambivalent about drinking. " + "I think that I think that " * 4 + ".",
        "plan": "The client will see Dr. Patel on Monday.",
    }
    kept, report = grounding.ground_sections(sections, prepared, NoteFormat.SOAP)
    assert kept["subjective"] == "The client drank four nights out of seven."
    assert kept["objective"] == "The client was engaged."
    assert kept["assessment"] == "The client is ambivalent about drinking."
    assert report.removed["register"] == 1
    assert report.removed["duplicate"] == 1
    assert report.removed["loop"] == 1
    assert report.extracted_sections == ["plan"]  # emptied, then filled by the extractive path
    assert kept["plan"]
    metadata = report.as_metadata()
    assert set(metadata) == {"sentences_in", "sentences_kept", "removed", "extracted_sections"}
    assert "Patel" not in str(metadata)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS[NoteFormat.BIRP]), st.text(max_size=300)))
def test_guard_always_fills_every_section(sections: dict[str, str]) -> None:
    kept, report = grounding.ground_sections(sections, prepare(TRANSCRIPT), NoteFormat.BIRP)
    assert list(kept) == list(SECTIONS[NoteFormat.BIRP])
    assert all(text.strip() for text in kept.values())
    assert report.sentences_kept <= report.sentences_in
