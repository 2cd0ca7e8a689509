"""Evaluate a model on a dataset, generating through the same code path as the service.

    python -m training_jobs.evaluate --model embedded \\
        --data ../shared/data/mts-dialog/MTS-Dialog-ValidationSet.csv --preset mts \\
        --limit 50 --out artifacts/eval/base.json
    python -m training_jobs.evaluate --model embedded --lora artifacts/lora/adapter.gguf \\
        --data ../shared/data/mts-dialog/MTS-Dialog-ValidationSet.csv --preset mts \\
        --limit 50 --out artifacts/eval/lora.json --compare artifacts/eval/base.json

`--task section` (default) generates each row's section with `NoteEngine.generate_section` and
scores it against the reference (ROUGE, BLEU) and the transcript (`unsupported_share`).
`--task risk` prints the risk detector's recall and precision on tests/data/risk/ (see
training_jobs/risk_eval.py; `--model` and `--data` are not needed).
`--task note` drafts whole notes with `models.pipeline.draft_note` (the service's path) and
reports the clinical and reference-free checks with ROUGE per section and for the whole note
(`training_jobs.note_eval`); `--data` may then be the therapy dev set folder:

    python -m training_jobs.evaluate --task note --data tests/data/therapy/dev --note-format SOAP \
        --model embedded --model gemma3-270m-notes:v1 --model gemma3-270m-notes:v2 \
        --out var/eval/notes-dev.json

Several `--model` (or several `--lora` on one model; `--lora none` for the bare model) evaluate
each in turn, write each run's report beside `--out` (`<out>.<n>.json`) and one side-by-side
table in `<out>.md`. Writes the JSON report to `--out` and, beside it, a markdown report
(`.md`) with a bar plot (`.png`). Reports hold row numbers, ids and scores, never text.
Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from models.files import sha256_data, sha256_file
from models.prompts import section_prompt
from schemas.notes import NoteFormat
from training_jobs.data import COLUMN_PRESETS, DatasetError, Pair, load_pairs, prompt_section
from training_jobs.metrics import bleu, mean_scores, plot_runs, rouge_scores, sentence_bleu, unsupported_share
from training_jobs.therapy_data import therapy_register


class Progress:
    """Rows done and rate on stderr, at most every `every_s` seconds and at the end."""

    def __init__(self, total: int, every_s: float = 5.0) -> None:
        self.total, self.every_s, self.done = total, every_s, 0
        self.start = self.last = time.monotonic()

    def tick(self) -> None:
        """Count one row done; print a progress line when due."""
        self.done += 1
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done in (1, self.total):
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate
            print(
                f"{self.done}/{self.total} rows, {rate:.2f} rows/s, eta {eta:.0f} s",
                file=sys.stderr,
            )
            self.last = now


def score_sections(engine, pairs: Sequence[Pair], guard: bool = False) -> tuple[list[dict], list[str]]:
    """Per-row scores of the section the service would write for each pair (a dataset header is
    asked for as the SOAP section closest in meaning, narrowed to the header's topic), and the
    generated texts; with `guard`, each text after the service's grounding guard (unsupported,
    repeated and looping sentences removed: `models.grounding.ground_text`)."""
    from models.grounding import ground_text

    rows, preds, progress = [], [], Progress(len(pairs))
    for p in pairs:
        section, note_format, focus = prompt_section(p)
        prompt = section_prompt(engine.profile, p.transcript, section, note_format, focus)
        pred = engine.generate(prompt).text
        if guard:
            pred = ground_text({section: pred}, p.transcript)[0][section]
        preds.append(pred)
        scores = {
            **rouge_scores(pred, p.target),
            # the reference in the therapy register ("the patient" read as "the client"), as the
            # model is trained to write: how much of the raw score's gap is that word alone
            "rouge1_client_register": rouge_scores(pred, therapy_register(p.target))["rouge1"],
            "bleu": sentence_bleu(pred, p.target),
            "unsupported_share": unsupported_share(pred, p.transcript),
        }
        rows.append({"row": p.row, "id": p.id, "section": p.section, "scores": scores})
        progress.tick()
    return rows, preds


def summarize(rows: list[dict], preds: list[str], pairs: Sequence[Pair]) -> tuple[dict, dict]:
    """(metrics, metrics by section): means of the per-row scores, BLEU as corpus BLEU."""
    metrics = mean_scores(r["scores"] for r in rows)
    metrics["bleu"] = bleu(preds, [p.target for p in pairs])
    by_section: dict[str, dict] = {}
    for section in sorted({r["section"] for r in rows}):
        chosen = [r["scores"] for r in rows if r["section"] == section]
        by_section[section] = {"n": len(chosen), **mean_scores(chosen)}
    return metrics, by_section


def write_predictions(path: Path, rows: list[dict], preds: list[str], pairs: Sequence[Pair]) -> None:
    """One JSON line per row: its id, section, generated text and reference."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row, pred, pair in zip(rows, preds, pairs, strict=True):
            line = {"id": row["id"], "section": row["section"], "prediction": pred, "reference": pair.target}
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


def _label(report: dict) -> str:
    lora = report.get("lora")
    name = f"{report.get('run', 'run')}: {report['model']}"
    return name + (f" + {Path(lora).name}" if lora else "")


def write_markdown(report: dict, out: Path, compare: dict | None = None) -> tuple[Path, Path]:
    """Write `out`.md (a table of the metrics, side by side with `compare`) and `out`.png."""
    md_path, png_path = out.with_suffix(".md"), out.with_suffix(".png")
    runs = [report] + ([compare] if compare else [])
    keys = list(dict.fromkeys(k for run in runs for k in run["metrics"]))
    lines = [
        f"# Evaluation: {_label(report)}",
        "",
        f"Data `{report['data']}` (sha256 {report['data_sha256'][:12]}), task {report['task']}, "
        f"n = {report['n']}, {report['elapsed_s']:.1f} s.",
    ]
    if compare and any(compare[k] != report[k] for k in ("data_sha256", "n", "task")):
        lines.append(
            f"\n**The compared run used other data, rows or task "
            f"({compare['data']}, n = {compare['n']}, task {compare['task']}).**"
        )
    head = ["metric", _label(report)] + ([_label(compare), "change"] if compare else [])
    lines += ["", "| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for key in keys:
        values = [run["metrics"].get(key) for run in runs]
        cells = ["" if v is None else f"{v:.4f}" for v in values]
        if compare:
            both = None not in values
            cells.append(f"{values[0] - values[1]:+.4f}" if both else "")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", f"![metrics]({png_path.name})", ""]
    md_path.write_text("\n".join(lines), encoding="utf-8")

    plotted = [k for k in keys if "/" not in k]
    plot_runs(png_path, runs, plotted, _label, inches_per_key=0.9, height=4.0, rotation=30)
    return md_path, png_path


def _load_engine(args: argparse.Namespace, model: str, lora_arg: str | None):
    """The service's engine for one model and adapter, and what it resolved to."""
    from models.engine import EngineConfig, NoteEngine
    from models.resolve import resolve_model

    resolved = resolve_model(model, profile=args.profile, merge_lora=args.merge_lora and not lora_arg)
    lora = lora_arg or resolved.lora_path
    config = EngineConfig(
        model_path=str(resolved.path),
        lora_path=str(lora) if lora else None,
        profile=resolved.profile,
        n_ctx=args.n_ctx,
        n_threads=args.threads,
        max_tokens=args.max_tokens,
        seed=args.seed,
        flash_attn=args.flash_attn,
        **({} if args.repeat_penalty is None else {"repeat_penalty": args.repeat_penalty}),
    )
    meta = {
        "name": resolved.name,
        "version": resolved.version,
        "profile": resolved.profile,
        "sha256": resolved.sha256,
        "lora_sha256": sha256_file(Path(lora_arg)) if lora_arg else resolved.lora_sha256,
        "lora_merged": resolved.merged,
    }
    return NoteEngine(config), meta


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m training_jobs.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model",
        required=True,
        action="append",
        help="model ref: embedded, a GGUF path or name:version, or 'extractive' (the fallback note, "
        "no model); repeat to set models side by side",
    )
    ap.add_argument(
        "--lora",
        action="append",
        help="LoRA adapter GGUF applied on top of the model ('none': no adapter); "
        "repeat to set adapters of one model side by side, or give one per --model",
    )
    ap.add_argument("--profile", help="model profile, overriding the one the model ref implies")
    ap.add_argument("--data", required=True, type=Path, help="CSV file, or a folder of therapy sessions")
    ap.add_argument(
        "--preset",
        default="own",
        choices=[*sorted(COLUMN_PRESETS), "therapy"],
        help="CSV columns; 'therapy' (implied by a folder): session JSON files with reference notes",
    )
    ap.add_argument("--limit", type=int, help="evaluate the first N valid rows only")
    ap.add_argument("--task", default="section", choices=("section", "note"))
    ap.add_argument("--note-format", default="SOAP", choices=[f.value for f in NoteFormat])
    ap.add_argument("--out", required=True, type=Path, help="JSON report; .md and .png beside it")
    ap.add_argument("--compare", type=Path, help="another run's JSON report to set beside this one")
    ap.add_argument(
        "--predictions",
        type=Path,
        help="also write each row's generated text and reference here (JSON lines; .N.jsonl per "
        "model when several): the texts are the data's, so keep this file where the data may be",
    )
    ap.add_argument("--on-error", default="raise", choices=("raise", "drop"), help="bad rows")
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--repeat-penalty",
        type=float,
        help="the engine's repeat penalty (default: the service's, engine.repeat_penalty)",
    )
    ap.add_argument(
        "--flash-attn",
        default=True,
        action=argparse.BooleanOptionalAction,
        help="llama.cpp's flash attention, as the service (engine.flash_attn) uses by default",
    )
    ap.add_argument(
        "--merge-lora",
        default=True,
        action=argparse.BooleanOptionalAction,
        help="a LoRA artifact merged into its base, as the service (merge_lora) serves it by "
        "default; --no-merge-lora: the adapter applied at run time (a --lora path always is)",
    )
    ap.add_argument(
        "--guard",
        action="store_true",
        help="--task section: score each section after the service's grounding guard (the note "
        "task always runs the service's whole pipeline, guard included)",
    )
    ap.add_argument(
        "--timeout-s",
        type=float,
        help="--task note: time budget per note (default: the service's); "
        "a note over budget is the fallback note, as the service would serve it",
    )
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be at least 1")
    if args.data.is_dir():
        args.preset = "therapy"
    if args.preset == "therapy" and args.task != "note":
        ap.error("therapy sessions are evaluated with --task note")
    loras = [None if v in (None, "none") else v for v in (args.lora or [None])]
    if len(args.model) > 1 and len(loras) not in (1, len(args.model)):
        ap.error("give one --lora, or one per --model")
    if len(args.model) > 1:
        args.runs = list(zip(args.model, loras * len(args.model) if len(loras) == 1 else loras, strict=True))
    else:
        args.runs = [(args.model[0], lora) for lora in loras]
    return args


def _load_data(args: argparse.Namespace) -> tuple[list[Pair], dict | None]:
    """The pairs to evaluate and, for therapy sessions, the reference sections by session id."""
    if args.preset == "therapy":
        from training_jobs.note_eval import load_sessions, session_pairs

        sessions = load_sessions(args.data)
        note_format = NoteFormat(args.note_format)
        return session_pairs(sessions, note_format), {s.id: s.notes[note_format.value] for s in sessions}
    pairs = load_pairs(args.data, args.preset, on_error=args.on_error)
    if pairs.dropped:
        print(pairs.report, file=sys.stderr)
    return list(pairs), None


def _service_draft(timeout_s: float | None) -> Callable:
    """The service's `draft_note`, with another time budget per note when one is given."""
    from models.pipeline import DraftOptions, draft_note

    if timeout_s is None:
        return draft_note
    return functools.partial(draft_note, options=DraftOptions(timeout_s=timeout_s))


#: `--model extractive`: the service's deterministic fallback note, no language model (a baseline).
EXTRACTIVE = "extractive"


def _extractive_draft(engine, transcript: str, note_format: NoteFormat):
    from models.pipeline import fallback, prepare

    return fallback(prepare(transcript), note_format), {"source": "fallback"}


def _run(
    args: argparse.Namespace,
    model: str,
    lora: str | None,
    pairs: list[Pair],
    references,
    engine,
    draft,
    predictions: Path | None = None,
) -> dict | None:
    """One model's report on `pairs` (None when the model cannot be loaded); its texts go to
    `predictions` when given."""
    meta: dict = {}
    if model == EXTRACTIVE:
        if args.task != "note":
            print("error: the extractive note is evaluated with --task note", file=sys.stderr)
            return None
        engine, draft = object(), _extractive_draft
    owned = engine is None
    if owned:
        from models.artifacts import ArtifactError

        try:
            engine, meta = _load_engine(args, model, lora)
        except (ArtifactError, OSError, ValueError) as e:
            print(f"error: cannot load model {model}: {e}", file=sys.stderr)
            return None
    start = time.monotonic()
    try:
        if args.task == "note":
            from training_jobs.note_eval import score_notes

            if draft is None:
                draft = _service_draft(args.timeout_s)
            tick = Progress(len(pairs)).tick
            rows, preds = score_notes(engine, pairs, NoteFormat(args.note_format), draft, references, tick)
        else:
            rows, preds = score_sections(engine, pairs, args.guard)
    finally:
        if owned and hasattr(engine, "close"):
            engine.close()
    metrics, by_section = summarize(rows, preds, pairs)
    if predictions:
        write_predictions(predictions, rows, preds, pairs)
    return {
        "run": args.out.stem,
        "model": model,
        **{f"model_{k}": v for k, v in meta.items()},
        "lora": lora,
        "data": args.data.name,
        "data_sha256": args.data_sha256,
        "preset": args.preset,
        "task": args.task,
        **({"note_format": args.note_format} if args.task == "note" else {"guard": args.guard}),
        "n": len(rows),
        "metrics": metrics,
        "by_section": by_section,
        "elapsed_s": round(time.monotonic() - start, 3),
        "rows": rows,
    }


def main(argv: Sequence[str] | None = None, *, engine=None, draft: Callable | None = None) -> int:
    """Run the evaluation; `engine` and `draft` replace the service's own (for tests)."""
    from training_jobs.note_eval import write_side_by_side

    raw = list(sys.argv[1:] if argv is None else argv)
    if "risk" in raw and raw[raw.index("risk") - 1 : raw.index("risk")] == ["--task"]:
        from training_jobs.risk_eval import main as risk_main  # its own options: see its docstring

        return risk_main(raw)
    args = parse_args(argv)
    try:
        compare = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
        pairs, references = _load_data(args)
        args.data_sha256 = sha256_data(args.data)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError:
        print(f"error: {args.compare} is not a JSON report", file=sys.stderr)
        return 2
    pairs = pairs[: args.limit] if args.limit else pairs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    reports = []
    for n, (model, lora) in enumerate(args.runs, start=1):
        predictions = args.predictions
        if predictions and len(args.runs) > 1:
            predictions = predictions.with_suffix(f".{n}.jsonl")
        report = _run(args, model, lora, pairs, references, engine, draft, predictions)
        if report is None:
            return 2
        out = args.out if len(args.runs) == 1 else args.out.with_suffix(f".{n}.json")
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
        reports.append(report)
    if len(reports) > 1:
        runs = [{k: v for k, v in r.items() if k != "rows"} for r in reports]
        args.out.write_text(json.dumps({"task": args.task, "runs": runs}, indent=2), encoding="utf-8")
    if len(reports) == 1 and args.task == "section":
        md_path, _ = write_markdown(reports[0], args.out, compare)
    else:
        md_path, _ = write_side_by_side(reports + ([compare] if compare else []), args.out)
    print(f"wrote {args.out} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
