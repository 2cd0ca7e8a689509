"""Transcript preprocessing: normalisation, markers, speaker turns and chunking."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.text import (
    MARKER_RE,
    Turn,
    chunk_turns,
    find_markers,
    format_turns,
    is_clinician,
    mark,
    normalize,
    parse_turns,
    with_roles,
    word_count,
)

# Characters that exercise every rule: line breaks, spaces, controls, combining marks, braces.
TRICKY = list(" \t\n\r\x0b\x0c\x85\u2028\u00a0\u3000\u200b\u200d\ufeff\x00\x7f{}REDd:e\u0301\u0323.?")
tricky_text = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=["Cs"])))
marker_text = st.text(st.sampled_from(list("ab xyz\t\u00a0\u200b:.e\u0301")), max_size=12).map(
    lambda inner: "{{RED:" + inner + "}}"
)
transcripts = st.lists(st.one_of(tricky_text, marker_text), max_size=8).map("".join)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Client:  hi\tthere ", "Client: hi there"),
        ("a\r\nb\rc\u2028d", "a\nb\nc\nd"),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("  \n\n a \n", "a"),
        ("e\u0301", "\u00e9"),  # NFC composes
        ("\ufb01ne \u2460", "\ufb01ne \u2460"),  # but NFKC folding is not applied
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("no\u00a0break\u3000space", "no break space"),
        ("e\u200b\u0301", "\u00e9"),  # a removed control does not block composition
        ("bell\x07 null\x00", "bell null"),
        ("", ""),
    ],
)
def test_normalize_examples(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@settings(max_examples=200)
@given(transcripts)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200)
@given(transcripts)
def test_normalize_is_whitespace_canonical(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out and "\t" not in out and "\r" not in out and "\n\n\n" not in out
    assert all(line == line.strip(" ") for line in out.split("\n"))
    assert unicodedata.is_normalized("NFC", out)
    assert not [c for c in out if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    assert not [c for c in out if unicodedata.category(c) == "Zs" and c != " "]


@settings(max_examples=200)
@given(transcripts)
def test_normalize_neither_creates_nor_destroys_markers(text: str) -> None:
    assert len(find_markers(normalize(text))) == len(find_markers(text))


@settings(max_examples=150)
@given(
    st.lists(st.text(st.sampled_from(list("ab c\n\t.")), max_size=10), min_size=1, max_size=4),
    st.lists(st.text(st.sampled_from(list("xy z\t\u00a0\u200be\u0301:")), max_size=10), max_size=4),
)
def test_marker_inner_text_is_only_whitespace_normalised(plain: list[str], inners: list[str]) -> None:
    gaps = (plain[1:] + [""] * len(inners))[: len(inners)]
    text = plain[0] + "".join(f"{{{{RED:{i}}}}}{gap}" for i, gap in zip(inners, gaps, strict=True))
    out = find_markers(normalize(text))
    assert [m.strip(" ") for m in out] == [normalize(inner) for inner in inners]


@pytest.mark.parametrize(
    ("raw", "markers"),
    [
        ("{{RED:  Suicidal   ideation: x }}", [" Suicidal ideation: x "]),
        ("{\u200b{RED:x}}", []),  # deleting a control would have made a marker
        ("{{RED:a}\u200b} and more", []),
        ("{{RED:a\rb}}", []),  # a marker never spans lines
        ("{{RED:a}\u200b}}", ["a} "]),
        ("{{RED:one}} {{RED:two}}", ["one", "two"]),
    ],
)
def test_marker_edge_cases(raw: str, markers: list[str]) -> None:
    assert find_markers(normalize(raw)) == markers


@settings(max_examples=150)
@given(tricky_text)
def test_mark_always_reads_back_as_one_marker(inner: str) -> None:
    found = find_markers(mark(inner))
    assert len(found) == 1
    assert "".join(found[0].split()) == "".join(inner.split())
    assert MARKER_RE.fullmatch(mark(inner))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Therapist: Hi.\nClient: Hello.", [("therapist", "Hi."), ("client", "Hello.")]),
        (
            "Dr. Lee: How are you?\nPatient: Fine.",
            [("dr. lee", "How are you?"), ("patient", "Fine.")],
        ),
        ("[doctor] hi there\n[patient] hello", [("doctor", "hi there"), ("patient", "hello")]),
        ("Client: one\ntwo\n\nthree", [("client", "one two three")]),
        ("opening words\nTherapist: hi", [("unknown", "opening words"), ("therapist", "hi")]),
        ("Social worker: hello", [("social worker", "hello")]),
        ("client: lower case role", [("client", "lower case role")]),
        ("[00:01:02] Counselor: timed", [("counselor", "timed")]),
        ("Speaker 1: hi", [("speaker 1", "hi")]),
        ("Client: I said: no way", [("client", "I said: no way")]),
        ("I said: no way", [("unknown", "I said: no way")]),
        ("See http://example.com", [("unknown", "See http://example.com")]),
        ("So: what now", [("unknown", "So: what now")]),
        (
            "A Very Long Speaker Name Indeed Here: hi",
            [("unknown", "A Very Long Speaker Name Indeed Here: hi")],
        ),
        ("Therapist:\nClient: hi", [("client", "hi")]),
        ("", []),
    ],
)
def test_parse_turns(text: str, expected: list[tuple[str, str]]) -> None:
    assert parse_turns(text) == [Turn(speaker, said) for speaker, said in expected]


@pytest.mark.parametrize(
    ("speaker", "expected"),
    [
        ("therapist", True),
        ("dr. lee", True),
        ("doctor", True),
        ("counsellor", True),
        ("social worker", True),
        ("psychiatrist 2", True),
        ("client", False),
        ("patient", False),
        ("unknown", False),
        ("anna", False),
        ("drew", False),
    ],
)
def test_is_clinician(speaker: str, expected: bool) -> None:
    assert is_clinician(speaker) is expected


def test_word_count() -> None:
    assert word_count("") == 0
    assert word_count("  one two\nthree\tfour ") == 4


def test_format_turns_capitalises_speakers() -> None:
    turns = [Turn("therapist", "Hi."), Turn("dr. lee", "Yes.")]
    assert format_turns(turns) == "Therapist: Hi.\nDr. lee: Yes."


words = st.text(st.sampled_from(list("abcdefé")), min_size=1, max_size=10)
sentence = st.lists(words, min_size=1, max_size=8).map(" ".join).map(lambda s: s + ".")
turn_lists = st.lists(
    st.builds(
        Turn,
        speaker=st.sampled_from(["therapist", "client", "dr. lee"]),
        text=st.lists(sentence, min_size=1, max_size=4).map(" ".join),
    ),
    max_size=8,
)


@settings(max_examples=120)
@given(turn_lists, st.integers(min_value=1, max_value=300))
def test_chunks_respect_max_chars_and_keep_all_text(turns: list[Turn], max_chars: int) -> None:
    chunks = chunk_turns(turns, max_chars)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    flat = "".join(format_turns(turns).split())
    assert "".join("".join(chunks).split()) == flat
    if max_chars >= 20:  # every generated word fits: words are whole and in order
        assert " ".join(chunks).split() == format_turns(turns).split()


@settings(max_examples=100)
@given(turn_lists, st.integers(min_value=1, max_value=400))
def test_chunks_never_split_a_turn_that_fits(turns: list[Turn], max_chars: int) -> None:
    lines = format_turns(turns).split("\n") if turns else []
    chunk_lines = [line for chunk in chunk_turns(turns, max_chars) for line in chunk.split("\n")]
    for line in lines:
        if len(line) <= max_chars:
            assert line in chunk_lines


def test_long_turn_splits_at_sentence_boundaries() -> None:
    turn = Turn("client", "First sentence here. Second sentence here. Third one.")
    assert chunk_turns([turn], 30) == [
        "Client: First sentence here.",
        "Second sentence here.",
        "Third one.",
    ]


def test_chunks_group_consecutive_turns() -> None:
    turns = [Turn("therapist", "Hi."), Turn("client", "Hello."), Turn("therapist", "Bye.")]
    assert chunk_turns(turns, 30) == ["Therapist: Hi.\nClient: Hello.", "Therapist: Bye."]
    assert chunk_turns([], 30) == []


def test_chunk_turns_rejects_non_positive_size() -> None:
    with pytest.raises(ValueError):
        chunk_turns([Turn("client", "hi")], 0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("T: How are you?\nC: Low. [pause] Tired.", "Therapist: How are you?\nClient: Low. [pause] Tired."),
        (
            "Interviewer: Hi.\nMaria: Hello.\nInterviewer: Go on.",
            "Therapist: Hi.\nClient: Hello.\nTherapist: Go on.",
        ),
        ("Dr. Lee: Hi.\nPatient: I drink.\nmore of it", "Therapist: Hi.\nClient: I drink.\nmore of it"),
        ("[00:01:02] T: Hi.\nC: Hey.", "Therapist: Hi.\nClient: Hey."),
        # Labels the model was trained on, and sessions whose roles the labels do not give, stay.
        ("Counselor: Hi.\nClient: Hello.", "Counselor: Hi.\nClient: Hello."),
        ("Bill: Hi.\nTerri: Hello.", "Bill: Hi.\nTerri: Hello."),
        ("Therapist: Hi.\nMother: Yes.\nSon: No.", "Therapist: Hi.\nMother: Yes.\nSon: No."),
        ("Therapist: Hi.\nClient A: Yes.\nClient B: No.", "Therapist: Hi.\nClient A: Yes.\nClient B: No."),
        ("T: a monologue with one speaker", "T: a monologue with one speaker"),
        ("C: Hi.\nPatient: Hello.", "C: Hi.\nPatient: Hello."),
    ],
)
def test_with_roles_names_speakers_by_role(raw: str, expected: str) -> None:
    assert with_roles(normalize(raw)) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["T", "C", "Dr. Lee", "Maria", "Patient", "Mother"]), st.text()),
        max_size=8,
    )
)
def test_with_roles_keeps_every_turn_and_its_text(turns: list[tuple[str, str]]) -> None:
    text = normalize("\n".join(f"{speaker}: {said}" for speaker, said in turns))
    relabelled = with_roles(text)
    before, after = parse_turns(text), parse_turns(relabelled)
    assert [t.text for t in after] == [t.text for t in before]
    assert with_roles(relabelled) == relabelled  # idempotent
