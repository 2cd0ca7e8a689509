"""The risk scan's cues on the project's labelled excerpts (tests/data/risk/): recall and precision
per category, against thresholds; prints the table (`pytest -s` shows it). The cues alone
(`scan(text, learned=False)`): the learned detector beside them is measured in
test_risk_detector.py."""

from __future__ import annotations

import pytest

from models.risk import highest, scan
from schemas.notes import SEVERITIES, RiskCategory
from training_jobs.risk_eval import DATA_DIR, evaluate, load_cases, table

#: Dev set (tuned on): every category at least this recall and precision, no hard negative flagged.
DEV_RECALL, DEV_PRECISION, DEV_SEVERITY = 0.98, 0.95, 0.9
#: Held-out set (written after the patterns, never tuned on). Its first run (2026-12-01): recall
#: 0.71 for suicidal ideation (10 of 14) and 1.0 for the others, no hard negative flagged, one
#: extra substance flag on an overdose attempt. These floors only catch regressions below that.
HELDOUT_RECALL, HELDOUT_PRECISION = 0.70, 0.80


def cues(text: str):
    return scan(text, learned=False)


@pytest.fixture(scope="module")
def dev():
    return load_cases(DATA_DIR / "dev.jsonl")


def test_dev_set_covers_every_category_severity_and_negative_kind(dev) -> None:
    assert len(dev) >= 150
    pairs = {(c, s) for case in dev for c, s in case.expected.items()}
    assert pairs == {(c, s) for c in RiskCategory for s in SEVERITIES[c]}
    kinds = {case.tag for case in dev if case.kind == "hard_negative"}
    assert {"idiom", "denial", "screening", "past-resolved", "media", "other-person", "sobriety"} <= kinds
    assert all(case.expected == {} for case in dev if case.kind == "hard_negative")
    assert len({case.id for case in dev}) == len(dev)


def test_dev_set_recall_and_precision(dev) -> None:
    report = evaluate(dev, cues)
    print("\n" + table("dev", report))
    for category, counts in report.by_category.items():
        assert counts.recall >= DEV_RECALL, (category, counts.missed)
        assert counts.precision >= DEV_PRECISION, (category, counts.false)
        assert counts.severity_ok >= DEV_SEVERITY * counts.tp, category
    assert report.flagged_negatives == []


def test_heldout_set_recall_and_precision() -> None:
    path = DATA_DIR / "heldout.jsonl"
    cases = load_cases(path)
    assert len(cases) >= 40
    report = evaluate(cases, cues)
    print("\n" + table("heldout", report))
    for category, counts in report.by_category.items():
        assert counts.recall >= HELDOUT_RECALL, (category, counts.missed)
        assert counts.precision >= HELDOUT_PRECISION, (category, counts.false)
    assert report.flagged_negatives == []


#: heldout3 (2026-12-07, three writers who never saw the patterns): a and b were tuned on after
#: their blind first run (recall 0.17-0.37 per category); c was never read by whoever tuned, and
#: is the measure of fresh phrasing: its blind first run found 13 of 53 expected flags, after
#: the tuning 20 of 53, flagging 1 of its 20 hard negatives. Floors below that catch regressions.
HELDOUT3_TUNED_RECALL, HELDOUT3_BLIND_FOUND = 0.70, 19


def test_heldout3_recall_on_tuned_and_blind_excerpts() -> None:
    for part in "ab":
        report = evaluate(load_cases(DATA_DIR / f"heldout3-{part}.jsonl"), cues)
        print("\n" + table(f"heldout3-{part} (tuned on)", report))
        assert all(c.recall >= HELDOUT3_TUNED_RECALL for c in report.by_category.values()), part
        assert report.flagged_negatives == []
    blind = evaluate(load_cases(DATA_DIR / "heldout3-c.jsonl"), cues)
    print("\n" + table("heldout3-c (blind)", blind))
    assert sum(c.tp for c in blind.by_category.values()) >= HELDOUT3_BLIND_FOUND
    assert len(blind.flagged_negatives) <= 1


def test_the_evaluation_counts_what_it_says(dev) -> None:
    """The metric itself: a detector that flags nothing has recall 0 and flags no negative; one
    that flags the expected categories exactly scores 1."""
    empty = evaluate(dev, lambda text: [])
    assert all(c.recall == 0.0 for c in empty.by_category.values()) and empty.flagged_negatives == []
    by_text = {case.text: case for case in dev}

    def oracle(text):
        from schemas.notes import RiskFlag

        return [RiskFlag(category=c, evidence="e", severity=s) for c, s in by_text[text].expected.items()]

    perfect = evaluate(dev, oracle)
    assert all(c.recall == c.precision == 1.0 for c in perfect.by_category.values())
    assert highest(scan("Client: I relapsed. I relapsed and overdosed."))[RiskCategory.SUBSTANCE_RELAPSE] == (
        "overdose"
    )
