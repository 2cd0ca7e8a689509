"""The dataset loader: transcript -> note-section pairs from CSV or JSON, validated and split.

Every problem in a file is collected and raised as one `DatasetError` that names row numbers and
reasons only, never row text. Row numbers count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from models.profiles import ModelProfile, get_profile
from models.prompts import section_example
from models.text import normalize
from schemas.notes import SECTIONS, NoteFormat

#: ACI-Bench note divisions, the `{division}` in by-division/{split}_{division}.json.
ACI_DIVISIONS = ("subjective", "objective_exam", "objective_results", "assessment_and_plan")
_ACI_FIELDS = ("src", "tgt", "file")


@dataclass(frozen=True)
class Pair:
    """One training or evaluation example: a transcript and one section of its note."""

    transcript: str
    target: str
    section: str
    group: str
    row: int
    #: The dataset's own id for the row (MTS-Dialog `ID`, ACI-Bench `file`), else "".
    id: str = ""
    #: The note format the section belongs to (therapy sections; see models.sections).
    note_format: str = "SOAP"
    #: The topic a dataset's single section is narrowed to in the prompt ("" = the whole section).
    focus: str = ""


@dataclass(frozen=True)
class ColumnPreset:
    """Which CSV columns hold each part of a `Pair`."""

    transcript: str
    target: str
    #: Column of the section header; without it every row is `default_section`.
    section: str | None = None
    default_section: str = "note"
    #: Column of the group id; without it each row is its own group.
    group: str | None = None
    #: Group rows by a hash of their normalised transcript instead of a column.
    group_by_transcript: bool = False
    row_id: str | None = None
    #: Columns above that a file may leave out.
    optional: tuple[str, ...] = ()

    def required(self) -> list[str]:
        """The columns a file must have."""
        named = (self.transcript, self.target, self.section, self.group, self.row_id)
        return [c for c in dict.fromkeys(named) if c and c not in self.optional]


COLUMN_PRESETS: dict[str, ColumnPreset] = {
    "own": ColumnPreset(
        "transcript", "note", section="section", group="group", optional=("section", "group")
    ),
    "mts": ColumnPreset(
        "dialogue", "section_text", section="section_header", group_by_transcript=True, row_id="ID"
    ),
    "aci": ColumnPreset("dialogue", "note", group="encounter_id", row_id="encounter_id"),
}


@dataclass(frozen=True)
class Problem:
    """Why one row is unusable; `source` names the file when one load spans several."""

    row: int
    reason: str
    source: str = ""


def _describe(problems: Sequence[Problem]) -> tuple[int, str]:
    """(number of bad rows, '; '-joined 'row N: reason, reason' list) in file order."""
    reasons: dict[str, list[str]] = {}
    for p in problems:
        reasons.setdefault(f"{p.source} row {p.row}".lstrip(), []).append(p.reason)
    return len(reasons), "; ".join(f"{where}: {', '.join(r)}" for where, r in reasons.items())


class DatasetError(ValueError):
    """A dataset file that cannot be used as it is; the message lists every problem found."""

    def __init__(self, source: str, problems: Sequence[Problem] = (), message: str = "") -> None:
        self.source = source
        self.problems = tuple(problems)
        if not message:
            count, listing = _describe(self.problems)
            message = f"{count} bad row{'s' * (count != 1)} in {source}: {listing}"
        super().__init__(message)


class LoadedPairs(list[Pair]):
    """The pairs of a file; with on_error="drop", `dropped` lists the rows that were left out."""

    def __init__(self, pairs: Iterable[Pair], source: str, dropped: Sequence[Problem] = ()):
        super().__init__(pairs)
        self.source = source
        self.dropped = tuple(dropped)

    @property
    def report(self) -> str:
        """One line: how many rows were dropped and why (row numbers and reasons only)."""
        count, listing = _describe(self.dropped)
        head = f"{len(self)} rows from {self.source}; dropped {count}"
        return f"{head}: {listing}" if count else head


class Split(NamedTuple):
    """The three sides of a split; a group's pairs are all on one side."""

    train: list[Pair]
    validation: list[Pair]
    test: list[Pair]


def _hash_group(transcript: str) -> str:
    key = " ".join(transcript.split()).casefold()
    return "t-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _read_csv(path: Path, preset: ColumnPreset) -> list[tuple[Pair, list[str]]]:
    """Rows as (pair, problems); a file-level problem raises DatasetError at once."""
    csv.field_size_limit(1 << 30)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in preset.required() if c not in header]
            if missing:
                raise DatasetError(
                    path.name,
                    message=f"{path.name}: missing column{'s' * (len(missing) > 1)} "
                    f"{', '.join(missing)} (this preset reads {', '.join(preset.required())})",
                )
            rows = [_csv_row(n, rec, preset, path.name) for n, rec in enumerate(reader, start=1)]
    except UnicodeDecodeError as e:
        raise DatasetError(path.name, message=f"{path.name}: not UTF-8 text") from e
    except csv.Error as e:
        raise DatasetError(path.name, message=f"{path.name}: malformed CSV") from e
    return rows


def _csv_row(n: int, rec: dict, preset: ColumnPreset, source: str) -> tuple[Pair, list[str]]:
    problems = ["more fields than the header"] if None in rec else []

    def cell(column: str | None) -> str:
        return (rec.get(column) or "").strip() if column else ""

    transcript, target = normalize(cell(preset.transcript)), normalize(cell(preset.target))
    has_section = preset.section is not None and preset.section in rec
    section = cell(preset.section) if has_section else preset.default_section
    if not section:
        problems.append(f"empty {preset.section}")
    if preset.group_by_transcript:
        group = _hash_group(transcript)
    else:
        group = cell(preset.group)
        if not group and preset.group and preset.group not in preset.optional:
            problems.append(f"empty {preset.group}")
        group = group or f"{source}#row-{n}"  # unique across files loaded together
    pair = Pair(transcript, target, section, group, n, cell(preset.row_id))
    return pair, problems


def _validate(
    rows: list[tuple[Pair, list[str], str]],
    source: str,
    on_error: Literal["raise", "drop"],
    max_tokens: int | None,
    count_tokens: Callable[[str], int] | None,
    profile: str | ModelProfile,
) -> LoadedPairs:
    """Check every row; raise one DatasetError for all problems or drop the bad rows."""
    if on_error not in ("raise", "drop"):
        raise ValueError(f"on_error must be 'raise' or 'drop', not {on_error!r}")
    if max_tokens is not None and count_tokens is None:
        raise ValueError("max_tokens needs count_tokens (the tokenizer's token counter)")
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if not rows:
        raise DatasetError(source, message=f"{source}: no data rows")
    seen: dict[tuple[str, str, str], int] = {}
    problems: list[Problem] = []
    good: list[Pair] = []
    for pair, reasons, where in rows:
        reasons = list(reasons)
        if not pair.transcript:
            reasons.append("empty transcript")
        if not pair.target:
            reasons.append("empty target")
        key = (pair.transcript, pair.section, pair.target, pair.note_format)
        if not reasons and key in seen:
            reasons.append(f"duplicate of row {seen[key]}")
        elif not reasons:
            seen[key] = pair.row
            if max_tokens is not None and count_tokens is not None:
                tokens = count_tokens("".join(_example(prof, pair)))
                if tokens > max_tokens:
                    reasons.append(f"over the token budget ({tokens} > {max_tokens} tokens)")
        problems.extend(Problem(pair.row, r, where) for r in reasons)
        if not reasons:
            good.append(pair)
    if problems and on_error == "raise":
        raise DatasetError(source, problems)
    return LoadedPairs(good, source, problems)


def load_pairs(
    path: str | Path,
    preset: str = "own",
    max_tokens: int | None = None,
    count_tokens: Callable[[str], int] | None = None,
    *,
    profile: str | ModelProfile = "gemma3",
    on_error: Literal["raise", "drop"] = "raise",
) -> LoadedPairs:
    """The validated pairs of a CSV file read with the column preset `preset`.

    Texts are normalised with `models.text.normalize`. Rows with an empty transcript or target,
    exact duplicates (transcript, target and section) and, when `max_tokens` is given, training
    examples (`section_example` for `profile`) longer than `max_tokens` by `count_tokens` are
    problems: all are raised as one `DatasetError`, or with on_error="drop" left out and listed
    in the result's `dropped`/`report`. Returns a list of `Pair`.
    """
    if preset not in COLUMN_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {sorted(COLUMN_PRESETS)}")
    path = Path(path)
    rows = [(pair, reasons, "") for pair, reasons in _read_csv(path, COLUMN_PRESETS[preset])]
    return _validate(rows, path.name, on_error, max_tokens, count_tokens, profile)


def load_aci_divisions(
    folder: str | Path,
    split: str,
    divisions: Sequence[str] = ACI_DIVISIONS,
    max_tokens: int | None = None,
    count_tokens: Callable[[str], int] | None = None,
    *,
    profile: str | ModelProfile = "gemma3",
    on_error: Literal["raise", "drop"] = "raise",
) -> LoadedPairs:
    """Pairs from ACI-Bench by-division files `{folder}/{split}_{division}.json`.

    Each pair's section is the division name and its group the encounter id (the part of `file`
    before the first '-'), so one encounter's divisions stay on one side of a split. Row numbers
    count entries within each file; problems name the file. Validation as in `load_pairs`.
    """
    folder = Path(folder)
    rows: list[tuple[Pair, list[str], str]] = []
    for division in divisions:
        path = folder / f"{split}_{division}.json"
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))["data"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise DatasetError(path.name, message=f"{path.name}: not a {{'data': [...]}} file") from e
        for n, entry in enumerate(entries, start=1):
            fields = {k: entry.get(k) if isinstance(entry, dict) else None for k in _ACI_FIELDS}
            reasons = [f"missing {k}" for k, v in fields.items() if not isinstance(v, str)]
            src, tgt, file_id = (v.strip() if isinstance(v, str) else "" for v in fields.values())
            group = file_id.split("-", 1)[0] or f"{division}-row-{n}"
            pair = Pair(normalize(src), normalize(tgt), division, group, n, file_id)
            rows.append((pair, reasons, path.name))
    source = f"{folder.name} {split}"
    return _validate(rows, source, on_error, max_tokens, count_tokens, profile)


def prompt_section(pair: Pair) -> tuple[str, NoteFormat, str]:
    """(section, format, focus) a pair is prompted with: its own therapy section (and focus), or
    for a dataset header (MTS-Dialog's GENHX, ACI-Bench's divisions) the SOAP section closest in
    meaning, narrowed to the header's topic (`therapy_data.FOCUS`)."""
    from training_jobs.therapy_data import EVAL_SECTIONS, FOCUS

    note_format = NoteFormat(pair.note_format)
    key = pair.section.strip().lower()
    if key in SECTIONS[note_format]:
        return key, note_format, pair.focus
    return EVAL_SECTIONS.get(key, "subjective"), NoteFormat.SOAP, FOCUS.get(key, "")


def _example(prof: ModelProfile, pair: Pair) -> tuple[str, str]:
    section, note_format, focus = prompt_section(pair)
    return section_example(prof, pair.transcript, section, pair.target, note_format, focus)


def _apportion(n: int, fractions: Sequence[float]) -> list[int]:
    """Group counts per side: largest remainder, then one for each positive side if possible."""
    quotas = [n * f for f in fractions]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(quotas)), key=lambda i: counts[i] - quotas[i])
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    for i, f in enumerate(fractions):
        largest = max(range(len(counts)), key=lambda j: counts[j])
        if f > 0 and counts[i] == 0 and counts[largest] > 1:
            counts[largest] -= 1
            counts[i] += 1
    return counts


def split_pairs(
    pairs: Sequence[Pair], seed: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> Split:
    """Train/validation/test sides of `pairs`, split by group.

    Groups are ordered by a hash of (seed, group), so the split depends only on the seed and the
    groups, not on row order or the Python version. Every pair lands on exactly one side, a group
    never straddles sides, and the number of groups per side follows `fractions` (each side with
    a positive fraction gets at least one group when there are enough). Sides keep input order.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError("fractions must be three non-negative numbers that sum to 1")
    groups = sorted(
        {p.group for p in pairs},
        key=lambda g: hashlib.sha256(f"{seed}\0{g}".encode()).hexdigest() + g,
    )
    side_of: dict[str, int] = {}
    start = 0
    for side, count in enumerate(_apportion(len(groups), fractions)):
        side_of.update((g, side) for g in groups[start : start + count])
        start += count
    sides: tuple[list[Pair], list[Pair], list[Pair]] = ([], [], [])
    for p in pairs:
        sides[side_of[p.group]].append(p)
    return Split(*sides)


def to_examples(pairs: Iterable[Pair], profile: str | ModelProfile) -> list[dict[str, str]]:
    """Prompt/completion training examples built by the shared prompt builder.

    The prompt is exactly what the service sends for this section; the loss goes on the
    completion (the target and the end-of-turn text) only.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    examples = (_example(prof, p) for p in pairs)
    return [{"prompt": prompt, "completion": completion} for prompt, completion in examples]
