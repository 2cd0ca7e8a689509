"""The steps from transcript to note, shared by the Serve deployments and the evaluation job.

`prepare` (Preprocessor) -> `draft` (NoteGenerator) -> `finalize` (NoteWriter). Each step is a
plain function so that evaluation generates notes through exactly the code path the service uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from models import notes, risk, text
from models.engine import NoteEngine
from models.prompts import note_prompt, note_schema, section_prompt
from schemas.notes import SECTIONS, Note, NoteFormat, NoteSource
from schemas.pipeline import Draft, PreparedTranscript

STRATEGIES = ("sections", "json")


@dataclass(frozen=True)
class DraftOptions:
    strategy: str = "sections"
    section_max_tokens: int = 256
    note_max_tokens: int = 512
    partial_max_tokens: int = 160
    timeout_s: float = 120.0


def prepare(transcript: str) -> PreparedTranscript:
    """Normalise a transcript, parse its turns and scan the whole of it for risks."""
    normalised = text.normalize(transcript)
    turns = text.parse_turns(normalised)
    return PreparedTranscript(
        text=normalised,
        turns=[(t.speaker, t.text) for t in turns],
        words=text.word_count(normalised),
        risk_flags=risk.scan(normalised),
    )


def _fit_transcript(
    engine: NoteEngine, prepared: PreparedTranscript, budget: int, options: DraftOptions, deadline: float
) -> tuple[str, int, bool, int]:
    """The transcript, condensed by map-reduce until its tokens fit `budget`.

    Returns (transcript, parts summarised, truncated, milliseconds spent). Parts are cut at turn
    boundaries; when three rounds of condensing do not fit, the rest is cut and reported.
    """
    transcript = prepared.text
    turns = [text.Turn(s, t) for s, t in prepared.turns]
    parts, spent = 1, 0
    for _ in range(3):
        tokens = engine.count_tokens(transcript)
        if tokens <= budget:
            return transcript, parts, False, spent
        chars_per_token = max(len(transcript) / max(tokens, 1), 1.0)
        chunks = text.chunk_turns(turns, max_chars=int(budget * chars_per_token * 0.9))
        summaries = []
        for chunk in chunks:
            gen = engine.generate(
                section_prompt(engine.profile, chunk, "partial"),
                max_tokens=options.partial_max_tokens,
                deadline=deadline,
            )
            spent += gen.elapsed_ms
            summaries.append(gen.text)
        parts = len(chunks)
        transcript = "\n".join(s for s in summaries if s)
        turns = text.parse_turns(transcript)
    return engine.truncate(transcript, budget), parts, True, spent


def draft(
    engine: NoteEngine,
    prepared: PreparedTranscript,
    note_format: NoteFormat,
    options: DraftOptions,
    attempt: int = 0,
) -> Draft:
    """Ask the model for a note: one call per section, or one call for the whole note as JSON."""
    deadline = time.monotonic() + options.timeout_s
    max_out = options.section_max_tokens if options.strategy == "sections" else options.note_max_tokens
    overhead = engine.count_tokens(note_prompt(engine.profile, "", note_format)) + 16
    budget = engine.config.n_ctx - max_out - overhead
    transcript, parts, truncated, spent = _fit_transcript(engine, prepared, budget, options, deadline)
    result = Draft(note_format=note_format, attempt=attempt, truncated=truncated, chunks=parts)
    if options.strategy == "json":
        gen = engine.generate(
            note_prompt(engine.profile, transcript, note_format),
            max_tokens=options.note_max_tokens,
            json_schema=note_schema(note_format),
            attempt=attempt,
            deadline=deadline,
        )
        result.raw_json, spent, timed_out = gen.text, spent + gen.elapsed_ms, gen.timed_out
    else:
        sections, timed_out = {}, False
        for name in SECTIONS[note_format]:
            gen = engine.generate(
                section_prompt(engine.profile, transcript, name),
                max_tokens=options.section_max_tokens,
                attempt=attempt,
                deadline=deadline,
            )
            sections[name], spent = gen.text, spent + gen.elapsed_ms
            if gen.timed_out:
                timed_out = True
                break
        result.sections = sections
    result.generation_ms, result.timed_out = spent, timed_out or time.monotonic() > deadline
    return result


def finalize(prepared: PreparedTranscript, result: Draft) -> tuple[Note | None, list[str]]:
    """The note the draft describes, with every scanned risk merged in, and its problems.

    A note with problems (or a timed-out draft) must not be served; see `fallback`.
    """
    if result.timed_out:
        return None, ["timed_out"]
    if result.raw_json is not None:
        parsed = notes.parse_json_note(result.raw_json, result.note_format)
        if parsed is None:
            return None, ["unparseable"]
        sections, summary, model_flags = parsed.sections, parsed.summary, parsed.risk_flags
    else:
        sections = result.sections or {}
        summary = notes.compose_summary(sections, result.note_format)
        model_flags = []
    flags = notes.merge_risks(model_flags, prepared.risk_flags)
    note = notes.build_note(result.note_format, sections, summary, flags)
    return note, notes.validate(note, prepared.risk_flags)


def fallback(prepared: PreparedTranscript, note_format: NoteFormat) -> Note:
    """The deterministic extractive note used when the model's answers are not valid."""
    return notes.fallback_note(prepared.text, note_format, prepared.risk_flags)


def wants_retry(result: Draft, problems: list[str]) -> bool:
    """Whether a draft's problems call for the one retry (a timed-out draft gets none)."""
    return bool(problems) and not result.timed_out


def settle(
    prepared: PreparedTranscript, note: Note | None, problems: list[str], note_format: NoteFormat
) -> tuple[Note, NoteSource]:
    """The note to serve: the model's when it is valid, else the fallback note."""
    if note is None or problems:
        return fallback(prepared, note_format), NoteSource.FALLBACK
    return note, NoteSource.MODEL


def draft_note(
    engine: NoteEngine, transcript: str, note_format: NoteFormat, options: DraftOptions | None = None
) -> tuple[Note, dict]:
    """The note the service would return for `transcript`, and how it was made.

    Validation failures are retried once; then the fallback note is used (source `fallback`).
    """
    options = options or DraftOptions()
    prepared = prepare(transcript)
    result = draft(engine, prepared, note_format, options)
    spent = result.generation_ms
    note, problems = finalize(prepared, result)
    if wants_retry(result, problems):
        result = draft(engine, prepared, note_format, options, attempt=1)
        spent += result.generation_ms
        note, problems = finalize(prepared, result)
    final, source = settle(prepared, note, problems, note_format)
    return final, {
        "source": source.value,
        "attempts": result.attempt + 1,
        "generation_ms": spent,
        "truncated": result.truncated,
        "problems": problems,
    }
