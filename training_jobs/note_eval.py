"""Whole-note evaluation (`python -m training_jobs.evaluate --task note`): the service's note for
each transcript, scored against reference notes section by section and as a whole, plus the
reference-free checks of `training_jobs.metrics.note_checks`.

Two kinds of data:
- the project's therapy dev set (a folder of session JSON files, `tests/data/therapy/dev/`):
  every session has reference notes in SOAP, DAP and BIRP; the drafted note of the chosen format
  is scored per section (`rouge1/<section>`, ...) and as a whole (all sections in format order);
- MTS-Dialog (a CSV of dialogue -> one section): the whole note text against the section, as
  before, and the note's section closest in meaning (`models` SOAP) against it (`section_rouge1`).

Reports hold ids and scores, never text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from models.interventions import interventions_sentence
from models.sections import INTERVENTIONS_SECTION
from models.text import MARKER_RE, normalize
from schemas.notes import SECTIONS, Note, NoteFormat
from training_jobs.data import DatasetError, Pair, Problem
from training_jobs.metrics import note_checks, plot_runs, rouge_scores, sentence_bleu

ROUGE_REPORTED = ("rouge1", "rouge2", "rougeL")
#: MTS-Dialog section headers -> the SOAP section closest in meaning (the rest: subjective).
MTS_SECTIONS = {
    "exam": "objective", "labs": "objective", "imaging": "objective", "edcourse": "objective",
    "procedures": "plan", "plan": "plan", "disposition": "plan", "assessment": "assessment",
    "diagnosis": "assessment",
}  # fmt: skip


@dataclass(frozen=True)
class Session:
    """One therapy session of the dev set: its transcript and reference notes by format."""

    id: str
    transcript: str
    notes: Mapping[str, Mapping[str, str]]
    modality: str = ""
    risk: tuple[str, ...] = ()


def load_sessions(folder: Path) -> list[Session]:
    """Every `*.json` session of `folder`, sorted by name; all problems raised at once."""
    paths = sorted(Path(folder).glob("*.json"))
    if not paths:
        raise DatasetError(str(folder), message=f"no *.json session files in {folder}")
    sessions, problems = [], []
    for n, path in enumerate(paths, start=1):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            notes = data["notes"]
            missing = [f"{f}.{k}" for f in NoteFormat for k in SECTIONS[f] if not notes.get(f, {}).get(k)]
            if missing or not data["transcript"].strip():
                problems.append(Problem(n, "missing " + ", ".join(missing or ["transcript"]), path.name))
                continue
            sessions.append(
                Session(
                    id=data.get("id", path.stem),
                    transcript=data["transcript"],
                    notes=notes,
                    modality=data.get("modality", ""),
                    risk=tuple(data.get("risk", ())),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(Problem(n, "not a session JSON object", path.name))
    if problems:
        raise DatasetError(str(folder), problems)
    return sessions


def session_pairs(sessions: Sequence[Session], note_format: NoteFormat) -> list[Pair]:
    """One `Pair` per session: target = the reference note of `note_format`, sections joined."""
    return [
        Pair(
            transcript=s.transcript,
            target=whole(s.notes[note_format.value], note_format),
            section="note",
            group=s.id,
            row=n,
            id=s.id,
        )
        for n, s in enumerate(sessions, start=1)
    ]


def whole(sections: Mapping[str, str], note_format: NoteFormat) -> str:
    """The sections of a note in format order, one paragraph each (no headings, no summary)."""
    return "\n".join(
        sections.get(k, "").strip() for k in SECTIONS[note_format] if sections.get(k, "").strip()
    )


def _rouge(pred: str, ref: str, prefix: str = "", suffix: str = "") -> dict[str, float]:
    scores = rouge_scores(pred, ref)
    return {f"{prefix}{k}{suffix}": scores[k] for k in ROUGE_REPORTED}


def interventions_scores(note: Note, transcript: str, references: Mapping[str, str]) -> dict[str, float]:
    """ROUGE-1 against the reference of the section that names the interventions (objective, data,
    intervention): of the rules' sentence alone (`models.interventions`), and of the note's
    section with that sentence in it (the pipeline adds it, `models.notes.with_interventions`;
    a section that lacks it, as in a note from elsewhere, gets it added here)."""
    key = INTERVENTIONS_SECTION[note.format]
    sentence = interventions_sentence(transcript)
    section = note.sections.get(key, "").strip()
    combined = section if sentence in section else f"{section} {sentence}".strip()
    return {
        "rouge1/interventions_sentence": rouge_scores(sentence, references.get(key, ""))["rouge1"],
        f"rouge1/{key}+interventions": rouge_scores(combined, references.get(key, ""))["rouge1"],
    }


def score_note(
    note: Note,
    info: Mapping[str, object],
    transcript: str,
    target: str,
    references: Mapping[str, str] | None = None,
    header: str = "",
) -> tuple[dict[str, float], str]:
    """Scores of one drafted note, and the text scored as the whole note.

    With `references` (a therapy reference note of the note's format): ROUGE per section
    (`rouge1/<section>`) and of all sections against all reference sections. Without them (an
    MTS-Dialog row): the note text against `target`, as before, and the SOAP section closest to
    the row's `header` against it (`section_rouge1`).
    """
    scores = note_checks(note, transcript, info)
    if references is not None:
        pred = whole(note.sections, note.format)
        for key in SECTIONS[note.format]:
            scores.update(_rouge(note.sections.get(key, ""), references.get(key, ""), suffix=f"/{key}"))
        scores.update(interventions_scores(note, transcript, references))
    else:
        pred = MARKER_RE.sub(r"\1", note.text or "\n\n".join(note.sections.values()))
        section = MTS_SECTIONS.get(header.strip().lower(), "subjective")
        if note.format == NoteFormat.SOAP:
            scores.update(_rouge(note.sections.get(section, ""), target, prefix="section_"))
    scores.update(rouge_scores(pred, target))
    scores["bleu"] = sentence_bleu(pred, target)
    return scores, pred


def score_notes(
    engine,
    pairs: Sequence[Pair],
    note_format: NoteFormat,
    draft: Callable,
    references: Mapping[str, Mapping[str, str]] | None = None,
    tick: Callable[[], None] = lambda: None,
) -> tuple[list[dict], list[str]]:
    """Per-row scores of the service's note (`draft(engine, transcript, format)`) for each pair,
    and the texts scored. `references` maps a pair's id to its reference sections (therapy).

    `unsupported_share` (numbers and drug names) is left out for fallback notes, so its mean
    covers model-written notes; the other checks cover every note the service would return.
    """
    rows, preds = [], []
    for p in pairs:
        note, info = draft(engine, p.transcript, note_format)
        refs = references.get(p.id) if references is not None else None
        scores, pred = score_note(note, info, normalize(p.transcript), p.target, refs, p.section)
        if scores["fallback"]:
            del scores["unsupported_share"]  # extractive by design; its statistics are not claims
        preds.append(pred)
        rows.append({"row": p.row, "id": p.id, "section": p.section, "scores": scores})
        tick()
    return rows, preds


def label(report: Mapping) -> str:
    """A run's name in tables: the model and its adapter."""
    lora = report.get("lora")
    return str(report["model"]) + (f" + {Path(lora).name}" if lora else "")


#: Checks where lower is better, marked in the side-by-side table.
LOWER_IS_BETTER = (
    "unsupported_share", "unsupported_sentence_rate", "unsupported_number_note",
    "unsupported_medication_note", "unsupported_fact_note", "medical_register_rate",
    "medical_register_note", "duplication_max", "duplication_mean", "empty_sections",
    "extracted_sections", "fallback",
)  # fmt: skip


def write_side_by_side(reports: Sequence[Mapping], out: Path) -> tuple[Path, Path]:
    """`out`.md: one table with a column per run (metrics, then per-section ROUGE), and `out`.png."""
    md_path, png_path = out.with_suffix(".md"), out.with_suffix(".png")
    keys = list(dict.fromkeys(k for r in reports for k in r["metrics"]))
    keys = [k for k in keys if "/" not in k] + sorted(k for k in keys if "/" in k and k.startswith("rouge"))
    first = reports[0]
    lines = [
        "# Note evaluation: " + " | ".join(label(r) for r in reports),
        "",
        f"Data `{first['data']}` (sha256 {first['data_sha256'][:12]}), task {first['task']}, format "
        f"{first.get('note_format', '')}, n = {first['n']}. Rows marked ↓: lower is better.",
    ]
    if any(r["data_sha256"] != first["data_sha256"] or r["n"] != first["n"] for r in reports):
        lines.append(
            "\n**The runs used other data or rows: " + ", ".join(str(r["n"]) for r in reports) + ".**"
        )
    head = ["metric"] + [label(r) for r in reports]
    lines += ["", "| " + " | ".join(head) + " |", "|---" + "|---:" * len(reports) + "|"]
    for key in keys:
        cells = [f"{r['metrics'][key]:.4f}" if key in r["metrics"] else "" for r in reports]
        lines.append(f"| {key}{' ↓' if key in LOWER_IS_BETTER else ''} | " + " | ".join(cells) + " |")
    lines += ["", f"![metrics]({png_path.name})", ""]
    md_path.write_text("\n".join(lines), encoding="utf-8")

    plotted = [k for k in keys if "/" not in k and not k.startswith("risk_")]
    plot_runs(
        png_path, reports, plotted, label, inches_per_key=0.55, height=4.5, rotation=45, tick_fontsize="small"
    )
    return md_path, png_path
