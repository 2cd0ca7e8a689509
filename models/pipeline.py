"""From transcript to the note to serve, shared by the NoteGenerator deployment and the evaluation job.

`prepare` (Preprocessor) normalises and scans; `draft_note` (NoteGenerator) does the rest in one
place, under one time budget: fit the transcript to the context (map-reduce, the parts decoded one
after another), draft every section in one batch (they share the transcript's prefix), ground and
validate, retry once while time remains, and fall back to the extractive note. The NoteWriter only
stores what comes out. Each step is a plain function so that evaluation makes notes through
exactly the code path the service uses.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Literal

from models import grounding, notes, risk, risk_model, text
from models.engine import NoteEngine, Request
from models.prompts import PARTIAL, note_prompt, note_schema, section_prompt
from schemas.notes import SECTIONS, Note, NoteFormat, NoteSource, RiskCategory
from schemas.pipeline import Draft, PreparedTranscript

Strategy = Literal["sections", "json"]
STRATEGIES: tuple[Strategy, ...] = ("sections", "json")
#: A retry starts only with at least this share of the first attempt's time still left.
RETRY_TIME_SHARE = 0.8


@dataclass(frozen=True)
class DraftOptions:
    strategy: Strategy = "sections"
    section_max_tokens: int = 256
    note_max_tokens: int = 512
    partial_max_tokens: int = 160
    timeout_s: float = 120.0
    #: Also ask the model the risk questions of `models.risk_model`, in the same batch.
    risk_opinion: bool = False


@dataclass(frozen=True)
class Fitted:
    """The transcript the prompts use: the session itself, or its parts' summaries."""

    text: str
    parts: int = 1
    truncated: bool = False
    timed_out: bool = False


def prepare(transcript: str) -> PreparedTranscript:
    """Normalise a transcript (speakers named by role where their labels allow: `text.with_roles`),
    parse its turns and scan the whole of it for risks."""
    normalised = text.with_roles(text.normalize(transcript))
    turns = text.parse_turns(normalised)
    return PreparedTranscript(
        text=normalised,
        turns=[(t.speaker, t.text) for t in turns],
        words=text.word_count(normalised),
        risk_flags=risk.scan(normalised),
    )


def fit(
    engine: NoteEngine,
    prepared: PreparedTranscript,
    note_format: NoteFormat,
    options: DraftOptions,
    deadline: float | None = None,
) -> Fitted:
    """The transcript, condensed by map-reduce until the note's prompts fit the context.

    Parts are cut at turn boundaries and summarised one after another; when three rounds of condensing
    do not fit, the rest is cut and reported (`truncated`).
    """
    max_out = options.section_max_tokens if options.strategy == "sections" else options.note_max_tokens
    overhead = engine.count_tokens(note_prompt(engine.profile, "", note_format)) + 16
    budget = engine.config.n_ctx - max_out - overhead
    transcript, parts = prepared.text, 1
    turns = [text.Turn(s, t) for s, t in prepared.turns]
    for _ in range(3):
        tokens = engine.count_tokens(transcript)
        if tokens <= budget:
            return Fitted(transcript, parts)
        chars_per_token = max(len(transcript) / max(tokens, 1), 1.0)
        chunks = text.chunk_turns(turns, max_chars=int(budget * chars_per_token * 0.9))
        # One part after another: they share no prefix, and in llama.cpp's unified KV cache each
        # sequence's attention spans every sequence's cells, so three 3,400-token parts decoded
        # together took 40 s here against 29 s one after another (without flash attention; with
        # it, 30.0 s together against 26.7 s one after another for a 5,900-word session).
        prompts = [section_prompt(engine.profile, chunk, PARTIAL) for chunk in chunks]
        gens = [
            engine.generate_many([Request(p, options.partial_max_tokens, deadline=deadline)])[0]
            for p in prompts
        ]
        if any(g.timed_out for g in gens):
            return Fitted(transcript, len(chunks), timed_out=True)
        parts = len(chunks)
        transcript = "\n".join(g.text for g in gens if g.text)
        turns = text.parse_turns(transcript)
    return Fitted(engine.truncate(transcript, budget), parts, truncated=True)


def draft(
    engine: NoteEngine,
    prepared: PreparedTranscript,
    note_format: NoteFormat,
    options: DraftOptions,
    fitted: Fitted,
    attempt: int = 0,
    deadline: float | None = None,
) -> Draft:
    """Ask the model for a note from `fitted`: every section (or one JSON note) in one batch,
    with the risk questions beside them when `options.risk_opinion` is set (first attempt only)."""
    result = Draft(note_format=note_format, attempt=attempt, truncated=fitted.truncated, chunks=fitted.parts)
    if fitted.timed_out:
        result.timed_out = True
        return result
    if options.strategy == "json":
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        grammar = json_schema_to_gbnf(json.dumps(note_schema(note_format)))
        prompt = note_prompt(engine.profile, fitted.text, note_format)
        requests = [Request(prompt, options.note_max_tokens, attempt, grammar, deadline=deadline)]
    else:
        names = SECTIONS[note_format]
        requests = [
            Request(
                section_prompt(engine.profile, fitted.text, n, note_format),
                options.section_max_tokens,
                attempt,
                deadline=deadline,
            )
            for n in names
        ]
    questions = (
        risk_model.opinion_requests(engine.profile, fitted.text)
        if options.risk_opinion and attempt == 0
        else []
    )
    extra = [Request(q.prompt, q.max_tokens, 0, q.grammar, deadline=deadline) for q in questions]
    gens = engine.generate_many(requests + extra)
    answers, opinions = gens[: len(requests)], gens[len(requests) :]
    if options.strategy == "json":
        result.raw_json = answers[0].text
    else:
        result.sections = {n: g.text for n, g in zip(SECTIONS[note_format], answers, strict=True)}
    result.timed_out = any(g.timed_out for g in gens)
    if questions and not result.timed_out:
        replies: dict[RiskCategory, str] = {
            q.category: g.text for q, g in zip(questions, opinions, strict=True)
        }
        result.opinion_flags = risk_model.opinion_flags(prepared.text, replies, prepared.risk_flags)
    return result


def finalize(prepared: PreparedTranscript, result: Draft) -> tuple[Note | None, list[str], dict | None]:
    """The note the draft describes, grounded in the transcript, with the interventions sentence
    (`notes.with_interventions`) and every scanned risk merged in; its problems; and what the
    grounding guard removed (counts, no text). A summary the guarded sections are too short for
    is completed from the extractive note's summary, so the model's note is not lost for it.

    A note with problems (or a timed-out draft) must not be served; see `settle`.
    """
    if result.timed_out:
        return None, ["timed_out"], None
    if result.raw_json is not None:
        parsed = notes.parse_json_note(result.raw_json, result.note_format)
        if parsed is None:
            return None, ["unparseable"], None
        sections, model_flags = parsed.sections, list(parsed.risk_flags)
    else:
        sections, model_flags = result.sections or {}, []
    # The grounding guard: unsupported, repeated and looping sentences out; empty sections filled.
    sections, report = grounding.ground_sections(sections, prepared, result.note_format)
    # Then what the therapist did, by the rules over the therapist's turns (never guarded away).
    turns = [text.Turn(s, t) for s, t in prepared.turns]
    sections = notes.with_interventions(sections, turns, result.note_format, report.extracted_sections)
    summary = notes.compose_summary(sections, result.note_format)
    if not summary:  # a guarded note too short for a summary still stands: fill from the extractive one
        summary = notes.compose_summary(
            sections, result.note_format, fallback(prepared, result.note_format).summary
        )
    flags = notes.merge_risks([*model_flags, *result.opinion_flags], prepared.risk_flags)
    note = notes.build_note(result.note_format, sections, summary, flags)
    return note, notes.validate(note, prepared.risk_flags), report.as_metadata()


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
    engine: NoteEngine,
    transcript: str | PreparedTranscript,
    note_format: NoteFormat,
    options: DraftOptions | None = None,
    *,
    deadline: float | None = None,
) -> tuple[Note, dict]:
    """The note to serve for `transcript`, and how it was made (source, attempts, generation_ms,
    truncated, chunks, problems, grounding).

    One time budget covers all of it: `options.timeout_s` from now, or the caller's `deadline`
    (time.monotonic()) if that comes first. An invalid draft is retried once if time remains; then
    the extractive note is used (source `fallback`), so a scanned risk is never lost.
    """
    options = options or DraftOptions()
    start = time.monotonic()
    deadline = min(deadline if deadline is not None else math.inf, start + options.timeout_s)
    prepared = prepare(transcript) if isinstance(transcript, str) else transcript
    fitted = fit(engine, prepared, note_format, options, deadline)
    result = draft(engine, prepared, note_format, options, fitted, deadline=deadline)
    note, problems, report = finalize(prepared, result)
    first_s = time.monotonic() - start
    if wants_retry(result, problems):
        if deadline - time.monotonic() >= RETRY_TIME_SHARE * first_s:
            retry = draft(engine, prepared, note_format, options, fitted, attempt=1, deadline=deadline)
            retry.opinion_flags = result.opinion_flags
            result = retry
            note, problems, report = finalize(prepared, result)
        else:
            problems = [*problems, "no_time_to_retry"]
    final, source = settle(prepared, note, problems, note_format)
    return final, {
        "source": source.value,
        "attempts": result.attempt + 1,
        "generation_ms": int((time.monotonic() - start) * 1000),
        "truncated": result.truncated,
        "chunks": result.chunks,
        "problems": problems,
        "grounding": report,
    }
