"""The deterministic risk scan: categories, negations, idioms, clinician questions, evidence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.risk import EVIDENCE_MAX_CHARS, TITLES, categories, scan
from models.text import normalize
from schemas.notes import RiskCategory, RiskFlag

SI = RiskCategory.SUICIDAL_IDEATION
SH = RiskCategory.SELF_HARM
HO = RiskCategory.HARM_TO_OTHERS
AN = RiskCategory.ABUSE_NEGLECT
SR = RiskCategory.SUBSTANCE_RELAPSE

#: Sentences said by a client, each with the categories the scan must flag in it.
LABELLED: list[tuple[str, set[RiskCategory]]] = [
    # positives, per category
    ("Sometimes I think about suicide.", {SI}),
    ("I've been feeling suicidal since March.", {SI}),
    ("I just want to die.", {SI}),
    ("I keep thinking everyone would be better off without me.", {SI}),
    ("I don't want to live anymore.", {SI}),
    ("I wish I was dead.", {SI}),
    ("I can't stop thinking about killing myself.", {SI}),
    ("No, I want to die.", {SI}),
    ("I'm not okay and I want to end my life.", {SI}),
    ("I cut myself again last night.", {SH}),
    ("I've been self-harming when I get overwhelmed.", {SH}),
    ("I burned myself with a lighter.", {SH}),
    ("I started cutting my arms in high school.", {SH}),
    ("Sometimes I want to kill him.", {HO}),
    ("I've thought about hurting my boss.", {HO}),
    ("I had homicidal thoughts this week.", {HO}),
    ("I want to beat him up.", {HO}),
    ("My husband hits me when he drinks.", {AN}),
    ("He was abusive to all of us.", {AN}),
    ("My stepfather molested me as a child.", {AN}),
    ("I'm afraid to go home.", {AN}),
    ("My dad beat me with a belt.", {AN}),
    ("I relapsed last weekend.", {SR}),
    ("I started drinking again after the funeral.", {SR}),
    ("I went back to using in May.", {SR}),
    ("I fell off the wagon.", {SR}),
    ("I relapsed and then I cut myself.", {SR, SH}),
    ("I'm not suicidal, but I did cut myself.", {SH}),
    # negations
    ("I'm not suicidal.", set()),
    ("She denies any thoughts of hurting herself.", set()),
    ("I never wanted to kill myself.", set()),
    ("No self-harm this month.", set()),
    ("I would never hurt anyone.", set()),
    ("I haven't relapsed since January.", set()),
    ("I don't drink and there has been no relapse.", set()),
    ("Suicidal ideation: denied.", set()),
    # idioms
    ("This job is killing me.", set()),
    ("I was killing it at work today.", set()),
    ("I'm dying to see my sister.", set()),
    ("The cake was to die for.", set()),
    ("I was bored to death at the meeting.", set()),
    ("I was scared to death before the exam.", set()),
    ("We played cards to kill time.", set()),
    ("I could murder a pizza right now.", set()),
    ("My feet are killing me.", set()),
    ("I didn't mean to hurt her feelings.", set()),
    ("My brother beat me at chess.", set()),
    ("We talked about relapse prevention.", set()),
    ("Can you shoot me an email with the times?", set()),
    ("I shot him a look across the room.", set()),
    ("I hurt myself at the gym on Monday.", set()),
    ("My anxiety was high again on Sunday.", set()),
    # neutral, and questions not about the speaker
    ("We had a nice weekend at the lake.", set()),
    ("Have you had any thoughts of suicide?", set()),
    ("Any thoughts of hurting yourself or others?", set()),
    ("Do you think I should just kill myself?", {SI}),
]


def test_table_is_large_enough() -> None:
    assert len(LABELLED) >= 30
    assert {c for _, cats in LABELLED for c in cats} == set(RiskCategory)


@pytest.mark.parametrize(("sentence", "expected"), LABELLED)
def test_labelled_sentences(sentence: str, expected: set[RiskCategory]) -> None:
    assert categories(scan(sentence)) == expected
    assert categories(scan(f"Client: {sentence}")) == expected


def test_clinician_turns_are_not_scanned() -> None:
    transcript = (
        "Therapist: Have you had any thoughts of suicide?\n"
        "Client: No, never.\n"
        "Therapist: Last time you said you wanted to kill yourself and had been drinking again.\n"
        "Client: Things are better now."
    )
    assert scan(transcript) == []


def test_client_turns_are_scanned_when_speakers_are_known() -> None:
    transcript = (
        "Dr. Lee: How was the week?\n"
        "Client: Honestly I want to die.\n"
        "[doctor] any drinking?\n"
        "[patient] I relapsed on Friday."
    )
    assert scan(transcript) == [
        RiskFlag(category=SI, evidence="Honestly I want to die.", severity="wish_to_die", turn=1),
        RiskFlag(category=SR, evidence="I relapsed on Friday.", severity="relapse", turn=3),
    ]


def test_everything_is_scanned_without_clinician_speakers() -> None:
    transcript = "Anna: I relapsed.\nBen: I want to hurt him."
    assert [f.category for f in scan(transcript)] == [SR, HO]


def test_flags_are_ordered_and_deduplicated() -> None:
    text = "I fell off the wagon. I want to die. I fell off the wagon. I want to die, I cut myself."
    flags = scan(text)
    assert [(f.category, f.evidence) for f in flags] == [
        (SR, "I fell off the wagon."),
        (SI, "I want to die."),
        (SI, "I want to die, I cut myself."),
        (SH, "I want to die, I cut myself."),
    ]
    assert scan(text) == flags  # deterministic


def test_evidence_is_the_normalised_sentence() -> None:
    flags = scan("Client:   I\tjust  want to die .\r\nTherapist: I see.")
    assert flags == [RiskFlag(category=SI, evidence="I just want to die .", severity="wish_to_die", turn=0)]


def test_long_evidence_is_cut_at_a_word_boundary_around_the_match() -> None:
    filler = " ".join(["word"] * 80)
    flags = scan(f"{filler} and then I decided I want to die today {filler}.")
    assert len(flags) == 1
    evidence = flags[0].evidence
    assert len(evidence) <= EVIDENCE_MAX_CHARS
    assert "want to die" in evidence
    assert all(
        w in {"word", "and", "then", "I", "decided", "want", "to", "die", "today"}
        for w in evidence.strip("…").split()
    )


def test_titles_cover_every_category() -> None:
    assert set(TITLES) == set(RiskCategory)


def test_categories_helper() -> None:
    flags = [RiskFlag(category=SI, evidence="a"), RiskFlag(category=SI, evidence="b")]
    assert categories(flags) == {SI}
    assert categories([]) == set()


risky = st.sampled_from([s for s, cats in LABELLED if cats])
calm = st.sampled_from([s for s, cats in LABELLED if not cats])
noise = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(risky, calm, noise), max_size=10))
def test_scan_is_deterministic_deduplicated_and_quotes_the_text(parts: list[str]) -> None:
    text = "\n".join(parts)
    flags = scan(text)
    assert flags == scan(text)
    keys = [(f.category, f.evidence) for f in flags]
    assert len(keys) == len(set(keys))
    flat = " ".join(normalize(text).split())
    for flag in flags:
        assert 0 < len(flag.evidence) <= EVIDENCE_MAX_CHARS
        assert flag.evidence.strip("…") in flat


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(risky, calm), max_size=8))
def test_each_sentence_is_judged_on_its_own(parts: list[str]) -> None:
    """By the cues; the learned detector reads windows of three sentences (test_risk_detector.py)."""
    expected = dict(LABELLED)
    flags = scan(" ".join(parts), learned=False)
    assert categories(flags) == {c for part in parts for c in expected[part]}
    assert {f.evidence for f in flags} == {part for part in parts if expected[part]}


def test_markers_carry_severity_and_mark_model_flags_for_review() -> None:
    from models.risk import marker_text
    from schemas.notes import RiskSource

    scanned = RiskFlag(category=SI, evidence="I have a plan.", severity="plan", turn=3)
    assert marker_text(scanned) == "Suicidal ideation (plan): I have a plan."
    model = RiskFlag(category=SH, evidence="I scratch.", source=RiskSource.MODEL)
    assert marker_text(model) == "Self-harm (model opinion, review): I scratch."
    assert marker_text(RiskFlag(category=AN, evidence="x")) == "Abuse or neglect: x"


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        (
            "Have you wished you were dead or could go to sleep and not wake up?",
            "Yeah, most nights.",
            "wish_to_die",
        ),
        ("Have you had thoughts of killing yourself?", "Sometimes.", "active_thoughts"),
        ("Have you thought about how you might do it?", "Yes. Pills.", "method"),
        ("Do you think you would act on them?", "I think so.", "intent"),
        ("Have you ever done anything to end your life?", "Yes, last year.", "behavior"),
        ("Have you had thoughts of killing yourself?", "No, never.", None),
        ("Have you had thoughts of killing yourself?", "Yeah, no, not at all.", None),
    ],
)
def test_a_yes_to_a_screening_question_is_flagged_at_its_level(question, answer, expected) -> None:
    flags = scan(f"Therapist: {question}\nClient: {answer}")
    assert [(f.category, f.severity, f.turn) for f in flags] == ([(SI, expected, 1)] if expected else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Client: My son tried to kill himself last month.", {SI}),  # a dependant: flagged
        ("Client: My friend tried to kill herself in college.", set()),  # another adult: not
        ("Client: The film is about a man who kills his wife.", set()),
        ("Client: If I ever relapsed I would call my sponsor.", set()),
        ("Client: I told Jason I'll kill him if he comes back.", {HO}),  # a name: the slow path
    ],
)
def test_who_and_what_a_statement_is_about(text: str, expected: set[RiskCategory]) -> None:
    assert categories(scan(text)) == expected


def test_fast_lower_case_matching_agrees_with_case_insensitive_matching(monkeypatch) -> None:
    """The scan matches lower-cased text unless a sentence names someone; forcing the
    case-insensitive path everywhere must not change any flag on the dev and held-out sets."""
    import re

    import models.risk as risk_module
    from training_jobs.risk_eval import DATA_DIR, load_cases

    texts = [c.text for name in ("dev", "heldout") for c in load_cases(DATA_DIR / f"{name}.jsonl")]
    fast = [scan(t) for t in texts]
    monkeypatch.setattr(risk_module, "_NAMED_RE", re.compile(r""))
    assert [scan(t) for t in texts] == fast
