"""Deterministic risk scan of a whole transcript: graded cue patterns read in their context.

The scan is the safety net under the model: whatever the model writes, every risk found here
is carried into the note. Cues and their sources are in `models.risk.lexicon`; the context rules
(idioms, negation, hypotheticals, other people and media, time, screening questions answered
"yes") in `models.risk.context`. What the scan decides, and why:
- Only the client's turns are read when a clinician speaker is identified; a clinician's
  screening question is read only to understand a "yes" that answers it.
- Statements about someone else are not flagged, except suicidal ideation or self-harm of a
  dependant the speaker names (a child, an elder), and abuse or neglect of the speaker or of a
  child, elder or dependent adult: those are what a clinician must act on.
- Past behaviour (an attempt, self-harm, abuse) is flagged as `history`: it stays relevant to
  risk assessment. Past suicidal thoughts the client says have resolved are not flagged, nor is
  past substance use with sobriety since.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from models.risk import context as ctx
from models.risk.lexicon import AN, CONTEXT, CUES, HO, INTENT_RE, NAME, SH, SI, SPECIFICS_RE, Cue
from models.text import client_turns, normalize, parse_turns, sentences, with_roles
from schemas.notes import SEVERITIES, UNKNOWN_SEVERITY, RiskCategory, RiskFlag, RiskSource

#: How each category is written in a note, inside `{{RED:<title> (<severity>): <evidence>}}`.
TITLES: dict[RiskCategory, str] = {
    RiskCategory.SUICIDAL_IDEATION: "Suicidal ideation",
    RiskCategory.SELF_HARM: "Self-harm",
    RiskCategory.HARM_TO_OTHERS: "Harm to others",
    RiskCategory.ABUSE_NEGLECT: "Abuse or neglect",
    RiskCategory.SUBSTANCE_RELAPSE: "Substance relapse",
}
EVIDENCE_MAX_CHARS = 240

#: Every cue starts at a word (or an apostrophe, as in "'ll"): trying only those positions makes
#: the search about twice as fast (bench/risk_bench.py).
_AT_WORD = r"(?:(?<!\w)(?=\w)|(?='))"


class _Compiled:
    """The cues of every category compiled one way: `cues` one by one, `any` all at once (one
    pass per category first: most sentences match no cue at all).

    Compiled when first needed: the whole lexicon took about 0.2 s of CPU to compile, in every
    process that imports this module (Serve's build task, the Preprocessor, the NoteGenerator),
    all of them starting at once on a small machine; most scans need only the fast `any` patterns.
    """

    def __init__(self, rewrite, flags: int) -> None:
        self._rewrite, self._flags = rewrite, flags

    @functools.cached_property
    def cues(self) -> dict[RiskCategory, list[tuple[Cue, re.Pattern[str]]]]:
        rewrite, flags = self._rewrite, self._flags
        return {
            c: [(cue, re.compile(f"{_AT_WORD}(?:{rewrite(cue.pattern)})", flags)) for cue in cues]
            for c, cues in CUES.items()
        }

    @functools.cached_property
    def any(self) -> dict[RiskCategory, re.Pattern[str]]:
        rewrite, flags = self._rewrite, self._flags
        return {
            c: re.compile(_AT_WORD + "(?:" + "|".join(f"(?:{rewrite(q.pattern)})" for q in cues) + ")", flags)
            for c, cues in CUES.items()
        }


#: Case-insensitive matching is about 2.5 times slower than matching lower-cased text with
#: lower-cased patterns, so sentences are lower-cased and matched fast, except when they name
#: someone (a capitalised word that does not open the sentence): only the slow, case-insensitive
#: cues know a name from an ordinary word (lexicon.NAME).
_SLOW = _Compiled(lambda p: p, re.I)
_FAST = _Compiled(lambda p: p.replace(NAME, "(?!x)x").lower(), 0)
_NAMED_RE = re.compile(r"(?<=[^.!?\s] )[A-Z][a-z]+")
_CONTEXT = {c: re.compile(p, re.I) for c, p in CONTEXT.items()}
#: Curly apostrophes as straight ones: the cues and the detector's tokens are written with "'".
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
_EGO_DYSTONIC_RE = re.compile(
    r"\bintrusive\b|\bflash(?:es)?\b|\bscares? me\b|\bterrif\w*|\bmakes? me sick\b|\bhate myself for\b|"
    r"\bI (?:would|'d) never\b|\bI love (?:him|her|them|my)\b|\bleave the room\b|\bhorrible thoughts?\b|"
    r"\bwhat if I\b|\bI don't want to\b",
    re.I,
)
_LAPSE_RE = re.compile(
    r"\bonce\b(?! (?:she|he|they|I|we|the|it|everyone|my|you)\b)|"
    r"\bone (?:drink|time|night|beer|hit)\b|\ba slip\b|\bjust the one\b",
    re.I,
)
_ON_PURPOSE_RE = re.compile(r"\bon purpose\b|\bintentional\w*|\bto die\b|\bkill myself\b", re.I)
_ACT_RE = re.compile(r"\b(?:kill|end|hang|shoot|take|do it|go through)", re.I)
_THING_RE = re.compile(r"\b(?:bus|car|truck|train|ball|wave|lightning|door)\s+$", re.I)
#: Abuse by a former partner, now over: history.
_FORMER_RE = re.compile(
    r"\bwhen we were (?:married|together|dating|living together)\b|\b(?:first|former|previous) "
    r"(?:husband|wife|partner|boyfriend|girlfriend)\b",
    re.I,
)
_SOBER_RE = re.compile(r"\bsober\b|\bclean\b|\bsobriety\b|\bhaven't (?:used|had|drunk)\b", re.I)


def severity_rank(category: RiskCategory, severity: str) -> int:
    """Position of `severity` on its category's scale (-1 for `unknown`)."""
    scale = SEVERITIES[category]
    return scale.index(severity) if severity in scale else -1


def cut_evidence(sentence: str, start: int, end: int) -> str:
    """The sentence, cut at word boundaries to EVIDENCE_MAX_CHARS around the match."""
    if len(sentence) <= EVIDENCE_MAX_CHARS:
        return sentence
    budget = EVIDENCE_MAX_CHARS - 2  # room for an ellipsis at each end
    lo = max(0, min(start - budget // 4, len(sentence) - budget))
    hi = lo + budget
    if lo > 0 and not sentence[lo - 1].isspace():
        space = sentence.find(" ", lo, start + 1)
        lo = space + 1 if space != -1 else lo
    if hi < len(sentence) and not sentence[hi].isspace():
        space = sentence.rfind(" ", max(lo, end - 1), hi)
        hi = space if space != -1 else hi
    piece = sentence[lo:hi].strip()
    return ("…" if lo > 0 else "") + piece + ("…" if hi < len(sentence) else "")


def _grade(
    category: RiskCategory, severity: str, sentence: str, start: int, end: int, turn: str
) -> str | None:
    """The severity of a cue match read in its sentence and turn, or None when it is not a risk
    of the client's (or of a dependant's, where that counts)."""
    other = ctx.about_someone_else(sentence, start, end)
    if ctx.MEDIA_RE.search(sentence) and not ctx.FIRST_PERSON_RE.search(sentence[start:end]):
        return None
    past = bool(ctx.DISTANT_PAST_RE.search(sentence))
    if category in (SI, SH):
        if other and not ctx.DEPENDANT_RE.search(turn):
            return None
        if category is SH and past and ctx.RESOLVED_RE.search(turn) and severity != "behavior":
            return None  # urges long past and said to have stopped; past self-harm itself is history
        if severity == "behavior" and past:
            return "history"
        if category is SI and severity != "behavior" and past and ctx.RESOLVED_RE.search(turn):
            return None
        if (
            category is SI
            and severity in ("wish_to_die", "active_thoughts", "method")
            and INTENT_RE.search(turn)
        ):
            severity = "intent"
        if (
            category is SI
            and severity == "intent"
            and SPECIFICS_RE.search(sentence)
            and _ACT_RE.search(sentence[start:end])
        ):
            return "plan"
        return severity
    if category is HO:
        if other:
            return None
        if severity in ("intrusive_thoughts", "ideation", "threat") and ctx.retracted(turn, sentence):
            return None
        return "intrusive_thoughts" if severity == "ideation" and _EGO_DYSTONIC_RE.search(turn) else severity
    if category is AN:
        if _THING_RE.search(sentence[:start]):
            return None
        past = past or bool(_FORMER_RE.search(sentence))
        if ctx.DEPENDANT_RE.search(sentence) or severity == "reportable":
            return "history" if past else "reportable"
        if not ctx.VICTIM_SELF_RE.search(sentence):
            return None
        if past:
            return "history"
        return "reportable" if ctx.PARENT_RE.search(sentence[:start]) else "current"
    # Substance relapse: the speaker's own use only.
    if other or (severity == "overdose" and _ON_PURPOSE_RE.search(sentence)):
        return None
    if past and (_SOBER_RE.search(turn) or ctx.RESOLVED_RE.search(turn)):
        return None
    return "lapse" if severity == "relapse" and _LAPSE_RE.search(turn) else severity


def _has_context(
    category: RiskCategory, turn: str, sentence_at: int, start: int, end: int, asked: str
) -> bool:
    """Whether the turn outside the matched words (or the question before it) is about the risk."""
    pattern = _CONTEXT[category]
    if pattern.search(asked):
        return True
    lo, hi = sentence_at + start, sentence_at + end
    return any(m.end() <= lo or m.start() >= hi for m in pattern.finditer(turn))


def _matches(compiled: _Compiled, category: RiskCategory, masked: str) -> list[tuple[int, int, Cue]]:
    """Every cue match of `category`, less those lying inside a longer match (the longer one
    says more: "want to hurt myself" is an urge, not the act)."""
    found = [(m.start(), m.end(), cue) for cue, rx in compiled.cues[category] for m in rx.finditer(masked)]
    return [
        (s, e, cue)
        for s, e, cue in found
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in found)
    ]


def _scan_sentence(sentence: str, at: int, turn: str, asked: str) -> list[tuple[int, RiskCategory, str, str]]:
    """(position, category, severity, evidence) of each category flagged in one sentence."""
    plain = sentence.translate(APOSTROPHES)
    if ctx.screening_question(plain):
        return []
    lower = plain.lower()
    fast = len(lower) == len(plain) and not _NAMED_RE.search(plain)
    compiled = _FAST if fast else _SLOW
    hit = [c for c in CUES if compiled.any[c].search(lower if fast else plain)]
    if not hit:
        return []
    masked = ctx.mask_idioms(plain)
    masked = masked.lower() if fast else masked
    found = []
    for category in hit:
        if not compiled.any[category].search(masked):
            continue
        best: tuple[int, str, int, int] | None = None
        for start, end, cue in _matches(compiled, category, masked):
            if cue.context and not _has_context(category, turn, at, start, end, asked):
                continue
            if ctx.negated(plain, start, end) or ctx.hypothetical(plain, start):
                continue
            severity = _grade(category, cue.severity, plain, start, end, turn)
            if severity is None:
                continue
            rank = severity_rank(category, severity)
            if best is None or rank > best[0]:
                best = (rank, severity, start, end)
        if best is not None:
            found.append((best[2], category, best[1], cut_evidence(sentence, best[2], best[3])))
    return sorted(found, key=lambda item: item[0])


def _answered(question_turn: str, answer: str) -> list[tuple[RiskCategory, str, str]]:
    """(category, severity, evidence) for a clinician's screening question answered "yes"."""
    first = sentences(answer.translate(APOSTROPHES))
    if not first or not ctx.AFFIRM_RE.search(first[0]):
        return []
    asked = [q for q in sentences(question_turn) if q.rstrip().endswith("?")]
    found: dict[RiskCategory, tuple[str, str]] = {}
    for question in asked:
        for category, severity, pattern in ctx.QUESTIONS:
            if category not in found and pattern.search(question.translate(APOSTROPHES)):
                evidence = f"{question} {answer}"
                found[category] = (severity, evidence if len(evidence) <= EVIDENCE_MAX_CHARS else question)
    return [(c, s, e) for c, (s, e) in found.items()]


def _turn_flags(index: int, text: str, asked: str) -> list[RiskFlag]:
    plain = text.translate(APOSTROPHES)
    flags = []
    position = 0
    for sentence in sentences(text):
        at = text.find(sentence, position)
        position = at + len(sentence)
        for _, category, severity, evidence in _scan_sentence(sentence, at, plain, asked):
            flags.append(RiskFlag(category=category, evidence=evidence, severity=severity, turn=index))
    if asked:
        for category, severity, evidence in _answered(asked, text):
            flags.append(RiskFlag(category=category, evidence=evidence, severity=severity, turn=index))
    return flags


def scan(text: str, learned: bool = True) -> list[RiskFlag]:
    """Risk flags in a transcript, in order of appearance, one per (category, evidence), each
    with its severity, the index of its speaker turn (in `models.text.parse_turns` of the
    normalised text) and its source: `scan` for the cues', and, with `learned`, `detector` for
    the learned detector's (`models.risk.detector`) in turns where the cues raised none of that
    category.

    Speakers are named by role where their labels allow ("T:" / "C:", "Interviewer:" and a named
    client: `models.text.with_roles`). When a clinician speaker is identified only the other
    speakers' turns are scanned (with
    the clinician's question just before, for answers such as "Yes"); otherwise all turns are.
    """
    turns = parse_turns(with_roles(normalize(text)))
    seen: set[tuple[RiskCategory, str]] = set()
    flags: list[RiskFlag] = []
    for index, turn, asked in client_turns(turns):
        for flag in _turn_flags(index, turn.text, asked):
            if (flag.category, flag.evidence) not in seen:
                seen.add((flag.category, flag.evidence))
                flags.append(flag)
    if not learned:
        return flags
    from models.risk import detector  # numpy and the weights: only for a process that scans

    model = detector.shipped()
    if model is not None:
        flags = sorted([*flags, *model.flags(turns, flags)], key=lambda f: f.turn or 0)
    return flags


def marker_text(flag: RiskFlag) -> str:
    """The inside of a flag's `{{RED:...}}` marker: `<Title> (<severity>): <evidence>`; the
    severity is left out when unknown, and a flag of the model's or of the learned detector says
    it needs review, e.g. `Self-harm (model opinion, review): ...`."""
    notes = [flag.severity] if flag.severity != UNKNOWN_SEVERITY else []
    if flag.source == RiskSource.MODEL:
        notes.append("model opinion, review")
    elif flag.source == RiskSource.DETECTOR:
        notes.append("detector, review")
    head = TITLES[flag.category] + (f" ({', '.join(notes)})" if notes else "")
    return f"{head}: {flag.evidence}" if flag.evidence.strip() else head


def categories(flags: Iterable[RiskFlag]) -> set[RiskCategory]:
    """The distinct categories of `flags`."""
    return {flag.category for flag in flags}


def highest(flags: Sequence[RiskFlag]) -> dict[RiskCategory, str]:
    """The highest severity flagged in each category."""
    best: dict[RiskCategory, str] = {}
    for flag in flags:
        current = best.get(flag.category)
        if current is None or severity_rank(flag.category, flag.severity) > severity_rank(
            flag.category, current
        ):
            best[flag.category] = flag.severity
    return best


__all__ = [
    "APOSTROPHES", "EVIDENCE_MAX_CHARS", "TITLES", "categories", "cut_evidence", "highest", "marker_text",
    "scan", "severity_rank",
]  # fmt: skip
