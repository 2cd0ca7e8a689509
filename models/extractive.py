"""The extractive note's sections: what the transcript itself says, by section kind.

When no model-written note is usable, each section of the fallback note
(`models.notes.fallback_note`) is filled from the transcript by deterministic rules, following
the section definitions (`models.sections`): the client's own words for the client report, the
rules of `models.interventions` for what the therapist did, themes and the risk scan for the
assessment, the therapist's closing plan statements for the plan. Quoted text is the
transcript's own; everything else is fixed wording, so the note states no fact the session
lacks and holds no number of its own. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence, Set

from models.interventions import clinician_title, describe, detect
from models.risk import TITLES
from models.sections import Kind, kind_of
from models.text import Turn, is_clinician, sentences, word_count
from schemas.notes import SECTIONS, NoteFormat, RiskFlag

NO_RISK_TEXT = "No risk indicators found by the automated scan."
SECTION_WORDS = 60
_PLAN_RE = re.compile(
    r"\b(?:next (?:week|session|time)|homework|practi[cs]e|schedule|scheduled|appointment|meet again"
    r"|see you|referr(?:al|ed)|refer|safety plan|between now and|this week|before (?:we|our)"
    r"|plan|plans|planned|will|going to|try|track|write (?:down|it)|keep a)\b|['’]ll\b",
    re.I,
)
_RESPONSE_RE = re.compile(
    r"\b(?:i can|i could|i['’]ll|i will|i['’]m going to|i want to|i['’]d like to|i guess|i think|maybe"
    r"|makes sense|you['’]re right|never thought|didn['’]t realise|didn['’]t realize|hadn['’]t|i see"
    r"|worth (?:a )?try|let['’]s|i agree|that helps|that helped|sounds good)\b",
    re.I,
)
#: A stage direction in a transcript ("[laughs]", "[pause]"): not the speaker's words.
_DIRECTION_RE = re.compile(r"\[[^\]\n]{0,40}\]\s*")
#: Client sentences that give reasons for change or intentions (change talk, goals).
_CHANGE_RE = re.compile(
    r"\b(?:i want to|i['’]d like to|i need to|i have to|i should|i['’]m going to|i wish|i hope|i would like"
    r"|i don['’]t want to|my goal|so (?:that )?i can|i['’]m ready|i['’]m willing|i['’]ve decided)\b",
    re.I,
)
_SALIENT = frozenset(
    """feel feeling felt worried worry scared afraid anxious anxiety panic sad down low depressed angry
    stressed stress tired exhausted hard difficult hurt guilty ashamed lonely alone overwhelmed hate
    want need can't cannot couldn't sleep drink drinking drunk use using craving cravings urge urges
    better worse miss lost scared cry crying fight argue family work job wife husband partner kids
    mother father mom dad pain help stop change""".split()  # noqa: SIM905 (a word list reads better)
)
_STOP = frozenset(
    """i i'm i've me my you your it it's the a an and or but so to of in on at for with that this
    is was were be been just like um uh yeah yes no okay ok know mean really kind sort of then
    there they he she we what how do did don't not have has had get got go going""".split()  # noqa: SIM905
)
#: Words of the client's turns that name a theme, and the theme's name in a note.
THEMES = {
    "drinking": "drinking alcohol beer beers wine drunk drinks vodka whiskey hangover",
    "cannabis use": "cannabis weed smoking-weed joint joints pot",
    "smoking": "smoking cigarettes cigarette smoke vaping vape nicotine",
    "gambling": "gambling gamble betting bets casino",
    "anxiety": "anxiety anxious panic worry worried worrying nervous",
    "low mood": "depressed depression sad low hopeless empty numb",
    "sleep": "sleep sleeping insomnia awake tired exhausted",
    "grief": "grief grieving died death funeral loss",
    "anger": "angry anger furious rage snapped yelled",
    "work stress": "work job boss shift shifts office crew deadline",
    "relationships": "wife husband partner girlfriend boyfriend marriage relationship divorce",
    "family": "kids children son daughter mom dad mother father parents family",
    "self-esteem": "worthless useless failure ashamed shame confidence",
    "loneliness": "lonely alone isolated friends",
    "pain": "pain hurts ache injury",
    "eating": "eating food weight binge meals",
    "health": "doctor health blood diabetes heart medication pills",
}
_THEME_OF = {word: theme for theme, words in THEMES.items() for word in words.split()}


def _pick(
    candidates: Sequence[tuple[int, str]], limit: int, score: Callable[[str], float] | None = None
) -> list[str]:
    """Sentences from `(position, sentence)` pairs, best `score` first (else latest first), that fit
    in `limit` words together, returned in transcript order; a lone too-long sentence is cut."""
    order = sorted(candidates, key=lambda c: (-score(c[1]), c[0]) if score else -c[0])
    picked, count = [], 0
    for position, sentence in order:
        n = word_count(sentence)
        if count + n <= limit:
            picked.append((position, sentence))
            count += n
    if not picked and order:
        position, sentence = order[0]
        return [" ".join(sentence.split()[:limit]) + "…"]
    return [s for _, s in sorted(picked)]


def _sentences(turns: Sequence[Turn], keep: Callable[[str], bool]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for turn in turns:
        for sentence in sentences(_DIRECTION_RE.sub("", turn.text)):
            if keep(sentence):
                out.append((len(out), sentence))
    return out


def _tokens(sentence: str) -> list[str]:
    return re.findall(r"[a-z]+(?:['’][a-z]+)?", sentence.lower())


def _salience(sentence: str) -> float:
    words = _tokens(sentence)
    content = sum(1 for w in words if w not in _STOP)
    return content + 2 * sum(1 for w in words if w in _SALIENT)


def _quote(lead: str, picked: Sequence[str]) -> str:
    return f"{lead}: " + " ".join(f"“{s}”" for s in picked) if picked else ""


def client_words(
    client: Sequence[Turn], limit: int = SECTION_WORDS, exclude: Set[str] = frozenset()
) -> list[str]:
    """The client's most telling sentences (feelings, problems, events), in transcript order,
    leaving out those in `exclude` (quoted in another section)."""
    candidates = _sentences(client, lambda s: word_count(s) >= 5 and s not in exclude)
    return _pick(candidates or _sentences(client, lambda s: s not in exclude), limit, _salience)


def themes(client: Sequence[Turn], top: int = 3) -> list[str]:
    """The themes the client's words name at least twice, most named first (at most `top`)."""
    counts = Counter(_THEME_OF[w] for t in client for w in _tokens(t.text) if w in _THEME_OF)
    return [theme for theme, n in counts.most_common(top) if n >= 2]


def plan_statements(turns: Sequence[Turn], limit: int = SECTION_WORDS) -> list[str]:
    """Sentences of the closing part of the session (its last 40% of turns, by either speaker)
    that name next steps: homework, the next session, referrals, a safety plan."""
    closing = turns[len(turns) - max(1, (len(turns) * 2 + 4) // 5) :] if turns else []
    return _pick(_sentences(closing, lambda s: word_count(s) >= 3 and bool(_PLAN_RE.search(s))), limit)


def risk_text(flags: Sequence[RiskFlag]) -> str:
    """What the risk scan found, by category, without numbers."""
    if not flags:
        return NO_RISK_TEXT
    listed = [TITLES[c].lower() for c in dict.fromkeys(f.category for f in flags)]
    joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    return f"The automated risk scan flagged statements about {joined}; review each with the client."


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def extract(
    turns: Sequence[Turn], note_format: NoteFormat, flags: Sequence[RiskFlag]
) -> tuple[dict[str, str], str]:
    """The extractive text of every section of `note_format`, by its kind (never empty), and a
    summary text: the themes, the techniques and the risk scan (may be under 30 words)."""
    clinician = [t for t in turns if is_clinician(t.speaker)]
    client = [t for t in turns if not is_clinician(t.speaker)]
    title = clinician_title(turns)
    done = describe(detect(turns), title)
    # DAP's data section holds the client's words and what the therapist did: share ~110 words.
    planned = plan_statements(turns)
    said = client_words(
        client,
        SECTION_WORDS if note_format != NoteFormat.DAP else max(25, 110 - word_count(done)),
        set(planned),
    )
    report = _quote("In the client's words (extracted)", said) or (
        "No client statements were identified in the transcript (extracted)."
    )
    named = themes(client)
    theme = f"Themes in the client's account included {_and(named)}. " if named else ""
    heard = _pick(_sentences(clinician, lambda s: word_count(s) >= 4 and not s.endswith("?")), 40)
    own = _quote(f"The {title} said", heard)
    plan = _quote("Plan as stated in the session", planned)
    used = set(planned) | set(said)
    closing = client[len(client) // 2 :]
    response = _pick(
        _sentences(closing, lambda s: s not in used and bool(_RESPONSE_RE.search(s)) and word_count(s) >= 4),
        35,
    )
    reasons = _pick(
        _sentences(client, lambda s: s not in used and bool(_CHANGE_RE.search(s)) and word_count(s) >= 5),
        40,
        _salience,
    )
    stated = _quote("The client's stated reasons and intentions", reasons)
    texts: dict[Kind, str] = {
        "client_report": report + (f" {done}" if note_format == NoteFormat.DAP and done else ""),
        "observation": done or "Interventions were not identified automatically.",
        "intervention": done or own or "Interventions were not identified automatically.",
        # The risk sentence before any quotation: a sentence after a closing quote is not split off.
        "assessment": theme + risk_text(flags) + (f" {stated}" if stated else ""),
        "response": risk_text(flags) + (" " + _quote("The client said", response) if response else ""),
        "plan": plan or "The plan was not identified automatically; the clinician should record it.",
    }
    if texts["observation"] == done and clinician and client:
        talk = sum(word_count(t.text) for t in client) / max(sum(word_count(t.text) for t in turns), 1)
        texts["observation"] += " The client did most of the talking." if talk > 0.5 else ""
    sections = {key: texts[kind_of(note_format, key)] for key in SECTIONS[note_format]}
    summary = [f"Extractive note: the session's themes included {_and(named)}." if named else "", done]
    return sections, " ".join(p for p in [*summary, risk_text(flags)] if p)


def extract_sections(
    turns: Sequence[Turn], note_format: NoteFormat, flags: Sequence[RiskFlag]
) -> dict[str, str]:
    """The sections of `extract`."""
    return extract(turns, note_format, flags)[0]
