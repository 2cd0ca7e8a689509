"""What the therapist did in a session, named by deterministic rules over the therapist's turns.

Each technique is a set of patterns matched against the sentences of the clinician's turns
(`models.text.is_clinician`); a technique counts as used when at least `min_count` sentences
match. `describe` names the techniques found in one therapy-register sentence for the
observation (SOAP objective), intervention (BIRP) or data (DAP) section:

    The therapist used open questions, reflective listening and an importance ruler, explored
    the pros and cons of drinking and provided psychoeducation about sleep.

Only words of the rules and, for topics, words the transcript itself holds appear in it, so the
sentence never states a fact the session lacks. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from models.text import Turn, is_clinician, normalize, parse_turns, sentences, with_roles, word_count

#: Words that open a spoken sentence without changing what it does ("So, what ...").
_FILLER = re.compile(
    r"^(?:(?:so|and|but|okay|ok|well|now|then|um+|uh+|right|alright|yeah|mm+|hmm+|mhm)\b[,.]?\s*)+", re.I
)
#: Topics a psychoeducation or pros-and-cons sentence may name (only when the sentence holds them).
_TOPICS = (
    "anxiety", "panic", "worry", "sleep", "insomnia", "depression", "low mood", "mood", "grief",
    "anger", "stress", "trauma", "avoidance", "alcohol", "drinking", "cannabis", "smoking",
    "nicotine", "gambling", "caffeine", "cravings", "urges", "withdrawal", "relapse", "pain",
    "rumination", "self-criticism", "habits", "medication", "eating", "exercise",
)  # fmt: skip
_TOPIC_RE = re.compile(r"\b(" + "|".join(re.escape(t) for t in _TOPICS) + r")\b", re.I)
#: The behaviour weighed in a pros-and-cons question: "good things about drinking".
_WEIGHED_RE = re.compile(
    r"\b(?:about|of|from)\s+(?:your\s+|the\s+|all\s+(?:the|that|this)\s+)?"
    r"(drinking|smoking|vaping|gambling|using|cannabis|alcohol|weed|drugs|the\s+app|staying|leaving"
    r"|quitting|stopping|cutting\s+(?:back|down)|changing|[a-z]+ing)\b",
    re.I,
)
#: Role labels a note may use for the clinician as the transcript does.
_TITLES = frozenset({"therapist", "counselor", "counsellor", "clinician", "psychotherapist", "psychologist"})
_NOT_WEIGHED = frozenset({"thing", "something", "anything", "nothing", "everything", "feeling", "morning",
                          "evening", "being", "going", "doing", "saying", "thinking", "having"})  # fmt: skip


@dataclass(frozen=True)
class Technique:
    key: str
    #: Sentences that show the technique (case-insensitive, searched anywhere in the sentence).
    patterns: tuple[str, ...]
    min_count: int = 1
    #: Only sentences that end with "?" (questions) count.
    questions_only: bool = False
    #: Sentences that start (after fillers) with one of these count; a second way to match.
    openers: tuple[str, ...] = ()
    #: Sentences that match any of these never count.
    exclude: tuple[str, ...] = ()
    regex: re.Pattern = field(init=False, repr=False, compare=False)
    opener_regex: re.Pattern | None = field(init=False, repr=False, compare=False)
    exclude_regex: re.Pattern | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        join = "|".join
        object.__setattr__(self, "regex", re.compile(join(f"(?:{p})" for p in self.patterns), re.I))
        opener = re.compile(rf"^(?:{join(self.openers)})\b", re.I) if self.openers else None
        object.__setattr__(self, "opener_regex", opener)
        excl = re.compile(join(f"(?:{p})" for p in self.exclude), re.I) if self.exclude else None
        object.__setattr__(self, "exclude_regex", excl)

    def matches(self, sentence: str) -> bool:
        """Whether one therapist sentence shows this technique."""
        if self.questions_only and not sentence.rstrip().endswith("?"):
            return False
        body = _FILLER.sub("", sentence)
        if self.exclude_regex is not None and self.exclude_regex.search(body):
            return False
        if self.opener_regex is not None and self.opener_regex.search(body):
            return True
        return bool(self.patterns) and bool(self.regex.search(body))


_DIRECTIVE = r"^(?:you (?:could|should|can|might|may|need|have to|must|will|'ll)|you know\b)|^you['’]ll\b"
TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "open_questions",
        min_count=2,
        questions_only=True,
        openers=(
            "what",
            "how",
            "why",
            "in what ways?",
            "tell me",
            "describe",
            "walk me through",
            "can you (?:tell|say|describe|walk)",
            "could you (?:tell|say|describe|walk)",
            "where",
            "when you",
            "which",
        ),
        exclude=(r"^(?:how are you|how's it going|how are things)\W*\?$",),
        # "If you imagine a year from now, what does that look like?": the last clause asks.
        patterns=(r",\s*(?:what|how|why)\b[^,]*\?$",),
    ),
    Technique(
        "reflections",
        (
            r"^(?:it )?(?:sounds|seems|feels) (?:like|as if|as though)\b",
            r"^(?:it )?sounds (?:really |very |pretty )?\w+",
            r"^what i(?:['’]m| am)? hear(?:ing)?\b",
            r"^i hear (?:you|that)\b",
            r"^(?:so )?you(?:['’]re| are) (?:feeling|saying|"
            r"worried|wondering|noticing|not sure|torn|tired|scared|afraid|frustrated|angry|sad|hoping"
            r"|stuck|caught)\b",
            r"^you(?:['’]ve| have) (?:been|noticed|found|started|had)\b",
            r"^you (?:feel|felt|want|wanted|don['’]t want|"
            r"really|also|care|miss|wish|see|noticed|found|said|mentioned)\b",
            r"^part of you\b",
            r"^on (?:the )?one hand\b",
            r"^(?:so )?it['’]s like\b",
            r"^(?:so )?for you\b",
            # Any statement about the client ("You keep it out of the house."), directives aside.
            r"^you(?:['’](?:re|ve|d))?\s+\w+[^?]*[.!…]?$",
        ),
        min_count=2,
        exclude=(_DIRECTIVE,),
    ),
    Technique(
        "affirmations",
        (
            r"\b(?:took|takes|showed|shows) (?:a lot of |real |some )?(?:courage|strength|guts|honesty"
            r"|effort)\b",
            r"\bwell done\b",
            r"\bgood for you\b",
            r"\byou should be proud\b",
            r"\bi(?:['’]m| am) (?:really )?(?:impressed|proud)\b",
            r"\bi (?:really )?(?:appreciate|admire|respect) (?:your|how|that you|you)\b",
            r"\bthat['’]s (?:a |an )?(?:real |big |huge |great |important |impressive )(?:step|achievement"
            r"|change|"
            r"progress|effort|insight|strength|win)\b",
            r"\byou(?:['’]ve| have) (?:worked|tried) (?:really )?hard\b",
            r"\byou(?:['’]re| are) (?:clearly |really )?(?:someone who|a (?:caring|committed|determined"
            r"|resourceful))\b",
            r"\b(?:says|shows) a lot about you\b",
            r"\bthat['’]s a strength\b",
            r"\b(?:real|a lot of) strength\b",
            r"^that['’]s (?:a |an )?(?:really )?(?:important|lovely|good|great|wonderful|helpful|powerful"
            r"|brave|honest)"
            r" (?:thing|image|point|idea|insight|question|observation|plan|step|choice|decision)\b",
            r"^(?:that )?sounds (?:really )?(?:thoughtful|wise|sensible|like a (?:good|great|solid|wise"
            r"|sensible))\b",
            r"^you(?:['’]ve| have) (?:done|managed) (?:it|this|that|hard things)\b",
        ),
    ),
    Technique(
        "summaries",
        (
            r"\blet me (?:summari[sz]e|recap|pull|see if i|make sure i|check (?:that |if )?i)\b",
            r"\b(?:to|just to) (?:summari[sz]e|recap|sum (?:it |this |that )?up|pull (?:it|this|that|these"
            r"|things) together)\b",
            r"\bin summary\b",
            r"\bif i (?:put|pull) (?:this|that|it|these|all)\b",
            r"\bso far (?:you['’]ve|we['’]ve|i['’]ve)\b",
            r"\bwhat i['’]ve heard (?:so far|today)\b",
            r"\bif i['’]ve got (?:this|that|it) right\b",
            r"\blet me see if i['’]ve got\b",
            r"\blooking back (?:at|over) (?:today|this session|our)\b",
            r"^(?:so )?you(?:['’]ve| have) (?:talked|spoken|mentioned|said|told me|described)\b.*,.*,",
        ),
    ),
    Technique(
        "validation",
        (
            r"\b(?:that|it|this) makes (?:a lot of |complete |total |perfect |so much )?sense\b",
            r"\b(?:it['’]s|that['’]s|it is|that is) (?:completely |totally |really |very |so |entirely )?"
            r"(?:understandable|normal|natural|valid|okay to feel|ok to feel)\b",
            r"\banyone (?:would|might) (?:feel|be|struggle)\b",
            r"\bno wonder\b",
            r"\bi can (?:see|understand|imagine) (?:why|how)\b",
            r"^(?:that|it) sounds (?:really |so |very |incredibly |pretty )?(?:hard|difficult|painful|tough"
            r"|exhausting|"
            r"frustrating|overwhelming|scary|lonely|heavy|upsetting)\b",
            r"\bi['’]m (?:so |really )?sorry (?:for|about|to hear|that)\b",
        ),
    ),
    Technique(
        "scaling",
        (r"\bscale\b", r"\b(?:zero|0|one|1) (?:to|and) (?:ten|10)\b", r"\bout of (?:ten|10)\b", r"\bruler\b"),
    ),
    Technique(
        "psychoeducation",
        (
            r"\bwhat we know (?:about|is)\b",
            # Asking permission to inform: "Can I explain a couple of ideas about ...?"
            r"\b(?:would it be (?:ok|okay|alright|all right) if i|is it (?:ok|okay|alright) if i"
            r"|can i|could i|may i) (?:share|tell|give|offer|explain|say)\b",
            r"\b(?:very |quite |really )?common "
            r"(?:effect|pattern|reaction|response|experience|symptom|sign)\b",
            r"\bresearch (?:shows|suggests|tells)\b",
            r"\b(?:it['’]s|it is|that['’]s|that is) (?:really |very |quite |actually )?(?:common"
            r"|normal) (?:for|to|in|when|after)\b",
            r"\b(?:a lot of|many|most) people (?:who|with|find|experience|feel|notice|go through|in)\b",
            r"\b(?:is|are) (?:called|known as)\b",
            r"\bfight[- ]or[- ]flight\b",
            r"\b(?:the )?(?:body['’]s|brain['’]s) (?:alarm|way)\b",
            r"\bcycle of (?:anxiety|avoidance|panic|depression|worry)\b",
            r"\b(?:cognitive|cbt) (?:model|triangle)\b",
            r"\bthoughts,? feelings,? and (?:behaviou?rs|actions)\b",
            r"\bsleep hygiene\b",
            r"\b(?:alcohol|drinking|caffeine|nicotine|cannabis) (?:is a|acts as|actually|tends to|affects"
            r"|disrupts|interferes)\b",
            r"\bavoidance (?:keeps|maintains|makes|tends|feeds)\b",
            r"\bwhen we avoid\b",
            r"\b(?:grief|anxiety|panic|depression|worry) (?:is|isn['’]t|doesn['’]t|tends|often|can)\b.{20,}",
            r"\bpeak(?:s)? and (?:then )?(?:comes? down|falls?|passes?)\b",
            r"\bwaves?\b.*\b(?:urge|craving|panic|anxiety)\b",
        ),
    ),
    Technique(
        "cognitive_restructuring",
        (
            r"\bevidence\b",
            r"\bhow (?:strongly|much) (?:do|did) you believe\b",
            r"\bthought (?:column|diary|log)\b",
            r"\bwhat (?:is|was) your mind telling you\b",
            r"\b(?:another|other|a different|a more balanced|an alternative) (?:way|explanation|thought|"
            r"perspective|view|story)\b",
            r"\b(?:balanced|alternative|helpful|unhelpful) thoughts?\b",
            r"\bwhat would you (?:say|tell) (?:to )?(?:a|your) (?:friend|sister|brother|colleague)\b",
            r"\bthinking (?:trap|error|pattern)s?\b",
            r"\bthought (?:record|distortion)s?\b",
            r"\b(?:catastrophi[sz]|all[- ]or[- ]nothing|black[- ]and[- ]white|mind[- ]reading"
            r"|fortune[- ]telling|"
            r"overgenerali[sz])",
            r"\bhow (?:likely|realistic|accurate|true) is (?:it|that|this)\b",
            r"\bautomatic thoughts?\b",
            r"\bchallenge (?:that|the|this) thought\b",
            r"\bworst that could happen\b",
            r"\bbest friend\b.*\bsay\b",
        ),
    ),
    Technique(
        "ambivalence",
        (
            r"\bpros\b",
            r"\bcons\b",
            r"\b(?:good|not so good|not-so-good|less good|bad) things about\b",
            r"\b(?:upsides?|downsides?|benefits?|costs?) (?:of|to)\b",
            r"\bdecisional balance\b",
            r"\bpart of you\b",
            r"\bon (?:the )?one hand\b",
            r"\bwhat (?:do|would) you (?:like|enjoy|get out of)\b.*\babout\b",
            r"\bwhat (?:worries|concerns) you (?:about|most about)\b",
            r"\breasons? (?:to|for) (?:change|changing|stop|"
            r"stopping|cut|cutting|quit|quitting)\b",
            r"\bwhat would (?:be|make) (?:different|better) if\b",
        ),
    ),
    Technique(
        "values",
        (
            r"\bvalues\b",
            r"\bwhat matters\b",
            r"\bmatters? (?:most |the most )?to you\b",
            r"\bimportant to you\b",
            r"\bkind of (?:person|parent|partner|father|mother|dad|mum|mom|friend)\b.*\bbe\b",
            r"\bwho do you want to be\b",
        ),
        exclude=(r"\bscale\b", r"\b(?:zero|0|one|1) (?:to|and) (?:ten|10)\b", r"\bout of (?:ten|10)\b"),
    ),
    Technique(
        "behavioural_activation",
        (
            r"\bbehaviou?ral activation\b",
            r"\bactivity (?:schedule|log|diary|monitoring|plan)\b",
            r"\b(?:schedule|plan|pick|choose|add) (?:one|some|a few|an|a|two|three)? ?(?:small |pleasant "
            r"|enjoyable )?"
            r"(?:activit|pleasant|enjoyable|things? you (?:enjoy|used to))",
            r"\b(?:things|activities) (?:that )?(?:you )?(?:used to )?(?:enjoy|give you)\b",
            r"\bmastery\b",
            r"\bsense of (?:achievement|accomplishment|pleasure)\b",
        ),
    ),
    Technique(
        "exposure",
        (
            r"\bexposure\b",
            r"\b(?:fear|anxiety|exposure) (?:ladder|hierarchy)\b",
            r"\b(?:step|rung)s? (?:on|up) (?:the|your) ladder\b",
            r"\bladder\b",
            r"\bstay (?:in|with) (?:the|that|it) (?:situation|feeling|anxiety)?.*\buntil\b",
            r"\b(?:instead of|without) (?:avoiding|escaping|leaving|running)\b",
            r"\b(?:face|facing|approach) (?:the|your|that) fear\b",
            r"\bbehaviou?ral experiments?\b",
            r"\binteroceptive\b",
            r"\bbring(?:ing)? (?:on )?(?:the|those) sensations\b",
        ),
    ),
    Technique(
        "relaxation",
        (
            # Breathing practised or taught, not merely mentioned ("breathing fast when anxious").
            r"\b(?:slow|deep|belly|paced|calm|square|box|steady)\s+breath",
            r"\bbreathe (?:in|out)\b",
            r"\bbreath(?:e|ing)\b.*\b(?:exercise|technique|skill|practi[cs]e|try|together|count)\b",
            r"\b(?:exercise|technique|skill|practi[cs]e|try|let['’]s)\b.*\bbreath(?:e|ing)\b",
            r"\bgrounding\b",
            r"\b(?:five|5) things you can see\b",
            r"\b5-4-3-2-1\b",
            r"\bmuscle relaxation\b",
            r"\brelax(?:ation)? (?:exercise|technique|skill)s?\b",
            r"\bmindful(?:ness)?\b",
            r"\bbody scan\b",
            r"\bfeet on the floor\b",
        ),
        exclude=(
            r"\bout of breath\b",
            r"\bbreathing (?:problem|difficult)",
        ),
    ),
    Technique(
        "safety_planning",
        (
            r"\bsafety plan",
            r"\bcrisis (?:line|number|plan|team|service)\b",
            r"\bwarning signs?\b",
            r"\b(?:who|what) (?:could|can|would|will) you (?:call|reach out to|contact|text)\b.*\b(?:if"
            r"|when)\b",
            r"\b(?:remove|lock (?:up|away)|secure|get rid of|hand in) (?:the |your |any )?(?:pills"
            r"|medications?|means|weapons?|"
            r"firearms?|guns?|knives?|razors?)\b",
            r"\b988\b",
            r"\b(?:emergency|a&e|er) (?:room|department|services|number)\b",
        ),
    ),
    Technique(
        "risk_screening",
        (
            r"\bsuicid",
            r"\b(?:hurt|harm|kill)(?:ing)? yourself\b",
            r"\bself[- ]harm",
            r"\bend(?:ing)? your life\b",
            r"\b(?:want(?:ing)?|wish(?:ing)?) (?:to|you were) (?:die|dead|not (?:be )?here)\b",
            r"\bnot (?:being|be) here\b",
            r"\b(?:hurt|harm)(?:ing)? (?:anyone|someone|others|anybody)\b",
            r"\bsafe (?:at home|right now|to go home)\b",
            r"\bthoughts (?:of|about) (?:death|dying)\b",
            r"\blife (?:isn['’]t|is not|wasn['’]t|was not|not) worth living\b",
            r"\b(?:hurt|harm)(?:ing)? themsel(?:f|ves)\b",
        ),
        exclude=(r"\bsafety plan",),
    ),
    Technique(
        "homework_review",
        (
            r"\b(?:how did|how was|how were|how has|how have|let['’]s (?:start with|look at|go over|review)"
            r"|did you (?:manage|get a chance|try|do|fill|keep)|(?:can|should|shall) we look at)\b.*"
            r"\b(?:diary|log|homework|worksheet|tracker|thought record|practice|experiment)\b",
        ),
    ),
    Technique(
        "goal_setting",
        (
            r"\bgoals?\b",
            r"\bwhat would you like to (?:work on|change|get out of|achieve|focus on)\b",
            r"\b(?:first|small|next|realistic) steps?\b",
        ),
    ),
    Technique(
        "homework",
        (
            r"\bhomework\b",
            r"\bkeep (?:the|your|a) (?:\w+ )?(?:diary|log|journal|record|tracker)\b(?! of what we)",
            r"\b(?:worksheet|thought record|log|diary|journal|tracker)\b.*\b(?:week|between|before|next)\b",
            r"\b(?:this|over the|during the|before (?:next|our next)|between) (?:week|sessions?|now and)\b.*"
            r"\b(?:try|practi[cs]e|notice|write|keep|track|log|record|fill|complete|read)\b",
            r"\b(?:try|practi[cs]e|notice|write|keep|track|log|record|fill|complete|read)\b.*"
            r"\b(?:this|over the|during the|before (?:next|our next)|between) (?:week|sessions?|now and)\b",
            r"\b(?:before|until|by) (?:next|our next) (?:session|time|week)\b",
        ),
    ),
)
_BY_KEY = {t.key: t for t in TECHNIQUES}


@dataclass
class Found:
    """One technique found in a session: how many therapist sentences show it, and details."""

    key: str
    count: int = 0
    #: Words from those sentences that refine the wording (topics, ruler kinds), in order found.
    details: list[str] = field(default_factory=list)


def therapist_sentences(turns: Iterable[Turn]) -> list[str]:
    """The sentences of the clinician's turns, in order."""
    return [s for t in turns if is_clinician(t.speaker) for s in sentences(t.text)]


_REVIEWED_RE = re.compile(
    r"\b(?:(?:sleep|panic|thought|mood|drink(?:ing)?|activity|worry|food|urge) )?"
    r"(?:diary|log|homework|worksheet|tracker|thought record|experiment)\b",
    re.I,
)
_RISK_KINDS = {
    "suicidal thoughts": re.compile(
        r"suicid|kill(?:ing)? yourself|end(?:ing)? your life|\b(?:die|dead)\b|not (?:being|be) here"
        r"|worth living",
        re.I,
    ),
    "self-harm": re.compile(r"(?:hurt|harm)(?:ing)? (?:yourself|themsel(?:f|ves))|self[- ]harm", re.I),
    "thoughts of harming others": re.compile(
        r"(?:hurt|harm)(?:ing)? (?:anyone|someone|others|anybody)", re.I
    ),
    "safety at home": re.compile(r"safe (?:at home|to go home)", re.I),
}
_RELAXATION_KINDS = {
    "breath": "breathing", "ground": "grounding", "relax": "relaxation", "mindful": "mindfulness",
    "body scan": "mindfulness", "things you can see": "grounding", "feet on": "grounding",
    "5-4-3": "grounding",
}  # fmt: skip


def _details(key: str, sentence: str) -> list[str]:
    lower = sentence.lower()
    if key == "scaling":
        stems = {"importance": "importan", "confidence": "confiden", "readiness": "ready"}
        return [k for k, stem in stems.items() if stem in lower or k in lower]
    if key == "psychoeducation":
        return [m.group(1).lower() for m in _TOPIC_RE.finditer(sentence)]
    if key == "ambivalence":
        m = _WEIGHED_RE.search(sentence)
        word = " ".join(m.group(1).lower().split()) if m else ""
        return [word] if word and word not in _NOT_WEIGHED else []
    if key == "homework_review":
        m = _REVIEWED_RE.search(sentence)
        return [m.group(0).lower()] if m else []
    if key == "risk_screening":
        return [kind for kind, cue in _RISK_KINDS.items() if cue.search(sentence)]
    if key == "exposure":
        return ["experiment" if "experiment" in lower else "exposure"]
    if key == "relaxation":
        return [kind for cue, kind in _RELAXATION_KINDS.items() if cue in lower]
    return []


def detect(turns: Sequence[Turn]) -> dict[str, Found]:
    """The techniques the clinician's turns show at least `min_count` times, in `TECHNIQUES` order."""
    found = {t.key: Found(t.key) for t in TECHNIQUES}
    for sentence in therapist_sentences(turns):
        if word_count(sentence) < 2:
            continue
        for technique in TECHNIQUES:
            if technique.matches(sentence):
                f = found[technique.key]
                f.count += 1
                f.details += [d for d in _details(technique.key, sentence) if d not in f.details]
    return {k: f for k, f in found.items() if f.count >= _BY_KEY[k].min_count}


def _and(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'; with a serial comma when an item holds 'and' itself."""
    if len(items) == 1:
        return items[0]
    last = ", and " if any(" and " in item for item in items) and len(items) > 2 else " and "
    return ", ".join(items[:-1]) + last + items[-1]


def _ruler(details: list[str], count: int) -> str:
    if details:
        kinds = _and([d for d in ("importance", "confidence", "readiness") if d in details])
        return (
            f"{'an' if kinds[0] in 'aeiou' else 'a'} {kinds} ruler"
            if len(details) == 1
            else f"{kinds} rulers"
        )
    return "a scaling question" if count == 1 else "scaling questions"


#: Techniques named as tools the therapist used, in this order (scaling: see `_ruler`).
_USED = {
    "open_questions": "open questions",
    "reflections": "reflective listening",
    "affirmations": "affirmations",
    "summaries": "summaries",
    "scaling": "",
    "cognitive_restructuring": "cognitive restructuring",
    "behavioural_activation": "behavioural activation",
}
#: Techniques named by a verb phrase of their own, after the explored topics and psychoeducation.
_DONE = {
    "safety_planning": "reviewed a safety plan",
    "goal_setting": "set goals with the client",
    "homework": "assigned homework",
}


def phrases(found: Mapping[str, Found]) -> list[str]:
    """Verb phrases naming the techniques in `found`, in a fixed order (without a subject)."""
    used = [
        name or _ruler(found[key].details, found[key].count) for key, name in _USED.items() if key in found
    ]
    out = [f"reviewed the {found['homework_review'].details[0]}"] if "homework_review" in found else []
    out += [f"used {_and(used)}"] if used else []
    if "validation" in found:
        out.append("validated the client's feelings")
    explored = []
    if "ambivalence" in found:
        weighed = found["ambivalence"].details
        explored.append(f"the pros and cons of {weighed[0]}" if weighed else "ambivalence about change")
    if "values" in found:
        explored.append("the client's values")
    if explored:
        out.append(f"explored {_and(explored)}")
    if "psychoeducation" in found:
        topic = found["psychoeducation"].details
        out.append("provided psychoeducation" + (f" about {_and(topic[:2])}" if topic else ""))
    if "relaxation" in found:
        out.append(f"practised {_and(found['relaxation'].details or ['relaxation'])} skills")
    if "exposure" in found:
        kinds = found["exposure"].details
        out.append(
            "set up a behavioural experiment" if kinds == ["experiment"] else "planned graded exposure"
        )
    if "risk_screening" in found:
        out.append(f"screened for {_and(found['risk_screening'].details or ['risk'])}")
    return out + [phrase for key, phrase in _DONE.items() if key in found]


def clinician_title(turns: Sequence[Turn]) -> str:
    """How the note names the clinician: the transcript's own role label ("counselor") when it
    uses one, else "therapist"."""
    labels = Counter(t.speaker for t in turns if is_clinician(t.speaker))
    label = labels.most_common(1)[0][0] if labels else ""
    return label if label in _TITLES else "therapist"


def describe(found: Mapping[str, Found], clinician: str = "therapist") -> str:
    """One or two sentences naming the techniques found; "" when none were found."""
    parts = phrases(found)
    if not parts:
        return ""
    subject = f"The {clinician}"
    if len(parts) <= 4:
        return f"{subject} {_and(parts)}."
    return f"{subject} {_and(parts[:3])}. {subject} also {_and(parts[3:])}."


def interventions_sentence(transcript: str) -> str:
    """`describe` of the techniques a raw transcript shows; "" when it shows none. Speakers are
    named by role first (`models.text.with_roles`), as the service prepares a transcript."""
    turns = parse_turns(with_roles(normalize(transcript)))
    return describe(detect(turns), clinician_title(turns))
