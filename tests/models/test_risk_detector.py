"""The learned risk detector (models/risk/detector.py): its features and windows, training on a
small set of our own, saving and loading, and the shipped weights on excerpts and sessions they
were never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.risk import EVIDENCE_MAX_CHARS, categories, detector, marker_text, scan
from models.text import Turn, normalize, parse_turns
from schemas.notes import SEVERITIES, RiskCategory, RiskFlag, RiskSource
from training_jobs import risk_train
from training_jobs.risk_eval import DATA_DIR, evaluate, load_cases, table

SI, AN = RiskCategory.SUICIDAL_IDEATION, RiskCategory.ABUSE_NEGLECT
HOLDOUT_SESSIONS = Path(__file__).resolve().parents[1] / "data" / "therapy" / "holdout"


def test_features_hold_words_stems_bigrams_and_the_question() -> None:
    found = detector.features("I keep thinking they'd be better off", "Have you thought about dying?")
    assert {"u:thinking", "s:think", "b:better off", "u:they'd", "qu:dying", "qb:about dying"} <= found
    assert not any(f.startswith("q") and "better" in f for f in found)
    assert detector.stem("killing") == "kill" and detector.stem("is") == "is"


def test_windows_read_client_turns_in_threes_with_the_question_before() -> None:
    turns = [
        Turn("therapist", "How has the week been?"),
        Turn("client", "One. Two. Three. Four."),
        Turn("therapist", "And sleep?"),
        Turn("client", "Fine."),
    ]
    found = list(detector.windows(turns))
    assert [(w.turn, w.sentences, w.question) for w in found] == [
        (1, ("One.", "Two.", "Three."), "How has the week been?"),
        (1, ("Two.", "Three.", "Four."), "How has the week been?"),
        (3, ("Fine.",), "And sleep?"),
    ]
    # Without a clinician speaker, every turn is read.
    assert [w.turn for w in detector.windows([Turn("a", "x."), Turn("b", "y.")])] == [0, 1]


def _tiny_examples() -> list[risk_train.Example]:
    said = {
        SI: ["I want to go to sleep and not wake up", "everyone would be better off if I was gone"],
        AN: ["he hits me when he drinks", "my stepdad hurts my little sister"],
    }
    severity = {SI: "wish_to_die", AN: "current"}
    examples = []
    for category, texts in said.items():
        for n, text in enumerate(texts * 4):
            examples += risk_train._examples(
                f"Client: {text}.", f"{category.value}:{n}", "positive", {category: severity[category]}
            )
    for n, text in enumerate(
        ["the weather was nice", "work was busy again", "I slept well", "we went out"] * 4
    ):
        examples += risk_train._examples(f"Client: {text}.", f"neg:{n}", "hard_negative", {})
    return examples


def test_training_learns_a_small_set_and_round_trips_through_its_file(tmp_path) -> None:
    examples = _tiny_examples()
    settings = risk_train.Settings(steps=200)
    vocabulary = risk_train.vocabulary_of(examples, 1)
    weights, bias = risk_train.train(examples, vocabulary, settings)
    severity = risk_train.train_severity(examples, vocabulary, settings)
    model = detector.Detector(vocabulary, weights, bias, np.full(len(detector.CATEGORIES), 0.5), severity)
    p = model.probabilities("I just want to not wake up")
    assert p[detector.CATEGORIES.index(SI)] > 0.5 > p[detector.CATEGORIES.index(AN)]
    assert model.probabilities("work was busy").max() < 0.5
    model.save(tmp_path / "d.npz")
    loaded = detector.Detector.load(tmp_path / "d.npz")
    assert loaded.vocabulary == model.vocabulary
    assert np.allclose(loaded.probabilities("he hits me"), model.probabilities("he hits me"), atol=1e-2)
    turns = parse_turns(
        normalize("Therapist: How are things?\nClient: Honestly he hits me. The kids are fine.")
    )
    flags = loaded.flags(turns)
    assert [(f.category, f.turn, f.source, f.evidence) for f in flags] == [
        (AN, 1, RiskSource.DETECTOR, "Honestly he hits me.")
    ]
    assert flags[0].severity in SEVERITIES[AN]
    # A run-on sentence is cut to the cues' evidence length around its weightiest word.
    long = "so anyway " * 40 + "he hits me when he drinks and " + "then we went out " * 20
    [cut] = loaded.flags(parse_turns(normalize(f"Therapist: And then?\nClient: {long}.")))
    assert len(cut.evidence) <= EVIDENCE_MAX_CHARS and "hits me" in cut.evidence
    assert cut.evidence.startswith("…") and cut.evidence.endswith("…")
    # A turn where the scan already flagged the category gets no second flag.
    scanned = [RiskFlag(category=AN, evidence="e", turn=1)]
    assert loaded.flags(turns, scanned) == []


def test_a_detector_flag_asks_for_review_in_the_note() -> None:
    flag = RiskFlag(category=SI, evidence="I'd rather not be here", severity="wish_to_die", source="detector")
    assert marker_text(flag) == "Suicidal ideation (wish_to_die, detector, review): I'd rather not be here"


shipped = pytest.mark.skipif(detector.shipped() is None, reason="no trained detector in models/risk")


@shipped
def test_the_card_says_what_the_weights_were_trained_on() -> None:
    card = detector.card()
    trained = card["trained_on"]
    assert isinstance(trained, dict)
    assert not any("heldout3-c" in k or "heldout4" in k for k in trained), "measured on, never trained on"
    assert set(card["thresholds"]) == {c.value for c in RiskCategory}  # type: ignore[arg-type]


#: Measured on 2026-12-07 with the shipped weights (the README's risk table): heldout3-c (written
#: blind, 53 expected flags, 20 hard negatives) and heldout4 (a seventh writer's, 57 and 26), neither
#: trained on: the cues alone find 20 and 31 and flag 1 and 2 negatives, with the detector 40 and
#: 45, flagging 3 and 2. Floors a little below, so that a retraining on more excerpts may move them.
BLIND_FOUND = {"heldout3-c": 36, "heldout4": 41}
BLIND_FLAGGED_NEGATIVES = {"heldout3-c": 4, "heldout4": 3}


@shipped
@pytest.mark.parametrize("split", sorted(BLIND_FOUND))
def test_the_detector_finds_more_of_blind_writers_risks_than_the_scan(split: str) -> None:
    cases = load_cases(DATA_DIR / f"{split}.jsonl")
    alone = evaluate(cases, lambda text: scan(text, learned=False))
    both = evaluate(cases)
    print("\n" + table(f"{split}, scan alone", alone) + "\n\n" + table(f"{split}, scan and detector", both))
    found = sum(c.tp for c in both.by_category.values())
    assert found >= BLIND_FOUND[split]
    assert found > sum(c.tp for c in alone.by_category.values())
    assert len(both.flagged_negatives) <= BLIND_FLAGGED_NEGATIVES[split]


@shipped
def test_sessions_it_was_never_trained_on_get_few_flags_their_labels_lack() -> None:
    """The 12 hold-out therapy sessions (1,170-1,492 words): the detector adds at most two flags of
    a category a session's labels do not hold, over all twelve (one on 2026-12-07: "relapse" for
    "I used to do five-a-side on Thursdays and I've not been since")."""
    extra = 0
    for path in sorted(HOLDOUT_SESSIONS.glob("*.json")):
        session = json.loads(path.read_text(encoding="utf-8"))
        labelled = {RiskCategory(r) for r in session["risk"]}
        learned = [f for f in scan(session["transcript"]) if f.source == RiskSource.DETECTOR]
        extra += len(categories(learned) - labelled)
    assert extra <= 2
