"""The grounding guard: every sentence of a note must be supported by the session transcript.

A small model invents ages, numbers, medications, names and denials, and repeats itself. The
guard checks each sentence against the transcript and removes, sentence by sentence:
- a fact the transcript does not hold: an age, a number, a date, a medication, a person's or
  place's name, a demographic claim (sex, ethnicity, marital status);
- a denial ("denies suicidal ideation") unless the client denied it in the transcript;
- a sentence repeated within or across sections, and repetition loops.
A section left empty is filled by the extractive path (`models.notes.fallback_note`), marked as
such. The report counts what was removed; it never carries text.

The same `unsupported` check cleans training targets (training_jobs) and measures notes
(training_jobs.metrics), so what is trained, served and measured agree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from models.text import is_clinician, parse_turns, sentences
from schemas.notes import SECTIONS, NoteFormat
from schemas.pipeline import PreparedTranscript

REASONS = ("register", "age", "number", "date", "medication", "name", "demographic", "denial")

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_MULTIPLES = {"dozen": 12, "twice": 2, "thrice": 3}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES, *_MULTIPLES])
_NUMBER_RE = re.compile(
    rf"\d+(?:[.,]\d+)*|\b(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}|and|point))*\b", re.I
)
#: Numbers a note may use without the transcript saying them: "one" is mostly a pronoun.
_FREE_NUMBERS = {1.0}
_AGE_RE = re.compile(
    rf"\b(?:\d+|(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*)[\s-]+(?:year|yr|month|week|day)s?[\s-]+old\b"
    r"|\baged? \d+\b|\bin (?:his|her|their) (?:early |mid-?|late )?(?:teens|twenties|thirties|forties|"
    r"fifties|sixties|seventies|eighties|nineties)\b",
    re.I,
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE_RE = re.compile(
    rf"\b(?:{_MONTHS})\b\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?|\b\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b"
    r"|\b(?:19|20)\d{2}\b",
    re.I,
)
#: "May" and "March" are dates only when capitalised mid-sentence or followed by a day.
_AMBIGUOUS_MONTHS = {"may", "march", "jan", "mar", "sep", "dec"}
_MEDICATIONS = frozenset(
    """
    sertraline zoloft fluoxetine prozac citalopram celexa escitalopram lexapro paroxetine paxil
    fluvoxamine luvox venlafaxine effexor desvenlafaxine pristiq duloxetine cymbalta bupropion
    wellbutrin mirtazapine remeron trazodone desyrel amitriptyline elavil nortriptyline imipramine
    clomipramine anafranil vortioxetine trintellix vilazodone phenelzine tranylcypromine selegiline
    lithium lamotrigine lamictal valproate depakote divalproex carbamazepine tegretol oxcarbazepine
    topiramate topamax gabapentin neurontin pregabalin lyrica quetiapine seroquel olanzapine zyprexa
    risperidone risperdal aripiprazole abilify ziprasidone geodon lurasidone latuda clozapine clozaril
    haloperidol haldol paliperidone invega cariprazine vraylar brexpiprazole rexulti chlorpromazine
    alprazolam xanax lorazepam ativan clonazepam klonopin diazepam valium temazepam chlordiazepoxide
    librium buspirone buspar hydroxyzine vistaril atarax zolpidem ambien eszopiclone lunesta
    zaleplon melatonin propranolol inderal clonidine guanfacine intuniv prazosin methylphenidate
    ritalin concerta adderall amphetamine dextroamphetamine lisdexamfetamine vyvanse atomoxetine
    strattera modafinil naltrexone vivitrol acamprosate disulfiram antabuse buprenorphine suboxone
    subutex sublocade methadone naloxone narcan varenicline chantix nicotine patch patches
    oxycodone oxycontin percocet hydrocodone vicodin norco morphine fentanyl tramadol codeine
    dilaudid hydromorphone ketamine esketamine spravato ibuprofen advil motrin acetaminophen tylenol
    aspirin naproxen aleve metformin insulin lisinopril atorvastatin lipitor simvastatin amlodipine
    metoprolol losartan levothyroxine synthroid omeprazole prilosec prednisone albuterol
    amoxicillin azithromycin ciprofloxacin doxycycline warfarin coumadin eliquis apixaban
    sumatriptan imitrex benadryl diphenhydramine ozempic semaglutide wegovy
    """.split()  # noqa: SIM905
)
_MEDICATION_SUFFIX_RE = re.compile(
    r"\b\w{3,}(?:pril|olol|statin|azepam|zolam|oxetine|triptyline|sartan|prazole|mycin|cillin|"
    r"floxacin|tidine|dronate|gliptin|glitazone|semide|thiazide|dipine|barbital|codone|morphone)\b",
    re.I,
)
_DOSE_RE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:mg|mcg|milligrams?|micrograms?|ml|units?)\b", re.I)
_DEMOGRAPHIC_RE = re.compile(
    r"\b(?:male|female|man|woman|gentleman|lady|boy|girl|caucasian|african[- ]american|"
    r"hispanic|latina|latino|latinx|asian|married|divorced|widowed|widower|transgender|"
    r"nonbinary|non-binary|heterosexual|homosexual|gay|lesbian|bisexual)\b",
    re.I,
)
#: Medical-record register that has no place in a psychotherapy note, supported or not: the
#: demographic opening ("a 40-year-old male"), physical examination and medical-record headings.
REGISTER_RE = re.compile(
    r"\b(?:is|was|as) an? (?:\w+[\s-]+)*?(?:year|yr)s?[\s-]+old\b"
    r"|\b(?:year|yr)s?[\s-]+old (?:male|female|man|woman|client|patient)\b"
    r"|\b(?:male|female|gentleman|lady)\b|\bthe patient\b"
    r"|\b(?:physical|neurologic(?:al)?|pelvic|rectal|abdominal|cardiac|pulmonary) exam(?:ination)?\b"
    r"|\b(?:vital signs|heent|auscultation|palpation|lungs? (?:are )?clear|abdomen (?:is )?soft"
    r"|extremities|range of motion|history of present illness|chief complaint"
    r"|review of systems|past (?:medical|surgical) history|no acute distress)\b",
    re.I,
)
_DENIAL_RE = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|negative for|no (?:history|hx|evidence|signs?|reports?) of|"
    r"no (?:current |active |reported )?(?:suicidal|homicidal|self-harm|thoughts))\b",
    re.I,
)
_NEGATION_RE = re.compile(
    r"^\W*(?:no|nope|nah|never|not|none|nothing|i (?:don'?t|do not|haven'?t|have not|wouldn'?t|"
    r"would not|am not|'m not|didn'?t|did not)|i'm not|not at all|absolutely not)\b"
    r"|\b(?:no|not|never|don'?t|didn'?t|haven'?t|wouldn'?t|none)\b",
    re.I,
)
_STOPWORDS = frozenset(
    """a an the of to for and or in on at with about any by from as is was were be been being it its
    this that these those his her their he she they them client clients patient reports reported
    denies denied denying history current currently active thoughts thought feelings feeling
    problems issues use using today session""".split()  # noqa: SIM905
)
#: Capitalised words that are not names: roles, therapy and instrument acronyms, pronoun I.
_NOT_NAMES = frozenset(
    """I I'm I've I'd I'll Client Therapist Counselor Counsellor Clinician Subjective Objective
    Assessment Plan Data Behavior Behaviour Intervention Response Summary The A An SOAP DAP BIRP CBT
    DBT ACT MI EMDR Socratic Rogerian Beck's Beck Christmas Easter Thanksgiving PHQ PHQ-9 GAD GAD-7
    AUDIT SUDS C-SSRS AA NA SMART OK Okay TV Dr Mr Mrs Ms Mx""".split()  # noqa: SIM905
)
_CAPITALISED_RE = re.compile(r"(?<![.!?:;\"“‘(]\s)(?<!^)\b[A-Z][a-zA-Z'’-]+\b")
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_POSSESSIVE_RE = re.compile(r"['’]s?$")
#: Words a client and a note use for one topic ("hurting yourself" / "harming herself").
_SYNONYMS = {"hurt": "harm", "inju": "harm", "kill": "suic", "alco": "drin", "beer": "drin",
             "ciga": "smok", "toba": "smok", "vape": "smok", "usin": "drug", "pill": "drug",
             "dead": "suic", "dyin": "suic", "die": "suic"}  # fmt: skip


def _value(phrase: str) -> float | None:
    """The value of a number written in digits or words ("twenty-five", "3,000", "2.5")."""
    phrase = phrase.strip().lower()
    if phrase[:1].isdigit():
        try:
            return float(phrase.replace(",", ""))
        except ValueError:
            return None
    whole, _, decimals = phrase.partition(" point ")
    if decimals:
        digits = [_UNITS.get(w) for w in re.split(r"[\s-]+", decimals)]
        integer = _value(whole)
        if integer is not None and all(d is not None and d < 10 for d in digits):
            return float(f"{int(integer)}." + "".join(str(d) for d in digits))
    total, current = 0.0, 0.0
    for word in re.split(r"[\s-]+", phrase):
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
        elif word in _MULTIPLES:
            current = current * _MULTIPLES[word] if current else _MULTIPLES[word]
    return total + current


def _numbers(text: str) -> set[float]:
    found = set()
    for match in _NUMBER_RE.finditer(text):
        value = _value(match.group())
        if value is not None:
            found.add(value)
            # "two or three" / "2-3": each listed number counts on its own too
            pieces = re.split(r"[\s-]+|\band\b", match.group())
            found.update(v for w in pieces if w.strip() and (v := _value(w)) is not None)
    return found


@dataclass(frozen=True)
class TranscriptFacts:
    """What the transcript holds, indexed once for checking many sentences."""

    lower: str
    words: frozenset[str]
    numbers: frozenset[float]
    #: (therapist question or "", client answer) pairs, lower-cased, for checking denials.
    exchanges: tuple[tuple[str, str], ...]


@lru_cache(maxsize=64)
def facts_of(transcript: str) -> TranscriptFacts:
    """The index of `transcript` used by `unsupported` (cached: one note checks many sentences)."""
    lower = transcript.lower()
    turns = parse_turns(transcript)
    exchanges, previous = [], ""
    for turn in turns:
        if is_clinician(turn.speaker):
            previous = turn.text.lower()
        else:
            exchanges.append((previous, turn.text.lower()))
            previous = ""
    if not any(is_clinician(t.speaker) for t in turns):
        exchanges = [("", t.text.lower()) for t in turns]
    return TranscriptFacts(
        lower=lower,
        words=frozenset(w for t in _WORD_RE.findall(lower) for w in (t, _POSSESSIVE_RE.sub("", t))),
        numbers=frozenset(_numbers(transcript)),
        exchanges=tuple(exchanges),
    )


def _in_transcript(term: str, facts: TranscriptFacts) -> bool:
    term = term.lower().strip(".")
    if " " in term or "-" in term:
        return term in facts.lower
    return term in facts.words or term.rstrip("s") in facts.words


def _stem(word: str) -> str:
    """A crude stem: the first four letters ("smoking", "smoke" and "smoker" agree), with
    synonyms of one topic made one."""
    return _SYNONYMS.get(word[:4], word[:4])


def _denial_supported(sentence: str, match: re.Match[str], facts: TranscriptFacts) -> bool:
    """Whether the client denied what the sentence says they denied, in the transcript."""
    # The clause around the denial: "denied suicidal thoughts", "suicidal thoughts were denied".
    before = re.split(r"[.;,]|\bbut\b|\band\b", sentence[: match.start()])[-1]
    after = re.split(r"[.;]|\bbut\b", sentence[match.end() :], maxsplit=1)[0]
    topic = [w for w in _WORD_RE.findall(f"{before} {match.group()} {after}".lower()) if w not in _STOPWORDS]
    topic = [w for w in topic if not _DENIAL_RE.fullmatch(w) and w not in {"no", "negative"}]
    stems = {_stem(w) for w in topic if len(w) > 2}
    if not stems:
        return False
    for question, answer in facts.exchanges:
        answer_stems = {_stem(w) for w in _WORD_RE.findall(answer)}
        question_stems = {_stem(w) for w in _WORD_RE.findall(question)}
        if not _NEGATION_RE.search(answer):
            continue
        if stems & answer_stems or (stems & question_stems and _NEGATION_RE.match(answer)):
            return True
    return False


def unsupported(sentence: str, transcript: str) -> list[str]:
    """Why `sentence` states something `transcript` does not hold: reasons from `REASONS`, or []."""
    facts = facts_of(transcript)
    reasons: list[str] = ["register"] if REGISTER_RE.search(sentence) else []
    ages = list(_AGE_RE.finditer(sentence))
    if any(not (_numbers(m.group()) <= facts.numbers) for m in ages):
        reasons.append("age")
    rest = _AGE_RE.sub(" ", sentence)
    numbers = _numbers(_DATE_RE.sub(" ", rest)) - _FREE_NUMBERS
    if not numbers <= facts.numbers:
        reasons.append("number")
    for match in _DATE_RE.finditer(rest):
        word = match.group().lower().split()[0].strip(".")
        if word in _AMBIGUOUS_MONTHS and not match.group()[0].isupper():
            continue
        numbers_in = _numbers(match.group())
        if not _in_transcript(word, facts) or not numbers_in <= facts.numbers:
            reasons.append("date")
            break
    medications = {m.group().lower() for m in _MEDICATION_SUFFIX_RE.finditer(sentence)}
    medications |= {w for w in _WORD_RE.findall(sentence.lower()) if w in _MEDICATIONS}
    if _DOSE_RE.search(sentence) and not _DOSE_RE.search(facts.lower):
        medications.add("dose")
    if any(not _in_transcript(m, facts) for m in medications):
        reasons.append("medication")
    names = [w for w in _CAPITALISED_RE.findall(sentence) if w.split("-")[0] not in _NOT_NAMES]
    if any(not _in_transcript(_POSSESSIVE_RE.sub("", w), facts) for w in names if not _DATE_RE.fullmatch(w)):
        reasons.append("name")
    if any(not _in_transcript(m.group(), facts) for m in _DEMOGRAPHIC_RE.finditer(sentence)):
        reasons.append("demographic")
    denial = _DENIAL_RE.search(sentence)
    if denial and not _denial_supported(sentence, denial, facts):
        reasons.append("denial")
    return reasons


_ABBREVIATION_RE = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Mx|St|vs|etc|e\.g|i\.e|approx)\.$", re.I)


def note_sentences(text: str) -> list[str]:
    """Sentences of note text, not split after "Dr." or "e.g."."""
    out: list[str] = []
    for piece in sentences(text):
        if out and _ABBREVIATION_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


_LOOP_RE = re.compile(r"\b((?:\w+\W+){2,8}?)\1{2,}", re.I)


def _words(sentence: str) -> list[str]:
    return _WORD_RE.findall(sentence.lower())


def _similar(a: list[str], b: list[str]) -> bool:
    """Near-duplicate sentences: same words, or one's words almost all inside the other's."""
    if not a or not b:
        return False
    sa, sb = set(a), set(b)
    overlap = len(sa & sb) / min(len(sa), len(sb))
    return sa == sb or (min(len(sa), len(sb)) >= 4 and overlap >= 0.8)


def _looping(sentence: str) -> bool:
    """A repetition loop: a phrase of 2-8 words said three times in a row, or a word run."""
    if _LOOP_RE.search(sentence + " "):
        return True
    words = _words(sentence)
    if len(words) >= 12:
        top = Counter(w for w in words if w not in _STOPWORDS).most_common(1)
        return bool(top) and top[0][1] / len(words) > 0.3
    return False


@dataclass
class GroundingReport:
    """Counts of what the guard removed; never text."""

    removed: Counter[str] = field(default_factory=Counter)
    sentences_in: int = 0
    sentences_kept: int = 0
    extracted_sections: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {
            "sentences_in": self.sentences_in,
            "sentences_kept": self.sentences_kept,
            "removed": {reason: self.removed[reason] for reason in sorted(self.removed)},
            "extracted_sections": list(self.extracted_sections),
        }


def ground_text(
    sections: Mapping[str, str], transcript: str, order: list[str] | None = None
) -> tuple[dict[str, str], GroundingReport]:
    """`sections` with unsupported, repeated and looping sentences removed (empty sections stay
    empty: see `ground_sections` for the extractive fill)."""
    report = GroundingReport()
    seen: list[list[str]] = []
    kept: dict[str, str] = {}
    for key in order or list(sections):
        out = []
        for sentence in note_sentences(sections.get(key, "")):
            report.sentences_in += 1
            words = _words(sentence)
            if not words:
                continue
            if _looping(sentence):
                report.removed["loop"] += 1
                continue
            reasons = unsupported(sentence, transcript)
            if reasons:
                report.removed.update(reasons[:1])
                continue
            if any(_similar(words, other) for other in seen):
                report.removed["duplicate"] += 1
                continue
            seen.append(words)
            out.append(sentence)
        kept[key] = " ".join(out)
        report.sentences_kept += len(out)
    return kept, report


def ground_sections(
    sections: Mapping[str, str], prepared: PreparedTranscript, note_format: NoteFormat
) -> tuple[dict[str, str], GroundingReport]:
    """The guarded sections of a note in `note_format` for `prepared`.

    A section left empty takes the text of the deterministic extractive note's section
    (`models.notes.fallback_note`) and is listed in the report's `extracted_sections`.
    """
    order = list(SECTIONS[NoteFormat(note_format)])
    kept, report = ground_text(sections, prepared.text, order)
    empty = [key for key in order if not kept.get(key)]
    if empty:
        from models.notes import fallback_note  # notes -> risk -> text; no cycle back to here

        extractive = fallback_note(prepared.text, note_format, prepared.risk_flags).sections
        for key in empty:
            kept[key] = extractive[key]
            report.extracted_sections.append(key)
    return kept, report
