"""Evaluation metrics: ROUGE and BLEU against references, and clinical checks on a note.

Every per-example function returns a flat dict of numbers in [0, 1], so `mean_scores` can
average any mix of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

from schemas.notes import SECTIONS, SUMMARY_MAX_WORDS, SUMMARY_MIN_WORDS, Note

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: A number: digits not glued to a preceding letter, with thousands separators and decimals.
_NUMBER = re.compile(r"(?<![A-Za-z\d.])\d+(?:,\d{3})*(?:\.\d+)?")
#: A list marker: '12.' or '3)' opening a line, or one digit after a sentence, before a capital.
_LIST_MARKER = re.compile(
    r"(?:^[ \t]*\d{1,2}|(?<=[.:;] )[1-9]|(?<=[.:;]  )[1-9])[.)]\s+(?=[A-Z])", re.MULTILINE
)
_WORD = re.compile(r"[a-z]+")
_CLAUSE_END = re.compile(r"[.,;:!?()\[\]\n]")

#: Common drugs (generic and brand names) that the suffix patterns below do not catch.
DRUGS = frozenset(
    """
    acetaminophen tylenol advil motrin aleve aspirin naproxen tramadol oxycodone hydrocodone
    morphine codeine fentanyl methadone buprenorphine suboxone naloxone narcan naltrexone
    vivitrol gabapentin pregabalin lyrica metformin insulin lantus humalog novolog glipizide
    glyburide glimepiride pioglitazone ozempic semaglutide trulicity januvia jardiance farxiga
    levothyroxine synthroid hydrochlorothiazide chlorthalidone furosemide lasix spironolactone
    warfarin coumadin apixaban eliquis rivaroxaban xarelto clopidogrel plavix lipitor crestor
    zocor prilosec nexium protonix pepcid zofran ondansetron prednisone albuterol ventolin
    flonase singulair montelukast cetirizine zyrtec loratadine claritin diphenhydramine benadryl
    augmentin azithromycin zithromax cephalexin keflex clindamycin bactrim sulfamethoxazole
    trimethoprim nitrofurantoin macrobid metronidazole flagyl fluconazole diflucan acyclovir
    valacyclovir valtrex tamiflu allopurinol colchicine meloxicam celecoxib celebrex
    cyclobenzaprine flexeril baclofen tizanidine imitrex flomax tamsulosin finasteride viagra
    cialis estradiol progesterone testosterone methotrexate humira nitroglycerin digoxin
    amiodarone diltiazem verapamil keppra levetiracetam phenytoin dilantin donepezil aricept
    memantine levodopa sinemet guaifenesin mucinex pseudoephedrine sudafed epinephrine epipen
    sertraline zoloft prozac paxil citalopram escitalopram lexapro celexa venlafaxine effexor
    cymbalta bupropion wellbutrin remeron trazodone nefazodone lithium lamotrigine lamictal
    valproate depakote divalproex topiramate topamax seroquel zyprexa risperidone risperdal
    aripiprazole abilify haloperidol haldol ziprasidone lurasidone latuda paliperidone
    alprazolam xanax klonopin ativan valium buspirone hydroxyzine zolpidem ambien melatonin
    methylphenidate ritalin concerta adderall amphetamine lisdexamfetamine vyvanse strattera
    guanfacine clonidine prazosin disulfiram antabuse acamprosate varenicline chantix
    """.split()  # noqa: SIM905 (a word list reads better than 190 quoted strings)
)
#: Drug-class name endings (lisinopril, metoprolol, atorvastatin, losartan, ...).
_DRUG_SUFFIX = re.compile(
    r"[a-z]{3,}(?:pril|olol|statin|sartan|azepam|azolam|oxetine|pine|mab|cycline|cillin"
    r"|floxacin|prazole|tidine|triptan|gliptin|gliflozin|dronate|setron|parin|afil|profen"
    r"|caine|asone|olone|triptyline|pramine|azine|xaban)$"
)
#: Ordinary words the suffix patterns would take for drugs.
_NOT_DRUGS = frozenset({"porcupine", "magazine"})

# Number words, so that 'seventy six' in a transcript supports '76' in a note.
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety"
_WORDS_0_19 = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen"
)
_ORDINALS_1_19 = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    " thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth"
)
_SMALL = {w: i for i, w in enumerate(_WORDS_0_19.split())}
_SMALL.update((w, i) for i, w in enumerate(_ORDINALS_1_19.split(), 1))
_TENS = {w: 10 * i for i, w in enumerate(_TENS_WORDS.split(), 2)}
_TENS.update((w[:-1] + "ieth", v) for w, v in list(_TENS.items()))  # twentieth, thirtieth, ...
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORDS = {*_SMALL, *_TENS, *_SCALES}
_JOINERS = ("and", "point")
_MONTHS = "january february march april may june july august september october november december"


def _lines(text: str) -> str:
    """One sentence per line, as rougeLsum expects."""
    return "\n".join(s for line in text.splitlines() for s in _SENTENCE_END.split(line.strip()) if s)


@cache
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=True)


def rouge_scores(pred: str, ref: str) -> dict[str, float]:
    """ROUGE-1/2/L/Lsum F1 of one prediction (rouge-score with stemming)."""
    scores = _rouge_scorer().score(_lines(ref), _lines(pred))
    return {k: scores[k].fmeasure for k in ROUGE_KEYS}


def _check_lengths(preds: Sequence[str], refs: Sequence[str]) -> None:
    if len(preds) != len(refs) or not preds:
        raise ValueError(f"need as many predictions as references, at least one: {len(preds)}/{len(refs)}")


def rouge(preds: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L/Lsum F1 over prediction/reference pairs."""
    _check_lengths(preds, refs)
    return mean_scores(rouge_scores(p, r) for p, r in zip(preds, refs, strict=True))


def bleu(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, one reference per prediction) scaled to [0, 1]."""
    import sacrebleu

    _check_lengths(preds, refs)
    return sacrebleu.corpus_bleu(list(preds), [list(refs)]).score / 100


def sentence_bleu(pred: str, ref: str) -> float:
    """BLEU of one prediction (sacrebleu sentence BLEU, smoothed) scaled to [0, 1]."""
    import sacrebleu

    return sacrebleu.sentence_bleu(pred, [ref]).score / 100


def _canonical(number: str | float) -> str:
    value = float(str(number).replace(",", ""))
    return str(int(value)) if value == int(value) else f"{value:g}"


def _run_values(run: list[str]) -> tuple[float, set[str]]:
    """(the value, other readings) of a run of number words without 'and' or 'point'."""
    total = current = 0
    chunks: list[int] = []
    for w in run:
        if w == "hundred":
            current = max(current, 1) * 100
        elif w in _SCALES:
            total, current = total + max(current, 1) * _SCALES[w], 0
        else:
            v = _SMALL.get(w, _TENS.get(w, 0))
            if chunks and chunks[-1] in _TENS.values() and 0 < v < 10:
                chunks[-1] += v  # 'seventy six' is one chunk, 'one twenty' two
            else:
                chunks.append(v)
            current += v
    readings = {str(c) for c in chunks} | {"".join(str(c) for c in chunks)}
    readings.update(f"{a}{b}" for a, b in zip(chunks, chunks[1:], strict=False))
    return total + current, readings


def _spoken_numbers(words: list[str]) -> set[str]:
    """Values that runs of number words can stand for: 'seventy six' -> 76, 'one twenty' ->
    1, 20 and 120, 'nineteen ninety eight' -> 1998, 'two thousand eight' -> 2008, 'ninety eight
    point six' -> 98.6, 'two and a half' -> 2.5, 'march' -> 3."""
    values = {str(i) for i, month in enumerate(_MONTHS.split(), 1) if month in words}
    values.update({"0.5"} if "half" in words else set())
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (words[j] in _NUMBER_WORDS or (j > i and words[j] in _JOINERS)):
            j += 1
        while j > i and words[j - 1] in _JOINERS:
            j -= 1
        if j == i:
            i += 1
            continue
        whole, _, decimals = (" ".join(words[i:j]) + " ").partition(" point ")
        value, readings = _run_values([w for w in whole.split() if w != "and"])
        values |= readings | {_canonical(value)}
        digits = "".join(str(_SMALL.get(w, "")) for w in decimals.split())
        if digits:
            values.add(_canonical(f"{value}.{digits}"))
        if words[j : j + 3] == ["and", "a", "half"]:
            values.add(_canonical(value + 0.5))
        i = j
    return values


def _numbers(text: str) -> set[str]:
    return {_canonical(m) for m in _NUMBER.findall(_LIST_MARKER.sub(" ", text))}


def drug_names(text: str) -> set[str]:
    """Lower-case drug names in `text`: the built-in list plus drug-class suffixes."""
    return {
        w
        for w in _WORD.findall(text.lower())
        if w in DRUGS or (_DRUG_SUFFIX.fullmatch(w) and w not in _NOT_DRUGS)
    }


def unsupported_share(text: str, transcript: str) -> float:
    """Share of the distinct numbers and drug names in `text` that the transcript lacks.

    Numbers match by value, also against number words in the transcript ('seventy six' supports
    76, within one clause); drug names match as words, so a brand name does not support its
    generic. List markers ('1.' opening a line or a sentence) are not numbers. A text without
    numbers or drug names scores 0.0.
    """
    words = _WORD.findall(transcript.lower())
    known_numbers = _numbers(transcript)
    for clause in _CLAUSE_END.split(transcript.lower()):
        known_numbers |= _spoken_numbers(_WORD.findall(clause))
    claims = [(n, n in known_numbers) for n in _numbers(text)]
    claims += [(d, d in set(words)) for d in drug_names(text)]
    if not claims:
        return 0.0
    return sum(1 for _, supported in claims if not supported) / len(claims)


def sections_present(note: Note) -> float:
    """Share of its format's sections that the note fills with text."""
    names = SECTIONS[note.format]
    return sum(1 for name in names if note.sections.get(name, "").strip()) / len(names)


def summary_in_range(note: Note) -> float:
    """1.0 when the summary has 30 to 70 words (`models.text.word_count`), else 0.0."""
    from models.text import word_count

    return float(SUMMARY_MIN_WORDS <= word_count(note.summary) <= SUMMARY_MAX_WORDS)


def risk_scores(note: Note, transcript: str) -> dict[str, float]:
    """Risk-flag recall and precision by category against `models.risk.scan(transcript)`.

    Flags match by category. With nothing to find, recall is 1.0 (nothing was missed); with
    nothing flagged, precision is 1.0 (no false alarm). Per category, `risk_recall/<category>` is
    present only when the scan finds that category (1.0 if the note flags it) and
    `risk_precision/<category>` only when the note flags it (1.0 if the scan finds it), so
    `mean_scores` over a data set gives each category's recall and precision.
    """
    from models.risk import scan

    expected = {f.category.value for f in scan(transcript)}
    flagged = {f.category.value for f in note.risk_flags}
    hits = expected & flagged
    scores = {
        "risk_recall": len(hits) / len(expected) if expected else 1.0,
        "risk_precision": len(hits) / len(flagged) if flagged else 1.0,
    }
    scores.update((f"risk_recall/{c}", float(c in flagged)) for c in expected)
    scores.update((f"risk_precision/{c}", float(c in expected)) for c in flagged)
    return scores


#: Medical-record language that has no place in a psychotherapy note: demographic openings,
#: physical examination, vital signs, body systems and medical-record headings. Independent of
#: the guard's own pattern (`models.grounding`), so it measures the guard instead of echoing it.
MEDICAL_REGISTER_RE = re.compile(
    r"\bthe patient\b|\bpatient['’]s\b"
    r"|\b(?:is|was|a|an)\s+(?:\w+[\s-])?(?:year|yr)s?[\s-]+old\s+(?:male|female|man|woman|gentleman|lady|patient)\b"
    r"|\b(?:male|female)\b(?!\s+(?:friends?|colleagues?|co-?workers?|boss|relatives?|staff|therapist))"
    r"|\b(?:physical|neurologic(?:al)?|abdominal|cardiac|pelvic|rectal|skin|pulmonary) exam(?:ination)?\b"
    r"|\bon exam(?:ination)?\b|\bexamination (?:reveals|revealed|shows|showed|was)\b"
    r"|\bvital signs?\b|\bvitals\b|\bblood pressure (?:is|was|of|\d)|\bheart rate (?:is|was|of|\d)"
    r"|\brespiratory rate\b|\bbmi\b|\boxygen saturation\b|\bheent\b|\bauscultation\b|\bpalpation\b"
    r"|\blungs? (?:are |were |is |was )?(?:clear|sounds)\b"
    r"|\babdomen (?:is |was )?(?:soft|tender|non-?tender|distended)"
    r"|\bextremities\b|\bmurmurs?\b|\bbowel sounds\b|\bedema\b|\bafebrile\b|\bnormocephalic\b"
    r"|\bden(?:y|ies|ied) (?:any )?(?:chest pain|fever|chills|nausea|vomiting|shortness of breath|dizziness)"
    r"|\bhistory of present illness\b|\bhpi\b|\bchief complaint\b|\breview of systems\b"
    r"|\bpast (?:medical|surgical) history\b|\bno acute distress\b|\bwell[- ](?:developed|nourished)\b",
    re.I,
)
#: A quoted span: the client's own words, whose register is theirs, not the note's.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"\n]*\"")
#: Reasons of `models.grounding.unsupported` that are invented facts of each kind.
_FACT_REASONS = {"number": {"number", "age", "date"}, "medication": {"medication"}}


def note_sentences_by_section(note: Note) -> list[tuple[str, str]]:
    """(section, sentence) of every sentence of the note's sections (summary and risk block left
    out: the summary repeats the sections by design)."""
    from models.grounding import note_sentences

    return [(key, s) for key, text in note.sections.items() for s in note_sentences(text)]


def _fact_reasons(sentence: str, transcript: str, unsupported) -> set[str]:
    """`unsupported` reasons of a sentence; register and demographic words inside quotations are
    the client's own words and do not count."""
    reasons = set(unsupported(sentence, transcript))
    if reasons & {"register", "demographic"} and _QUOTED.search(sentence):
        unquoted = set(unsupported(_QUOTED.sub(" ", sentence), transcript))
        reasons -= {"register", "demographic"} - unquoted
    return reasons


def unsupported_facts(note: Note, transcript: str) -> dict[str, float]:
    """Reference-free: the share of the note's sentences for which `models.grounding.unsupported`
    finds a fact the transcript lacks, and 0/1 per note for any unsupported number (or age or
    date), medication, or either (`unsupported_fact_note`)."""
    from models.grounding import unsupported

    reasons = [_fact_reasons(s, transcript, unsupported) for _, s in note_sentences_by_section(note)]
    found = set().union(*reasons) if reasons else set()
    by_kind = {kind: float(bool(found & names)) for kind, names in _FACT_REASONS.items()}
    return {
        "unsupported_sentence_rate": sum(1 for r in reasons if r) / len(reasons) if reasons else 0.0,
        "unsupported_number_note": by_kind["number"],
        "unsupported_medication_note": by_kind["medication"],
        "unsupported_fact_note": max(by_kind.values()),
    }


def medical_register(note: Note) -> dict[str, float]:
    """Reference-free: the share of the note's sentences in medical-record register
    (`MEDICAL_REGISTER_RE`, outside quotations), and 1.0 for a note with any such sentence."""
    sentences = [_QUOTED.sub(" ", s) for _, s in note_sentences_by_section(note)]
    hits = sum(1 for s in sentences if MEDICAL_REGISTER_RE.search(s))
    return {
        "medical_register_rate": hits / len(sentences) if sentences else 0.0,
        "medical_register_note": float(hits > 0),
    }


def section_duplication(note: Note) -> dict[str, float]:
    """Reference-free: ROUGE-L F1 between every pair of non-empty sections of one note, the
    largest and the mean (0.0 for a note with fewer than two non-empty sections)."""
    texts = [t for t in note.sections.values() if t.strip()]
    pairs = [(a, b) for i, a in enumerate(texts) for b in texts[i + 1 :]]
    scores = [_rouge_scorer().score(_lines(a), _lines(b))["rougeL"].fmeasure for a, b in pairs]
    return {
        "duplication_max": max(scores, default=0.0),
        "duplication_mean": sum(scores) / len(scores) if scores else 0.0,
    }


def section_sources(note: Note, info: Mapping[str, object] | None = None) -> dict[str, float]:
    """From the note and its metadata: the share of the format's sections left empty, the share
    filled by the extractive path (`extracted_sections` in the metadata or in its `grounding`
    report), and 1.0 for a fallback note (source `fallback`)."""
    info = info or {}
    names = SECTIONS[note.format]
    grounding = info.get("grounding")
    extracted = info.get("extracted_sections") or (
        grounding.get("extracted_sections") if isinstance(grounding, Mapping) else None
    )
    fallback = info.get("source") == "fallback"
    return {
        "empty_sections": sum(1 for n in names if not note.sections.get(n, "").strip()) / len(names),
        "extracted_sections": 1.0 if fallback else len(set(extracted or ()) & set(names)) / len(names),
        "fallback": float(fallback),
    }


def note_checks(note: Note, transcript: str, info: Mapping[str, object] | None = None) -> dict[str, float]:
    """All clinical checks of one note: sections, summary length, risk flags, unsupported facts,
    medical register, duplication between sections and where the sections came from."""
    text = note.text or "\n".join(note.sections.values())
    return {
        "sections_present": sections_present(note),
        "summary_in_range": summary_in_range(note),
        **risk_scores(note, transcript),
        "unsupported_share": unsupported_share(text, transcript),
        **unsupported_facts(note, transcript),
        **medical_register(note),
        **section_duplication(note),
        **section_sources(note, info),
    }


def mean_scores(rows: Iterable[Mapping[str, object]]) -> dict[str, float]:
    """Mean of each key over the rows that have it; values must be numbers (bools count 0/1)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            if isinstance(value, int | float):
                sums[key] = sums.get(key, 0.0) + float(value)
                counts[key] = counts.get(key, 0) + 1
    return {key: sums[key] / counts[key] for key in sums}


def plot_runs(
    png_path: Path,
    runs: Sequence[Mapping],
    keys: Sequence[str],
    label: Callable[[Mapping], str],
    *,
    inches_per_key: float,
    height: float,
    rotation: int,
    tick_fontsize: str | None = None,
) -> Path:
    """A bar chart at `png_path`: one group of bars per metric in `keys`, one bar per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6.0, inches_per_key * len(keys)), height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(keys))]
        ax.bar(xs, [run["metrics"].get(k, 0.0) for k in keys], width, label=label(run))
    ax.set_xticks(range(len(keys)), keys, rotation=rotation, ha="right", fontsize=tick_fontsize)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    return png_path
