"""The grounding guard: unsupported facts, denials, repetition, and the extractive fill."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import grounding
from models.pipeline import prepare
from schemas.notes import SECTIONS, NoteFormat, RiskCategory, RiskFlag

TRANSCRIPT = (
    "Therapist: How has the week been?\n"
    "Client: Rough. I drank four nights out of seven, mostly on my own. My sister Dana noticed.\n"
    "Therapist: Any thoughts of hurting yourself?\n"
    "Client: No, nothing like that.\n"
    "Therapist: You mentioned the sertraline last time.\n"
    "Client: I stopped taking it in March because it made me tired.\n"
)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The client is a 40-year-old man who drinks.", "register"),
        ("The client drank on nine nights.", "number"),
        ("The client drank twelve beers.", "number"),
        ("The client started drinking in 2019.", "date"),
        ("The client will return on Thursday.", "date"),
        ("The client takes lorazepam at night.", "medication"),
        ("The client takes 50 mg daily.", "medication"),
        ("The client's brother Marcus is worried.", "name"),
        ("The client is a divorced father.", "demographic"),
        ("The client denies any history of depression or anxiety.", "denial"),
        ("Lungs are clear and the abdomen is soft.", "register"),
        ("The patient reported drinking.", "register"),
        ("He said his heart rate was 30 beats per minute.", "register"),
        ("Vitals were stable and blood pressure was normal.", "register"),
        ("The client denies chest pain or shortness of breath.", "register"),
    ],
)
def test_unsupported_facts_are_found(sentence: str, reason: str) -> None:
    assert reason in grounding.unsupported(sentence, TRANSCRIPT)


@pytest.mark.parametrize(
    "sentence",
    [
        "The client reported drinking four nights out of seven, mostly alone.",
        "The client's sister Dana noticed the drinking.",
        "The client stopped taking sertraline in March because it made them tired.",
        "The client denied thoughts of hurting themself.",
        "The client was open about the week and engaged in the session.",
        "Therapist used open questions and reflections.",
        "The client may want support from one friend.",
        "The client noticed their heart racing before the meeting.",
    ],
)
def test_supported_sentences_pass(sentence: str) -> None:
    assert grounding.unsupported(sentence, TRANSCRIPT) == []


def test_numbers_in_words_and_digits_agree() -> None:
    transcript = "Client: I sleep about 5 hours and I've been sober twenty-one days."
    assert grounding.unsupported("The client sleeps about five hours.", transcript) == []
    assert grounding.unsupported("The client has been sober for 21 days.", transcript) == []
    assert grounding.unsupported("The client has been sober for 22 days.", transcript) == ["number"]


def test_guard_removes_duplicates_loops_and_unsupported_and_counts_them() -> None:
    prepared = prepare(TRANSCRIPT)
    sections = {
        "subjective": "The client drank four nights out of seven. The client is a 52-year-old male.",
        "objective": "The client drank four nights out of seven. The client was engaged.",
        "assessment": "The client is ambivalent about drinking. " + "I think that I think that " * 4 + ".",
        "plan": "The client will see Dr. Patel on Monday.",
    }
    kept, report = grounding.ground_sections(sections, prepared, NoteFormat.SOAP)
    assert kept["subjective"] == "The client drank four nights out of seven."
    assert kept["objective"] == "The client was engaged."
    assert kept["assessment"] == "The client is ambivalent about drinking."
    assert report.removed["register"] == 1
    assert report.removed["duplicate"] == 1
    assert report.removed["loop"] == 1
    assert report.extracted_sections == ["plan"]  # emptied, then filled by the extractive path
    assert kept["plan"]
    metadata = report.as_metadata()
    assert set(metadata) == {
        "sentences_in",
        "sentences_kept",
        "removed",
        "extracted_sections",
        "pronouns_changed",
    }
    assert "Patel" not in str(metadata)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS[NoteFormat.BIRP]), st.text(max_size=300)))
def test_guard_always_fills_every_section(sections: dict[str, str]) -> None:
    kept, report = grounding.ground_sections(sections, prepare(TRANSCRIPT), NoteFormat.BIRP)
    assert list(kept) == list(SECTIONS[NoteFormat.BIRP])
    assert all(text.strip() for text in kept.values())
    assert report.sentences_kept <= report.sentences_in


# Denials: only the client's own denial of that very thing, never a denial of a scanned risk.
RISK_TRANSCRIPT = (
    "Therapist: Some people in your place have thoughts of ending their life. "
    "Have you had thoughts like that?\n"
    "Client: [pause] Not killing myself. But some mornings I wish I could just not wake up.\n"
    "Therapist: Have you made any plan, or thought about how you would do it?\n"
    "Client: No. I haven't planned anything.\n"
    "Therapist: Have you ever tried to end your life, or hurt yourself?\n"
    "Client: No. Never.\n"
    "Therapist: Have you ever screamed during a panic attack?\n"
    "Client: No.\n"
    "Therapist: Has he threatened you, or does he have access to any weapons?\n"
    "Client: No weapons.\n"
    "Client: I still have a few beers on Wednesdays.\n"
)


def _flag(category: RiskCategory, severity: str = "wish_to_die") -> RiskFlag:
    return RiskFlag(category=category, evidence="e", severity=severity)


def test_a_denial_of_a_scanned_risk_is_removed_whatever_the_client_said() -> None:
    flags = [_flag(RiskCategory.SUICIDAL_IDEATION)]
    for sentence in (
        "The client denies suicidal ideation.",
        "She denied thoughts of killing herself.",
        "No thoughts of ending his life were reported.",
        "Client denies SI.",
        "The call was thoughtless but not suicidal.",
        "She is not currently suicidal.",
    ):
        assert grounding.unsupported(sentence, RISK_TRANSCRIPT, flags) == ["risk_denial"], sentence
    # A denial of another thing the client did deny stays; a past attempt only contradicts a
    # flag of suicidal behaviour.
    assert grounding.unsupported("The client denied having a plan.", RISK_TRANSCRIPT, flags) == []
    assert grounding.unsupported("The client denied past suicide attempts.", RISK_TRANSCRIPT, flags) == []
    history = [_flag(RiskCategory.SUICIDAL_IDEATION, "history")]
    assert grounding.unsupported("The client denied past suicide attempts.", RISK_TRANSCRIPT, history) == [
        "risk_denial"
    ]


def test_a_denial_holds_only_where_the_client_denied_that_very_thing() -> None:
    t = RISK_TRANSCRIPT
    # "Not killing myself" beside "not wake up": the client affirmed a wish to die.
    assert grounding.unsupported("The client denied suicidal thoughts.", t) == ["denial"]
    # A "no" to a question about screaming is no denial of panic attacks.
    assert grounding.unsupported("He denied any panic attacks.", t) == ["denial"]
    # Affirmed in the client's own words.
    assert grounding.unsupported("The client denies drinking.", t) == ["denial"]
    # Each thing listed must be denied.
    assert grounding.unsupported("The client denied plans or self-harm.", t) == []
    assert grounding.unsupported("The client denied plans or nightmares.", t) == ["denial"]
    # A "no" to one part of a question with several.
    assert grounding.unsupported("The client denied having access to weapons.", t) == []
    # A denial stated as a state ("not suicidal") needs the client's own denial too.
    assert grounding.unsupported("The client is not suicidal.", t) == ["denial"]
    denied = "Client: I'm not suicidal, just tired.\n"
    assert grounding.unsupported("The client is not suicidal.", denied) == []


def test_a_denial_of_a_pronoun_is_not_a_symptom_denial() -> None:
    transcript = "Client: My mum said I took the money. I told her I didn't.\n"
    assert grounding.unsupported("Her mother accused her of taking it and she denied it.", transcript) == []
    assert grounding.unsupported("She denied this.", transcript) == []


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Risk for suicidality is assessed as low.", ["risk_rating"]),
        ("The client is a low-risk drinker.", ["risk_rating"]),
        ("Overall risk appears moderate.", ["risk_rating"]),
        ("The client identified high-risk situations for drinking.", []),
        ("The client described himself as a risk-taker.", []),
    ],
)
def test_risk_ratings_need_the_transcript(sentence: str, expected: list[str]) -> None:
    transcript = "Therapist: What gets in the way?\nClient: Fridays after work. I take risks at work too.\n"
    assert grounding.unsupported(sentence, transcript) == expected


def test_a_risk_rating_the_transcript_gives_stays() -> None:
    transcript = "Therapist: From what you say, I'd judge the risk right now as low.\nClient: Okay.\n"
    assert grounding.unsupported("The therapist judged current risk as low.", transcript) == []


def test_conditional_safety_plans_need_the_transcript() -> None:
    transcript = (
        "Therapist: And if the thoughts get stronger, what would you do?\n"
        "Client: I'd call my brother. Or the crisis line.\n"
    )
    supported = "If the thoughts get stronger, the client will call his brother or the crisis line."
    assert grounding.unsupported(supported, transcript) == []
    assert grounding.unsupported("A referral is made if the plan fails.", transcript) == ["safety_plan"]
    assert grounding.unsupported("If his mood worsens he will contact his GP.", transcript) == [
        "safety_plan",
        "referral",
    ]
    # A conditional plan that is no safety plan is not this check's business.
    assert grounding.unsupported("If it rains he will walk inside.", transcript) == []


# False positives seen before.
def test_a_weekday_in_the_plural_supports_the_singular() -> None:
    assert grounding.unsupported("The client drinks beer on Wednesday.", RISK_TRANSCRIPT) == []
    transcript = "Client: We meet on Friday.\n"
    assert grounding.unsupported("They meet on Fridays.", transcript) == []


@pytest.mark.parametrize(
    ("transcript", "sentence"),
    [
        ("Client: I owe about two thousand pounds.", "The client owes 2,000 pounds."),
        ("Client: I owe about two thousand pounds.", "The client owes 2000 pounds."),
        ("Client: I owe 2,000 pounds.", "The client owes two thousand pounds."),
        ("Client: I had two, then another two.", "The client had another two."),
        ("Client: I've been sober 21 days.", "The client has been sober twenty-one days."),
        ("Client: Four or five nights.", "The client drinks four-five nights a week."),
        ("Client: It was in 2019.", "It started in two thousand and nineteen."),
    ],
)
def test_spoken_numbers_and_digits_agree(transcript: str, sentence: str) -> None:
    assert grounding.unsupported(sentence, transcript) == []


def test_a_composite_number_needs_its_own_value() -> None:
    transcript = "Client: Thirty at the platform. Five last week."
    assert grounding.unsupported("The client had thirty-five attacks.", transcript) == ["number"]


def test_a_quotation_the_transcript_holds_is_the_clients_own_words() -> None:
    transcript = "Client: My neighbour calls me a silly old lady, and Mum agrees.\n"
    quoted = 'The client said her neighbour calls her "a silly old lady, and Mum agrees."'
    assert grounding.unsupported(quoted, transcript) == []
    # An invented quotation is checked like any other text.
    assert grounding.unsupported('The client called herself "an old lady from Leeds."', transcript) != []
    # A quotation ending a sentence does not make the next word a name.
    joined = 'He wrote "silly old lady." Belief in change is strong.'
    assert grounding.unsupported(joined, transcript) == []


SLEEP_SESSION = (
    "Therapist: How has the sleep diary gone this week?\n"
    "Client: I filled it in every day. I'm in bed for nine hours but asleep for maybe six.\n"
    "Therapist: What would it be like to go to bed later and get up at the same time every day?\n"
    "Client: Hard, but I can try it for two weeks."
)
SAFETY_SESSION = (
    "Therapist: Let's write down what you can do if the thoughts get stronger. Who could you call "
    "if it gets worse?\nClient: My sister, and the crisis line.\n"
    "Therapist: Let's also note the warning signs you noticed."
)


@pytest.mark.parametrize(
    ("sentence", "transcript", "expected"),
    [
        (
            "The therapist used open questions, safety planning and anticipatory grief.",
            SLEEP_SESSION,
            ["technique"],
        ),
        ("The therapist taught mindfulness and breathing exercises.", SLEEP_SESSION, ["technique"]),
        ("The therapist used cognitive restructuring on sleep worries.", SLEEP_SESSION, ["technique"]),
        ("The therapist reviewed the sleep diary with open questions.", SLEEP_SESSION, []),
        # the rules find safety planning in the therapist's turns, without the words "safety plan"
        ("The therapist and client made a safety plan.", SAFETY_SESSION, []),
        # the transcript names it itself
        ("The client practises mindfulness.", "Client: I do mindfulness every morning.", []),
    ],
)
def test_a_named_technique_needs_the_session_to_show_it(sentence, transcript, expected):
    assert grounding.unsupported(sentence, transcript) == expected


@pytest.mark.parametrize(
    ("sentence", "transcript", "expected"),
    [
        # the README's two-line session: the model planned a sleep clinic and homework
        (
            "Client will attend a sleep clinic and complete homework.",
            "Therapist: How was your week?\nClient: I slept badly and argued with my sister.",
            ["technique", "referral"],
        ),
        ("Client will see her GP about the sleep.", SLEEP_SESSION, ["referral"]),
        ("A psychiatric evaluation was recommended.", SLEEP_SESSION, ["referral"]),
        ("Client was encouraged to join a support group.", SLEEP_SESSION, ["referral"]),
        ("Couples therapy was discussed.", SLEEP_SESSION, ["referral"]),
        # the transcript names the service, in its own words
        (
            "Client will attend the sleep clinic her doctor suggested.",
            "Client: My doctor wants me to go to the sleep clinic.",
            [],
        ),
        ("Client will ask her physician about the tablets.", "Client: I'll ask my doctor.", []),
        ("Client said her mother was in hospital.", "Client: Mum's been in hospital all week.", []),
        ("Client will keep the sleep diary for two weeks.", SLEEP_SESSION, []),
        # homework the rules find in the therapist's turns
        (
            "Homework: keep the sleep diary.",
            "Therapist: For homework, keep the sleep diary every morning this week.\nClient: Okay.",
            [],
        ),
    ],
)
def test_a_referral_or_homework_needs_the_session_to_name_it(sentence, transcript, expected):
    assert grounding.unsupported(sentence, transcript) == expected


def test_a_technique_word_in_the_client_report_is_no_claim():
    sentence = "Client reported two days without cannabis and was more focused on relaxation than sleep."
    assert (
        grounding.unsupported(sentence, "Client: Two days without cannabis now. I just want to sleep.") == []
    )


def test_a_list_item_said_again_in_a_sentence_is_cut_and_counted() -> None:
    # dev-05 with v4: the model came back to one walk after others (no three-in-a-row loop)
    looped = (
        "Therapist reviewed the steps, walked alone with Linh, walked in the building if raining, "
        "walked alone with her, walked alone with Linh and walked at lunch with her."
    )
    assert grounding.without_repeated_items(looped) == (
        "Therapist reviewed the steps, walked alone with Linh, walked in the building if raining, "
        "walked alone with her and walked at lunch with her.",
        1,
    )
    # an item that is the end of an earlier one ("used open questions, ..., open questions")
    assert grounding.without_repeated_items(
        "She used open questions, reflections, open questions and a ruler."
    ) == (
        "She used open questions, reflections and a ruler.",
        1,
    )
    for kept in ("He feels sad at home and sad at work.", "It was it and it.", "No.", ""):
        assert grounding.without_repeated_items(kept) == (kept, 0)
    transcript = "Therapist: How was walking?\nClient: I walked with Linh, and I walked at lunch."
    sections = {"subjective": "The client walked with Linh, walked at lunch and walked with Linh."}
    kept, report = grounding.ground_text(sections, transcript)
    assert kept["subjective"] == "The client walked with Linh, walked at lunch."
    assert report.removed["repeated_item"] == 1 and report.sentences_kept == 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(["she walked", "walked with Linh", "and", "or", ",", "the ruler", "."]), max_size=12
    )
)
def test_cutting_repeated_items_adds_no_word_and_is_stable(pieces: list[str]) -> None:
    sentence = " ".join(pieces)
    cut, n = grounding.without_repeated_items(sentence)
    assert Counter(grounding._words(cut)) <= Counter(grounding._words(sentence))
    assert (n == 0) == (cut == sentence)
    assert grounding.without_repeated_items(cut) == (cut, 0)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # seen in v4's notes: a sentence about the record, not the session
        ("Therapist reviewed progress notes and completed an objective section covering sleep.", ["meta"]),
        ("Counselor updated the case notes.", ["meta"]),
        # the words alone, about the session
        ("Client and therapist agreed a plan for the week.", []),
        ("Client took notes on her progress.", []),
    ],
)
def test_a_sentence_about_the_record_is_removed(sentence, expected):
    transcript = "Therapist: How was the week?\nClient: I slept badly. I wrote down what worried me."
    assert grounding.unsupported(sentence, transcript) == expected


def test_a_number_half_in_words_is_removed():
    transcript = "Client: I lost about nine thousand on the slots."
    assert grounding.unsupported("Client lost around nine,000 on slots.", transcript) == ["number"]
    assert grounding.unsupported("Client lost around nine thousand on slots.", transcript) == []


@pytest.mark.parametrize(
    ("sentence", "transcript", "expected"),
    [
        # the README's two-line session: v6 added two symptoms the client never mentioned
        (
            "Poor sleep, poor appetite and irritability.",
            "Therapist: How was your week?\nClient: I slept badly and argued with my sister.",
            ["symptom"],
        ),
        ("Client reported insomnia and nightmares.", "Client: I can't sleep, I'm up all night.", ["symptom"]),
        # the transcript holds them, in its own words
        ("Client reported poor appetite.", "Client: I've barely eaten all week.", []),
        ("Client described irritability at work.", "Client: I keep snapping at everyone.", []),
        ("Client reported insomnia.", "Client: I'm awake till four most nights.", []),
        ("Client was tearful.", "Client: Sorry, I'm crying again.", []),
    ],
)
def test_a_symptom_the_session_never_holds_is_removed(sentence, transcript, expected):
    assert grounding.unsupported(sentence, transcript) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # MTS-Dialog's openings (validation set, paraphrased)
        (
            "The patient is a 26-year-old female, referred to physical therapy for low back pain.",
            "The client is referred to physical therapy for low back pain.",
        ),
        (
            "The patient is a 57-year-old female being seen today for pain in both feet.",
            "The client is being seen today for pain in both feet.",
        ),
        (
            "This is a 51-year-old right hand dominant female with a long history of thumb pain.",
            "The client has a long history of thumb pain.",
        ),
        (
            "The patient was a 62-year-old African-American male with numbness in his legs.",
            "The client had numbness in his legs.",
        ),
        ("This patient, a 41 year-old male, was at a coffee shop.", "This client was at a coffee shop."),
        (
            "A 49-year-old female with a history of eczema comes in with ear pain.",
            "The client with a history of eczema comes in with ear pain.",
        ),
        ("This 17-year-old male was fighting with other kids.", "The client was fighting with other kids."),
        ("He is a twenty-nine-year-old white male who was stung by a wasp.", "He was stung by a wasp."),
        ("The client is a 40-year-old man who drinks most nights.", "The client drinks most nights."),
        ("She is a 30-year-old who presents with low mood.", "She presents with low mood."),
        ("The patient reports poor sleep.", "The client reports poor sleep."),
        # nothing is left once the demographics go
        ("The patient is a 45-year-old female.", ""),
        ("She is a pleasant 70-year-old woman.", ""),
        # no demographic opening: as written
        ("The client is a single mother who works nights.",) * 2,
        ("The client walked with her sister.", "The client walked with her sister."),
    ],
)
def test_a_demographic_opening_goes_and_what_the_sentence_said_stays(sentence: str, expected: str) -> None:
    assert grounding.without_demographics(sentence) == expected


def test_the_guard_keeps_a_sentence_without_its_demographic_opening_if_nothing_else_is_unsupported() -> None:
    sections = {
        "subjective": "The patient is a 40-year-old male who drank four nights out of seven. "
        "The client is a 38-year-old man who takes lorazepam at night. "
        "She is a 50-year-old woman.",
        "objective": "The client drank four nights out of seven.",
    }
    kept, report = grounding.ground_text(sections, TRANSCRIPT, ["subjective", "objective"])
    # rescued; the second still names a medication the session never did; the third says nothing else
    assert kept["subjective"] == "The client drank four nights out of seven."
    assert kept["objective"] == ""  # the rescued sentence is now a duplicate of it
    assert report.removed == Counter({"demographic_phrase": 1, "register": 2, "duplicate": 1})


def test_a_stage_of_change_that_does_not_exist_goes_and_what_the_sentence_said_stays() -> None:
    # v6 on the hold-out set: "pre-quit", "pre-stop", "pre-crisis" and "planning" stages
    transcript = (
        "Therapist: Where are you with smoking?\nClient: I smoke most nights. I want to stop next week."
    )
    sections = {
        "assessment": "Client is in the pre-quit stage, with a history of smoking most nights. "
        "Client is in the planning stage. Client is in the contemplation stage. "
        "At this stage the client is unsure."
    }
    kept, report = grounding.ground_text(sections, transcript)
    assert kept["assessment"] == (
        "Client has a history of smoking most nights. Client is in the contemplation stage. "
        "At this stage the client is unsure."
    )
    assert report.removed["duplicate"] == 0
    assert report.removed == Counter({"stage_phrase": 1, "stage": 1})
    assert grounding.unsupported("Client is in the early stage of change.", transcript) == []
    # a stage the transcript itself names stands
    assert grounding.unsupported("She is in the planning stage.", "Client: I'm in the planning stage.") == []
    coined = "He was in the pre-stop stage, with a target date."
    assert grounding.without_coined_stage(coined) == "He had a target date."
    assert grounding.without_coined_stage("Client is in the action stage, with support.") == (
        "Client is in the action stage, with support."
    )


def test_a_screening_claim_needs_a_screening_question_and_its_clause_is_cut() -> None:
    """v6 wrote "screened for avoidance and snack-filling behaviours" in hold-out sessions where
    no one was screened for anything: the claim goes, what else the sentence says stays."""
    plain = (
        "Therapist: What gets in the way of cutting down?\nClient: Snacking in the evening, mostly.\n"
        "Therapist: On a scale of one to ten, how confident are you?\nClient: About six."
    )
    sections = {
        "objective": "Therapist screened for avoidance and snack-filling behaviours, used a confidence "
        "ruler and validated his intention. The therapist screened for self-harm."
    }
    kept, report = grounding.ground_text(sections, plain)
    assert kept["objective"] == "Therapist used a confidence ruler and validated his intention."
    assert report.removed == Counter({"screening_phrase": 1, "technique": 1})
    assert grounding.without_screening_claim("It used reflections, and screened for self-harm.") == (
        "It used reflections."
    )
    # A session whose clinician asked a screening question: the claim stands.
    screened = "Therapist: Any thoughts of hurting yourself lately?\nClient: No, nothing like that."
    assert grounding.unsupported("The therapist screened for self-harm.", screened) == []
