"""Reading a cue in its context: idioms, negation, hypotheticals, who it is about, media, time,
and clinicians' screening questions answered "yes"."""

from __future__ import annotations

import re

from models.risk.lexicon import AN, CHILD, DISTANT_PAST, ELDER, HO, PERSON, SH, SI, SR
from schemas.notes import RiskCategory

#: Figures of speech that contain risk words; matched spans are blanked before scanning.
IDIOMS_RE = re.compile(
    r"\bkill(?:s|ing) (?:me|us|it)\b|\bkill(?:s|ed|ing)? (?:(?:some )?time|two birds|the mood)\b"
    r"|\b(?:is|are|was|'s|'re|will|gonna|going to) (?:\w+ )?(?:kill|murder) (?:me|us)\b"
    r"(?! if I (?:ever )?(?:leave|left|tell|told))"
    r"|\bdying (?:to|for|of (?:embarrassment|laughter|boredom))\b|\bto die for\b"
    r"|\b(?:die|died|dying) (?:laughing|of (?:embarrassment|shame))\b|\bnearly died\b"
    r"|\b(?:bored|scared|frightened|worried|tickled|loved|talked|done|worked) to death\b"
    r"|\bmurder (?:a|an|some)\b|\b(?:would|'d|could) kill for\b|\bcould(?: have|'ve)? (?:killed|murdered|"
    r"strangled|throttled) (?:him|her|them|\w+) (?:for|when|after|because)\b"
    r"|\bhurt(?:s|ing)? (?:his|her|their|my|your|someone's|people's) feelings\b"
    r"|\b(?:shoot|shot|shooting) (?:me|him|her|them) (?:an?|the) \w+|\bkill \w+ with kindness"
    r"|\bshot (?:my|him|her|them)sel(?:f|ves) in the foot\b"
    r"|\bbeat (?:me|us|him|her|them) (?:at|in|to)\b|\b(?:it|that|this|what) beats me\b|^beats me\b"
    r"|\bkick(?:s|ed)? (?:me|us) out\b|\bpush(?:ed|es)? (?:me|us) (?:to|away)\b"
    r"|\bhit (?:me|us) up\b|\b(?:it|that|this|reality) (?:hit|hits) me\b"
    r"|\b(?:substance|alcohol|drug|opioid|opiate) abuse\b|\brelapse prevention\b"
    r"|\bsuicide (?:mission|squad|run|doors?|prevention|hotline|lifeline)\b"
    r"|\brather die than\b|\bcrawl (?:into|in) a hole and die\b|\bdead (?:tired|on my feet)\b"
    r"|\bkill(?:ed|ing)? it\b(?= at| on| in| today| this| last|[.!,])"
    r"|\b(?:cut|burn(?:ed|t)?|hurt) (?:my|him|her)(?:self)? (?:\w+ )?(?:(?:while|when) (?:I was |I'm )?"
    r"(?:playing|lifting|running|falling|fell|cooking|chopping|working out|moving|skiing|hiking|cycling)"
    r"|playing|lifting|running|falling|chopping|cooking|on the (?:oven|stove|pan|iron|grill)"
    r"|at (?:work|the gym))"
    r"|\b(?:cut|burn(?:ed|t)?) my (?:finger|thumb|hand) (?:on|chopping|cutting|while|making)\b"
    r"|\bburn(?:ed|t)? myself on\b|\bby accident\b|\baccidentally\b"
    r"|\b(?:cut|burn(?:ed|t)?|scald(?:ed)?|scrap(?:ed)?|graz(?:ed)?|nick(?:ed)?|slic(?:ed)?|scratch(?:ed)?) "
    r"(?:my|him|her)(?:self)? ?(?:\w+ )?(?:on|against) (?:the|a|an|some|my) (?:\w+ )?(?:fryer|oven|stove|hob|"
    r"pan|iron|kettle|grill|tray|radiator|barbecue|bbq|toaster|heater|exhaust|engine|nail|fence|tin|can|gate|"
    r"wire|saw|mandoline|grater|steam|chip pan|tongs|straighteners|glue gun|soldering iron|bonfire|campfire|"
    r"fire|brambles?|thorns?|rose ?bush|branch)\b"
    r"|\b(?:do|did|doing|done|run|ran|running) (?:\w+ )?suicides\b"
    r"|\bsuicides? (?:sprints?|drills?|shuttles?)\b"
    r"|\bas prescribed\b|\b(?:doctor|psychiatrist|surgeon|dentist|nurse) (?:gave|prescribed)\b[^.!?]*",
    re.I,
)
NEGATION_RE = re.compile(
    r"\b(?:not|no|never|nor|neither|without|den(?:y|ies|ied|ying)|refus\w*|haven't|hasn't|hadn't|"
    r"isn't|wasn't|aren't|weren't|wouldn't|won't|don't|doesn't|didn't|can't|cannot)\b|n't\b",
    re.I,
)
#: Phrases with a negation word that do not negate what follows ("I can't stop cutting").
NOT_NEGATING_RE = re.compile(
    r"\b(?:can|could|won|couldn)'?t (?:stop|help|get rid of|shake)\b|\bcannot (?:stop|help)\b"
    r"|\b(?:don|didn)'t (?:know|care)\b|\bdo not (?:know|care)\b|\bno (?:one|idea|matter)\b"
    r"|\bnot (?:sure|only)\b|\bno longer\b|\bnever (?:been|had) (?:so|this|that)\b"
    r"|\b(?:wouldn't|won't) (?:mind|be sad|care|be upset)\b",
    re.I,
)
CLAUSE_BREAK_RE = re.compile(
    r"[,;:—–]|\b(?:but|though|although|however|yet|except|and|because|so|then)\b", re.I
)
DENIED_AFTER_RE = re.compile(r"^\W*(?:\w+\W+)??(?:denied|denies|none|negative|absent)\b", re.I)
FIRST_PERSON_RE = re.compile(r"\bI\b|\b(?i:me|my|myself)\b")
_WINDOW_WORDS = 6

_HYPOTHETICAL_RE = re.compile(
    r"\b(?:if|what if|unless|suppose|supposing|imagine|in case|even if|whether)\b\s+(?:I|I'd|I ever|"
    r"someone|somebody|you|people|anyone|a person|a client|they)\b",
    re.I,
)
_MAIN_CLAUSE_RE = re.compile(r"\b(?:I'll|I will|I'd|I would|I'm going|I'm gonna|then)\b|,", re.I)
_SELF_WORD_RE = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|myself|we|we're|we've|us)\b", re.I)
#: Subjects that are someone else: pronouns, and "my friend" unless after a preposition ("to my mom").
_OTHER_WORD_RE = re.compile(
    rf"\b(?:he|she|they|he's|she's|they're|he'd|she'd|they'd|he'll|she'll|they've|who|whose|someone|"
    rf"somebody|people|(?:him|her|them)sel(?:f|ves)|a (?:guy|man|woman|girl|boy|kid|teenager|person|"
    rf"character))\b|(?<!to )(?<!with )(?<!for )(?<!at )(?<!from )(?<!about )(?<!of )(?<!and )(?<!on )"
    rf"\b(?:my|our|a|his|her|their) (?:best |old |ex-?|older |younger |little |\w+'s )?{PERSON}s?\b"
    rf"|(?-i:\b[A-Z][a-z]+) (?:at|from) (?:work|college|uni|school|church|the gym|the office|group)\b",
    re.I,
)
_MATCH_OTHER_RE = re.compile(r"\b(?:him|her|them)sel(?:f|ves)\b|\b(?:his|her|their) (?:own )?life\b", re.I)
_MATCH_SELF_RE = re.compile(r"\b(?:I|I'm|I've|I'd|me|my|myself)\b", re.I)
MEDIA_RE = re.compile(
    r"\b(?:movie|film|show|series|documentary|news|article|book|novel|podcast|episode|character|"
    r"TV|netflix|video ?games?|game|call of duty|fortnite|song|anime|headline|true crime|"
    r"newspaper|reddit|tiktok|youtube)\b",
    re.I,
)
DEPENDANT_RE = re.compile(rf"{CHILD}|\b{ELDER}", re.I)
VICTIM_SELF_RE = re.compile(
    r"\b(?:me|us|I was|I'm|I am|my body)\b|\bwe (?:were|was|got|'d get|would get)\b|\bI got (?:hit|"
    r"beaten|the belt|the strap|smacked|slapped|whipped|punished|hurt|kicked|thrown|pushed)\b|\bmy "
    r"(?:phone|location|passwords?|messages|texts|receipts|wages|pay|salary|money|bank|card|account|benefits|"
    r"name|arm|wrist|neck|throat|hair|face)\b",
    re.I,
)
#: A threat or harm wish taken back at once ("I'll strangle him. Not really, obviously.").
RETRACTED_RE = re.compile(
    r"^[\s.…]*(?:\((?:laughs|laughing|joking)\)|(?:\(?laughs\)?[\s.,]*)?(?:not really|only joking|"
    r"just joking|I'm (?:only |just )?(?:joking|"
    r"kidding)|(?:just )?kidding|obviously not|not literally|jk)\b)",
    re.I,
)
DISTANT_PAST_RE = re.compile(DISTANT_PAST, re.I)
RESOLVED_RE = re.compile(
    r"\b(?:haven't (?:had|felt|thought)|not (?:anymore|since)|no longer|went away|gone now|behind me|"
    r"haven't since|not since|in years|since then|stopped|haven't done (?:it|that)|over \w+ years)\b",
    re.I,
)
PARENT_RE = re.compile(
    r"\b(?:dad|mom|mum|father|mother|stepdad|stepfather|stepmom|stepmother|uncle|grandpa|"
    r"(?:mom|mum|dad)'s (?:boyfriend|girlfriend))\b",
    re.I,
)


def mask_idioms(sentence: str) -> str:
    """`sentence` with figures of speech blanked out (same length, so offsets still hold)."""
    return IDIOMS_RE.sub(lambda m: " " * len(m.group()), sentence)


def negated(sentence: str, start: int, end: int) -> bool:
    """Whether a negation governs the match at `start:end` within its clause."""
    before = sentence[:start]
    breaks = list(CLAUSE_BREAK_RE.finditer(before))
    clause = before[breaks[-1].end() :] if breaks else before
    window = " ".join(clause.split()[-_WINDOW_WORDS:])
    window = NOT_NEGATING_RE.sub(" ", window)
    after = re.split(r"[;.]|\bbut\b", sentence[end:], maxsplit=1)[0]
    return bool(NEGATION_RE.search(window) or DENIED_AFTER_RE.search(after))


def hypothetical(sentence: str, start: int) -> bool:
    """Whether the match starting at `start` sits inside an if-clause ("if I ever felt
    suicidal"), not in the main clause that follows it ("if he comes near me I'll kill him")."""
    for cond in _HYPOTHETICAL_RE.finditer(sentence[:start]):
        if not _MAIN_CLAUSE_RE.search(sentence[cond.end() : start]):
            return True
    return False


def about_someone_else(sentence: str, start: int, end: int) -> bool:
    """Whether the matched words are about someone other than the speaker: the match names
    another person ("kill herself") or the last person named before it in its clause is not
    the speaker ("my coworker relapsed")."""
    matched = sentence[start:end]
    if _MATCH_OTHER_RE.search(matched):
        return True
    if _MATCH_SELF_RE.search(matched):
        return False
    before = sentence[:start]
    people = [(m.start(), False) for m in _OTHER_WORD_RE.finditer(before)]
    people += [(m.start(), True) for m in _SELF_WORD_RE.finditer(before)]
    return bool(people) and not max(people)[1]


#: A client's statement said with a rising tone ("...just stop existing?"): it opens with a
#: filler, not a question word, and does not address the listener.
_STATEMENT_QUESTION_RE = re.compile(
    r"^\W*(?:like|just|not|kinda|sort of|kind of|maybe|idk|honestly)\b"
    r"(?![^?]*\b(?:you|your|yourself|anyone|anybody)\b)",
    re.I,
)


def retracted(turn: str, sentence: str) -> bool:
    """Whether the words right after `sentence` in its turn take it back ("Not really.")."""
    at = turn.find(sentence)
    return at != -1 and bool(RETRACTED_RE.search(turn[at + len(sentence) :]))


def screening_question(sentence: str) -> bool:
    """A question that is not about the speaker ("Any thoughts of hurting yourself?")."""
    return (
        sentence.rstrip().endswith("?")
        and not FIRST_PERSON_RE.search(sentence)
        and not _STATEMENT_QUESTION_RE.search(sentence)
    )


# Clinician questions answered "yes": C-SSRS screener items in order (the highest item asked
# wins), then the other categories' usual screening questions.
QUESTIONS: tuple[tuple[RiskCategory, str, re.Pattern[str]], ...] = tuple(
    (c, s, re.compile(p, re.I))
    for c, s, p in (
        (
            SI,
            "behavior",
            r"\b(?:done|started to do|prepared to do|tried) (?:anything|something)?\b.*"
            r"\b(?:end your life|kill yourself|suicide)|\battempt|\b(?:sav|stockpil|hoard|collect|stash)\w* "
            r"(?:up |back )?(?:any |your |some |extra )?(?:meds|medication|pills|tablets)\b",
        ),
        (
            SI,
            "plan",
            r"\b(?:plan|worked out|details)\b.*\b(?:kill yourself|end your life|suicide|die)|"
            r"\bdo you have a plan\b",
        ),
        (SI, "intent", r"\bact on (?:them|these|those|it|that)\b|\bintend|\bintention"),
        (SI, "method", r"\bhow you (?:might|would|could) do\b|\bthought about how\b|\ba method\b"),
        (
            SI,
            "active_thoughts",
            r"\bthoughts? (?:of|about) (?:killing yourself|suicide|ending your "
            r"(?:life|own life)|taking your (?:own )?life)|\bsuicidal\b|\bkill(?:ing)? yourself\b|"
            r"\bunaliv\w*",
        ),
        (
            SI,
            "wish_to_die",
            r"\bwish(?:ed)? (?:you were|you could) (?:dead|go to sleep|die)|\bbetter off "
            r"dead\b|\bnot wake up\b|\bwant(?:ed)? to die\b|\b(?:don't|do not|didn't) want to (?:be here|be "
            r"alive|live|exist)\b|\bnot (?:be|being) (?:here|around|alive) any ?more\b",
        ),
        (
            SH,
            "behavior",
            r"\b(?:done|did) (?:anything|something) to hurt yourself\b|\bhurt yourself\b.*"
            r"\b(?:since|last|this)\b|\bcut(?:ting)? yourself\b|\bself[- ]?harm|"
            r"\bbeen (?:hurting|harming|cutting|burning) yourself\b",
        ),
        (
            SH,
            "urges",
            r"\burges? to (?:cut|hurt|harm|burn)|\b(?:thought|thinking|thoughts?) (?:about|of) (?:hurting|"
            r"harming|cutting|burning) yourself\b",
        ),
        (HO, "ideation", r"\b(?:hurt|harm|kill)(?:ing)? (?:anyone|someone|somebody|others|anybody)\b"),
        (
            AN,
            "current",
            r"\b(?:anyone|someone|somebody|he|she) (?:\w+ )?(?:hurt|hit|touch|hurting|"
            r"hitting|touching)\w* you\b|\bafraid of (?:him|her)\b|\bunsafe at home\b",
        ),
        (SR, "relapse", r"\b(?:used|use|using|drink|drank|drinking|relapsed?)\b.*\bsince\b|\brelaps"),
        (SR, "use", r"\b(?:using|use|used)\b.*\b(?:drugs|substances|anything)\b"),
    )
)
AFFIRM_RE = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|uh-huh|mm-hm+|I have|I did|I do|I am|sometimes|a little|kind of|sort "
    r"of|a few times|a bit|once|twice|maybe|I think so|honestly,? yes|probably|most (?:days|nights)|every "
    r"day|all the time|a lot|lately|I guess)\b(?![^.!?]{0,15}\b(?:no|not|never|nothing)\b)"
    r"|^(?:on and off|(?:every )?now and (?:then|again)|every so often|here and there|from time to time|"
    r"occasionally|at times|some (?:days|nights)|more than I'd like|quite (?:a bit|often))\b"
    r"(?![^.!?]*\b(?:no|not|never|nothing)\b)",
    re.I,
)
