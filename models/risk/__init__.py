"""Deterministic risk scan of a whole transcript: regular expressions per risk category.

The scan is the safety net under the model: whatever the model writes, every risk found here
is carried into the note. It errs towards flagging; negations ("I'm not suicidal"), common
idioms ("this job is killing me") and clinicians' screening questions are not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from models.text import is_clinician, normalize, parse_turns, sentences
from schemas.notes import RiskCategory, RiskFlag

#: How each category is written in a note, inside `{{RED:<title>: <evidence>}}`.
TITLES: dict[RiskCategory, str] = {
    RiskCategory.SUICIDAL_IDEATION: "Suicidal ideation",
    RiskCategory.SELF_HARM: "Self-harm",
    RiskCategory.HARM_TO_OTHERS: "Harm to others",
    RiskCategory.ABUSE_NEGLECT: "Abuse or neglect",
    RiskCategory.SUBSTANCE_RELAPSE: "Substance relapse",
}
EVIDENCE_MAX_CHARS = 240

_SELF = r"(?:my|him|her|them|our)sel(?:f|ves)"
_KIN = (
    r"(?:boss|wife|husband|partner|girlfriend|boyfriend|ex|father|mother|dad|mom|brother|"
    r"sister|son|daughter|kids|children|baby|neighbou?r|co-?worker|roommate|teacher|family)"
)
_OTHERS = rf"(?:him|her|them|someone|somebody|anyone|anybody|people|others|every(?:one|body)|my {_KIN})"
_US = rf"(?:me|us|my {_KIN}|the (?:kids|children|baby))"
_SUBSTANCE = r"(?:drinking|using|drugs|the bottle|pills|heroin|meth|cocaine|coke|opioids|alcohol|smoking)"

_PATTERNS: dict[RiskCategory, list[str]] = {
    RiskCategory.SUICIDAL_IDEATION: [
        r"\bsuicid\w*",
        r"\bunalive\w*",
        rf"\b(?:kill|kills|killed|killing|hang|hanging|hanged|shoot|shooting|drown|poison)\s+{_SELF}",
        r"\b(?:end|ending|take|taking|took) (?:my|his|her|their) (?:own )?life\b",
        r"\bend(?:ing)? it all\b",
        r"\bwant(?:s|ed|ing)? to die\b",
        r"\bwish\w* (?:I|he|she)(?:'d|’d| was| were| could| had| would)? (?:just )?(?:be )?"
        r"(?:dead|die|died|never been born|never wake up|not wake up)\b",
        r"\bbetter off (?:dead|without me)\b",
        r"\b(?:don't|don’t|do not|didn't|no longer|not sure I) want to (?:live|be alive|exist|"
        r"go on|wake up|be here anymore)\b",
        r"\bno (?:reason|point) (?:to live|in living|living|to go on|in going on)\b",
        r"\bnothing (?:left )?to live for\b",
        r"\b(?:not|isn't|isn’t|is not|ain't) worth living\b",
        r"\boverdos\w* on purpose\b",
        r"\bjump(?:ing)? (?:off|in front of) (?:a|the) (?:bridge|building|roof|train|cliff)\b",
        r"\bslit (?:my|his|her) wrists?\b",
        r"\bthoughts? (?:of|about) (?:death|dying|ending it)\b",
    ],
    RiskCategory.SELF_HARM: [
        r"\bself[- ]?(?:harm\w*|injur\w*|mutilat\w*)",
        r"\b(?:cut|cuts|cutting|burn|burns|burned|burnt|burning|hurt|hurts|hurting|harm|harms|"
        r"harmed|harming|hit|hits|hitting|punch|punched|punching|scratch|scratched|scratching|"
        rf"starve|starved|starving)\s+{_SELF}",
        r"\bcut(?:s|ting)? (?:on )?(?:my|her|his) (?:arms?|wrists?|legs?|thighs?|stomach|skin)\b",
        r"\b(?:been|started|start|am|was) cutting (?:again|myself)\b|\bcutting again\b",
    ],
    RiskCategory.HARM_TO_OTHERS: [
        r"\bhomicid\w*",
        r"\b(?:kill|kills|killed|killing|murder|murdered|murdering|hurt|hurts|hurting|harm|"
        r"harming|stab|stabbing|stabbed|shoot|shooting|shot|strangle|strangling|choke|choking|"
        rf"beat up|beating up|attack|attacking|poison|poisoning)\s+{_OTHERS}\b",
        r"\bbeat(?:ing)? (?:him|her|them|someone|somebody) up\b",
    ],
    RiskCategory.ABUSE_NEGLECT: [
        r"\babus(?:e|ed|es|ing|ive|er|ers)\b",
        r"\b(?:molest\w*|rape|raped|raping|incest)\b",
        r"\bsexual(?:ly)? (?:assault\w*|abus\w*|touch\w*)",
        r"\b(?:domestic|family|intimate partner) violence\b",
        r"\b(?:hit|hits|hitting|beat|beats|beating|punch|punches|punched|kick|kicks|kicked|"
        r"kicking|slap|slaps|slapped|slapping|choke|chokes|choked|choking|shove|shoves|shoved|"
        rf"strangle\w*|push|pushes|pushed)\s+{_US}\b",
        rf"\bneglect(?:s|ed|ing)? {_US}\b|\b(?:child|elder) neglect\b|\bneglectful\b",
        r"\btouch(?:ed|es|ing)? me (?:inappropriately|down there)\b",
        r"\bafraid (?:to go|of going) home\b",
        rf"\bthreaten(?:s|ed|ing)? to (?:kill|hurt|hit|beat) {_US}\b",
        rf"\b(?:left|leaves|leave) {_US} (?:home alone|alone for days|without food)\b",
    ],
    RiskCategory.SUBSTANCE_RELAPSE: [
        r"\brelaps(?:e|ed|es|ing)\b",
        r"\b(?:drinking|drank|drunk|using|used|smoking|smoked|shooting up|shot up|got high|"
        r"getting high|taking pills|took pills) again\b",
        rf"\b(?:went|go|going|gone|got|been) back (?:to|on) {_SUBSTANCE}\b",
        r"\bback on (?:the )?(?:bottle|drugs|pills|heroin|meth|cocaine|coke|opioids)\b",
        r"\b(?:fell|fall|falling|fallen) off the wagon\b",
        r"\bslip(?:ped)? (?:up )?and (?:had|took|used|drank|smoked)\b",
        r"\b(?:broke|lost|ruined|ended) (?:my )?(?:sobriety|sober streak|clean (?:time|streak))\b",
        r"\boverdos(?:e|ed|es|ing)\b",
    ],
}
_COMPILED = {c: re.compile("|".join(f"(?:{p})" for p in ps), re.I) for c, ps in _PATTERNS.items()}

#: Figures of speech that contain risk words; matched spans are blanked before scanning.
_IDIOMS_RE = re.compile(
    r"\bkill(?:s|ing) (?:me|us|it)\b|\bkill(?:s|ed|ing)? (?:(?:some )?time|two birds|the mood)\b"
    r"|\bdying (?:to|for|of (?:embarrassment|laughter|boredom))\b|\bto die for\b"
    r"|\b(?:die|died) (?:laughing|of (?:embarrassment|shame))\b"
    r"|\b(?:bored|scared|frightened|worried|tickled|loved|talked|done|worked) to death\b"
    r"|\bmurder (?:a|an|some)\b|\b(?:would|'d|’d|could) kill for\b"
    r"|\bhurt(?:s|ing)? (?:his|her|their|my|your|someone's|people's) feelings\b"
    r"|\bhurt (?:my|him|her)self (?:while|when|playing|lifting|running|falling|at (?:work|the gym))"
    r"|\b(?:shoot|shot|shooting) (?:me|him|her|them) (?:an?|the) \w+|\bkill \w+ with kindness"
    r"|\bbeat (?:me|us|him|her) (?:at|in|to)\b|\b(?:it|that|this|what) beats me\b|^beats me\b"
    r"|\bkick(?:s|ed)? (?:me|us) out\b|\bpush(?:ed|es)? (?:me|us) (?:to|away)\b"
    r"|\bhit (?:me|us) up\b|\b(?:it|that|this|reality) (?:hit|hits) me\b"
    r"|\b(?:substance|alcohol|drug|opioid|opiate) abuse\b|\brelapse prevention\b"
    r"|\bsuicide (?:mission|squad|run|doors?)\b",
    re.I,
)
_NEGATION_RE = re.compile(
    r"\b(?:not|no|never|nor|neither|without|den(?:y|ies|ied|ying)|refus\w*)\b|n[’']t\b", re.I
)
#: Phrases with a negation word that do not negate what follows ("I can't stop cutting").
_NOT_NEGATING_RE = re.compile(
    r"\b(?:can|could|won|couldn)[’']?t (?:stop|help|get rid of|shake)\b|\bcannot (?:stop|help)\b"
    r"|\b(?:don|didn)[’']t (?:know|care)\b|\bdo not (?:know|care)\b|\bno (?:one|idea|matter)\b"
    r"|\bnot (?:sure|only)\b",
    re.I,
)
_CLAUSE_BREAK_RE = re.compile(r"[,;:—–]|\b(?:but|though|although|however|yet|except|and|because|so)\b", re.I)
_DENIED_AFTER_RE = re.compile(r"^\W*(?:\w+\W+)??(?:denied|denies|none|negative|absent)\b", re.I)
_FIRST_PERSON_RE = re.compile(r"\bI\b|\b(?i:me|my|myself)\b")
_WINDOW_WORDS = 6


def _negated(sentence: str, start: int, end: int) -> bool:
    """Whether a negation governs the match at `start:end` within its clause."""
    before = sentence[:start]
    breaks = list(_CLAUSE_BREAK_RE.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    window = " ".join(clause.split()[-_WINDOW_WORDS:])
    window = _NOT_NEGATING_RE.sub(" ", window)
    after = re.split(r"[;.]|\bbut\b", sentence[end:], maxsplit=1)[0]
    return bool(_NEGATION_RE.search(window) or _DENIED_AFTER_RE.search(after))


def _screening_question(sentence: str) -> bool:
    """A question that is not about the speaker ("Any thoughts of hurting yourself?")."""
    return sentence.rstrip().endswith("?") and not _FIRST_PERSON_RE.search(sentence)


def _evidence(sentence: str, start: int, end: int) -> str:
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


def _scan_sentence(sentence: str) -> list[tuple[int, RiskCategory, str]]:
    if _screening_question(sentence):
        return []
    masked = _IDIOMS_RE.sub(lambda m: " " * len(m.group()), sentence)
    found = []
    for category, pattern in _COMPILED.items():
        for match in pattern.finditer(masked):
            if not _negated(sentence, match.start(), match.end()):
                evidence = _evidence(sentence, match.start(), match.end())
                found.append((match.start(), category, evidence))
                break
    return sorted(found, key=lambda item: item[0])


def scan(text: str) -> list[RiskFlag]:
    """Risk flags in a transcript, in order of first appearance, one per (category, evidence).

    When a clinician speaker is identified only the other speakers' turns are scanned;
    otherwise the whole text is.
    """
    turns = parse_turns(normalize(text))
    has_clinician = any(is_clinician(t.speaker) for t in turns)
    seen: set[tuple[RiskCategory, str]] = set()
    flags: list[RiskFlag] = []
    for turn in turns:
        if has_clinician and is_clinician(turn.speaker):
            continue
        for sentence in sentences(turn.text):
            for _, category, evidence in _scan_sentence(sentence):
                if (category, evidence) not in seen:
                    seen.add((category, evidence))
                    flags.append(RiskFlag(category=category, evidence=evidence))
    return flags


def categories(flags: Iterable[RiskFlag]) -> set[RiskCategory]:
    """The distinct categories of `flags`."""
    return {flag.category for flag in flags}
