"""A learned risk detector beside the deterministic scan: logistic regression over the words of
the client's speech and of the clinician's question before it.

The scan's cues carry poorly to a new writer's phrasing (a blind set of 53 risk statements: 13
found on its first run, 20 after tuning on other writers' excerpts), so a second net reads what
the cues miss: a window of up to `WINDOW` sentences of one client turn, as word unigrams and
bigrams, with the unigrams and bigrams of the clinician's turn just before it ("q:" features, so
that "Sort of." answering "Have you thought about how?" reads as an answer). One-vs-rest
logistic regression per category; per category a softmax over its severities for the flags
it raises alone. Trained by `training_jobs/risk_train.py` on the project's labelled excerpts and
on the client turns of sessions without risk; the weights and the per-category thresholds are
in `detector.npz` beside this module (float16, a few hundred KiB), with what they were trained
on and measured with in `detector.json`.

A flag the detector raises alone has source `detector`: its note marker says "review". In a turn
where the scan flagged the same category, the scan's flag stands alone.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.risk import APOSTROPHES, EVIDENCE_MAX_CHARS, cut_evidence
from models.risk import context as ctx
from models.text import Turn, client_turns, sentences
from schemas.notes import SEVERITIES, RiskCategory, RiskFlag, RiskSource

WEIGHTS = Path(__file__).with_name("detector.npz")
CARD = Path(__file__).with_name("detector.json")
#: Sentences in one window of a client turn; a turn of up to WINDOW sentences is one window.
WINDOW = 3
#: Words of the clinician's turn read as the question (its end: the question asked last).
QUESTION_WORDS = 40
CATEGORIES: tuple[RiskCategory, ...] = tuple(RiskCategory)

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SUFFIX_RE = re.compile(r"(?:ing|ed|es|s|ly|er)$")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens ("don't" is one)."""
    return _TOKEN_RE.findall(text.translate(APOSTROPHES).lower())


def stem(word: str) -> str:
    """`word` less one common suffix, when at least four letters are left ("killing" -> "kill")."""
    cut = _SUFFIX_RE.sub("", word)
    return cut if len(cut) >= 4 else word


def features(window: str, question: str = "") -> set[str]:
    """The window's unigrams (`u:`), stems (`s:`) and bigrams (`b:`), and the question's (`q:`,
    `qs:`, `qb:`). Figures of speech are blanked first (`context.mask_idioms`: "this job is
    killing me"). Marking the words after a negation as features of their own ("~suicidal") was
    tried and found no more out of fold."""
    found: set[str] = set()
    for prefix, words in (("", tokens(ctx.mask_idioms(window))), ("q", tokens(question)[-QUESTION_WORDS:])):
        found.update(f"{prefix}u:{w}" for w in words)
        found.update(f"{prefix}s:{stem(w)}" for w in words)
        found.update(f"{prefix}b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return found


@dataclass(frozen=True)
class Window:
    """Up to WINDOW consecutive sentences of one client turn, with the clinician's turn before."""

    turn: int
    sentences: tuple[str, ...]
    question: str

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def windows(turns: Sequence[Turn]) -> Iterator[Window]:
    """The windows of every turn that is not a clinician's (of every turn, when no clinician
    speaks), each with the clinician's turn just before it, if any."""
    for index, turn, question in client_turns(turns):
        said = sentences(turn.text)
        for start in range(max(1, len(said) - WINDOW + 1)):
            yield Window(index, tuple(said[start : start + WINDOW]), question)


@dataclass(frozen=True)
class Detector:
    """Weights over a vocabulary: `weights[f]` is feature f's weight per category (bias apart),
    `severity[c]` a softmax's weights over category c's severities."""

    vocabulary: dict[str, int]
    weights: np.ndarray  # (features, categories)
    bias: np.ndarray  # (categories,)
    thresholds: np.ndarray  # (categories,)
    severity: dict[RiskCategory, tuple[np.ndarray, np.ndarray]]  # (features, severities), (severities,)

    def rows(self, found: Iterable[str]) -> np.ndarray:
        """Indices of the known features among `found`."""
        return np.fromiter((i for f in found if (i := self.vocabulary.get(f)) is not None), dtype=np.int64)

    def probabilities(self, window: str, question: str = "") -> np.ndarray:
        """P(risk of each category) for one window."""
        logits = self.weights[self.rows(features(window, question))].sum(axis=0) + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def graded(self, category: RiskCategory, window: str, question: str = "") -> str:
        """The most probable severity of `category` in the window."""
        weights, bias = self.severity[category]
        logits = weights[self.rows(features(window, question))].sum(axis=0) + bias
        return SEVERITIES[category][int(np.argmax(logits))]

    def evidence(self, category: RiskCategory, window: Window) -> str:
        """The window's sentence whose own words weigh most toward `category`; a sentence longer
        than EVIDENCE_MAX_CHARS is cut around its weightiest word, as the cues' evidence is."""
        column = CATEGORIES.index(category)
        sentence = max(
            window.sentences, key=lambda s: float(self.weights[self.rows(features(s)), column].sum())
        )
        if len(sentence) <= EVIDENCE_MAX_CHARS:
            return sentence
        spans = [(m.start(), m.end()) for m in re.finditer(r"[\w'’]+", sentence)]

        def weight(span: tuple[int, int]) -> float:
            word = sentence[span[0] : span[1]].translate(APOSTROPHES).lower()
            index = self.vocabulary.get(f"u:{word}")
            return float(self.weights[index, column]) if index is not None else 0.0

        start, end = max(spans, key=weight)
        return cut_evidence(sentence, start, end)

    def flags(self, turns: Sequence[Turn], scanned: Sequence[RiskFlag] = ()) -> list[RiskFlag]:
        """One flag per (turn, category) over the threshold, where the scan raised none of that
        category in that turn; source `detector`."""
        covered = {(f.turn, f.category) for f in scanned}
        best: dict[tuple[int, RiskCategory], tuple[float, Window]] = {}
        for window in windows(turns):
            p = self.probabilities(window.text, window.question)
            for column in np.flatnonzero(p >= self.thresholds):
                key = (window.turn, CATEGORIES[column])
                if key not in covered and (key not in best or p[column] > best[key][0]):
                    best[key] = (float(p[column]), window)
        found = []
        for (turn, category), (_, window) in sorted(best.items(), key=lambda item: item[0][0]):
            evidence = self.evidence(category, window)
            if not _read_as_risk(category, evidence, turns[turn].text):
                continue
            found.append(
                RiskFlag(
                    category=category,
                    evidence=evidence,
                    severity=self.graded(category, window.text, window.question),
                    turn=turn,
                    source=RiskSource.DETECTOR,
                )
            )
        return found

    def save(self, path: Path = WEIGHTS) -> None:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        arrays: dict[str, Any] = {
            "vocabulary": np.array(names),
            "weights": self.weights.astype(np.float16),
            "bias": self.bias.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
        }
        for category, (weights, bias) in self.severity.items():
            arrays[f"severity_{category.value}"] = weights.astype(np.float16)
            arrays[f"severity_bias_{category.value}"] = bias.astype(np.float32)
        with path.open("wb") as out:
            np.savez_compressed(out, **arrays)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Detector:
        with np.load(path, allow_pickle=False) as data:
            vocabulary = {str(name): i for i, name in enumerate(data["vocabulary"])}
            severity = {
                c: (
                    data[f"severity_{c.value}"].astype(np.float32),
                    data[f"severity_bias_{c.value}"].astype(np.float32),
                )
                for c in CATEGORIES
            }
            return cls(
                vocabulary,
                data["weights"].astype(np.float32),
                data["bias"].astype(np.float32),
                data["thresholds"].astype(np.float32),
                severity,
            )


def _read_as_risk(category: RiskCategory, evidence: str, turn: str) -> bool:
    """The scan's context rules that a bag of words cannot learn, on the flag's evidence: not a
    question about someone else, not a film or the news without the client in it, not a threat
    taken back at once ("I'll strangle him. Not really.")."""
    if ctx.screening_question(evidence):
        return False
    if ctx.MEDIA_RE.search(evidence) and not ctx.FIRST_PERSON_RE.search(evidence):
        return False
    return not (category is RiskCategory.HARM_TO_OTHERS and ctx.retracted(turn, evidence))


@functools.cache
def shipped() -> Detector | None:
    """The detector trained into this package, or None where its weights are absent."""
    return Detector.load() if WEIGHTS.exists() else None


def card() -> dict[str, object]:
    """What the shipped weights were trained on and measured with."""
    return json.loads(CARD.read_text(encoding="utf-8")) if CARD.exists() else {}
