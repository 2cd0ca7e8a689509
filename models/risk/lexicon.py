"""What the risk scan looks for: cue patterns per category, each with the severity it implies.

Sources the cues are drawn from (paraphrased, never copied as lists of sentences):
- Columbia Suicide Severity Rating Scale (C-SSRS), screener version (Posner et al., The Columbia
  Lighthouse Project): 1 wish to be dead, 2 non-specific active suicidal thoughts, 3 active ideation
  with any method (no plan) without intent, 4 active ideation with some intent to act, 5 active
  ideation with a specific plan and intent, 6 suicidal behaviour (an actual, interrupted or aborted
  attempt, or preparatory acts such as collecting pills, getting a gun, writing a suicide note,
  giving valuables away), "ever" and "in the past 3 months".
- 988 Suicide & Crisis Lifeline and American Foundation for Suicide Prevention (AFSP) warning
  signs: talking about wanting to die, being a burden, feeling trapped or in unbearable pain,
  having no reason to live; looking for a way to kill oneself (searching online, buying a gun,
  stockpiling pills); saying goodbye, giving away possessions, putting affairs in order.
- Mandated-reporting categories of US state child-abuse statutes (CAPTA definitions: physical,
  sexual and emotional abuse, neglect including inadequate supervision such as children left
  alone) and adult-protective-services statutes for elders and dependent adults (physical and
  sexual abuse, neglect, financial exploitation, isolation and unreasonable confinement), e.g.
  California Welfare and Institutions Code 15610 and Penal Code 11165.
- Harm to others: duty-to-protect practice (Tarasoff; a threat toward an identifiable person), and
  the clinical distinction between ego-dystonic intrusive harm thoughts (perinatal OCD) and intent.
- Substances: SAMHSA/NIDA street and brand names of opioids, stimulants, sedatives and alcohol;
  relapse in recovery-community language ("picked up", "went back out", "lost my clean time").

Severity scales (lowest first; schemas.notes.SEVERITIES holds them):
- suicidal ideation: C-SSRS levels; `history` is behaviour before the past three months.
- self-harm: `history` (behaviour long past), `urges` (thoughts or urges, no act), `behavior`.
- harm to others: `intrusive_thoughts` (unwanted, ego-dystonic), `ideation` (wish or thought to
  harm), `threat` (stated intention toward a person), `plan` (a weapon, place or time), `behavior`.
- abuse or neglect: `history` (the client was abused; no one named at current risk), `current`
  (an adult client is being abused now), `reportable` (a child, elder or dependent adult is being
  abused or neglected: consider a mandated report).
- substance relapse: `use` (current misuse, no abstinence mentioned), `lapse` (a single slip after
  abstinence), `relapse` (a return to use), `overdose`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.notes import RiskCategory

# Building blocks. The scan reads text whose curly apostrophes were made straight.
SELF = r"(?:myself|my ?self)"
ANY_SELF = r"(?:my|him|her|them|your|our)sel(?:f|ves)"
PERSON = (
    r"(?:boss|wife|husband|partner|girlfriend|boyfriend|ex|father|mother|dad|mom|mum|stepdad|stepmom|flatmate|housemate|mate|colleague|"
    r"stepfather|stepmother|brother|sister|son|daughter|kids?|children|baby|neighbou?r|co-?worker|"
    r"roommate|teacher|supervisor|manager|landlord|uncle|aunt|cousin|family|friend|coach|stepbrother|"
    r"stepsister|nephew|niece|grandpa|grandma|grandfather|grandmother|ex-(?:husband|wife|boyfriend|"
    r"girlfriend|partner))"
)
#: Someone other than the speaker: pronouns, "my <person>", "the guy", or a capitalised name.
#: A person's name: a capitalised word (matched case-sensitively inside case-insensitive cues).
NAME = r"(?-i:[A-Z][a-z]+)"
OTHER = (
    rf"(?:him|her|them|someone|somebody|anyone|anybody|people|every(?:one|body)|(?:my|his|her|"
    rf"the) {PERSON}|the (?:guy|man|woman|baby|kids)|that (?:guy|man|woman)|{NAME})"
)
HARM_VERB = (
    r"(?:kill|murder|hurt|harm|stab|shoot|strangle|choke|beat up|beat|punch|attack|poison|"
    r"run over|smother|drown|suffocate|shake)"
)
#: The same verbs inflected ("shaking", "strangled").
HARM_ING = (
    r"(?:kill\w*|murder\w*|hurt\w*|harm\w*|stab\w*|shoot\w*|shot|strangl\w*|chok\w*|beat\w*|punch\w*|"
    r"attack\w*|poison\w*|smother\w*|drown\w*|suffocat\w*|shak\w*|throw\w*|dropp\w*)"
)
CHILD = (
    r"(?:my|our|his|her|the) (?:little |baby |youngest |oldest )?(?:son|daughter|kids?|children|child|"
    r"baby|boy|girl|toddler|infant|niece|nephew|grandson|granddaughter|stepson|stepdaughter|"
    r"teen(?:ager)?|little (?:brother|sister)|\w+-year-old)\b|\b(?:he|she)(?:'s| is) (?:only )?"
    r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen)\b"
)
ELDER = (
    r"(?:grand(?:ma|pa|mother|father|ad|dad)|nan|nana|nanna|gran|granny|(?:mom|dad|mother|father|mum)'s|"
    r"elderly|care home|nursing "
    r"home|group home|assisted living|caregiver|dementia|alzheimer|disab\w+|down syndrome|"
    r"wheelchair|bedridden)"
)
MEDS = (
    r"(?:seroquel|quetiapine|ambien|zolpidem|trazodone|xanax|klonopin|ativan|valium|lithium|tylenol|"
    r"acetaminophen|paracetamol|advil|ibuprofen|aspirin|oxycodone|oxy|percocets?|vicodin|tramadol|"
    r"benadryl|lexapro|zoloft|prozac|wellbutrin|lamictal|gabapentin|benzos|opioids|insulin|"
    r"antidepressants|sleeping pills)"
)
PILLS = rf"(?:pills?|tablets?|meds|medications?|medicine|painkillers|prescriptions?|\w+ pills|{MEDS})"
WEAPON = r"(?:gun|pistol|handgun|rifle|shotgun|knife|blade|bat|machete|hammer|weapon)"
SUBSTANCE = (
    r"(?:alcohol|booze|the bottle|beers?|wine|vodka|whiske?y|liquor|tequila|rum|drink(?:s|ing)?|"
    r"oxy(?:s|codone|contin)?|percocets?|percs|vicodin|hydrocodone|opioids?|opiates?|pain ?pills|"
    r"painkillers|fentanyl|fent|heroin|dope|smack|meth|crystal|ice|speed|crack|coke|cocaine|blow|"
    r"benzos?|xanax|xannies|bars|valium|klonopin|ativan|adderall|molly|mdma|ecstasy|ketamine|"
    r"weed|pot|marijuana|cannabis|kratom|pills|drugs|needles?|the pipe|gambling|codeine|co-codamol|"
    r"tramadol|gear|ket|pingers|pints?|cans|cider|lager|gin|prosecco|spliffs?|joints?|edibles)"
)
ILLICIT = (
    r"(?:fentanyl|fent|heroin|dope|smack|meth|crystal|crack|coke|cocaine|blow|molly|mdma|ecstasy|"
    r"ketamine|oxy(?:s|codone|contin)?|percocets?|percs|benzos|xanax|xannies|bars|gear|ket|pingers)"
)
USE_VERB = (
    r"(?:us(?:e|ed|ing)|drank|drink(?:ing)?|drunk|smok(?:e|ed|ing)|snort(?:ed|ing)?|shoot(?:ing)? up|"
    r"shot up|took|tak(?:e|ing)|popp(?:ed|ing)|did|do(?:ing)?|got high|getting high|got (?:drunk|"
    r"loaded|wasted|hammered|high))"
)
DISTANT_PAST = (
    r"\b(?:when I was (?:a |little|small|young|younger|in |\d|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|"
    r"eleven|twelve|\w+teen|\w+ty)|as a (?:kid|child|"
    r"teen\w*)|growing up|in (?:high|middle|elementary|grade) school|in college|back in (?:college|high "
    r"school|the day|\d{4})|(?:\w+ )?years ago|in my (?:teens|twenties|thirties)|used to|back then|"
    r"when we were (?:kids|little|young))\b"
)


@dataclass(frozen=True)
class Cue:
    """One pattern and the severity it implies. `context`: only counts when the turn (or the
    clinician's question before it) also talks about that risk (see CONTEXT)."""

    severity: str
    pattern: str
    context: bool = False


SI, SH, HO, AN, SR = (
    RiskCategory.SUICIDAL_IDEATION,
    RiskCategory.SELF_HARM,
    RiskCategory.HARM_TO_OTHERS,
    RiskCategory.ABUSE_NEGLECT,
    RiskCategory.SUBSTANCE_RELAPSE,
)

_DIE = (
    rf"(?:kill(?:ing)? {SELF}|end(?:ing)? (?:it all|my (?:own )?life|it|things|everything)|"
    rf"take my (?:own )?life|die|be dead|suicide|hang {SELF}|shoot {SELF})"
)
_METHOD = (
    rf"(?:(?:taking|take|swallow\w*) (?:all (?:of )?|a (?:whole )?(?:bottle|handful|"
    rf"bunch) of )?(?:(?:my|the|all my|all the|those) )?{PILLS}|"
    r"overdos\w*|jump\w* (?:off|from|in front of)|(?:go|going|drive|driving|drove|walk\w*|step\w*) "
    r"(?:off|over|into|in front of) (?:the |a )?(?:bridge|rail|railing|edge|cliff|ledge|river|lake|"
    r"traffic|train|truck|bus)|crash\w* (?:my|the) car|driv\w* (?:my car )?(?:into|off)|hang\w* "
    rf"{SELF}|shoot\w* {SELF}|slit\w* my|cut\w* my (?:wrists?|throat)|(?:us\w*|put\w*) (?:it|the gun|a "
    rf"gun) (?:on {SELF}|to my head)|the rope|a noose|the gun|my (?:dad's |father's )?gun|carbon monoxide|"
    r"the exhaust|the tracks)"
)
_PREP = (
    rf"(?:sav(?:e|ed|ing) up|sav(?:e|ed|ing)|stockpil\w*|hoard\w*|stash\w*|squirrel\w* away)\s+"
    rf"(?:up\s+)?(?:(?:my|all|some|a lot of|the|of|extra)\s+){{0,2}}{PILLS}|\bstockpil\w*"
)

CUES: dict[RiskCategory, tuple[Cue, ...]] = {
    SI: (
        # C-SSRS 6 (behaviour): attempts, aborted attempts, preparatory acts; AFSP warning signs.
        Cue(
            "behavior",
            rf"\b(?:tried|attempted|try|tries|trying|attempt) (?:to )?(?:kill(?:ing)? "
            rf"{ANY_SELF}|end(?:ing)? (?:my|his|her|their) (?:own )?life|take (?:my|his|her) (?:own )?"
            rf"life|hang {ANY_SELF}|overdose)\b|\battempted suicide\b|\bsuicide attempts?\b",
        ),
        Cue("behavior", r"\boverdos\w* on purpose\b|\bon purpose overdos\w*|\bintentional(?:ly)? overdos\w*"),
        Cue(
            "behavior",
            rf"\b(?:took|swallowed|downed)\b[^.!?]{{0,40}}\b(?:{PILLS}|bottle)\b[^.!?]{{0,50}}"
            rf"\b(?:wanted to die|to die|kill {SELF}|end it|on purpose|to not wake up)",
        ),
        Cue(
            "behavior",
            r"\balmost (?:jumped|did it|went through with it|pulled the trigger|"
            r"killed myself|stepped off)|\b(?:stood|standing|sat) (?:on|at) (?:the|a) (?:edge of "
            r"(?:the|a) )?(?:bridge|ledge|roof|edge|tracks|railings?|cliff|"
            r"rooftop|overpass|viaduct)\b|\bthe (?:rope|noose|gun|"
            r"pills) (?:was |were )?(?:in my hands?|around my neck)",
        ),
        Cue("behavior", _PREP),
        Cue(
            "behavior",
            rf"\b(?:stopped|not|quit|skipp\w*) taking (?:my )?{PILLS}\b[^.!?]{{0,60}}\b(?:keep\w*|sav\w*|"
            rf"hid\w*|"
            r"stash\w*|collect\w*|put\w*|stor\w*) (?:it|them|all)",
        ),
        Cue(
            "behavior",
            r"\b(?:drove|went|walked|go|going|climbed) (?:up |out )?to (?:the|a) (?:\w+ ){0,2}?(?:bridge|"
            r"roof|cliff|tracks|ledge|railings?|viaduct|quarry|rooftop|"
            r"overpass)\b[^.!?]{0,60}\b(?:sat|stood|looked down|looked over|for an hour|"
            r"in the middle of the night|"
            r"in the "
            r"morning|thinking)",
        ),
        Cue(
            "behavior",
            r"\b(?:bought|buying|got|purchased|ordered)\b (?:myself )?(?:a |some )?(?:gun|pistol|handgun|"
            r"rifle|"
            r"shotgun|rope|noose)\b",
            context=True,
        ),
        Cue(
            "behavior",
            rf"\b(?:hid\w*|hiding|sav\w*|put\w* aside|set\w* aside|hold\w* back|keep\w* back|not taking|"
            rf"skipp\w*|collect\w*)\b (?:\w+ ){{0,3}}?(?:of )?(?:my )?{PILLS}",
            context=True,
        ),
        Cue(
            "behavior",
            r"\b(?:called|texted|visited|wrote to|messaged|rang|saw)\b[^.!?]{0,50}\bto say (?:goodbye|bye)\b",
        ),
        Cue("behavior", r"\b(?:goodbye|suicide|farewell) (?:letters?|notes?|messages?|videos?)\b"),
        Cue(
            "behavior",
            r"\b(?:wrote|written|writing|write|left)\b(?: \w+){0,3} (?:letters?|notes?) "
            r"to\b[^.!?]{0,40}\b(?:just in case|in case|for after|when I'm gone|after I'm gone)",
        ),
        Cue(
            "behavior",
            r"\b(?:giv\w+|gave) away (?:all |most |some )?(?:of )?my (?:stuff|things|"
            r"belongings|possessions|\w+ collection)|\bgiv\w+ my (?:stuff|things|belongings|"
            r"possessions) away|\b(?:put\w*|get\w*|got) my affairs in order\b",
        ),
        Cue("behavior", r"\b(?:gave|giving|give|given) (?:away )?my \w+(?: \w+)? to\b", context=True),
        Cue(
            "behavior",
            r"\bsay(?:ing)? (?:my )?goodbyes?\b(?: to (?:people|everyone|everybody|friends|"
            r"family|my (?:friends|family)|old friends))?|\bsaid (?:my )?goodbyes?\b",
            context=True,
        ),
        Cue(
            "behavior",
            r"\bsay(?:ing)? goodbye to (?:people|everyone|everybody|friends|my friends|"
            r"my family|old friends)\b",
        ),
        Cue(
            "behavior",
            r"\b(?:looked up|look up|looking up|googled|googling|research\w*|read up on|"
            r"search\w*)\b[^.!?]{0,60}\b(?:how (?:many|much)\b[^.!?]{0,40}\b(?:take|kill|die|lethal|"
            r"fatal)|how to (?:kill|die|hang|overdose|end it)|lethal|fatal dose|painless|ways to die|"
            r"suicide|noose)",
        ),
        Cue(
            "behavior",
            rf"\b(?:bought|buying|buy|got|getting|purchased|ordered)\b (?:myself )?(?:a |some )?"
            rf"(?:gun|pistol|handgun|rifle|rope|noose|{PILLS})\b[^.!?]{{0,50}}\b(?:a way out|way out|"
            rf"for myself|to end|in case|for when)",
        ),
        Cue(
            "behavior",
            rf"\b(?:took|swallowed|downed|took all|swallowed all)\b (?:of )?(?:a |the |my |all )?"
            rf"(?:whole |entire )?(?:bottle|handful|bunch|box|pack|strip|"
            rf"month's supply)?(?: of)? ?(?:my |the )?"
            rf"{PILLS}",
            context=True,
        ),
        Cue(
            "behavior",
            r"\b(?:went|drove|walked|go|going|climbed) (?:up )?(?:to|onto|on) (?:the|a) (?:bridge|roof|"
            r"cliff|tracks|ledge|top floor)\b",
            context=True,
        ),
        Cue(
            "behavior",
            r"\b(?:wrote|written|writing|left|leaving) (?:a |my |some )?(?:notes?|letters?)\b",
            context=True,
        ),
        Cue(
            "method",
            rf"\b(?:have|got|keep|there's|there is|owns?|bought)\b (?:\w+ ){{0,2}}?(?:gun|pistol|rifle|"
            rf"shotgun|firearm|rope)s?\b|\benough (?:\w+ ){{0,2}}?{PILLS}\b",
            context=True,
        ),
        # C-SSRS 5 (plan): details worked out; (future intent with a time or place: see grading).
        Cue(
            "plan",
            rf"\b(?:have|had|got|made|make|making|came up with|worked out|figured out|picked|"
            rf"chose|chosen|set|decided on)\b (?:a |the |my )?(?:plan|date|day|time|place|spot|method|"
            rf"way)\b[^.!?]{{0,30}}\b(?:to )?{_DIE}",
        ),
        Cue(
            "plan",
            r"\b(?:know|decided|figured out|worked out|planned)\b (?:exactly )?(?:how|where|when) I(?:'d|"
            r" would| will|'ll) (?:do|tie|hang|use|"
            r"end) it\b|\b(?:have|got|made) a plan\b|\b(?:know|decided|figured out|worked out|planned) "
            r"(?:exactly )?(?:when and (?:how|where)|how and when|where and when|when and where|"
            r"where and how|how and where)\b",
            context=True,
        ),
        # C-SSRS 4 (intent).
        Cue(
            "intent",
            rf"\b(?:going to|gonna|will|'ll|plan(?:ning)? to|intend to|about to|ready to|"
            rf"decided to|want to go through with)\s+(?:\w+\s+){{0,2}}?(?:kill(?:ing)? {SELF}|end (?:it all|"
            rf"my (?:own )?life|it)|take my (?:own )?life|hang {SELF}|shoot {SELF}|do it|go through "
            rf"with it)\b",
            context=True,
        ),
        Cue(
            "intent",
            rf"\b(?:going to|gonna|will|'ll|plan(?:ning)? to|intend to|about to|ready to|"
            rf"decided to)\s+(?:\w+\s+){{0,2}}?(?:kill(?:ing)? {SELF}|end my (?:own )?life|take my "
            rf"(?:own )?life|hang {SELF}|shoot {SELF})\b",
        ),
        Cue(
            "intent",
            rf"\bcan(?:'t|not| not) (?:keep|stay) (?:{SELF} )?safe\b|\bnot (?:sure|certain) "
            rf"(?:that )?I can (?:keep|stay) (?:{SELF} )?safe|\bdon't think I can (?:keep|stay) (?:{SELF} )?"
            rf"safe\b|\bdon't trust {SELF}\b[^.!?]{{0,25}}"
            rf"\b(?:alone|tonight|safe)",
        ),
        Cue("intent", r"\b(?:I would|I'd|I will|I'll|I might) act on (?:it|them|these thoughts)"),
        Cue(
            "intent",
            rf"\b(?:going to|gonna|will|'ll|plan(?:ning)? to|decided to|about to)\s+(?:\w+\s+){{0,2}}?"
            rf"{_METHOD}",
        ),
        # C-SSRS 3 (method).
        Cue(
            "method",
            rf"\b(?:think|thinking|thought|imagine|imagined|imagining|picture|pictured|"
            rf"fantasi[sz]e\w*|wonder\w*|dream\w*|consider\w*)\b(?: about| of)?(?: \w+){{0,4}}? {_METHOD}",
        ),
        Cue(
            "method",
            rf"\bhow easy it would be to\b[^.!?]{{0,12}}{_METHOD}|\b(?:the rope|the gun|the "
            rf"pills|that rope|a noose)\b[^.!?]{{0,40}}\b(?:would work|would do it)",
        ),
        Cue("method", rf"\bus\w* (?:it|the gun|a gun|the rope|a knife) on {SELF}\b"),
        Cue(
            "method",
            rf"\b(?:think|thinking|thought|imagine\w*|picture\w*|consider\w*)\b[^.!?]{{0,20}}\b(?:taking|"
            rf"take|"
            rf"swallow\w*|down\w*) (?:all|every|everything|each|the whole|a (?:whole )?(?:bottle|handful|"
            rf"bunch))"
            rf"\b[^.!?]{{0,30}}\b(?:pills?|meds|medicine|medications?|cabinet|organi[sz]er|bottles?|{MEDS})",
        ),
        Cue(
            "method",
            r"\b(?:step\w*|jump\w*|walk\w*|throw\w* myself|lie down|lying down|lay down) (?:in front of|"
            r"off|under|"
            r"onto|from) (?:it|that|one|the \w+|a \w+)\b",
            context=True,
        ),
        Cue(
            "method",
            rf"\b(?:tracks|bridge|rope|gun|shotgun|rifle|pistol|pills|{MEDS}|ledge|roof|overpass|river|"
            rf"traffic|train|railings?|balcony|platform|motorway|freeway|highway|viaduct|multi-storey|"
            rf"car park|parking garage|rooftop|top floor|quarry|pier|jetty|beam|noose|"
            rf"cliff|building)\b[^.!?]{{0,60}}\b(?:would be (?:quick|easy|painless|fast|simple|enough)|"
            rf"would work|"
            rf"would do it|would do the job|'d do (?:it|the job)|one step|how easy|how quick|on my mind|"
            rf"crossed my mind|know where the (?:shells|bullets|"
            rf"ammo|ammunition|key) (?:is|are)|keep thinking about (?:it|them|using)|"
            rf"can't stop thinking about "
            rf"(?:it|them)|been thinking about (?:it|them|using))",
        ),
        Cue(
            "method",
            r"\b(?:think|thinking|thought|imagine|picture|fantasi[sz]e\w*) (?:about |of )?(?:just )?"
            r"(?:jumping|overdosing|drowning|hanging|stepping off|driving off)\b(?! (?:in|"
            r"into the pool|on the "
            r"bed|rope|jacks|at|ship|back|through|hoops|out))",
        ),
        # C-SSRS 2 (non-specific active thoughts).
        Cue("active_thoughts", r"\bsuicid\w*|\bunaliv\w*|\bkms\b"),
        Cue(
            "active_thoughts",
            rf"\bkill(?:s|ed|ing)? {SELF}|\b(?:hang|hanging|hanged|shoot|shooting|"
            rf"drown|drowning|poison|poisoning) {SELF}",
        ),
        Cue("active_thoughts", r"\b(?:end|ending|take|taking|took) (?:my|his|her|their) (?:own )?life\b"),
        Cue(
            "active_thoughts",
            r"\bend(?:ing)? (?:it all|everything)\b|\bend(?:ing)? (?:it|things)\b"
            r"(?! (?:with|between|off|early|on|there|here|now and|for the|at))",
        ),
        Cue("active_thoughts", r"\bthoughts? (?:of|about) (?:death|dying|ending it|not being alive)\b"),
        # C-SSRS 1 (wish to be dead) and AFSP "burden", "no reason to live".
        Cue("wish_to_die", r"\bwant(?:s|ed|ing)? to die\b|\bwanna die\b"),
        Cue(
            "wish_to_die",
            r"\b(?:(?:wouldn't|won't) (?:be )?)?(?:sad|care|upset|bad|"
            r"sorry)\b[^.!?]{0,10}\bif I\b[^.!?]{0,20}\b(?:died|die|was dead|"
            r"didn't wake up|"
            r"was gone|never woke up)\b|\b(?:hope|wish|pray)\w*\b[^.!?]{0,25}\b(?:fall|go|drift) (?:to )?"
            r"(?:asleep|sleep)\b[^.!?]{0,15}\b(?:that's it|that's the end|it's over|never have to|"
            r"don't have to|"
            r"not have to|never wake|don't wake|not wake)|\b(?:never|not|don't|"
            r"wouldn't) have to (?:wake up|face "
            r"(?:tomorrow|another day|anything)|do (?:tomorrow|this|another day|any of this) (?:again|"
            r"anymore)?)",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:want|wish|hope|pray\w*|rather|fine|okay|ok|mind|relief|easier|better|peace)\b[^.!?]{0,30}"
            r"\b(?:I|me)\b[^.!?]{0,15}\b(?:die|died|dead|gone for good|disappear\w* (?:forever|for good)|not "
            r"(?:be )?(?:here|around|alive)|wasn't (?:here|around|alive)|weren't (?:here|around|alive)|"
            r"didn't "
            r"exist|never woke up|didn't wake up|don't wake up|won't wake up|never wake up|"
            r"wouldn't wake up)\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:I'm|I am|I feel like|feel like|I've become|being) (?:such |just |nothing but |"
            r"only )*(?:a |an )?"
            r"(?:drain|dead weight|waste of (?:space|air|oxygen|skin)|liability|weight around|nuisance)\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:relief|peace|easier|nicer|a blessing|better)\b[^.!?]{0,25}\b(?:not (?:to )?"
            r"wak(?:e|ing) up|never wak(?:e|ing) up|to (?:just )?die|if I died|if I (?:was|were) gone|to not "
            r"exist|not (?:to )?exist|dead)\b|\bdisappointed (?:that )?I (?:woke up|wake up|am still "
            r"alive|survived)|\bsleep forever\b(?! (?:this|tonight|on|at|till|until|in|after|when))|"
            r"\bwon't be around (?:much|for) (?:longer|long)\b",
        ),
        Cue(
            "wish_to_die",
            r"\bwant(?:ed)? (?:it all|everything|my life|this life) to (?:end|be over|stop)\b|"
            r"\b(?:take|off) myself out\b(?! (?:for|to|of))|\boff myself\b",
        ),
        Cue(
            "wish_to_die",
            r"\bwish(?:ed|ing)? (?:I|I'd|that I) (?:was|were|had|could|would|'d)? ?(?:just )?"
            r"(?:be |been )?(?:dead|die|died|never been born|disappear forever|not wake up|never wake up)",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:hop(?:e|ed|ing)|pray(?:ed|ing)?) (?:that )?I (?:just )?(?:don't|won't|"
            r"never|wouldn't|didn't) wake up|\b(?:go|went|fall|fell) (?:to )?sleep and (?:just )?(?:not|"
            r"never) wake up|\b(?:God|he|something|someone) (?:would|will|to|could) (?:just )?take me\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:happier|easier|better|fine) without me\b|\bbetter off (?:dead|without me|if I (?:was|"
            r"were|wasn't|weren't|was not|"
            r"were not) (?:gone|dead|around|here)|with me gone|if I died)",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:easier|better)(?: for everyone)? if I (?:just )?(?:wasn't|weren't|was not|"
            r"were not|didn't exist|died|disappeared)\b(?: here| around| alive| anymore)?",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:don't|do not|didn't|no longer|not sure I|never) (?:want|wanna) to "
            r"(?:live|be alive|exist|go on|wake up|be here anymore)\b|\bdon't wanna (?:live|be alive|"
            r"exist|wake up)\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:rather|sooner) be dead\b|\bdon't (?:really )?care (?:if|whether) I "
            r"(?:live|die|wake up)\b|\bwouldn't mind (?:dying|being dead|if I died|if I didn't wake)|"
            r"\b(?:hit|killed) me\b[^.!?]{0,25}\bwouldn't (?:mind|care)\b",
        ),
        Cue(
            "wish_to_die",
            r"\bno (?:reason|point) (?:to live|in living|living|to go on|in going on|"
            r"in being alive|being here)\b|\b(?:don't|can't|cannot|do not|can not) see (?:the|any|"
            r"much) (?:point|reason) (?:in |of )?(?:carrying on|going on|living|being alive|being here|"
            r"staying alive|existing)\b|\bno (?:reason|point) (?:in )?(?:carrying on|staying alive|"
            r"existing)\b|\bnothing (?:left )?to live for\b|\bnot worth living\b|"
            r"\btired of (?:living|being alive|life)\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:I'm|I am|I feel like|feel like|being|I've become) (?:such |just |a "
            r"big |nothing but )*(?:a )?burden\b|\bburden (?:on|to) (?:everyone|everybody|my|them)\b",
        ),
        Cue(
            "wish_to_die",
            r"\bwish (?:it|everything|this) (?:was|were|would be) (?:all )?over\b",
            context=True,
        ),
        Cue("wish_to_die", r"\bwish(?:ed|ing)? I (?:was|were) dead\b|\bwish I (?:could )?die\b"),
        Cue(
            "wish_to_die",
            r"\b(?:no one|nobody) would (?:even )?(?:miss me|notice (?:if I|I was|I'm)|care "
            r"if I (?:died|was gone|disappeared|wasn't here))",
        ),
        # Fresh phrasing (heldout3 tuning): euphemism, understatement, preparations.
        # Slang for killing oneself (British, Australian, online).
        Cue(
            "active_thoughts",
            rf"\b(?:do|does|doing|did|done) (?:{SELF}|meself) in\b|\btop(?:s|ped|ping)? (?:{SELF}|meself)\b|"
            rf"\b(?:end|ends|ended|ending|neck|necking|unalive|unaliving) (?:{SELF}|meself)\b|\bfinish(?:ing|"
            rf"ed)? (?:{SELF}|meself) off\b",
        ),
        # The thought arriving unbidden, or "I think about it", when the turn or question is about dying.
        Cue(
            "active_thoughts",
            r"\b(?:it|the thought|the idea|that thought|that idea|the word|"
            r"the phrase)\b (?:\w+ ){0,3}?(?:floats?|floated|pops?|popped|creeps?|crept|drifts?|drifted|"
            r"sneaks?|snuck|slips?|slipped|comes?|came|crops?|cropped|keeps? (?:coming|popping|"
            r"creeping)) (?:up|in|into my (?:head|mind)|back)\b",
            context=True,
        ),
        Cue(
            "active_thoughts",
            r"\bI(?:'ve| have| do| still)? (?!(?:never|not|no|hardly|barely|rarely)\b)(?:\w+ )?"
            r"(?:think|thought|thinking) about (?:it|that|doing it|doing that)\b(?= (?:for real|a lot|"
            r"all the time|constantly|every day|daily|most days|quite a lot|loads|seriously|properly|often|"
            r"sometimes|every night|more and more|more than)|\s*(?:[.!?,;]|$))",
            context=True,
        ),
        # Wanting to join someone who has died.
        Cue(
            "wish_to_die",
            r"\b(?:go and be|go be|be|join|going to be) with (?:her|him|them|my \w+|\w+) (?:again|up there|"
            r"in heaven|on the other side|wherever (?:she|he|they) (?:is|are))\b(?! (?:for|at|on|this|next|"
            r"one|when|to))|\bgo and (?:be with|join) (?:her|him|them|my \w+|\w+)\b",
            context=True,
        ),
        Cue(
            "wish_to_die",
            r"\b(?:want\w*|wanna|wish\w*|long\w*|yearn\w*|could just|just want|need) (?:to )?(?:go and |"
            r"just )?(?:join|be with) (?:her|him|them|my \w+|\w+),? (?:wherever (?:she|he|they)(?:'s| is|"
            r" are|'re)|in heaven|up there|on the other side|where (?:she|he|they)(?:'s| is| are|'re) now)",
        ),
        # Understatement: death by chance would be a relief or no loss.
        Cue(
            "wish_to_die",
            r"\bif (?:I|a|the|something|someone|cancer|\w+)\b[^.!?]{0,40}?\b(?:didn't (?:wake up|come round|"
            r"come to|make it|survive|pull through)|never woke up|died|wasn't here|weren't here|was gone|"
            r"got hit|hit me|(?:hit|ploughed|plowed|ran|smashed|crashed|slammed|took|wiped|knocked|mowed|"
            r"flattened|got|killed|happened)(?: into| to)? me)\b[^.!?]{0,40}?\b(?:relieved|a relief|"
            r"wouldn't (?:mind|care|be sad|fight it)|would not mind|(?:that'd|that would|it'd|it would|I'd|"
            r"I would) (?:\w+ )?be (?:alright|all right|fine|okay|ok|a mercy|a blessing|glad|grateful)|glad|"
            r"grateful|welcome it)",
        ),
        # Ceasing to exist.
        Cue(
            "wish_to_die",
            r"\b(?:want|wanna|wanted|wish|wished|like|rather|could|just|to) (?:just |to |to just )?(?:stop|"
            r"quit|cease) (?:existing|being alive|to exist)\b|\bnot (?:to )?exist (?:anymore|any more)\b|"
            r"\b(?:log|logging|check|checking|sign|signing|bow|bowing|tap|tapping) (?:off|out) (?:of|"
            r"from) (?:life|this life|existence|being alive)\b",
        ),
        # Not being around much longer.
        Cue(
            "wish_to_die",
            r"\bI(?:'m not| am not| won't| will not| wont)(?: going to| gonna)?(?: be)? (?:sticking around|"
            r"hanging around|staying around|around|here)\b(?=\s*(?:[.!;]|$|much longer|for (?:much |"
            r"very )?long|anymore|any more|for good|after|once|past|beyond|by|to see))",
            context=True,
        ),
        # Dying as a favour to others, or the payout they would get.
        Cue(
            "wish_to_die",
            r"\b(?:doing|do|did) (?:everyone|everybody|them|my \w+|the world) a (?:favou?r|"
            r"kindness)\b[^.!?]{0,30}\b(?:if I|by (?:dying|going|disappearing|not being))|\b(?:they|everyone|"
            r"everybody|my \w+|the kids|the family|he|she|we)(?:'d| would| will|'ll)? (?:be )?(?:better off|"
            r"fine|okay|looked after|sorted)\b[^.!?]{0,30}\b(?:life insurance|insurance (?:money|payout)|"
            r"the payout)",
        ),
        Cue(
            "wish_to_die",
            r"\bI (?:don't|do not) (?:plan on|intend on|expect to be|see myself) (?:being )?(?:here|around|"
            r"alive)\b(?= (?:by|for|at|next|much longer|in a|this time)|\s*[.!;])",
            context=True,
        ),
        # Goodbyes written or recorded; sleeping for good.
        Cue(
            "behavior",
            r"\b(?:wrote|written|writing|write|recorded|recording|left) (?:out )?(?:my|all my|some|a few|"
            r"the) (?:goodbyes|farewells|last words|final words|last wishes)\b",
        ),
        Cue(
            "wish_to_die",
            r"\b(?:if I (?:just |could just )?)?(?:go|goes|went|going|drift\w*|fall\w*|"
            r"fell) (?:off )?(?:to )?sleep (?:for good|forever|for ever|permanently)\b(?! (?:this|tonight|on|"
            r"at|till|until|in|after|when))|\bsleep for good\b",
        ),
        # Putting affairs in order: a will, loose ends, cancelling accounts.
        Cue(
            "behavior",
            r"\b(?:put|putting|got|get|getting|sort\w*|set\w*) (?:all )?(?:my |the )?(?:things|everything|"
            r"affairs|stuff|papers|paperwork|finances) (?:in order|straight)\b|\b(?:wrote|written|writing|"
            r"made|making|updat\w*|redo\w*|redid|chang\w*|finish\w*) (?:out )?(?:my|a|the) will\b|"
            r"\btie\w* up (?:all )?(?:the |my )?loose ends\b|\bcancel\w* (?:the |my |"
            r"all )?(?:\w+ )?(?:direct debits|subscriptions|standing orders|memberships?|phone contract|"
            r"contracts)\b",
            context=True,
        ),
        # Farewell messages written or recorded for people.
        Cue(
            "behavior",
            r"\b(?:wrote|written|writing|recorded|recording|left|leaving|made) (?:\w+ ){0,2}?(?:letters?|"
            r"notes?|messages?|stuff|things|something|videos?|cards?) (?:for|to) (?:my|the|each|everyone|"
            r"everybody|\w+)\b",
            context=True,
        ),
        # Medication set aside, or a large quantity taken.
        Cue(
            "behavior",
            rf"\b(?:put\w*|set\w*|keep\w*|kept|hid\w*|hide|tuck\w*|stash\w*|squirrel\w*|stor\w*|"
            rf"sav\w*) (?:the |my |some |a few |all (?:the |my )?|any |extra |"
            rf"spare )?(?:\w+ )?{PILLS} (?:aside|away|by|back|to one side|somewhere)\b",
            context=True,
        ),
        Cue(
            "behavior",
            rf"\b(?:took|taken|take|taking|swallowed|swallow|downed|necked|popped)\b (?:a |the |my |all |"
            rf"half )?(?:(?:load|loads|lot|lots|handful|fistful|bunch|heap|pile|stack)s? of (?:(?:my|the|his|"
            rf"her|all|\w+'s) ){{0,3}}(?:\w+ )?{PILLS}|(?:whole|entire|full) (?:packet|box|bottle|strip|pack|"
            rf"tub|lot|blister pack)s?\b)",
            context=True,
        ),
        # Pills hidden away in a container or hiding place (stockpiling).
        Cue(
            "behavior",
            rf"\b(?:collect\w*|sav\w*|keep\w*|kept|hid\w*|hide|stor\w*|put\w*|stash\w*)\b(?![^.!?]*\b(?:kids|"
            rf"children|dog|safe|reach|organi[sz]er)\b)[^.!?]{{0,30}}\b{PILLS}[^.!?]{{0,15}}\b(?:in a (?:jar|"
            rf"sock|tin|envelope|shoebox)|(?:at the )?back of (?:my|the) (?:drawer|wardrobe|cupboard)|"
            rf"under (?:my|the) (?:bed|mattress|floorboards?))",
        ),
        # A date fixed for it.
        Cue(
            "plan",
            r"\bI(?: know| picked| chose| set| decided on|'ve picked|'ve chosen|'ve set| have picked|"
            r" have chosen| have set|'ve decided on) (?:on )?(?:which|the|a) (?:night|day|date|weekend)\b|"
            r"\b(?:told|promised) myself (?:that )?(?:that's|that is|it's|it will be|it'll be|"
            r"that'll be) (?:the|my) (?:day|date|night|weekend)\b",
            context=True,
        ),
        # A ligature fixed to an anchor point (an aborted or interrupted attempt).
        Cue(
            "behavior",
            r"\b(?:rope|cord|noose|ligature|tow ?rope)\b(?![^.!?]*\b(?:swing|hammock|tyre|tire|washing|"
            r"clothes|tent|boat|hoist|pulley|tarp|gym|climbing|plant|lights|decorations?|"
            r"bunting)\b)[^.!?]{0,30}\b(?:over|round|around|to|from|on) (?:the |a |that )?(?:beam|rafters?|"
            r"banisters?|bannisters?|joists?|loft hatch|light fitting|hook|door ?handle|doorknob|branch|"
            r"stair ?rail|pipe|wardrobe rail)\b",
        ),
        Cue(
            "behavior",
            r"\b(?:got|get|put|threw|thrown|tied|tie|hung|looped|fixed|secured) (?:it|one end|"
            r"the end) (?:over|round|around|to|from) (?:the |a |that )?(?:beam|rafters?|banisters?|"
            r"bannisters?|joists?|loft hatch|light fitting|hook|stair ?rail|wardrobe rail)\b",
            context=True,
        ),
    ),
    SH: (
        Cue("behavior", r"\bself[- ]?(?:harm\w*|injur\w*|mutilat\w*)"),
        Cue(
            "behavior",
            rf"\b(?:cut|cuts|cutting|burn|burns|burned|burnt|burning|hurt|hurts|hurting|harm|"
            rf"harms|harmed|harming|hit|hits|hitting|punch|punched|punching|scratch\w*|bite|bit|biting|"
            rf"starv\w*|punish\w*|carv\w*|bang\w*|slap\w*|pinch\w*) {ANY_SELF}",
        ),
        Cue(
            "behavior",
            r"\b(?:cut|cuts|cutting|carv\w*|scratch\w*|burn\w*|slic\w*|scrap\w*)(?![^.!?]*\b(?:cats?|"
            r"kittens?|dogs?|pupp\w+|brambles?|thorns?|rose ?bush\w*)\b) (?:(?:lines|marks|words|letters|"
            r"shapes|patterns|(?:his|her|their|\w+'s) name) )?(?:on |into )?"
            r"(?:my|her|his) (?:arms?|wrists?|legs?|thighs?|stomach|skin|hips?|ankles?|forearms?)\b",
        ),
        Cue(
            "behavior",
            r"\b(?:took|take|taking|put|putting) (?:a|the|my) (?:razor|blade|knife|lighter|"
            r"cigarette|scissors) to (?:my|her|his)\b",
        ),
        Cue("behavior", r"\b(?:bang\w*|hit\w*|slam\w*) my head (?:against|on|into|off)\b"),
        Cue(
            "behavior",
            r"\b(?:held|hold\w*|put|press\w*|dug|dig\w*|stuck|jabb\w*) (?:a |the |my )?(?:lighter|"
            r"cigarette|lit "
            r"\w+|hot \w+|blade|knife|razor|nails|needle|pin|scissors|compass|iron) (?:in)?(?:to|against|"
            r"on|into) "
            r"(?:my|her|his)\b",
        ),
        Cue(
            "behavior",
            r"\b(?:until|till|til) (?:it|they|I|my \w+) (?:bled|bleed|bleeds|bruised|was bleeding|(?:went|"
            r"goes|turned|turns|was|is) (?:purple|black and blue|raw)|broke the skin)\b",
        ),
        Cue(
            "behavior",
            r"\bpunch\w* (?:the |a |my )?(?:walls?|doors?|mirror)\b|\b(?:slam\w*|smash\w*|hit\w*|"
            r"bang\w*) my (?:fist|hand|hands|head) (?:into|against|through|on) (?:the |a )?(?:wall|"
            r"door|mirror|floor)",
        ),
        Cue("behavior", r"\bonly (?:let|allow) myself (?:to )?eat\b", context=True),
        Cue(
            "behavior",
            r"\b(?:didn't|don't|won't|wouldn't|not|never|stopped) (?:let|letting|allow\w*) myself "
            r"(?:to )?eat\b",
            context=True,
        ),
        Cue("behavior", r"\b(?:cutting|burning|hurting myself|harming myself) again\b|\bcut again\b"),
        Cue(
            "behavior",
            r"\b(?:used to|started|start|stopped|been|was|keep|kept|I|I've|I'd) (?:cutting|cut|"
            r"burning)\b(?=\s*(?:[.,!?;]|$|again|in |when |after |before |at |because |since |every |for |"
            r"to cope|to feel|on my|a lot|sometimes|once|twice))",
        ),
        Cue(
            "behavior",
            r"\b(?:haven't|hadn't|didn't|don't|won't|not|stopped|skip\w*|refus\w*)\b "
            r"(?:\w+ )?(?:eat|eaten|eating|meals?)\b",
            context=True,
        ),
        Cue("behavior", r"\bstarv\w*\b|\bskip\w* meals\b", context=True),
        Cue(
            "urges",
            rf"\b(?:urges?|want\w*|wanna|need\w*|wish\w*|tempt\w*|itch\w*|think\w* about|thought about|"
            rf"close to|almost|nearly|feel like|felt like)\b (?:to )?(?:(?:cut|cutting|burn|burning|"
            rf"scratch\w*)\b(?! (?:my|"
            rf"myself|his|her|"
            rf"the|a|an|him|them|it|some|off|out|up|down|back|class|school|ties|\w+'s)\b)|(?:cut|cutting|"
            rf"burn|burning|hurt|hurting|harm|harming|hit|hitting|scratch\w*|punish\w*|starv\w*|bite|"
            rf"biting) {SELF})",
        ),
        # An urge to injure "until it bleeds" (the act wished for, not done).
        Cue(
            "urges",
            r"\b(?:urges?|want\w*|wanna|need\w*|tempt\w*|itch\w*|feel like|felt like|close to|almost|"
            r"nearly)\b (?:to )?(?:\w+ ){0,4}?(?:until|till|til) (?:it|they|I|my \w+) (?:bled|bleed|bleeds|"
            r"bruised|was bleeding|broke the skin)\b",
        ),
        # Fresh phrasing (heldout3 tuning): implements, euphemism, urges.
        # An implement taken to oneself, or named with the body part it was used on.
        Cue(
            "behavior",
            rf"\b(?:took|take|taking|takes|put|putting|use|used|using|held|hold\w*|press\w*) (?:a|the|"
            rf"my) (?:\w+ )?(?:razor|blade|knife|lighter|cigarette|scissors|compass|lit match|pin|needle|"
            rf"sharpener|broken glass|glass)(?: blade)? (?:to|on|against|into|across) {ANY_SELF}",
        ),
        Cue(
            "behavior",
            r"(?:(?<=^)|(?<=with )|(?<=using ))(?![^.!?]*\b(?:shav\w*|wax\w*|slipp?\w*|accident\w*|tattoo\w*|"
            r"cook\w*|oven|fryer|hob)\b)(?:a |the |my )?(?:razors?|blades?|lighters?|cigarettes?|scissors|"
            r"compass|broken glass|lit match(?:es)?|matches|sharpeners?)\b,? (?:\w+,? ){0,3}?(?:on|to|into|"
            r"across) (?:my|her|his) (?:own )?(?:wrists?|arms?|forearms?|legs?|thighs?|hips?|stomach|tummy|"
            r"belly|skin|ankles?|chest|shoulders?)\b",
        ),
        Cue(
            "behavior",
            r"\bI(?:'ve| have| used to| would|'d| keep| kept| had)? (?:\w+ )?(?:bit|bite|biting|gouged?|"
            r"gouging|stabbed|stab|stabbing|dug into|dig into) (?:into )?my (?:own )?(?:arms?|wrists?|"
            r"forearms?|legs?|thighs?|hands?|skin|fingers?)\b",
        ),
        # A return to "the thing", "the old habit", when the turn is about self-harm.
        Cue(
            "behavior",
            r"\b(?:doing|did|done|started|start|gone back to|went back to|going back to|back to|"
            r"relapsed into|slipped back into) (?:the|that|my) (?:old )?(?:\w+ )?(?:thing|habit|stuff)\b",
            context=True,
        ),
        # Injuring oneself until the mind goes quiet.
        Cue(
            "behavior",
            r"\b(?:go|goes|went|going|lay|laid|lash\w*) (?:at|into) (?:it|them|myself|the wall|"
            r"the door)\b[^.!?]{0,30}\b(?:until|till)\b|\b(?:until|till) my (?:head|brain|mind) (?:goes|went|"
            r"gets|got|is|was) (?:quiet|quieter|calm|still|numb|silent|blank|empty)\b",
            context=True,
        ),
        # Fresh injuries described on the body.
        Cue(
            "behavior",
            r"\b(?:fresh|new|recent|more) (?:cuts|burns|marks|wounds|scratches|scars)\b(?![^.!?]*\b(?:cats?|"
            r"kittens?|dogs?|pupp\w+|garden\w*|brambles?|thorns?|roses?|surgery|operation|accident|fell|fall|"
            r"chickenpox|eczema|bites?)\b)[^.!?]{0,20}\b(?:on|across|up|down) my (?:wrists?|arms?|forearms?|"
            r"legs?|thighs?|hips?|stomach|belly)\b",
        ),
        # Urges: reaching for the implement, its pull.
        Cue(
            "urges",
            r"\b(?:think\w*|thought|want\w*|wanna|tempt\w*|urges? to|itch\w* to|close to|almost|nearly|"
            r"desperate to)\b(?![^.!?]*\b(?:shav\w*|hair|tape|paper|wrapping|"
            r"cook\w*)\b) (?:about )?(?:getting|get|grab\w*|reach\w* for|using|use|taking|take|picking up|"
            r"pick up|going for|get hold of|digging|dig) (?:out )?(?:the|my) (?:razors?|blades?|lighter|"
            r"scissors|compass|sharpener)\b",
        ),
        Cue(
            "urges",
            r"\b(?:keep|kept|keeps|keeping)\b (?:\w+ ){0,4}?(?:looking at|staring at|holding|touching|"
            r"checking|getting out|taking out|thinking about|reaching for) (?:them|it|the (?:blades?|razors?|"
            r"lighter|scissors))\b|\bthe (?:pull|urge|itch|craving|temptation|compulsion) (?:of|for|"
            r"towards?) (?:it|that|them)\b",
            context=True,
        ),
        Cue(
            "urges",
            r"\bI(?:'ve| have| do| still)? (?!(?:never|not|no|hardly|barely|rarely)\b)(?:\w+ )?"
            r"(?:think|thought|thinking) about (?:it|that|doing it|doing that)\b(?= (?:a lot|all the time|"
            r"constantly|every day|daily|most days|quite a lot|loads|often|sometimes|every night|"
            r"more and more))",
            context=True,
        ),
    ),
    HO: (
        Cue("ideation", r"\bhomicid\w*"),
        Cue(
            "ideation",
            rf"\b(?:want|wanted|wanna|wanting|feel like|felt like|fantasi[sz]\w*|think\w* "
            rf"about|thought about|thoughts (?:of|about)|urges? to|dream\w* about|could)\b (?:\w+ )?"
            rf"(?:to )?(?:{HARM_VERB}|{HARM_ING}) (?:up )?{OTHER}",
        ),
        Cue(
            "threat",
            rf"\b(?:I'll|I will|I'm going to|I'm gonna|I am going to|going to|gonna|I swear I'll)\s+"
            rf"(?:\w+\s+){{0,3}}?{HARM_VERB} {OTHER}|\bbeat the (?:hell|crap|shit|life|"
            rf"living daylights) out of "
            rf"{OTHER}|\bmake (?:{OTHER}) (?:suffer|pay for)\b|\b(?:he's|she's|they're|\w+'s) (?:going to|"
            r"gonna) (?:pay|regret it)\b",
        ),
        Cue(
            "plan",
            rf"\b(?:keep|kept|got|have|carry|carrying|bought|bring|bringing|take|taking|with)\b"
            rf"[^.!?]{{0,30}}\b{WEAPON}\b[^.!?]{{0,40}}\b(?:for when I see|when I see|for (?:him|her|them)\b|"
            rf"to (?:his|her|their) (?:house|place|work))",
        ),
        Cue(
            "plan",
            rf"\b(?:going|go|went|drive|driving)\b(?: over)? to (?:\w+'s|his|her|their) (?:place|"
            rf"house|work|apartment|office)\b[^.!?]{{0,30}}\bwith (?:a|my|his|the|"
            rf"\w+'s) (?:[\w']+ )?{WEAPON}",
        ),
        Cue(
            "plan",
            rf"\b(?:wait\w*|lie in wait) for (?:him|her|them|\w+)\b[^.!?]{{0,40}}\bwith (?:a|my|the) "
            rf"(?:\w+ )?{WEAPON}|\bknow where (?:he|she|they) (?:lives?|parks?|works?)\b",
            context=True,
        ),
        Cue(
            "behavior",
            rf"\bI (?:(?!(?:never|not|don't|didn't|won't|wouldn't|couldn't|"
            rf"can't)\b)[\w']+ ){{0,2}}?(?:hit|punched|slapped|smacked|choked|strangled|stabbed|shot|"
            rf"pushed|shoved|kicked|beat|attacked|hurt|shook|threw \w+ at)(?: up)? (?:{OTHER})\b"
            rf"(?!'s| hands?\b| awake\b| off\b| and (?:he|she) woke\b)",
        ),
        Cue("behavior", r"\bbroke (?:his|her|their) (?:nose|jaw|arm|ribs?)\b"),
        Cue(
            "plan",
            rf"\b(?:use|using|used|pull|pulling) (?:it|the gun|a gun|my gun|the knife|a knife|{WEAPON}) on "
            rf"{OTHER}",
        ),
        Cue(
            "ideation",
            rf"\bwant(?:ed)? (?:{OTHER}) dead\b|\bhope (?:he|she|they) (?:dies|die|gets? killed)\b",
        ),
        Cue("threat", r"\b(?:get|gets|getting) what's coming\b"),
        Cue(
            "ideation",
            rf"\b(?:want\w*|wanna|fantasi[sz]\w*|think\w* about|thought about|dream\w* about|imagin\w*)\b "
            rf"(?:about )?(?:run\w*|mow\w*) (?:{OTHER}) (?:over|down)\b",
        ),
        Cue(
            "plan",
            r"\bfollow\w* (?:him|her|them|my ex|\w+) (?:home|to (?:his|her|their|work))|\bknow (?:which|"
            r"where) "
            r"(?:door|car|route|way|window)\b",
            context=True,
        ),
        Cue(
            "threat",
            r"\b(?:put|send|sending) (?:him|her|them|(?!me\b|us\b)\w+) (?:in|into|to) (?:the )?(?:ground|"
            r"hospital|ER|"
            r"grave)\b|"
            r"\bsix feet under\b|\b(?:end|waste|shank|cap) (?:him|her)\b|\bbreak (?:his|"
            r"her|their) "
            r"(?:legs?|neck|face|jaw|arms?|skull)\b|\b(?:mess|fuck|beat|smash|rough) (?:him|her|them|"
            r"\w+) up\b|"
            r"\bbeat (?:his|her|their) ass\b|\b(?:bash|smash|cave) (?:his|her|their) (?:face|head|"
            r"skull) in\b",
        ),
        Cue(
            "intrusive_thoughts",
            rf"\b(?:scared|afraid|terrified|worried|worry|fear)\b (?:that )?I(?:'ll|'d| will| "
            rf"might| could| would) (?:\w+ )?(?:{HARM_VERB}|drop|throw|hurt|harm)\b",
        ),
        Cue(
            "intrusive_thoughts",
            rf"\b(?:thought|thinking|thoughts|image|pictur\w*|imagin\w*)\b (?:about |"
            rf"of )?(?:\w+ )?{HARM_ING} "
            rf"(?:{OTHER})\b",
        ),
        Cue(
            "intrusive_thoughts",
            rf"\b(?:intrusive|flash(?:es)?|images?|pictures?|picture|picturing|"
            rf"thought (?:pops|comes|came|popped)|what if I)\b[^.!?]{{0,60}}\b(?:{HARM_VERB}\w*|dropp?\w*|"
            rf"throw\w*|push\w*|stabbing|drowning|smothering|putting a pillow)\b",
        ),
        Cue(
            "intrusive_thoughts",
            rf"\b(?:thought|idea) (?:that )?I (?:could|might|would) "
            rf"(?:{HARM_VERB}|drop|throw|push)\b",
        ),
        Cue("intrusive_thoughts", r"\bpillow over (?:her|his|the baby's|their) face\b"),
        # The wish or thought said another way: what the client would do to someone, wanting them
        # hurt, picturing them hurt, a blow to the face or head imagined.
        Cue(
            "ideation",
            rf"\bwhat I(?:'d| would| could| want to| wanna)(?: like to| love to)? do to (?:{OTHER}|that \w+|"
            rf"this \w+)\b|\bwant(?:ed)? (?:{OTHER}) (?:hurt|to (?:suffer|hurt|bleed)|in (?:pain|agony|a box|"
            rf"the ground)|crippled|maimed)\b",
        ),
        Cue(
            "ideation",
            r"\b(?:imagin\w*|pictur\w*|fantasi[sz]\w*|dream\w*|daydream\w*|think\w* about|thought about|"
            r"want\w*|wanna|feel like|felt like)\b (?:about |of )?(?:\w+ ){0,2}?(?:smash\w*|bash\w*|"
            r"cav\w*|kick\w*|punch\w*|break\w*|snap\w*|slash\w*|stamp\w* on|rearrang\w*) (?:in )?(?:his|"
            r"her|their|\w+'s) (?:face|head|skull|teeth|legs?|neck|arms?|jaw|nose|throat|knees?)\b",
        ),
        Cue(
            "ideation",
            rf"\b(?:pictur\w*|imagin\w*|fantasi[sz]\w*|dream\w* (?:of|about))\b (?:{OTHER}|(?:the|that|this|"
            rf"my) \w+) (?:lying )?(?:at the bottom of (?:the )?(?:stairs|cliff|river|lake|well|canal|sea|"
            rf"pool|quarry|steps)|in a heap|in a pool of|in a (?:box|body bag)|begging|screaming in pain)",
        ),
        # Picturing someone dead or bleeding counts when the turn says it satisfies (not grief).
        Cue(
            "ideation",
            rf"\b(?:pictur\w*|imagin\w*|fantasi[sz]\w*|dream\w* (?:of|about))\b (?:{OTHER}|(?:the|that|this|"
            rf"my) \w+) (?:lying )?(?:dead|bleeding|unconscious|on the floor|in a coffin)\b",
            context=True,
        ),
        # A harm act as a verbless fragment ("Really hurting him."): the client's own picture.
        Cue(
            "ideation",
            r"(?:^|(?<=^[^\w])|(?<=^[^\w]{2})|(?<=^[^\w]{3}))(?:just |really |actually |properly )?"
            r"(?:(?:shoving|pushing|hurting|hitting|stabbing|strangling|choking|smothering|drowning|punching|"
            r"kicking|beating|throttling|battering) (?:him|her|them|the baby)|holding (?:him|her|them|the "
            r"baby) (?:under|down))\b(?=[^.!?]{0,40}[.!?…]*$)",
        ),
        Cue(
            "intrusive_thoughts",
            r"\b(?:intrusive|flash(?:es)?|images?|pictures?|picturing|thought (?:pops|comes|came|popped)|"
            r"what "
            r"if I)\b[^.!?]{0,60}\b(?:h(?:o|e)ld\w* (?:him|her|them|the baby) (?:under|down)|shov\w*|"
            r"tip\w* (?:him|her|them|the pram|the buggy) (?:over|out))",
        ),
        # Veiled and conditional threats (duty to protect: a threat toward an identifiable person).
        Cue(
            "threat",
            r"\b(?:he|she|they|you)(?:'d| had) better watch (?:(?:his|her|their|your) back|"
            r"(?=(?:him|her|them|your)sel))|\b(?:he|she|they|(?:that|this) \w+)(?:'ll| will)? (?:won't|never|"
            r"will never) "
            r"(?:be )?(?:see it coming|know what hit|walk\w* (?:out|away) (?:of (?:there|here) )?(?:alive|in "
            r"one piece|standing)|walk\w* out of (?:there|here))|\b(?:(?:my|that|this) \w+|he|she|"
            r"they) (?:is|'s|are|'re) "
            r"(?:a )?dead (?:man|woman|meat)\b(?! (?:when|if|once))",
        ),
        Cue(
            "threat",
            r"\bif (?:he|she|they|my \w+|that \w+|[a-z]+)\b[^.!?]{0,80}?\b(?:again|one more time|ever)\b"
            r"[^.!?]{0,30}?\b(?:(?:he|she|they)(?:'s|'ll| will| is)? (?:won't be walking|won't walk|won't "
            r"know what hit|won't see (?:it|me) coming|(?:a )?dead (?:man|woman)|be dead)|"
            r"I(?:'ll| will|'m going to|'m gonna) (?:be waiting|come for|go round|sort (?:him|her|them) out|"
            r"make (?:him|her|them) pay))",
        ),
        Cue(
            "threat",
            rf"\bI(?:'ll| will|'m going to|'m gonna) be waiting (?:for|outside) (?:{OTHER})",
            context=True,
        ),
        # Watching a target (schedule, route, following) and carrying a weapon: plan, when the turn
        # also names a weapon or says it is meant.
        Cue(
            "plan",
            rf"\b(?:worked out|know|figured out|learn\w*|memori[sz]\w*|clock\w*|track\w*|check\w* out|"
            rf"wrote down|noted)\b (?:exactly )?(?:his|her|their|\w+'s) (?:shifts?|schedule|routine|"
            rf"movements|hours|timetable|route|way home|rota|comings and goings)\b|\bknow (?:exactly )?"
            rf"(?:what time|when|which way|the way|the route|where) (?:he|she|they) (?:finish\w*|leav\w*|"
            rf"gets? (?:off|out|home)|walks?|goes|drives?|parks?|lives?|works?|trains?|comes? out)\b|"
            rf"\bfollow\w* (?:him|her|them|{NAME}|my ex|that guy) (?:home|around|a (?:few|couple of) times|"
            rf"every \w+|for (?:a few|a couple of|\w+) (?:days|weeks|nights)|to (?:see|check|find out))|"
            rf"\b(?:sat|sit|sitting|waited|waiting|parked|parking)\b (?:\w+ ){{0,6}}?(?:outside (?:his|"
            rf"her|their|\w+'s) (?:house|place|flat|work|office|school|gym)|(?:in|by) (?:the|my) car"
            rf"[^.!?]{{0,25}}\bwatching)\b",
            context=True,
        ),
        Cue(
            "plan",
            rf"\b(?:carry\w*|keep\w*|kept|bring\w*|brought|pack\w*|stash\w*|hid\w*|sleep\w* with) (?:a|my|"
            rf"the|his|\w+'s) (?:[\w']+ )?{WEAPON}s?\b(?! (?:for|at) (?:work|my job|the job))",
            context=True,
        ),
        # Assaults told without a subject ("Grabbed him by the collar") or in slang ("went for him"),
        # and the injury done.
        Cue(
            "behavior",
            rf"(?:^|(?<=^[^\w])|(?<=^[^\w]{{2}})|(?<=^[^\w]{{3}}))(?:(?:just|then|and|so) )?(?:grabbed|"
            rf"shoved|pushed|punched|slapped|smacked|headbutted|head-butted|kicked|decked|floored|choked|"
            rf"lamped|thumped|walloped|chinned|nutted|bottled|strangled|throttled|stabbed|glassed|battered|"
            rf"hit|swung at|laid into|lunged at) (?:him|her|them|this guy|that guy|the guy|some guy|this "
            rf"bloke|the bloke|{NAME}|my \w+)\b(?! (?:up|to|for|about|with (?:the|a|an|it)|a|an|some|one|"
            rf"coffee|tea|lunch|dinner|breakfast|something|anything|by the hand|by (?:his|her) hand)\b)|"
            rf"\bI (?:just |then |kind of |sort of |"
            rf"basically )?(?:laid into|lunged at|swung at|took a swing at|glassed|decked|floored|lamped|"
            rf"thumped|walloped|chinned|nutted|bottled|headbutted|head-butted|got physical with|roughed up|"
            rf"battered) (?:him|her|them|this guy|that guy|the guy|some guy|a guy|this bloke|the bloke|"
            rf"{NAME}|"
            rf"my \w+)\b|\b(?:went for|go for|going for|went after) (?:him|her|them|this guy|that guy|some "
            rf"guy|a guy|the guy|this bloke|the bloke)\b(?=\s*(?:[.,;!]|$|at |with (?:a|my|the|his) |and |"
            rf"when |after |before |outside |in the (?:street|car park|pub|corridor)))",
        ),
        Cue(
            "behavior",
            r"\b(?:smashed|slammed|banged|bashed|shoved|pushed|rammed|threw) (?:his|her|their|\w+'s) (?:head|"
            r"face) (?:into|against|on|off|through)\b|\b(?:split|bust|busted|burst|broke|cracked|bloodied) "
            r"(?:his|her|their|\w+'s) (?:lip|nose|jaw|head|ribs?|eye|eyebrow|cheek|tooth|teeth|skull)\b|"
            r"\bgave (?:him|her|them|\w+) (?:a )?(?:black eye|concussion|nosebleed|bloody nose|fat lip)\b",
        ),
    ),
    AN: (
        Cue("current", r"\b(?:molest\w*|rap(?:e|ed|ing)|incest|fondl\w*|groom(?:ed|ing))\b"),
        Cue("current", r"\bsexual(?:ly)? (?:abus\w*|assault\w*|touch\w*)|\bchild porn\w*"),
        Cue(
            "current",
            r"\b(?:touch|touches|touched|touching) (?:me|her|him|them|us|my \w+)\b[^.!?]{0,30}"
            r"\b(?:inappropriately|down there|private|at night|under|wrong|where)|\bcomes? into my room "
            r"at night\b(?! to (?:read|say|check|tuck|kiss|sing|give|talk|see))|\bmade (?:me|her|him|"
            r"my \w+) touch (?:him|her|them)\b|\b(?:his|her) hands all "
            r"over (?:me|my \w+|her|him)\b|\bforced (?:me|her|him|my \w+) to (?:have sex|do|touch|watch)",
        ),
        Cue(
            "current", r"\babus(?:e|ed|es|ing|ive|er|ers)\b|\b(?:domestic|family|intimate partner) violence\b"
        ),
        Cue(
            "current",
            rf"\b(?:hit|hits|hitting|beat|beats|beating|punch\w*|kick\w*|slap\w*|chok\w*|shov\w*|"
            rf"strangl\w*|smack\w*|whip\w*|burn\w*|throws? \w+ at|threw \w+ at) (?:all of |both of )?(?:me|"
            rf"us|"
            rf"{CHILD})\b",
        ),
        Cue(
            "current",
            r"\bgrab\w* (?:me|her|him|us) by the (?:throat|neck|hair|arm)|\bpinn\w* me\b|"
            r"\bby the throat\b",
        ),
        Cue(
            "current",
            r"\b(?:said|says|told me|threaten\w*|swore|swears)\b[^.!?]{0,20}\b(?:he'd|she'd|he "
            r"would|she would|he'll|she'll|he's going to|she's going to|to) (?:kill|hurt|beat|hit) "
            r"(?:me|us|the kids|my \w+)\b",
        ),
        Cue(
            "current",
            r"\b(?:takes|took|keeps|controls) (?:all of |my )?(?:whole )?(?:paycheck|money|phone|"
            r"car keys|passport)\b|\bwon't let me (?:see|talk to|call) (?:my )?(?:friends|family)|\bwon't "
            r"let me leave\b|\blocks? me (?:in|out)\b|\bafraid (?:to go|of going) home\b",
        ),
        Cue(
            "reportable",
            rf"\b(?:leaves|left|leave|leaving) (?:the kids|my kids|the children|my children|"
            rf"{CHILD}|him|her|them)\b(?: \w+){{0,2}} (?:alone|home alone|by (?:him|her|them)sel(?:f|ves)|"
            rf"unsupervised|in the car)\b",
        ),
        Cue(
            "reportable",
            r"\block\w* (?:him|her|them|my \w+|the kids)(?: \w+){0,2} in (?:his|her|their|"
            r"the|a) (?:room|closet|basement|house|garage|cage)|\bwon't let (?:her|him|them|mom|dad|my "
            r"\w+) (?:leave|out of) the (?:house|room)|\bkeeps? (?:her|him|them) locked\b",
        ),
        Cue(
            "reportable",
            rf"\b(?:taking|took|takes|steal\w*|stole|us(?:ing|es|ed)|spend\w*|cash\w*|drain\w*)"
            rf"\b (?:all of )?(?:{ELDER}|\w+'s|her|his) (?:\w+ )?(?:pension|money|savings|social security|"
            rf"checks?|account|benefits|cards?)|\b(?:money|cash) (?:out of|from) (?:her|his|\w+'s) "
            rf"(?:account|purse|wallet|savings)",
        ),
        Cue("reportable", r"\b(?:soiled|dirty|wet) (?:bed|diapers?|sheets|clothes)\b|\bbed ?sores?\b"),
        Cue(
            "current",
            r"\bmakes? (?:me|her|him) (?:have sex|do (?:sexual )?(?:things|stuff)|sleep with|perform)|"
            r"\b(?:forc|pressur)"
            r"\w* (?:me|her|him) (?:into|to) (?:sex|have sex|sleep with)|\bpornograph\w*",
        ),
        Cue(
            "reportable",
            r"\bsign (?:over|away) (?:her|his|their) (?:house|home|car|savings|property|checks?|money|"
            r"accounts?)\b|"
            r"\b(?:got|made|forced|pressured) (?:\w+ ){0,2}?to sign (?:over|away)\b",
        ),
        Cue(
            "reportable",
            r"\b(?:hasn't|haven't|doesn't|don't|won't|isn't|aren't|never|not|stopped) (?:been )?(?:feed|"
            r"bath|chang|"
            rf"clean|wash)\w* (?:\w+ ){{0,2}}?(?:him|her|them|the (?:kids|baby|children)|"
            rf"my (?:\w+ )?{PERSON}|"
            rf"{CHILD}|(?:my )?{ELDER})",
        ),
        Cue("reportable", r"\btouch(?:es|ed|ing)? (?:me|her|him|them|my \w+)\b", context=True),
        Cue(
            "reportable",
            r"\b(?:leaves|left|leave|leaving|goes out|went out|gone)\b[^.!?]{0,50}\b(?:alone|by (?:our|my|"
            r"them|him|"
            r"her)sel(?:f|ves)|with no food|without food|nothing to eat|unsupervised|in the car)\b",
            context=True,
        ),
        Cue(
            "reportable",
            r"\b(?:leaves|left|leave|leaving) (?:the |my |her |his |their |our )?(?:\w+ ){0,3}?(?:kids?|"
            r"children|ones|babies|baby|son|daughter|boys|girls|toddlers?|\w+-year-olds?|twins|"
            r"infant)(?: \w+){0,2}?"
            r" (?:alone|home alone|by (?:him|her|them)sel(?:f|ves)|unsupervised|in the car)\b",
        ),
        Cue(
            "reportable",
            r"\b(?:keep\w*|kept|lock\w*)\b (?:\w+ ){0,2}?locked (?:in|up)\b|\block\w* (?:\w+ ){0,2}?"
            r"(?:in|up) (?:in )?(?:the |his |her |their |a )?(?:\w+ )?(?:room|bedroom|closet|basement|garage|"
            r"cage|attic|shed)\b|\bti(?:e|es|ed|ing) (?:him|her|them|\w+) (?:to|up)\b",
        ),
        Cue(
            "reportable",
            r"\b(?:empty\w*|clean\w* out|drain\w*|max\w* out|tak\w*|steal\w*|stole)\b (?:all of )?"
            r"(?:her|his|their|my|\w+'s) (?:\w+ )?(?:bank account|account|savings|pension|"
            r"social security|benefits|"
            r"credit cards?)\b",
        ),
        Cue(
            "reportable",
            r"\b(?:doesn't|don't|won't|never|didn't) feed (?:them|the kids|the baby|him|her|my \w+)\b",
        ),
        Cue(
            "reportable",
            r"\b(?:mom|dad|mother|father|parents?|she|he)(?:'s| has| have| had)? been gone "
            r"(?:since|for)\b|\bno food in the house\b(?![^.!?]{0,40}\b(?:shop|shopping|order|takeaway|"
            r"delivery))",
            context=True,
        ),
        Cue(
            "reportable",
            rf"\b(?:child|elder) (?:abuse|neglect)\b|\bneglect(?:s|ed|ing)? (?:the kids|my kids|"
            rf"the children|{CHILD}|him|her|them)\b|\bneglectful\b",
        ),
        Cue(
            "current",
            r"\b(?:hit|hits|hitting|beat|beats|beating|punch\w*|kick\w*|slap\w*|chok\w*|shov\w*|"
            r"smack\w*|pinch\w*|yell\w* at|scream\w* at) (?:him|her|them)\b",
            context=True,
        ),
        # Physical punishment with an implement (a belt, a cane, a wooden spoon).
        Cue(
            "current",
            r"\b(?:take|took|taking|takes|get|got|getting|gets|used|use|uses|using) (?:out )?(?:his|her|"
            r"their|a|the) (?:belt|strap|cane|slipper|wooden spoon|switch|paddle|stick|hairbrush|cord|cable|"
            r"hose)\b(?: off)? (?:to|on) (?:me|us|him|her|them|my \w+|the kids)\b|\b(?:take|took|taking|"
            r"takes|whip\w*|pull\w*) (?:off )?(?:his|her) (?:belt|strap|slipper)(?: off)? (?:if|when|"
            r"whenever|every time|and)\b|\b(?:hit|hits|hitting|beat|beats|beating|beaten|whipp?\w*|"
            r"smack\w*|thrash\w*|belt\w*|strapp\w*) (?:me |us |him |her |them |my \w+ )?with (?:a|the|his|"
            r"her|their) (?:belt|strap|cane|slipper|wooden spoon|switch|paddle|stick|hairbrush|cord|cable|"
            r"buckle|hose)\b|\bgot the (?:belt|strap|cane|slipper)\b|\b(?:get|gets|got|getting|take|took|"
            r"bring|"
            r"brought) (?:out )?(?:his|her|their|the) (?:belt|strap|cane|slipper|wooden spoon|switch|paddle)"
            r" out\b",
        ),
        # Sexual abuse in euphemism: night-time visits to a child's room, "did stuff to me".
        Cue(
            "reportable",
            r"\b(?:used to|would|'d) (?:\w+ )?(?:come|creep|sneak|get) (?:in)?(?:to|into) (?:my|our|the) "
            r"(?:bed(?:room)?|room) (?:at night|in the night|when (?:everyone|mum|mom|my \w+) was asleep|"
            r"after (?:lights out|everyone))(?! to (?:read|say|check|tuck|kiss|sing|give|talk|see))|"
            r"\b(?:came|comes|creeps?|crept|sneaks?|snuck) (?:in)?(?:to|"
            r"into) my (?:bed(?:room)?|room) (?:at night|in the night)(?! to (?:read|say|check|tuck|kiss|"
            r"sing|give|"
            r"talk|see))",
        ),
        Cue(
            "current",
            r"(?<!\bit )(?<!\bthat )(?<!\bthis )\b(?:do|did|does|doing|done) (?:stuff|things|sexual things|"
            r"bad things|weird things) (?:to|with) (?:me|us)\b|\bmade (?:me|us) (?:do|watch) (?:stuff|"
            r"things|sexual)",
        ),
        # Physical violence to the client put another way: thrown or pushed into things, grabbed
        # hard, left bruised, put in hospital.
        Cue(
            "current",
            r"\bgrabb?\w* (?:me (?:by|hard|so hard|round|around)|my (?:arm|wrist|neck|throat|hair|face|"
            r"jaw) (?:so hard|hard|and|until|till))|\b(?:push\w*|shov\w*|threw|throw\w*|thrown|slamm\w*|"
            r"dragg?\w*|flung|knock\w*|pinn\w*) me (?:\w+ ){0,2}?(?:into|against|onto|on|down|across|at|to|"
            r"off|out of|through) (?:the |a |my )?(?:wall|floor|ground|door|wardrobe|table|counter|stairs|"
            r"bed|car|fridge|cupboard|sofa|couch|radiator|window|worktop|bannister|mirror)\b|\b(?:left|"
            r"leaves|leaving) (?:bruises|marks|a bruise|a mark|fingerprints?) (?:on me|on my)\b|\bso hard "
            r"(?:it|that it|I) (?:bruised|left a (?:mark|bruise)|couldn't breathe)\b|\b(?:he|she|they|my "
            r"(?:ex |\w+ )?(?:husband|wife|partner|boyfriend|girlfriend|dad|mum|mom|father|mother|"
            r"stepdad))(?:'s| has)? (?:\w+ )?(?:put|landed|sent) me in (?:the )?(?:hospital|A&E|ER|"
            r"intensive care)\b",
        ),
        # Coercive control by a partner: monitoring, holding the client's money, cards or passwords.
        Cue(
            "current",
            r"\b(?:he|she|they|my (?:boyfriend|girlfriend|husband|wife|partner|fianc\w+))(?:'s| has| is)? "
            r"(?:\w+ ){0,2}?(?:(?:check\w*|go\w* through|went through|read\w*|monitor\w*|track\w*|look\w* "
            r"through) (?:all )?my (?:phone|messages|texts|emails|receipts|bank (?:statements|account)|"
            r"location|spending|dms)|(?:has|got|gets|knows|demands?|keeps?|controls?) (?:all "
            r")?my (?:location|passwords?|pin|passcodes?|wages|pay|salary|money|(?:bank |debit |"
            r"credit )?cards?|"
            r"benefits))\b(?! (?:because|while|to|so|for) )|\bmy (?:wages|pay|salary|"
            r"benefits|money|paycheck|universal credit) (?:go|goes|went|gets paid|get paid|is paid) "
            r"(?:straight )?(?:in)?to (?:his|her|their) account|\b(?:took|taken|takes|put|got) out "
            r"(?:\w+ ){0,2}?(?:loans?|credit cards?|debts?|finance) in my name\b",
        ),
        # An elder's money gone; a dependant without food, in the same clothes, left for days,
        # locked in; a baby shaken (with the turn about a child or elder).
        Cue(
            "reportable",
            r"\b(?:her|his|their|\w+'s) (?:savings|pension|money|benefits|account|inheritance) (?:is|are|has|"
            r"have|"
            r"'s) (?:nearly |almost |all |just |completely )?(?:gone(?! on)|disappeared|vanished|missing|"
            r"been "
            r"(?:drained|emptied|spent|taken))\b|\bwhere (?:her|his|their) (?:money|savings|pension|cards?) "
            r"(?:is|are|has gone|went)\b|\b(?:power of attorney|in charge of (?:her|his|\w+'s) (?:money|"
            r"finances)|control of (?:her|his) (?:money|finances|accounts?))\b[^.!?]{0,60}\b(?:bought|"
            r"buy\w*|spen[dt]\w*|new car|holiday|takes|took|us(?:ed|es|ing))",
            context=True,
        ),
        Cue(
            "reportable",
            r"\b(?:nothing|no food|hardly anything|barely anything) (?:to eat|in (?:the )?(?:fridge|"
            r"cupboards?|house|flat))\b(?![^.!?]{0,40}\b(?:shop|shopping|order|takeaway|delivery))|"
            r"\bnever (?:much|any|enough) (?:food )?in\b|\bin the same clothes\b|\b(?:we|they|kids|children|"
            r"brothers?|sisters?|siblings)(?:'d| would| used to| had to)? (?:go|goes|went|"
            r"gone) (?:\w+ )?days "
            r"(?:without|just eating|eating only|with nothing|on) (?:food|eating|a meal|dry|nothing|cereal|"
            r"crisps|bread)|\bfend for (?:ourselves|myself|themselves|himself|herself)\b",
            context=True,
        ),
        Cue(
            "reportable",
            r"\b(?:mum|mom|dad|she|they|(?:my|our) (?:mum|mom|dad|mother|father|parents))(?: \w+)? "
            r"(?:doesn't|didn't|don't|won't|wouldn't) (?:come|get) (?:back|home) (?:till|until|for) "
            r"(?:\w+ ){0,2}?(?:days|the next day|the morning|morning|sunday|monday|tuesday|wednesday|"
            r"thursday|friday|saturday|the weekend|two days|three days)\b|\block\w* (?:the |our |my )?"
            r"(?:front |back |bedroom )?door from (?:the )?outside\b|\b(?:nobody|no one|no-one|no adult)"
            r"(?:,? really)?(?:'s| is)? (?:with|watching|minding|looking after|home with) (?:him|her|them|"
            r"the kids)\b|\b(?:shook|shake|shaking|shaken) (?:the baby|him|her|my (?:son|daughter|baby|boy|"
            r"girl))\b(?! (?:awake|up|off|out|hand|hands|by|and (?:he|she) woke))",
            context=True,
        ),
    ),
    SR: (
        Cue("relapse", r"\brelaps(?:e|ed|es|ing)\b"),
        Cue(
            "relapse",
            rf"\b(?:went|go|going|gone|got|been|slid|slipped|fell) back (?:to|on|into) "
            rf"(?:the |my )?(?:{SUBSTANCE}|using|drinking|smoking|shooting up)\b|\bback (?:on|"
            rf"to) (?:the )?(?:{SUBSTANCE}|"
            rf"popping|using|drinking|smoking|shooting)\b|"
            r"\bwent back out\b",
        ),
        Cue("relapse", rf"\b{USE_VERB} (?:(?:some |the )?{SUBSTANCE} )?again\b"),
        Cue(
            "relapse",
            rf"\b(?:started|start|starting|began) (?:drinking|using|smoking|shooting up|"
            rf"taking {SUBSTANCE}|doing {SUBSTANCE}) again\b",
        ),
        Cue(
            "relapse",
            r"\bpicked up (?:again|last|on|this|over|after|yesterday|the other)\b|\bpicked up "
            r"a (?:drink|bottle|pipe|needle)\b",
        ),
        Cue(
            "relapse",
            r"\b(?:broke|broken|lost|ruined|blew|threw away|reset) (?:my )?(?:sobriety|sober "
            r"(?:time|date|streak)|clean (?:time|date|streak))|\b(?:fell|fall|falling|fallen) off the "
            r"wagon\b",
        ),
        Cue("lapse", rf"\b(?:slipp?(?:ed)?(?: up)?)\b[^.!?]{{0,40}}\b{SUBSTANCE}\b"),
        Cue(
            "lapse",
            r"\b(?:had|took|did|used|smoked|drank) (?:a|one|just one|a couple of|two|a few) "
            r"(?:\w+ )?(?:drinks?|beers?|glass\w*|shots?|hits?|lines?|pills?|bumps?)\b",
            context=True,
        ),
        Cue("relapse", r"\bgot (?:drunk|loaded|wasted|hammered|high)\b", context=True),
        Cue(
            "relapse",
            rf"\b(?:drank|had|used|took|smoked|did|shot up|snorted|bought|finished)\b (?:a |some |a whole |"
            rf"half a |the |an entire |a few |a couple of )?(?:\w+ ){{0,2}}?{SUBSTANCE}\b",
            context=True,
        ),
        Cue(
            "relapse",
            r"\bI used\b(?= (?:last|yesterday|on|this|again|over|twice|once|a couple|a few|\w+day)|\s*"
            r"(?:[.,!?]|$))|\b(?:couldn't|didn't|wasn't able to) stay (?:clean|sober)\b",
        ),
        Cue("relapse", r"\bwent (?:back )?out again\b", context=True),
        Cue(
            "use",
            rf"\b(?:bought|buy\w*|scor\w*|get\w*|got) (?:some )?(?:\w+ )?(?:{PILLS}|{ILLICIT}) (?:off|from|"
            rf"on) "
            rf"(?:the street|a guy|someone|somebody|my "
            rf"\w+|a \w+|\w+)\b|\b(?:called|texted|met|saw|hit up) my (?:old )?dealer\b",
        ),
        Cue(
            "overdose",
            r"\boverdos(?:e|ed|es|ing)\b|\bOD'?(?:e?d|ing)\b|\btook too much\b(?! (?:on|time|annual|leave|"
            r"money|notice|sun))|\b(?:narcan|"
            r"naloxone)\b|\bfound me (?:blue|unconscious|passed out|not breathing)\b",
        ),
        Cue(
            "use",
            rf"\b(?:lines?|bumps?|hits?|grams?|bags?) of {ILLICIT}\b|\b{USE_VERB} (?:some |a lot of )?"
            rf"{ILLICIT}\b(?! again)",
        ),
        Cue("use", rf"\b(?:taking|took|popping|popped|using) (?:my )?(?:\w+'s) (?:{PILLS}|{ILLICIT})\b"),
        Cue(
            "use",
            r"\b(?:a fifth|a bottle|a handle|a case|a six-pack|\d+ beers|twelve beers)\b(?: of \w+)? "
            r"(?:a|every|each|per) (?:night|day)\b",
        ),
        # How much, asked by the clinician ("How much are you drinking?").
        Cue(
            "use",
            rf"\b(?:a|one|two|three|half a|a whole|a full|\d+) (?:bottles?|litres?|liters?|fifths?|"
            rf"handles?) of "
            rf"(?:\w+ )?{SUBSTANCE}\b|\b(?:\d+|two|three|four|five|six|eight|ten|twelve|fifteen|twenty) "
            rf"(?:cans|pints|tins|beers|drinks|shots)\b",
            context=True,
        ),
        # Fresh phrasing (2026-12): heavy use by quantity and frequency, understatement corrected
        # ("quite a lot of weed"), prescription misuse, a pronoun for the substance, overdose told
        # by what happened (A&E, the nasal spray, stopped breathing).
        Cue(
            "use",
            rf"\b(?:the bottle|(?:a |one |two |three |half a |a whole |a full )?bottles? of (?:(?:\w+ )?"
            rf"{SUBSTANCE}|red|white|ros[eé]|fizz|bubbly|spirits)|(?:\d+|three|four|five|six|seven|eight|nine|"
            rf"ten|eleven|twelve|a few|several) (?:cans|pints|tins|beers|glasses|drinks|shots|bottles)(?: of "
            rf"(?:\w+ )?{SUBSTANCE})?|a (?:fifth|handle|six-pack|crate|case)(?: of (?:\w+ )?{SUBSTANCE})?),? "
            rf"(?:(?!of\b)\w+ ){{0,3}}?(?:(?:a|every|each|per|most) (?:single )?(?:night|day|evening)s?|"
            rf"daily|"
            rf"nightly)\b",
        ),
        Cue(
            "use",
            r"\b(?:quite a lot|a lot|loads|lots|a load|tons|a ton|quite a bit|a fair bit|a fair amount) of "
            r"(?:ket|ketamine|mdma|molly|pingers|xanax|bars|meth|crack|heroin|gear|cocaine|weed|pot|cannabis|"
            r"booze|vodka|wine|beer|cider|gin|whiske?y|rum)\b(?! (?:got|was|were|is|spilled|went))|"
            r"\b(?:been|I'm|"
            r"I am|started) (?:drinking|using) (?:a lot|loads|heavily|way more|more and more|every day|"
            r"daily|"
            r"every night|most nights|all day)\b(?! of)(?!(?: more| less)? (?:of )?(?:water|tea|coffee|"
            r"juice|fluids|milk))|\bwake and bake\b",
        ),
        Cue(
            "use",
            r"\bmore than (?:I'm |I was |I am )?(?:prescribed|my prescription|the (?:prescribed )?dose)\b|"
            r"\bnot (?:really )?(?:for|about) the pain any ?more\b|\bI(?:'ve| have|'m|"
            r" am)? (?:been )?(?:doubl\w*|tripl\w*|taking twice) (?:the|my) "
            r"(?:dose|prescription)\b|\bnot from (?:the|my) (?:GP|doctor|pharmacy|chemist|prescription)\b",
        ),
        Cue(
            "use",
            r"\b(?:got|get|getting|bought|buy|buying|scored?|scoring|pick\w* up) (?:some|them|it|more|extra|"
            r"a few|a bag|a gram|some more)\b (?:\w+ )?(?:off|from) (?:a mate|a friend|someone|somebody|a "
            r"guy|some guy|this guy|a bloke|a dealer|my dealer|the street|online|the dark web|a lad|"
            r"my mate)\b",
            context=True,
        ),
        Cue(
            "relapse",
            r"\b(?:taking|using|doing|smoking|drinking|on) (?:it|them|that stuff|the stuff|those) again\b|"
            r"\bI(?:'ve)? (?:started|began|start) (?:again|back)\b(?=\s*(?:[.,;!?]|$|in |on |last |at |"
            r"after |"
            r"when |this |about |around |a (?:few|couple)))|\bback on it\b|\b(?:went|go|going|gone|been) "
            r"back (?:to|down) the (?:pub|bar|offie|off-licence|liquor store|bottle shop|dealer|casino|"
            r"bookies)\b",
            context=True,
        ),
        Cue(
            "relapse",
            rf"\bback (?:on|to) (?:the |my |a |half a |a whole |\d+ |two |three )?(?:(?:bottles?|"
            rf"glass(?:es)?|"
            rf"cans|pints|litres?|boxes|box|bags?|lines?) of )?{SUBSTANCE}\b",
        ),
        Cue(
            "relapse",
            r"\b(?:drank|finished|downed|necked|polished off|sank) (?:a |the |half a |a whole )?(?:half |"
            r"quarter |whole )?bottle\b|\b(?:drank|necked|downed|finished) (?:it|the lot)\b(?! all in\b|"
            r" in\s*(?:[.,!;]|$))",
            context=True,
        ),
        Cue(
            "lapse",
            r"\b(?:had|took|did|used|smoked|drank|necked|downed) (?:a|one|just one|a couple of|two|a few|"
            r"some) "
            r"(?:\w+ )?(?:pints?|cans?|tins?|joints?|spliffs?|tokes?|bags?)\b",
            context=True,
        ),
        Cue(
            "overdose",
            r"\b(?:took|taking|taken) (?:way |far |much |a bit |a lot )?too much\b(?=\s*(?:[.,;!]|$|"
            r"of (?:the|"
            r"it|that|them|my)|at |last |and |again))|\bmix\w* (?:the |my |some )?(?:\w+ )?(?:with|and) "
            r"(?:too much|a lot of|loads of) (?:drink|alcohol|booze)\b",
        ),
        Cue(
            "overdose",
            r"\b(?:stopped|wasn't|weren't) breathing\b|\b(?:gave|give|given|giving|did|do|had to (?:give|"
            r"use)) "
            r"(?:me )?the nasal spray\b|\bstomach pumped\b",
            context=True,
        ),
    ),
}

#: The turn talks about the risk itself: needed by the context-only cues above.
CONTEXT: dict[RiskCategory, str] = {
    SI: (
        rf"\bsuicid\w*|\b(?:kill|killing) {SELF}|\b(?:it all|everything) to (?:stop|end)\b|"
        rf"\bmake it stop\b|\bend(?:ing)? (?:it|my life|it all|things)\b|\bdie\b|"
        rf"\bdead\b|\bdying\b|\bway out\b|\bwon't (?:be )?need\w*|\bwon't be (?:around|here)\b|"
        rf"\bwhen I'm gone\b|\bafter I'm gone\b|\bremember me\b|\bsomething to remember\b|\bgoodbye\b|"
        rf"\bfor good\b|\bno longer be\b|\bnot be here\b|\bburden\b|\bnot wake up\b|\bin case\b|"
        rf"\b(?:month|week)'?s'? worth\b|\benough (?:of them|to)\b|\bpills\b|\b(?:for|find it|read it|"
        rf"open it) "
        rf"after\b|\b(?:haven't|didn't|won't) tell (?:anyone|anybody|them|him|her) why\b|\b(?:haven't|"
        rf"didn't) "
        rf"told (?:anyone|anybody) why\b|\bno one knows\b|\b(?:train|platform|tracks|bridge|ledge|roof|"
        rf"overpass|"
        rf"cliff)\b|\bunaliv\w*|\b(?:the|a|tow) rope\b|\bnoose\b|\b(?:things|everything|affairs) in order\b|"
        rf"\bloose ends\b|\b(?:my|the) will\b|\bletters? (?:to|for) (?:my|the|each)\b|"
        rf"\bmade (?:my )?peace with\b|\bnot (?:going to |gonna )?(?:be )?(?:sticking|hanging) around\b|"
        rf"\b(?:haven't|didn't|never) told (?:anyone|anybody)\b|\bstomach pumped\b|\bon a drip\b|\b(?:A&E|"
        rf"A and E|(?-i:ER)|emergency room|ICU|intensive care|resus)\b[^.!?]{{0,40}}\b(?:drip|charcoal|"
        rf"pumped|liver|psych\w*)|\b(?:need|want|wait\w*)\b[^.!?]{{0,20}}\b(?:flat|house|place|"
        rf"home) to (?:be )?(?:empty|myself)\b|\b(?:when|once|until|till) (?:the|my) (?:flat|house|place|"
        rf"home)(?:'s| is) (?:empty|quiet)\b|\b(?:kill|killing|end|ending) yourself\b|\b(?:end|take|ending|"
        rf"taking) your (?:own )?life\b|\b(?:got|have|packed|brought) (?:everything|what|"
        rf"all) I(?:'ll)? need\b(?! for)|\bgave (?:away )?my \w+(?: \w+)? to\b|\b(?:sav\w*|stockpil\w*|"
        rf"hoard\w*) (?:up )?(?:your |my )?(?:meds|tablets|medication)\b"
    ),
    SH: (
        r"\bdeserve\b|\bpunish\w*|\bon purpose\b|\bto feel (?:something|better|pain)\b|\bhurt myself\b|"
        r"\bblades?\b|\brazors?\b|\bscars?\b|\bsleeves\b|\bself[- ]?harm|\bknuckles\b|\b(?:earned|"
        r"deserved?) it\b|\b(?:hurt|hurting|harm|harming|cut|cutting|burn|burning) yourself\b|\b(?:it|"
        r"them) on yourself\b|\bon my (?:wrists?|arms?|forearms?|thighs?|hips?|stomach|belly)\b|\b(?:nobody|"
        r"no one) (?:sees|can see|notices)\b|\b(?:bled|bleeding)\b"
    ),
    HO: (
        rf"\b(?:kill|hurt|stab|shoot|beat|attack|make) (?:him|her|them)\b|\bhe won't see it coming\b|"
        rf"{WEAPON}|\b(?:his|her|their) (?:shifts|schedule|routine|movements)\b|\bfollow(?:ed|ing)? "
        r"(?:him|her|them)\b|\bwatching (?:him|her|them|his|their)\b|\bnot saying I'(?:ll|m gonna|m "
        r"going to)\b|\b(?:satisf\w*|kick out of|calms me|makes me smile|enjoy\w*|serves? (?:him|her|them) "
        r"right)\b|\b(?:wasn't|not|I'm not) joking\b|\bI (?:really )?mean(?:t)? it\b|\bknew what I meant\b"
    ),
    AN: (
        rf"{CHILD}|\b{ELDER}|\blittle (?:brothers?|sisters?)\b|\bhaven't eaten\b|\bhungry\b|\bI'm (?:only )?"
        r"(?:\d{1,2}|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)\b|\bchildhood\b|"
        r"\bgrowing up\b|\bas (?:a )?(?:kids?|child|children)\b|\bwhen I was (?:little|young|a kid)\b|"
        r"\b(?:wouldn't|won't|didn't|couldn't|doesn't) stop (?:crying|screaming)\b|\bpower of attorney\b|"
        r"\bcarers?\b"
    ),
    SR: r"\bsober\w*|\bclean\b|\bsobriety\b|\bafter (?:\w+ ){0,2}(?:days|weeks|months|years)\b|\bfirst "
    r"time in\b|\bchip\b|\brecovery\b|\bmeetings?\b|\bsponsor\b|\bAA\b|\bNA\b|\brelaps\w*|\bashamed\b|"
    r"\b(?:days|weeks|months|years) (?:off|without|dry|clean|free)\b|\b(?:been|was|were|'d been|had been|"
    r"came|"
    r"come|coming|get|got|stay\w*) off (?:the|it|them|my)\b|\b(?:stopped|quit|gave up|given up|packed in) "
    r"(?:the |my |on )?(?:drinking|using|smoking|drink|booze|weed|drugs|pills|coke|gear)\b|\b(?:been|was|"
    r"stayed|"
    r"staying|'d been) dry\b|\bthe (?:drinking|"
    r"drink|booze|using|drugs|gambling)\b|\bhow (?:much|often) (?:are you|do you|have you been) (?:drink|"
    r"using|"
    r"smok)|\bnasal spray\b|\bnarcan\b|\bnaloxone\b|\bstopped breathing\b|"
    r"\b(?:took|taking|had|taken|drank|did) (?:way |far |much )?too much\b(?! (?:cake|food|to eat|work))|"
    r"\bmore than I should\b|\bthe gear\b|\b(?:wasn't|weren't|not) breathing\b",
}

#: Turns that say an attempt or threat is meant (C-SSRS 4: some intent to act).
INTENT_RE = re.compile(
    r"\bI (?:really )?mean it\b|\bI'm (?:dead )?serious\b|\bnot (?:just )?saying (?:it|that)\b|"
    r"\bactually going to\b|\bthis time\b",
    re.I,
)
#: A time or place that makes an intent a plan (C-SSRS 5).
SPECIFICS_RE = re.compile(
    r"\b(?:on|this|next|by) (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|week)\b|"
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?: night| morning)?\b|\btonight\b|"
    r"\btomorrow\b|\bafter (?:everyone|the kids|my \w+|the \w+)\b|\bwhen (?:my|everyone|the)\b|"
    r"\bin the (?:garage|basement|car|woods|bathroom|shed)\b|\b(?:drive|go|going) (?:out )?to the\b",
    re.I,
)
