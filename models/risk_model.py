"""The model's second opinion on risk: per category, a constrained yes/no answer with a quote.

For each category the model is asked one question about the client (`opinion_requests`, prompts
from `models.prompts.risk_prompt`, transcript first so they share the transcript's KV cache with
the note's section prompts). A GBNF grammar allows only `no` or `yes: "<quote>"`. `opinion_flags`
turns the answers into RiskFlags with source `model`, accepting one only when:
- the quote occurs in a client turn of the transcript (whitespace and case normalised), at least
  three words long;
- the scan has not already flagged that category in that turn;
- with `gate="candidate"` (the default), the sentence quoted also matches the category's broad,
  low-precision candidate lexicon below: a small model's "yes" about a sentence with no risk word
  at all was, on the project's dev set, nearly always wrong (see README, "Risk detection").
Model flags carry severity `unknown`; the note marks them for review.

Measured with the embedded Gemma 3 270M (README, "Risk detection"): neither the v1 adapter nor the
base model gave one accepted, correct flag, so the second opinion is off by default for this model
(`ENABLED_BY_DEFAULT`); a service configuration switch turns it on for a stronger model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from models.profiles import ModelProfile
from models.prompts import risk_prompt
from models.risk import EVIDENCE_MAX_CHARS, scan
from models.text import client_turns, normalize, parse_turns, sentences
from schemas.notes import RiskCategory, RiskFlag, RiskSource

Gate = Literal["candidate", "none"]
#: Whether the service asks the model's second opinion unless configured otherwise.
ENABLED_BY_DEFAULT = False

QUESTIONS: dict[RiskCategory, str] = {
    RiskCategory.SUICIDAL_IDEATION: "Does the client say they want to die, wish they were dead, think about "
    "killing themselves, or have a plan or made preparations to end their life?",
    RiskCategory.SELF_HARM: "Does the client say they hurt themselves on purpose (cutting, burning, "
    "scratching, hitting themselves, starving) or have urges to?",
    RiskCategory.HARM_TO_OTHERS: "Does the client say they want to, threaten to, or did hurt or kill "
    "another person, or have thoughts of harming someone such as a baby?",
    RiskCategory.ABUSE_NEGLECT: "Does the client say that they, a child, an elderly or a dependent person "
    "is being abused, sexually abused, neglected, left alone, exploited or confined?",
    RiskCategory.SUBSTANCE_RELAPSE: "Does the client say they drank alcohol or used drugs again after "
    "stopping, or are misusing drugs or alcohol now?",
}

#: Only `no`, or `yes: "` and a quote of 3-160 characters on one line.
GRAMMAR = 'root ::= "no" | "yes: \\"" quote "\\""\nquote ::= [^"\\n]{3,160}\n'
MAX_TOKENS = 48

_CANDIDATE_WORDS: dict[RiskCategory, str] = {
    RiskCategory.SUICIDAL_IDEATION: (
        r"die|dead|death|dying|suicid\w*|kill\w*|end(?:ing)? (?:it|things|my life)|alive|live|living|"
        r"burden|better off|wake up|goodbye\w*|pills|overdos\w*|bridge|jump\w*|gun|rope|hang\w*|"
        r"disappear|gone|not be here|no point|give up|way out|trapped|unbearable|letters?|note"
    ),
    RiskCategory.SELF_HARM: (
        r"cut\w*|burn\w*|scratch\w*|bleed\w*|bled|blood|hurt\w* myself|harm\w*|punish\w*|starv\w*|eat\w*|"
        r"hit\w* myself|bang\w*|punch\w*|razor|blades?|scars?|myself"
    ),
    RiskCategory.HARM_TO_OTHERS: (
        r"kill\w*|hurt\w*|harm\w*|stab\w*|shoot\w*|gun|knife|weapon|beat\w*|punch\w*|hit\w*|attack\w*|"
        r"strangl\w*|chok\w*|drown\w*|smother\w*|drop\w*|threat\w*|revenge|pay|suffer|dead"
    ),
    RiskCategory.ABUSE_NEGLECT: (
        r"abus\w*|hit\w*|beat\w*|slap\w*|punch\w*|kick\w*|chok\w*|grab\w*|push\w*|touch\w*|molest\w*|"
        r"rap\w*|sexual\w*|forced|lock\w*|alone|neglect\w*|money|account|pension|steal\w*|stole|took|"
        r"hungry|food|afraid|scared|hurt\w*|bruis\w*|leaves?|left"
    ),
    RiskCategory.SUBSTANCE_RELAPSE: (
        r"relaps\w*|again|drink\w*|drank|drunk|beers?|wine|vodka|alcohol|bottle|high|us(?:e|ed|ing)|smok\w*|"
        r"pills|oxy\w*|fentanyl|heroin|meth|coke|cocaine|crack|benzos?|xanax|weed|sober|clean|slip\w*|"
        r"picked up|overdos\w*|dealer|loaded|wasted"
    ),
}
#: Broad, low-precision words per category: a model quote must contain one (gate "candidate").
CANDIDATES = {c: re.compile(rf"\b(?:{p})\b", re.I) for c, p in _CANDIDATE_WORDS.items()}


@dataclass(frozen=True)
class OpinionRequest:
    """One generation the second opinion needs: the engine runs it with the note's prompts."""

    category: RiskCategory
    prompt: str
    max_tokens: int = MAX_TOKENS
    grammar: str = GRAMMAR


def opinion_requests(profile: ModelProfile, transcript: str) -> list[OpinionRequest]:
    """One request per category for `transcript` (the text the note's prompts use)."""
    return [OpinionRequest(c, risk_prompt(profile, transcript, q)) for c, q in QUESTIONS.items()]


_ANSWER_RE = re.compile(r'^\s*yes\s*:?\s*"?(.*?)"?\s*$', re.I | re.S)


def _quote(answer: str) -> str | None:
    """The quote of a `yes: "..."` answer; None for `no` or anything else."""
    match = _ANSWER_RE.match(answer)
    return " ".join(match.group(1).split()) if match and match.group(1).strip() else None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _locate(turn_text: str, quote: str) -> str | None:
    """The sentence(s) of `turn_text` that hold `quote`, in the transcript's own words."""
    folded_quote = _fold(quote)
    spans = sentences(turn_text)
    for length in (1, 2, 3):  # the fewest sentences that hold it
        for i in range(len(spans) - length + 1):
            piece = " ".join(spans[i : i + length])
            if folded_quote in _fold(piece):
                return piece[:EVIDENCE_MAX_CHARS]
    return None


def opinion_flags(
    transcript: str,
    answers: Mapping[RiskCategory, str],
    scan_flags: Sequence[RiskFlag],
    gate: Gate = "candidate",
) -> list[RiskFlag]:
    """RiskFlags (source `model`, severity `unknown`) from the model's answers, each kept only
    when its quote is verbatim client speech (see the module docstring)."""
    turns = parse_turns(normalize(transcript))
    scanned = {(f.category, f.turn) for f in scan_flags}
    flags = []
    for category, answer in answers.items():
        quote = _quote(answer)
        if quote is None or len(quote.split()) < 3:
            continue
        for index, turn, _ in client_turns(turns):
            evidence = _locate(turn.text, quote)
            if evidence is None or (category, index) in scanned:
                continue
            if gate == "candidate" and not CANDIDATES[category].search(evidence):
                continue
            flags.append(RiskFlag(category=category, evidence=evidence, turn=index, source=RiskSource.MODEL))
            break
    return flags


def detect_with_opinion(
    ask: Callable[[Sequence[OpinionRequest]], list[str]],
    profile: ModelProfile,
    transcript: str,
    gate: Gate = "candidate",
) -> list[RiskFlag]:
    """The scan's flags plus the model's accepted ones; `ask` answers the requests in order."""
    text = normalize(transcript)
    scan_flags = scan(text)
    requests = opinion_requests(profile, text)
    answers = dict(zip((r.category for r in requests), ask(requests), strict=True))
    return [*scan_flags, *opinion_flags(text, answers, scan_flags, gate)]
