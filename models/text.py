"""Transcript text shared by serving and training: normalisation, speaker turns and chunks.

Serving and training call these same functions, so a model sees at inference exactly the text
form it was trained on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

#: Characters that end a line (what `str.splitlines` splits on); all become `\n`.
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: A `{{RED:...}}` marker: on one line, its inner text ends at the first `}}`.
MARKER_RE = re.compile(r"\{\{RED:([^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*?)\}\}")
_OPEN = "{{RED:"
_CLOSE_RE = re.compile(r"\}(?=\})")
#: Everything that may need rewriting: all but printable ASCII and `\n`.
_UNUSUAL_RE = re.compile(r"[^\x20-\x7e\n]")

CLINICIAN_SPEAKERS: frozenset[str] = frozenset(
    {
        "therapist", "psychotherapist", "counselor", "counsellor", "clinician", "doctor", "dr",
        "physician", "psychologist", "psychiatrist", "provider", "social worker", "nurse",
        "nurse practitioner", "np", "md", "lcsw", "lpc", "lmft", "mft", "case manager",
        "practitioner", "interviewer",
    }
)  # fmt: skip
#: Lower-case labels accepted as speakers even when written in lower case.
_ROLES = CLINICIAN_SPEAKERS | {
    "client", "patient", "pt", "parent", "mother", "father", "mom", "dad", "partner", "spouse",
    "guardian", "caregiver", "speaker", "participant", "child", "family",
}  # fmt: skip
#: Capitalised words that open ordinary sentences such as "So: ..." or "Note: ...".
_NOT_SPEAKERS = frozenset({"so", "well", "yes", "no", "ok", "okay", "and", "but", "note", "um"})
_TIMESTAMP_RE = re.compile(r"^[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s+")
_LABEL_RE = re.compile(r"^([^\W\d_][\w.'’-]*(?: [\w.'’-]+){0,2}) ?:(?!//)\s*(.*)$")
_BRACKET_RE = re.compile(r"^\[([^\W\d_][\w .'-]{0,29})\]\s*(.*)$")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+|\n+")


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str


@lru_cache(maxsize=8192)
def _replacement(char: str, removed: str) -> str:
    if char in _LINE_BREAKS:
        return "\n"
    if char == "\t":
        return " "
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs"):
        return removed
    return " " if category == "Zs" else char


def _clean_chars(text: str, removed: str) -> str:
    """Line breaks to `\\n`, tabs and other spaces to ` `, controls to `removed`; then NFC."""
    text = _UNUSUAL_RE.sub(lambda m: _replacement(m.group(), removed), text.replace("\r\n", "\n"))
    return unicodedata.normalize("NFC", text)


def _delimiters(text: str) -> int:
    return text.count(_OPEN) + len(_CLOSE_RE.findall(text))


def _clean_plain(text: str) -> str:
    cleaned = _clean_chars(text, "")
    # Deleting a control character must not join `{` `{RED:` or `}` `}` into a new marker.
    if _delimiters(cleaned) != _delimiters(text):
        cleaned = _clean_chars(text, " ")
    return cleaned


def _safe_inner(inner: str) -> str:
    """Inner text that re-reads as exactly one marker: no `}}` inside, no `}` at the end."""
    inner = _CLOSE_RE.sub("} ", inner)
    return inner + " " if inner.endswith("}") else inner


def _canonical_whitespace(text: str) -> str:
    text = re.sub(r" {2,}", " ", text)
    text = "\n".join(line.strip(" ") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def normalize(text: str) -> str:
    """Canonical transcript text: NFC, `\\n` line ends, no control characters, single spaces,
    stripped lines, at most one blank line in a row. Idempotent; `{{RED:...}}` markers are
    kept (inner text cleaned the same way) and none are created or destroyed."""
    parts: list[str] = []
    end = 0
    for match in MARKER_RE.finditer(text):
        parts.append(_clean_plain(text[end : match.start()]))
        parts.append(_OPEN + _safe_inner(_clean_chars(match.group(1), "")) + "}}")
        end = match.end()
    parts.append(_clean_plain(text[end:]))
    return _canonical_whitespace("".join(parts))


def find_markers(text: str) -> list[str]:
    """Inner texts of the `{{RED:...}}` markers in `text`, in order."""
    return MARKER_RE.findall(text)


def mark(inner: str) -> str:
    """A `{{RED:...}}` marker around `inner` (whitespace collapsed) that `find_markers` reads
    back as one marker."""
    return _OPEN + _safe_inner(" ".join(inner.split())) + "}}"


def word_count(text: str) -> int:
    """Number of whitespace-separated words in `text`."""
    return len(text.split())


def sentences(text: str) -> list[str]:
    """Sentences of `text`: split after `.`, `!`, `?` or `…` and at line breaks."""
    return [s.strip() for s in _SENTENCE_END_RE.split(text) if s.strip()]


def _speaker(label: str) -> str | None:
    """The lower-case speaker for a `Name:` label, or None when it looks like prose."""
    name = " ".join(label.split()).lower()
    if len(name) > 30 or name.split()[0] in _NOT_SPEAKERS:
        return None
    if name in _ROLES or all(w[0].isupper() or w[0].isdigit() for w in label.split()):
        return name
    return None


def _label(line: str) -> tuple[str, str] | None:
    line = _TIMESTAMP_RE.sub("", line)
    bracket = _BRACKET_RE.match(line)
    if bracket:
        return " ".join(bracket.group(1).split()).lower(), bracket.group(2).strip()
    named = _LABEL_RE.match(line)
    if named:
        speaker = _speaker(named.group(1))
        if speaker is not None:
            return speaker, (named.group(2) or "").strip()
    return None


def parse_turns(text: str) -> list[Turn]:
    """Speaker turns of a (normalised) transcript.

    A line opening with `Name:` (1-3 words) or `[name]` starts a turn; other lines continue the
    previous turn, or a turn of speaker "unknown" at the start. Speakers are lower case; turns
    without text are dropped.
    """
    turns: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        labelled = _label(line)
        if labelled is not None:
            turns.append((labelled[0], [labelled[1]] if labelled[1] else []))
        elif turns:
            turns[-1][1].append(line)
        else:
            turns.append(("unknown", [line]))
    return [Turn(speaker, " ".join(parts)) for speaker, parts in turns if parts]


def is_clinician(speaker: str) -> bool:
    """Whether a speaker label names a clinician (therapist, Dr. Lee, social worker...)."""
    words = re.findall(r"[a-z]+", speaker.lower())
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}
    return any(w in CLINICIAN_SPEAKERS for w in words) or bool(pairs & CLINICIAN_SPEAKERS)


def client_turns(turns: Sequence[Turn]) -> Iterator[tuple[int, Turn, str]]:
    """(index, turn, the clinician's turn just before it or "") for every turn that is not a
    clinician's; for every turn when no clinician speaker is identified."""
    has_clinician = any(is_clinician(t.speaker) for t in turns)
    for index, turn in enumerate(turns):
        if has_clinician and is_clinician(turn.speaker):
            continue
        before = turns[index - 1] if index else None
        yield index, turn, before.text if before is not None and is_clinician(before.speaker) else ""


#: Labels the model was trained on (the therapy sessions' `Therapist:`, `Counselor:`, `Client:`).
_TRAINED_LABELS = frozenset({"therapist", "counselor", "client"})
#: Labels that name the client by role, and short labels for either role ("T:" / "C:").
_CLIENT_LABELS = frozenset({"patient", "pt", "pt.", "c", "cl"})
_SHORT_CLINICIAN_LABELS = frozenset({"t", "th"})


def speaker_roles(turns: Sequence[Turn]) -> dict[str, str]:
    """The speakers to call `therapist` or `client`, as the model was trained to read them.

    A clinician's label (Dr. Lee, Interviewer, Psychologist; "T" or "Th" beside another speaker)
    becomes `therapist`; a client's (Patient, Pt, "C" or "Cl" beside a clinician) `client`; in a
    session of two speakers of whom one is the clinician, the other is the client. Labels the
    model was trained on (Therapist, Counselor, Client) and any other speaker keep their name.
    """
    speakers = {t.speaker for t in turns} - {"unknown"}
    clinicians = {
        s for s in speakers if is_clinician(s) or (s in _SHORT_CLINICIAN_LABELS and len(speakers) > 1)
    }
    roles = {s: "therapist" for s in clinicians if s not in _TRAINED_LABELS}
    if clinicians:
        roles.update({s: "client" for s in speakers & _CLIENT_LABELS})
        # Counted by role, so that naming them changes nothing more (with_roles is idempotent).
        named = {roles.get(s, s) for s in speakers}
        others = speakers - clinicians - _CLIENT_LABELS - {"client"}
        if len(named) == 2 and len({roles.get(s, s) for s in clinicians}) == 1 and len(others) == 1:
            roles[others.pop()] = "client"
    return roles


def with_roles(text: str) -> str:
    """`text` (normalised) with each turn's label replaced by its role (`speaker_roles`); the same
    lines and turns, so turn indices stay valid. Text without such labels comes back unchanged."""
    roles = speaker_roles(parse_turns(text))
    if not roles:
        return text
    lines = []
    for line in text.split("\n"):
        labelled = _label(line.strip())
        if labelled is not None and labelled[0] in roles:
            line = (
                _render_turn(Turn(roles[labelled[0]], labelled[1]))
                if labelled[1]
                else f"{roles[labelled[0]].title()}:"
            )
        lines.append(line)
    return "\n".join(lines)


def _render_turn(turn: Turn) -> str:
    return f"{turn.speaker[:1].upper()}{turn.speaker[1:]}: {turn.text}"


def format_turns(turns: Sequence[Turn]) -> str:
    """Turns as `Speaker: text` lines, the speaker's first letter capitalised."""
    return "\n".join(_render_turn(t) for t in turns)


def _pack(units: list[str], sep: str, max_chars: int) -> list[str]:
    """Consecutive units joined by `sep` into pieces of at most `max_chars` (units fit)."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{sep}{unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _split_line(line: str, max_chars: int) -> list[str]:
    """A too-long line split at sentence, else word, else character boundaries."""
    units: list[str] = []
    for sentence in re.split(r"(?<=[.!?…])\s+", line):
        if len(sentence) <= max_chars:
            units.append(sentence)
            continue
        for word in sentence.split():
            units.extend(word[i : i + max_chars] for i in range(0, len(word), max_chars))
    return _pack([u for u in units if u.strip()], " ", max_chars)


def chunk_turns(turns: Sequence[Turn], max_chars: int) -> list[str]:
    """Consecutive turns (as `format_turns` lines) grouped into chunks of at most `max_chars`.

    A turn is split only when it alone exceeds `max_chars`: at sentence boundaries, else word
    boundaries (a word longer than `max_chars` is cut). The chunks hold every word, in order.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    lines: list[str] = []
    for turn in turns:
        line = _render_turn(turn)
        lines.extend([line] if len(line) <= max_chars else _split_line(line, max_chars))
    return _pack(lines, "\n", max_chars)
