"""One pronoun for the client through a note.

A small model switches the client's pronoun within a note ("She reported ..." in the subjective
section, "He will keep a list" in the plan). This module finds the pronouns that can only mean the
client and makes them agree: with the client's gender where the transcript states it (the client
calls themself a mum, a dad, a woman, ...; the clinician says "Mr", "Ms", "sir", ...), else with
the pronoun the note itself uses most for the client. A pronoun can only mean the client when
neither its sentence nor the one before names anyone else it could mean: a person word of its
gender or of either ("wife", "partner", "friend"), or a name. Pronouns for other people, and notes
whose client pronouns are evenly split, are left as written.

Nothing here invents a gender: the note's own majority or the transcript's cue decides, and a note
that calls the client only "the client" has nothing to change.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

from models.text import Turn

Gender = Literal["f", "m"]

_PRONOUN_RE = re.compile(r"\b(?:she|her|hers|herself|he|him|his|himself)\b", re.I)
_GENDER_OF = {w: "f" for w in ("she", "her", "hers", "herself")} | {
    w: "m" for w in ("he", "him", "his", "himself")
}
#: Person words by the gender they imply; "n": either.
_PERSONS = {
    "f": "wife girlfriend fiancee mother mum mom mummy mommy daughter daughters sister sisters "
    "stepmother stepdaughter grandmother grandma granddaughter aunt niece woman women girl girls "
    "lady ladies widow nan nana gran",
    "m": "husband boyfriend fiance father dad daddy son sons brother brothers stepfather stepson "
    "grandfather grandad granddad grandpa grandson uncle nephew man men guy guys boy boys bloke "
    "lad widower",
    "n": "partner partners spouse ex fiancé parent parents child children kid kids baby toddler "
    "teenager sibling siblings cousin cousins friend friends mate mates flatmate roommate housemate "
    "colleague colleagues coworker co-worker coworkers boss manager supervisor employer doctor gp "
    "physician nurse midwife psychiatrist sponsor neighbour neighbor teacher tutor coach "
    "therapist counselor counsellor clinician judge officer lawyer someone somebody person "
    "grandparent grandparents family relative relatives peer peers student classmate",
}
_PERSON_WORDS = {g: frozenset(words.split()) for g, words in _PERSONS.items()}
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
#: Capitalised words that are not people's names (sentence openers, titles, days, months, ...).
_NOT_NAMES = frozenset(
    """client therapist counselor counsellor clinician the a an he she his her they their it this
that i we you mr mrs ms dr next plan session sessions monday tuesday wednesday thursday
friday saturday sunday january february march april may june july august september october
november december christmas easter aa na mi cbt dbt act english""".split()  # noqa: SIM905
)
#: The transcript's cues to the client's gender: the client's words about themself, and the
#: clinician's forms of address. A spouse ("my wife") is not a cue.
_SELF_CUE = {
    "f": re.compile(
        r"\b(?:i'?m|i am|as) (?:a |an |the )?(?:single |new |working |young |first-time )?"
        r"(?:woman|girl|lady|mum|mom|mother|wife|grandmother|grandma|widow)\b"
        r"|\b(?:i'?m|i am|i was|i got|i'?ve been|you'?re)\b[^.?!]{0,30}\bpregnant\b|\bmy pregnancy\b",
        re.I,
    ),
    "m": re.compile(
        r"\b(?:i'?m|i am|as) (?:a |an |the )?(?:single |new |working |young |first-time )?"
        r"(?:man|guy|bloke|lad|dad|father|husband|grandfather|grandad|widower)\b",
        re.I,
    ),
}
_ADDRESS_CUE = {
    "f": re.compile(r"\b(?:mrs|ms|ma'am|madam)\b|\byou'?re (?:\w+ ){0,3}pregnant\b|\byour pregnancy\b", re.I),
    "m": re.compile(r"\b(?:mr|sir)\b", re.I),
}
#: Words after "her" that make it the object ("told her to"), so "him", not "his", for a man.
_AFTER_OBJECT = frozenset(
    """to and or but that about with for from in on at as how what if into up down out off back
again feel be do go get keep make take try see say think know stop cope sleep relax drink
smoke use want talk call come work focus manage continue start change plan reach remember
notice was is were are had has have would could will can should might may""".split()  # noqa: SIM905
)
#: Each pronoun in the other gender, by the gender it becomes ("her" to a man: `_replacement`).
_SWAP = {
    "m": {"she": "he", "hers": "his", "herself": "himself"},
    "f": {"he": "she", "him": "her", "his": "her", "himself": "herself"},
}
#: Without a cue in the transcript, the note's own pronoun for the client decides only when it
#: is used at least this many times as often as the other, and at least MAJORITY_MIN times.
MAJORITY = 3
MAJORITY_MIN = 4
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
_POSSESSIVE_RE = re.compile(r"['’]s$")


def transcript_gender(turns: Sequence[Turn]) -> Gender | None:
    """The client's gender where the transcript states it, else None (cues disagree or none)."""
    votes: Counter[str] = Counter()
    for turn in turns:
        cues = _SELF_CUE if turn.speaker.lower() == "client" else _ADDRESS_CUE
        for gender, cue in cues.items():
            votes[gender] += len(cue.findall(turn.text))
    if votes["f"] > 2 * votes["m"]:
        return "f"
    if votes["m"] > 2 * votes["f"]:
        return "m"
    return None


def _others(sentence: str) -> set[str]:
    """The genders of people other than the client that `sentence` names ("n": a name or a
    person word of either gender, so both)."""
    found: set[str] = set()
    words = _WORD_RE.findall(sentence)
    for i, word in enumerate(words):
        low = _POSSESSIVE_RE.sub("", word.lower())
        for gender, group in _PERSON_WORDS.items():
            if low in group:
                found.add(gender)
        if i and word[0].isupper() and low not in _NOT_NAMES and low not in _GENDER_OF:
            found.add("n")  # a name (not the sentence's first word): anyone
    if "n" in found:
        found |= {"f", "m"}
    return found


def _client_pronouns(split: Mapping[str, list[str]]) -> list[tuple[str, int, re.Match[str]]]:
    """(section, sentence index, match) of each pronoun that can only mean the client, in the
    sections' sentences."""
    out = []
    for key, sentences in split.items():
        for i, sentence in enumerate(sentences):
            before = _others(sentences[i - 1]) if i else set()
            for match in _PRONOUN_RE.finditer(sentence):
                blocked = before | _others(sentence[: match.start()])
                if _GENDER_OF[match.group().lower()] not in blocked:
                    out.append((key, i, match))
    return out


def _replacement(word: str, rest: str, to: Gender) -> str:
    low = word.lower()
    if low == "her" and to == "m":
        following = _WORD_RE.match(rest.lstrip())
        new = (
            "his"
            if following and rest[:1] == " " and following.group().lower() not in _AFTER_OBJECT
            else "him"
        )
    else:
        new = _SWAP[to].get(low, low)
    return new.capitalize() if word[0].isupper() else new


def agree(sections: Mapping[str, str], turns: Sequence[Turn]) -> tuple[dict[str, str], int]:
    """`sections` with every pronoun that can only mean the client in one gender: the
    transcript's (`transcript_gender`), else the one the note uses most for the client; and how
    many pronouns changed. Unchanged when neither decides."""
    split = {key: _SENTENCE_RE.split(text) if text else [] for key, text in sections.items()}
    found = _client_pronouns(split)
    cue = transcript_gender(turns)
    if cue is not None:
        gender: Gender = cue
    else:
        votes = Counter(_GENDER_OF[m.group().lower()] for _, _, m in found)
        gender = "f" if votes["f"] >= votes["m"] else "m"
        most, fewer = max(votes["f"], votes["m"]), min(votes["f"], votes["m"])
        if most < MAJORITY * fewer or most < MAJORITY_MIN:
            return dict(sections), 0  # no clear majority: the note's choice is no better than a guess
    wrong: dict[tuple[str, int], list[re.Match[str]]] = {}
    for key, i, match in found:
        if _GENDER_OF[match.group().lower()] != gender:
            wrong.setdefault((key, i), []).append(match)
    out = dict(sections)
    for (key, i), matches in wrong.items():
        sentence, pieces, last = split[key][i], [], 0
        for match in matches:  # in order: finditer's
            pieces += [
                sentence[last : match.start()],
                _replacement(match.group(), sentence[match.end() :], gender),
            ]
            last = match.end()
        split[key][i] = "".join(pieces) + sentence[last:]
    for key in {key for key, _ in wrong}:
        out[key] = " ".join(split[key])
    return out, sum(len(matches) for matches in wrong.values())
