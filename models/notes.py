"""Note assembly and validation: rendering, merging risks, parsing a model's JSON answer and the
extractive fallback note. Pure functions, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from models.extractive import extract
from models.grounding import repeats
from models.interventions import clinician_title, describe, detect
from models.risk import TITLES, marker_text
from models.sections import INTERVENTIONS_SECTION
from models.text import (
    MARKER_RE,
    Turn,
    find_markers,
    mark,
    normalize,
    parse_turns,
    sentences,
    word_count,
)
from schemas.notes import (
    SECTIONS,
    SUMMARY_MAX_WORDS,
    SUMMARY_MIN_WORDS,
    Note,
    NoteFormat,
    RiskCategory,
    RiskFlag,
    RiskSource,
)

#: Appended to a fallback summary that is too short on its own (32 words).
FALLBACK_NOTICE = (
    "This note was drafted automatically by extracting sentences from the transcript, because a "
    "model-written note was not available. A clinician must review, correct and complete it "
    "before it is used or signed."
)
_CATEGORIES = {c.value: c for c in RiskCategory} | {"abuse_or_neglect": RiskCategory.ABUSE_NEGLECT}


def _section_order(sections: Mapping[str, str], note_format: NoteFormat) -> list[str]:
    expected = SECTIONS[note_format]
    return [k for k in expected if k in sections] + [k for k in sections if k not in expected]


def render(
    note_format: NoteFormat,
    sections: Mapping[str, str],
    summary: str,
    risk_flags: Sequence[RiskFlag],
) -> str:
    """The note text: each section as an upper-case heading line and its text (format order
    first, then any others), then SUMMARY, then a RISK block of one `{{RED:<Category> (<severity>):
    <evidence>}}` line per flag (`models.risk.marker_text`). Section text is kept verbatim, markers
    included."""
    blocks = [f"{key.upper()}\n{sections[key].strip()}" for key in _section_order(sections, note_format)]
    blocks.append(f"SUMMARY\n{summary.strip()}")
    if risk_flags:
        lines = [mark(marker_text(f)) for f in risk_flags]
        blocks.append("RISK\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def build_note(
    note_format: NoteFormat,
    sections: Mapping[str, str],
    summary: str,
    risk_flags: Sequence[RiskFlag],
) -> Note:
    """A Note with lower-case, stripped section keys and `text` filled in by `render`."""
    clean = {key.strip().lower(): value.strip() for key, value in sections.items()}
    flags = list(risk_flags)
    text = render(note_format, clean, summary, flags)
    return Note(format=note_format, sections=clean, summary=summary.strip(), risk_flags=flags, text=text)


def _flag_key(flag: RiskFlag) -> tuple[RiskCategory, str]:
    return flag.category, " ".join(flag.evidence.split()).casefold()


def merge_risks(flags_from_model: Iterable[RiskFlag], scan_flags: Iterable[RiskFlag]) -> list[RiskFlag]:
    """Scan flags then model flags, without duplicates (same category and evidence, ignoring
    case and spacing): no risk the scan found is ever dropped."""
    merged: dict[tuple[RiskCategory, str], RiskFlag] = {}
    for flag in [*scan_flags, *flags_from_model]:
        merged.setdefault(_flag_key(flag), flag)
    return list(merged.values())


def validate(note: Note, scan_flags: Iterable[RiskFlag]) -> list[str]:
    """Problem codes of a note; an empty list means it is valid.

    Codes: `missing_section:<name>`, `empty_section:<name>`, `unexpected_section:<name>`,
    `summary_length`, `risk_missing:<category>` (a scan category with no `{{RED:` marker in
    `note.text` that names it).
    """
    expected = SECTIONS[note.format]
    problems = []
    for name in expected:
        if name not in note.sections:
            problems.append(f"missing_section:{name}")
        elif not note.sections[name].strip():
            problems.append(f"empty_section:{name}")
    problems += [f"unexpected_section:{name}" for name in note.sections if name not in expected]
    if not SUMMARY_MIN_WORDS <= word_count(note.summary) <= SUMMARY_MAX_WORDS:
        problems.append("summary_length")
    markers = [m.casefold() for m in find_markers(note.text)]
    for category in dict.fromkeys(flag.category for flag in scan_flags):
        if not any(TITLES[category].casefold() in m for m in markers):
            problems.append(f"risk_missing:{category.value}")
    return problems


def _load_json(raw: str) -> object:
    text = re.sub(r"^```[A-Za-z]*\s*|\s*```$", "", raw.strip())
    candidates = [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return None


def _parse_flag(item: object) -> RiskFlag | None:
    if not isinstance(item, dict):
        return None
    category, evidence = item.get("category"), item.get("evidence")
    if not isinstance(category, str) or not isinstance(evidence, str):
        return None
    known = _CATEGORIES.get(re.sub(r"[\s-]+", "_", category.strip().lower()))
    return RiskFlag(category=known, evidence=evidence.strip(), source=RiskSource.MODEL) if known else None


def parse_json_note(raw: str, note_format: NoteFormat) -> Note | None:
    """A Note from a model's JSON answer (`sections`, `summary`, `risk_flags` as in
    `models.prompts.note_schema`; code fences and text around the object are tolerated).

    None when it is not JSON or not that shape. Section keys are lower-cased; flags of unknown
    categories are dropped; a missing `risk_flags` counts as none.
    """
    data = _load_json(raw)
    if not isinstance(data, dict):
        return None
    sections, summary, flags = data.get("sections"), data.get("summary"), data.get("risk_flags", [])
    if not isinstance(sections, dict) or not isinstance(summary, str) or not isinstance(flags, list):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in sections.items()):
        return None
    parsed = [flag for flag in map(_parse_flag, flags) if flag is not None]
    return build_note(note_format, sections, summary, parsed)


def compose_summary(sections: Mapping[str, str], note_format: NoteFormat, filler: str = "") -> str:
    """A deterministic extractive summary of 30-70 words from the section texts.

    Whole sentences are taken round-robin across sections (first sentence of each section,
    then the second...) while they fit in 70 words and are written in section order; if that
    leaves fewer than 30 words, a cut sentence fills up to 70. When the sections hold fewer than
    30 words, the sentences of `filler` (for example the extractive note's summary) are drawn
    from after them; "" when both together hold fewer than 30 words.
    """
    order = _section_order(sections, note_format)
    plain = {key: MARKER_RE.sub(lambda m: m.group(1), sections[key]) for key in order}
    if filler and sum(word_count(text) for text in plain.values()) < SUMMARY_MIN_WORDS:
        order.append("\0filler")
        plain["\0filler"] = MARKER_RE.sub(lambda m: m.group(1), filler)
    words = [[s.split() for s in sentences(plain[key])] for key in order]
    if sum(len(w) for section in words for w in section) < SUMMARY_MIN_WORDS:
        return ""
    depth = max(len(section) for section in words)
    chosen, skipped, count = [], [], 0
    for j in range(depth):
        for i, section in enumerate(words):
            if j >= len(section):
                continue
            if count + len(section[j]) <= SUMMARY_MAX_WORDS:
                chosen.append((i, j))
                count += len(section[j])
            else:
                skipped.append((i, j))
    parts = [" ".join(words[i][j]) for i, j in sorted(chosen)]
    if count < SUMMARY_MIN_WORDS:
        i, j = skipped[0]
        parts.append(" ".join(words[i][j][: SUMMARY_MAX_WORDS - count]) + "…")
    return " ".join(parts)


def with_interventions(
    sections: Mapping[str, str],
    turns: Sequence[Turn],
    note_format: NoteFormat,
    extracted: Iterable[str] = (),
) -> dict[str, str]:
    """`sections` with the sentence naming what the therapist did (`models.interventions`, rules
    over the therapist's turns) added to the section that holds interventions
    (`models.sections.INTERVENTIONS_SECTION`); unchanged when the rules find nothing, when that
    section was filled by the extractive path (which names them already) or already says it."""
    key = INTERVENTIONS_SECTION[NoteFormat(note_format)]
    sentence = describe(detect(turns), clinician_title(turns))
    out = dict(sections)
    text = out.get(key, "").strip()
    if sentence and key not in extracted and not repeats(sentence, text):
        out[key] = f"{text} {sentence}".strip()
    return out


def fallback_note(transcript: str, note_format: NoteFormat, scan_flags: Sequence[RiskFlag]) -> Note:
    """A deterministic extractive note, valid by `validate(note, scan_flags)` for any
    transcript: each section filled by its kind (`models.extractive`: the client's own words,
    the therapist's techniques, themes and the scan's risks, the plan statements), at most about
    120 words, with a 30-70 word summary."""
    flags = merge_risks([], scan_flags)
    sections, summary_text = extract(parse_turns(normalize(transcript)), note_format, flags)
    summary_words = summary_text.split()
    if len(summary_words) < SUMMARY_MIN_WORDS:
        summary_words += FALLBACK_NOTICE.split()
    summary = " ".join(summary_words[:SUMMARY_MAX_WORDS])
    return build_note(note_format, sections, summary, flags)
