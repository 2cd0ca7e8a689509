"""Recall and precision of the risk detector on the project's labelled excerpts.

    python -m training_jobs.evaluate --task risk                       # the scan, dev and held-out
    python -m training_jobs.evaluate --task risk --opinion --model gemma3-270m-notes:v1   # + the model

Cases are JSON lines under tests/data/risk/ (`dev.jsonl`, tuned on; `heldout.jsonl`, written after
the patterns and never tuned on): `text` (a short excerpt with speaker turns), `kind`
(`positive` or `hard_negative`), `tag` and `expected` ([{category, severity}]). A category counts
as found in a case when any flag of that category is raised; severity agreement compares the
highest severity flagged with the expected one. Prints a table per split; no case text is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.risk import highest, scan
from schemas.notes import RiskCategory, RiskFlag

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "risk"
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    tag: str
    text: str
    expected: dict[RiskCategory, str]


def load_cases(path: Path) -> list[Case]:
    """The cases of one JSON-lines file."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            expected = {RiskCategory(e["category"]): e["severity"] for e in raw["expected"]}
            cases.append(Case(raw["id"], raw["kind"], raw["tag"], raw["text"], expected))
    return cases


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    severity_ok: int = 0
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0


@dataclass
class Report:
    n: int
    by_category: dict[RiskCategory, Counts]
    negatives: int
    flagged_negatives: list[str]


def evaluate(cases: Sequence[Case], detect: Callable[[str], list[RiskFlag]] = scan) -> Report:
    """Per-category counts of `detect` on `cases`, and the hard negatives it flagged."""
    by_category = {c: Counts() for c in RiskCategory}
    flagged_negatives = []
    for case in cases:
        found = highest(detect(case.text))
        for category, counts in by_category.items():
            if category in case.expected and category in found:
                counts.tp += 1
                counts.severity_ok += found[category] == case.expected[category]
            elif category in case.expected:
                counts.fn += 1
                counts.missed.append(case.id)
            elif category in found:
                counts.fp += 1
                counts.false.append(case.id)
        if case.kind == "hard_negative" and found:
            flagged_negatives.append(case.id)
    negatives = sum(c.kind == "hard_negative" for c in cases)
    return Report(len(cases), by_category, negatives, flagged_negatives)


def table(name: str, report: Report) -> str:
    """A markdown table of one split's report."""
    lines = [
        f"{name}: {report.n} cases, {report.negatives} hard negatives, "
        f"{len(report.flagged_negatives)} of them flagged",
        "",
        "| category | positives | found | recall | false flags | precision | severity agrees |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for category, c in report.by_category.items():
        agree = f"{c.severity_ok}/{c.tp}" if c.tp else "-"
        lines.append(
            f"| {category.value} | {c.tp + c.fn} | {c.tp} | {c.recall:.3f} | {c.fp} | {c.precision:.3f} | {agree} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the tables (and the ids of missed and falsely flagged cases with `--verbose`)."""
    ap = argparse.ArgumentParser(prog="python -m training_jobs.evaluate --task risk", description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=("risk",), default="risk")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with dev.jsonl and heldout.jsonl")
    ap.add_argument("--split", choices=SPLITS, action="append", help="only these splits")
    ap.add_argument("--opinion", action="store_true", help="add the model's second opinion")
    ap.add_argument("--model", default="embedded", help="model ref for --opinion")
    ap.add_argument("--lora", help="LoRA adapter GGUF for --opinion")
    ap.add_argument("--gate", choices=("candidate", "none"), default="candidate", help="model flag gate")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="list the ids of missed and false flags")
    args, _ = ap.parse_known_args(argv)
    detect: Callable[[str], list[RiskFlag]] = scan
    engine = None
    if args.opinion:
        from models.risk_model import detect_with_opinion
        from training_jobs.evaluate import _load_engine

        engine, _meta = _load_engine(
            argparse.Namespace(model=args.model, lora=args.lora, profile=None, n_ctx=2048, threads=args.threads, seed=0)
        )

        def detect(text: str) -> list[RiskFlag]:
            return detect_with_opinion(engine, text, gate=args.gate)

    try:
        for split in args.split or SPLITS:
            path = args.data / f"{split}.jsonl"
            if not path.exists():
                print(f"{split}: {path} not found", file=sys.stderr)
                continue
            report = evaluate(load_cases(path), detect)
            print(table(split, report) + "\n")
            if args.verbose:
                for category, c in report.by_category.items():
                    if c.missed or c.false:
                        print(f"{category.value}: missed {c.missed} false {c.false}")
                print(f"flagged negatives: {report.flagged_negatives}\n")
    finally:
        if engine is not None:
            engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
