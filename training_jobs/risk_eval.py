"""Recall and precision of the risk detector on the project's labelled excerpts.

    python -m training_jobs.evaluate --task risk                       # the scan, dev and held-out
    python -m training_jobs.evaluate --task risk --scan-only           # the cues without the detector
    python -m training_jobs.evaluate --task risk --opinion --model gemma3-270m-notes:v1   # + the model

Cases are JSON lines under tests/data/risk/ (`dev.jsonl`, tuned on; `heldout.jsonl`, written after
the patterns; `heldout3-a/b/c.jsonl`, written blind by three other writers, a and b since tuned on,
c never read by whoever tuned the patterns; `train-d/e/f.jsonl`, three more writers' excerpts the
learned detector is trained on, never read by whoever tuned the patterns; `heldout4.jsonl`, a
seventh writer's, which neither the patterns nor the detector were tuned or trained on): `text`
(a short excerpt with speaker turns), `kind` (`positive` or `hard_negative`), `tag` and
`expected` ([{category, severity}]). A category counts
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
from models.text import normalize
from schemas.notes import RiskCategory, RiskFlag

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "risk"
SPLITS = (
    "dev",
    "heldout",
    "heldout3-a",
    "heldout3-b",
    "heldout3-c",
    "train-d",
    "train-e",
    "train-f",
    "heldout4",
)


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
            f"| {category.value} | {c.tp + c.fn} | {c.tp} | {c.recall:.3f} | {c.fp} | {c.precision:.3f} "
            f"| {agree} |"
        )
    return "\n".join(lines)


class LlamaAsk:
    """Answers opinion requests with llama-cpp-python directly (greedy, GBNF grammar), as the
    service's engine does; used to measure the second opinion without the Serve stack."""

    def __init__(self, model: str, lora: str | None, threads: int) -> None:
        from llama_cpp import Llama

        from models.profiles import get_profile
        from models.resolve import resolve_model

        resolved = resolve_model(model)
        lora_path = lora or resolved.lora_path
        self.name = f"{resolved.name}:{resolved.version}" + (" (no adapter)" if not lora_path else "")
        self.profile = get_profile(resolved.profile)
        self.llm = Llama(
            model_path=str(resolved.path),
            lora_path=str(lora_path) if lora_path else None,
            n_ctx=2048,
            n_threads=threads,
            n_threads_batch=threads,
            seed=0,
            verbose=False,
        )

    def __call__(self, requests) -> list[str]:
        from llama_cpp import LlamaGrammar

        answers = []
        for r in requests:
            self.llm.reset()
            out = self.llm.create_completion(
                r.prompt,
                max_tokens=r.max_tokens,
                temperature=0.0,
                grammar=LlamaGrammar.from_string(r.grammar, verbose=False),
                stop=list(self.profile.stop),
            )
            answers.append(out["choices"][0]["text"].strip())  # type: ignore[index]
        return answers

    def close(self) -> None:
        self.llm.close()


def opinion_report(cases: Sequence[Case], ask: LlamaAsk, cache: Path) -> str:
    """Tables of the scan alone, the scan plus the model's flags (gate none and candidate) and
    the model's accepted flags alone; the model's answers are cached in `cache` by case id."""
    from models.risk_model import opinion_flags, opinion_requests

    answers: dict[str, dict[str, str]] = json.loads(cache.read_text()) if cache.exists() else {}
    for n, case in enumerate(cases, 1):
        if case.id not in answers:
            requests = opinion_requests(ask.profile, normalize(case.text))
            answers[case.id] = {r.category.value: a for r, a in zip(requests, ask(requests), strict=True)}
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(answers, indent=1))
            print(f"{n}/{len(cases)} cases asked", file=sys.stderr)
    by_id = {c.id: c for c in cases}

    def variant(gate: str, with_scan: bool) -> Callable[[str], list[RiskFlag]]:
        def detect_case(case_id: str) -> list[RiskFlag]:
            text = normalize(by_id[case_id].text)
            scan_flags = scan(text)
            given = {RiskCategory(k): v for k, v in answers[case_id].items()}
            model = opinion_flags(text, given, scan_flags if with_scan else [], gate)  # type: ignore[arg-type]
            return [*scan_flags, *model] if with_scan else model

        return detect_case

    keyed = [Case(c.id, c.kind, c.tag, c.id, c.expected) for c in cases]  # detectors look cases up by id
    yes = sum(a.lower().startswith("yes") for per in answers.values() for a in per.values())
    parts = [f"model {ask.name}: {yes} yes answers of {5 * len(cases)} questions"]
    for name, gate, with_scan in (
        ("scan alone", "none", None),
        ("model alone (quote checked, no gate)", "none", False),
        ("scan + model, no gate", "none", True),
        ("scan + model, candidate gate", "candidate", True),
    ):
        detect = (lambda cid: scan(by_id[cid].text)) if with_scan is None else variant(gate, with_scan)
        parts.append(table(name, evaluate(keyed, detect)))
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the tables (and the ids of missed and falsely flagged cases with `--verbose`)."""
    ap = argparse.ArgumentParser(
        prog="python -m training_jobs.evaluate --task risk", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--task", choices=("risk",), default="risk")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with <split>.jsonl files")
    ap.add_argument("--split", choices=SPLITS, action="append", help="only these splits")
    ap.add_argument("--opinion", action="store_true", help="add the model's second opinion")
    ap.add_argument("--model", default="embedded", help="model ref for --opinion")
    ap.add_argument("--lora", help="LoRA adapter GGUF for --opinion")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="list the ids of missed and false flags")
    ap.add_argument("--scan-only", action="store_true", help="the cues alone, without the learned detector")
    args, _ = ap.parse_known_args(argv)
    ask = LlamaAsk(args.model, args.lora, args.threads) if args.opinion else None
    try:
        for split in args.split or SPLITS:
            path = args.data / f"{split}.jsonl"
            if not path.exists():
                print(f"{split}: {path} not found", file=sys.stderr)
                continue
            if ask is not None:
                cache = Path("var/eval") / f"risk-answers-{split}-{args.model.replace(':', '_')}.json"
                print(opinion_report(load_cases(path), ask, cache) + "\n")
                continue
            report = evaluate(load_cases(path), lambda text: scan(text, learned=not args.scan_only))
            print(table(split, report) + "\n")
            if args.verbose:
                for category, c in report.by_category.items():
                    if c.missed or c.false:
                        print(f"{category.value}: missed {c.missed} false {c.false}")
                print(f"flagged negatives: {report.flagged_negatives}\n")
    finally:
        if ask is not None:
            ask.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
