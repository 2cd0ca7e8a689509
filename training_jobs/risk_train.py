"""Train the learned risk detector (`models.risk.detector`) and write its weights and card.

    python -m training_jobs.risk_train                    # writes models/risk/detector.{npz,json}
    python -m training_jobs.risk_train --out /tmp/d.npz   # elsewhere, to compare

Positives and hard negatives: the labelled excerpts of `TRAIN_SPLITS` under tests/data/risk/
(never `heldout3-c` or `heldout4`: those measure it). More negatives: the client turns of the
therapy sessions without risk (training_jobs/data/therapy and the dev set; the hold-out
sessions measure it) and, where NOTES_DATA_DIR holds them, the patients' turns of MTS-Dialog's
and ACI-Bench's training dialogues (medical talk: pain, cuts, medication, alcohol asked about).
A negative window the scan flags is left out: the scan's cues decide there, the detector is for
what they miss.

Multiple-instance learning: an excerpt says which categories it holds, not which of its windows;
a first fit counts every window of a positive excerpt as positive, a second only the excerpt's
best-scoring window and those above 0.5. The thresholds come from out-of-fold scores (five folds,
by excerpt and session): per category, the lowest at which at most `--session-false-rate` of the
sessions without risk, `--medical-false-rate` of the medical dialogues and `--negative-false-rate`
of the hard negatives get a flag of that category the scan did not raise. L2 strength 0.01 was
chosen the same way, out of fold (1e-5 to 0.03: the recall of the excerpts of writers the cues were
never tuned on, at those false-flag rates, was highest there). Pure numpy; a few minutes here.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.risk import scan
from models.risk.detector import CARD, CATEGORIES, WEIGHTS, Detector, features, windows
from models.text import normalize, parse_turns, with_roles
from schemas.notes import SEVERITIES, RiskCategory
from training_jobs.risk_eval import DATA_DIR, load_cases

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SPLITS = ("dev", "heldout", "heldout3-a", "heldout3-b", "train-d", "train-e", "train-f")
SESSION_DIRS = (ROOT / "training_jobs" / "data" / "therapy", ROOT / "tests" / "data" / "therapy" / "dev")
FOLDS = 5


@dataclass
class Example:
    """One window: its features, its group (excerpt or session) and the categories of its group."""

    features: set[str]
    group: str
    labels: frozenset[RiskCategory]
    severity: dict[RiskCategory, str]
    kind: str  # positive, hard_negative, session, medical
    scanned: frozenset[RiskCategory] = frozenset()  # what the scan found in the whole excerpt


def _examples(text: str, group: str, kind: str, expected: dict[RiskCategory, str]) -> list[Example]:
    turns = parse_turns(with_roles(normalize(text)))
    found = []
    flags = scan(text, learned=False)
    scanned = {f.turn for f in flags} if kind in ("session", "medical") else set()
    categories = frozenset(f.category for f in flags)
    for window in windows(turns):
        if window.turn not in scanned:
            found.append(
                Example(
                    features(window.text, window.question),
                    group,
                    frozenset(expected),
                    expected,
                    kind,
                    categories,
                )
            )
    return found


def _sessions(dirs: Sequence[Path]) -> list[Example]:
    found = []
    for folder in dirs:
        for path in sorted(folder.glob("*.json")):
            session = json.loads(path.read_text(encoding="utf-8"))
            if not session["risk"]:
                found += _examples(session["transcript"], f"session:{session['id']}", "session", {})
    return found


def _medical(data_dir: Path, limit: int) -> list[Example]:
    """Patient windows of MTS-Dialog's and ACI-Bench's training dialogues (up to `limit` each)."""
    found: list[Example] = []
    for path, column in (
        (data_dir / "mts-dialog" / "MTS-Dialog-TrainingSet.csv", "dialogue"),
        (data_dir / "aci-bench" / "train.csv", "dialogue"),
    ):
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for n, row in enumerate(csv.DictReader(handle)):
                if n >= limit:
                    break
                dialogue = row[column].replace("[doctor]", "\nDoctor:").replace("[patient]", "\nPatient:")
                found += _examples(dialogue, f"medical:{path.name}:{n}", "medical", {})
    return found


def _matrix(examples: Sequence[Example], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """CSR-like (indptr, indices) of the examples over `vocabulary`."""
    indices = [
        np.fromiter((vocabulary[f] for f in e.features if f in vocabulary), dtype=np.int64) for e in examples
    ]
    indptr = np.zeros(len(examples) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(i) for i in indices])
    return indptr, np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)


def _scores(indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Each row's summed weights plus the bias: (rows, columns)."""
    summed = np.zeros((len(indices) + 1, weights.shape[1]))
    np.cumsum(weights[indices], axis=0, out=summed[1:])
    return summed[indptr[1:]] - summed[indptr[:-1]] + bias


def _fit(
    indptr: np.ndarray,
    indices: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_features: int,
    l2: float,
    steps: int,
    softmax: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression per column of `y` (a softmax over its columns with
    `softmax`), by Adam on the full batch."""
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    k = y.shape[1]
    weights, bias = np.zeros((n_features, k)), np.zeros(k)
    m, v, mb, vb = (np.zeros_like(weights), np.zeros_like(weights), np.zeros(k), np.zeros(k))
    total = w.sum(axis=0) + 1e-9
    for step in range(1, steps + 1):
        logits = _scores(indptr, indices, weights, bias)
        if softmax:
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
        else:
            p = 1.0 / (1.0 + np.exp(-logits))
        err = (p - y) * w / total
        per_entry = err[rows]
        grad = np.stack([np.bincount(indices, per_entry[:, j], n_features) for j in range(k)], axis=1).astype(
            float
        )
        grad += l2 * weights
        gb = err.sum(axis=0)
        lr = 0.05
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad**2
        mb, vb = 0.9 * mb + 0.1 * gb, 0.999 * vb + 0.001 * gb**2
        correction = (1 - 0.9**step), (1 - 0.999**step)
        weights -= lr * (m / correction[0]) / (np.sqrt(v / correction[1]) + 1e-8)
        bias -= lr * (mb / correction[0]) / (np.sqrt(vb / correction[1]) + 1e-8)
    return weights, bias


@dataclass(frozen=True)
class Settings:
    l2: float = 0.01  # chosen out of fold among 1e-5 to 0.03
    steps: int = 300
    positive_weight: float = 0.25  # the positives' share of a category's total weight
    session_false_rate: float = 0.015  # of therapy sessions without risk flagged, out of fold
    medical_false_rate: float = 0.005  # of medical dialogues flagged, out of fold
    negative_false_rate: float = 0.01  # of hard-negative excerpts flagged, out of fold
    min_count: int = 2


def _targets(
    examples: Sequence[Example], keep: np.ndarray, settings: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Labels (windows, categories) and weights: balanced so positives carry `positive_weight`
    of each category's weight; `keep` zeroes the windows a second round leaves out."""
    y = np.array([[c in e.labels for c in CATEGORIES] for e in examples], dtype=float)
    w = np.where(keep, 1.0, 0.0)
    for j in range(len(CATEGORIES)):
        pos, neg = (y[:, j] == 1) & keep[:, j], (y[:, j] == 0) & keep[:, j]
        share = settings.positive_weight
        w[pos, j] = share / max(pos.sum(), 1)
        w[neg, j] = (1 - share) / max(neg.sum(), 1)
    return y, w


def train(
    examples: Sequence[Example], vocabulary: dict[str, int], settings: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """Two rounds of multiple-instance logistic regression; (weights, bias)."""
    indptr, indices = _matrix(examples, vocabulary)
    keep = np.ones((len(examples), len(CATEGORIES)), dtype=bool)
    y, w = _targets(examples, keep, settings)
    weights, bias = _fit(indptr, indices, y, w, len(vocabulary), settings.l2, settings.steps)
    p = 1.0 / (1.0 + np.exp(-_scores(indptr, indices, weights, bias)))
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.group, []).append(i)
    for rows in groups.values():
        for j, category in enumerate(CATEGORIES):
            if category in examples[rows[0]].labels and len(rows) > 1:
                best = rows[int(np.argmax(p[rows, j]))]
                for i in rows:
                    keep[i, j] = i == best or p[i, j] > 0.5
    y, w = _targets(examples, keep, settings)
    return _fit(indptr, indices, y, w, len(vocabulary), settings.l2, settings.steps)


def train_severity(examples: Sequence[Example], vocabulary: dict[str, int], settings: Settings):
    """Per category, a softmax over its severities from the positives' windows."""
    heads = {}
    for category in CATEGORIES:
        scale = SEVERITIES[category]
        chosen = [e for e in examples if category in e.labels and e.severity.get(category) in scale]
        y = np.zeros((len(chosen), len(scale)))
        for i, e in enumerate(chosen):
            y[i, scale.index(e.severity[category])] = 1.0
        w = np.ones_like(y)
        indptr, indices = _matrix(chosen, vocabulary)
        heads[category] = _fit(
            indptr, indices, y, w, len(vocabulary), settings.l2, settings.steps, softmax=True
        )
    return heads


def vocabulary_of(examples: Sequence[Example], min_count: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in examples:
        for f in e.features:
            counts[f] = counts.get(f, 0) + 1
    return {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= min_count))}


def _out_of_fold(examples: Sequence[Example], settings: Settings) -> np.ndarray:
    """Each window's probabilities from a model trained on the other folds (by group)."""
    groups = sorted({e.group for e in examples})
    fold_of = dict(zip(groups, np.random.default_rng(0).integers(0, FOLDS, len(groups)), strict=True))
    oof = np.zeros((len(examples), len(CATEGORIES)))
    for fold in range(FOLDS):
        train_rows = [e for e in examples if fold_of[e.group] != fold]
        test_idx = [i for i, e in enumerate(examples) if fold_of[e.group] == fold]
        vocabulary = vocabulary_of(train_rows, settings.min_count)
        weights, bias = train(train_rows, vocabulary, settings)
        indptr, indices = _matrix([examples[i] for i in test_idx], vocabulary)
        oof[test_idx] = 1.0 / (1.0 + np.exp(-_scores(indptr, indices, weights, bias)))
        print(f"fold {fold + 1}/{FOLDS}", file=sys.stderr)
    return oof


def thresholds(examples: Sequence[Example], settings: Settings) -> tuple[np.ndarray, dict[str, object]]:
    """Per category, the lowest threshold (0.30-0.99) at which the out-of-fold scores flag at most
    the allowed share of sessions without risk, of medical dialogues and of hard negatives the
    scan leaves alone; and what that gives out of fold (recall of the cues and detector together
    on the excerpts of writers the cues were never tuned on, `train-*`)."""
    oof = _out_of_fold(examples, settings)
    best: dict[str, tuple[Example, np.ndarray]] = {}
    for e, scores in zip(examples, oof, strict=True):
        held = best.get(e.group)
        best[e.group] = (e, scores if held is None else np.maximum(held[1], scores))
    groups = list(best.values())
    allowed = {
        kind: int(rate * sum(e.kind == kind for e, _ in groups))
        for kind, rate in (
            ("session", settings.session_false_rate),
            ("medical", settings.medical_false_rate),
            ("hard_negative", settings.negative_false_rate),
        )
    }
    chosen = np.ones(len(CATEGORIES))
    report: dict[str, object] = {"allowed_false_flags": allowed}
    for j, category in enumerate(CATEGORIES):
        for t in np.arange(0.30, 1.0, 0.01):
            flagged = {kind: 0 for kind in allowed}
            for e, scores in groups:
                if e.kind in allowed and scores[j] >= t and category not in e.scanned:
                    flagged[e.kind] += 1
            if all(flagged[k] <= allowed[k] for k in allowed):
                chosen[j] = round(float(t), 2)
                break
        fresh = [
            (category in e.scanned, scores[j] >= chosen[j])
            for e, scores in groups
            if e.group.startswith("case:train-") and e.kind == "positive" and category in e.labels
        ]
        report[category.value] = {
            "threshold": float(chosen[j]),
            "fresh_positives": len(fresh),
            "found_by_cues": int(sum(a for a, _ in fresh)),
            "found_by_cues_or_detector": int(sum(a or b for a, b in fresh)),
        }
    return chosen, report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="weights file (.npz); the card beside it")
    parser.add_argument("--medical-limit", type=int, default=400, help="dialogues per medical dataset")
    for name, value in Settings().__dict__.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    settings = Settings(**{name: getattr(args, name) for name in Settings().__dict__})
    examples: list[Example] = []
    sources: dict[str, int] = {}
    for split in TRAIN_SPLITS:
        path = DATA_DIR / f"{split}.jsonl"
        if not path.exists():
            continue
        cases = load_cases(path)
        sources[f"tests/data/risk/{split}.jsonl"] = len(cases)
        for case in cases:
            examples += _examples(case.text, f"case:{split}:{case.id}", case.kind, case.expected)
    sessions = _sessions(SESSION_DIRS)
    sources["therapy sessions without risk (windows)"] = len(sessions)
    examples += sessions
    data_dir = os.environ.get("NOTES_DATA_DIR")
    if data_dir:
        medical = _medical(Path(data_dir), args.medical_limit)
        sources["MTS-Dialog and ACI-Bench training dialogues, patient windows"] = len(medical)
        examples += medical
    chosen, out_of_fold = thresholds(examples, settings)
    vocabulary = vocabulary_of(examples, settings.min_count)
    weights, bias = train(examples, vocabulary, settings)
    severity = train_severity(examples, vocabulary, settings)
    detector = Detector(vocabulary, weights, bias, chosen, severity)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    detector.save(args.out)
    card = {
        "trained_on": sources,
        "settings": settings.__dict__,
        "features": len(vocabulary),
        "thresholds": {c.value: round(float(t), 4) for c, t in zip(CATEGORIES, chosen, strict=True)},
        "out_of_fold": out_of_fold,
    }
    card_path = args.out.with_suffix(".json") if args.out != WEIGHTS else CARD
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(card, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
