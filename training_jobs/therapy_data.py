"""Training targets for psychotherapy notes: dataset sections mapped onto therapy sections by
meaning, cleaned of facts their dialogue does not hold, written in the therapy register.

- MTS-Dialog and ACI-Bench pair a doctor-patient dialogue with one section of a medical note.
  An MTS-Dialog row is one narrow topic (the family and social history, the allergies): it is
  trained and evaluated as that topic of the closest SOAP section, the header's topic named in
  the prompt (`FOCUS`), so the model learns short focused answers there and whole therapy
  sections where no topic is named, as the service asks. ACI-Bench's subjective division (a
  whole visit's report) is trained as the client-report section of every format.
- Every target sentence that states an age, number, date, medication, name, demographic claim
  or denial that its dialogue does not hold is dropped (`models.grounding.unsupported`, the
  same check the service's guard runs on every note); "patient" becomes "client".
- The project's own therapy sessions (training_jobs/data/therapy/*.json, written for the
  project) give every section of all three formats.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.grounding import note_sentences, rescued_sentence, to_client, unsupported
from models.sections import definitions
from models.text import normalize, sentences, word_count
from schemas.notes import NoteFormat

#: Dataset section header (lower case) -> therapy kind trained on as a whole section (ACI-Bench's
#: subjective division is a whole visit's report); MTS-Dialog's headers are trained focused
#: (`FOCUS`), each a narrow part of one section.
TRAIN_KINDS = {
    "subjective": "client_report",  # ACI-Bench division
}
#: Dataset header (lower case) -> the topic its section is narrowed to in the prompt: a dataset
#: row is one short part of a note (MTS-Dialog's family and social history, its allergies), so it
#: is trained and evaluated as that part of the closest therapy section (`EVAL_SECTIONS`), not as
#: the whole section, which the project's therapy sessions teach. The service never asks a focus.
FOCUS = {
    "genhx": "the history of the client's presenting concern",
    "cc": "the client's main concern, in a few words",
    "fam/sochx": "the client's family and social history",
    "pastmedicalhx": "the client's past medical history",
    "pastsurgical": "the client's past surgeries",
    "medications": "the medications the client takes",
    "allergy": "the client's allergies",
    "gynhx": "the client's gynecological history",
    "other_history": "other history the client reports",
    "immunizations": "the client's immunizations",
    "ros": "the symptoms the client reports or denies when asked",
    "exam": "what was observed on examination",
    "labs": "the test results discussed",
    "imaging": "the imaging results discussed",
    "edcourse": "the course of the visit",
    "procedures": "the procedures discussed",
    "assessment": "the clinical impression",
    "diagnosis": "the diagnosis",
    "plan": "the plan",
    "disposition": "where the client goes after the visit",
}
#: For evaluation on a dataset, every header maps onto the SOAP section closest in meaning.
EVAL_SECTIONS = {
    "genhx": "subjective", "cc": "subjective", "fam/sochx": "subjective", "pastmedicalhx": "subjective",
    "pastsurgical": "subjective", "medications": "subjective", "allergy": "subjective",
    "gynhx": "subjective", "other_history": "subjective", "immunizations": "subjective",
    "ros": "subjective", "subjective": "subjective", "exam": "objective", "labs": "objective",
    "imaging": "objective", "edcourse": "objective", "objective_exam": "objective",
    "objective_results": "objective", "procedures": "plan", "assessment": "assessment",
    "diagnosis": "assessment", "assessment_and_plan": "assessment", "plan": "plan",
    "disposition": "plan",
}  # fmt: skip
assert FOCUS.keys() <= EVAL_SECTIONS.keys(), "every focused header needs its SOAP section"
MIN_TARGET_WORDS = 4

#: Medical-record scaffolding that is no note prose: list numbers, all-caps headings, "Dr. X".
_SCAFFOLD_RE = re.compile(r"^\s*(?:\d+\.|[-*•])\s*|^[A-Z][A-Z /&]{3,}:\s*", re.M)
_PLACEHOLDER_RE = re.compile(r"\b(?:Dr|Mr|Mrs|Ms)\.? [A-Z]\b\.?")


def therapy_register(text: str) -> str:
    """`text` with "patient" written as "client" and record scaffolding removed."""
    return to_client(_SCAFFOLD_RE.sub("", text))


@dataclass
class CleanReport:
    """What cleaning changed, in counts (never text)."""

    targets: int = 0
    targets_changed: int = 0
    targets_dropped: int = 0
    sentences: int = 0
    sentences_dropped: Counter[str] = field(default_factory=Counter)
    sentences_rewritten: int = 0

    def as_dict(self) -> dict:
        return {
            "targets": self.targets,
            "targets_changed": self.targets_changed,
            "targets_dropped": self.targets_dropped,
            "sentences": self.sentences,
            "sentences_dropped": dict(sorted(self.sentences_dropped.items())),
            "sentences_rewritten": self.sentences_rewritten,
        }


def clean_target(target: str, dialogue: str, report: CleanReport) -> str:
    """`target` in the therapy register without sentences its dialogue does not support."""
    report.targets += 1
    kept = []
    written = note_sentences(therapy_register(target))
    for sentence in written:
        report.sentences += 1
        if _PLACEHOLDER_RE.search(sentence):
            report.sentences_dropped["placeholder"] += 1
            continue
        reasons = unsupported(sentence, dialogue)
        if reasons:
            rescued = rescued_sentence(sentence, dialogue)[0]
            if not rescued:
                report.sentences_dropped[reasons[0]] += 1
                continue
            report.sentences_rewritten += 1  # a phrase went (grounding.rescued_sentence), the rest stays
            sentence = rescued
        kept.append(sentence)
    cleaned = " ".join(kept)
    if cleaned != " ".join(sentences(target)):
        report.targets_changed += 1
    # A remnant of a longer target is dropped when short (what is left is not what the section
    # said); a target that was short as written and kept whole ("None.", "Appendectomy.") is the
    # section's answer, and teaches the model that a focused part can be a few words.
    if not cleaned or (len(kept) < len(written) and word_count(cleaned) < MIN_TARGET_WORDS):
        report.targets_dropped += 1
        return ""
    return cleaned


def _rotate(key: str, choices: Sequence[tuple[NoteFormat, str]]) -> tuple[NoteFormat, str]:
    """A deterministic choice among `choices` for a row, so all formats' headings are trained."""
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16)
    return choices[digest % len(choices)]


def _sections_of_kind(kind: str) -> list[tuple[NoteFormat, str]]:
    return [(f, d.key) for f in NoteFormat for d in definitions(f) if d.kind == kind]


@dataclass(frozen=True)
class TherapyPair:
    """A training example in therapy terms; `group` keeps one dialogue on one side of a split."""

    transcript: str
    note_format: NoteFormat
    section: str
    target: str
    group: str
    #: The topic the section is narrowed to ("" = the whole section; see `FOCUS`).
    focus: str = ""


def map_dataset_pairs(pairs: Iterable, report: CleanReport) -> list[TherapyPair]:
    """Dataset pairs (training_jobs.data.Pair, section = dataset header) as cleaned therapy pairs:
    a header in `TRAIN_KINDS` as a whole section (rotating formats), one in `FOCUS` as its part of
    the closest SOAP section; other headers and targets left too short by cleaning are skipped."""
    out = []
    for pair in pairs:
        header = pair.section.strip().lower()
        kind, focus = TRAIN_KINDS.get(header), FOCUS.get(header, "")
        if kind is None and not focus:
            continue
        target = clean_target(pair.target, pair.transcript, report)
        if not target:
            continue
        if kind is not None:
            note_format, section = _rotate(f"{pair.group}:{pair.row}", _sections_of_kind(kind))
        else:
            note_format, section = NoteFormat.SOAP, EVAL_SECTIONS[header]
        out.append(TherapyPair(pair.transcript, note_format, section, target, pair.group, focus))
    return out


def load_sessions(folder: str | Path) -> list[dict]:
    """The project's therapy sessions: every `*.json` in `folder`, sorted by name."""
    sessions = []
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data.setdefault("id", path.stem)
        sessions.append(data)
    return sessions


def session_pairs(
    sessions: Iterable[dict], report: CleanReport, per_session: int = 0, seed: int = 0
) -> list[TherapyPair]:
    """The sections of each session's reference notes in all formats, cleaned as datasets are
    (the writers were told to state only facts the transcript holds; the guard checks it).

    `per_session` > 0 keeps that many sections per session (CPU training time grows with every
    example of a long transcript): the SOAP sections first (the default format), then a
    seeded choice among the DAP and BIRP sections.
    """
    out = []
    for session in sessions:
        transcript = normalize(session["transcript"])
        chosen = []
        for fmt_name, note in session["notes"].items():
            note_format = NoteFormat(fmt_name)
            for d in definitions(note_format):
                target = clean_target(normalize(note[d.key]), transcript, report)
                if target:
                    chosen.append(
                        TherapyPair(transcript, note_format, d.key, target, f"session:{session['id']}")
                    )
        if per_session:
            soap = [p for p in chosen if p.note_format is NoteFormat.SOAP]
            rest = [p for p in chosen if p.note_format is not NoteFormat.SOAP]
            random.Random(f"{seed}:{session['id']}").shuffle(rest)
            chosen = (soap + rest)[:per_session]
        out.extend(chosen)
    return out


def as_pairs(therapy: Iterable[TherapyPair], pair_type: type) -> list:
    """Therapy pairs as `training_jobs.data.Pair` rows (row numbers count from 1)."""
    return [
        pair_type(
            transcript=p.transcript,
            target=p.target,
            section=p.section,
            group=p.group,
            row=n,
            note_format=p.note_format.value,
            focus=p.focus,
        )
        for n, p in enumerate(therapy, start=1)
    ]


def load_entry(
    path: str, preset: str, split: str = "train", per_group: int = 0, seed: int = 0
) -> tuple[list[TherapyPair], CleanReport] | None:
    """The cleaned therapy pairs of one data entry of an SFT config, with the cleaning report;
    None for the `own` preset, whose CSV already holds therapy sections (loaded as it is).

    Presets: `mts` (an MTS-Dialog CSV; `per_group` > 0 samples that many cleaned sections),
    `aci` (ACI-Bench: a by-division folder, its `split` subjective division; `per_group` > 0
    samples that many encounters), `therapy` (a folder of the project's session JSON files;
    `per_group` > 0 keeps that many sections per session).
    """
    from training_jobs.data import load_aci_divisions, load_pairs

    report = CleanReport()
    if preset == "therapy":
        return session_pairs(load_sessions(path), report, per_group, seed), report
    if preset == "mts":
        pairs = load_pairs(path, "mts", on_error="drop")
    elif preset == "aci":
        if not Path(path).is_dir():
            raise ValueError("preset aci trains on the by-division folder (its subjective division)")
        pairs = load_aci_divisions(path, split, ["subjective"], on_error="drop")
    else:
        return None
    mapped = map_dataset_pairs(pairs, report)
    if per_group:
        mapped = random.Random(seed).sample(mapped, min(per_group, len(mapped)))
    return mapped, report
