"""Interventions named by rules over the therapist's turns: positives, negatives, the sentence."""

from __future__ import annotations

import pytest

from models.interventions import (
    TECHNIQUES,
    clinician_title,
    describe,
    detect,
    interventions_sentence,
    phrases,
)
from models.text import normalize, parse_turns


def found_in(transcript: str) -> set[str]:
    return set(detect(parse_turns(normalize(transcript))))


def technique(key: str):
    return next(t for t in TECHNIQUES if t.key == key)


MI_SESSION = """Therapist: What brings you in today?
Client: My wife thinks I drink too much.
Therapist: How do you see it yourself?
Client: It's just beer after work.
Therapist: It sounds like the beer helps you wind down after a stressful day.
Client: Yeah, it does.
Therapist: What are the good things about drinking for you, and what are the not so good things?
Client: It relaxes me. But the mornings are rough.
Therapist: You're feeling the cost of it in the mornings.
Therapist: On a scale of zero to ten, how important is it for you to cut back?
Client: Maybe a six.
Therapist: That took courage to say.
Therapist: Between now and next week, would you be willing to write down how many drinks you have each night?
Client: I can do that."""


@pytest.mark.parametrize(
    ("key", "sentence"),
    [
        ("open_questions", "So, what brings you here today?"),
        ("open_questions", "If you imagine a year from now, what does that look like?"),
        ("open_questions", "Tell me more about that?"),
        ("reflections", "It sounds like you're exhausted."),
        ("reflections", "So you're feeling stuck between the two."),
        ("reflections", "You keep it out of the house."),
        ("reflections", "Part of you wants to stop."),
        ("affirmations", "That took a lot of courage."),
        ("affirmations", "That's an important thing to notice."),
        ("summaries", "Let me summarise what I've heard so far."),
        ("summaries", "You've talked about your daughter, your mom, your lungs, the money."),
        ("validation", "That makes a lot of sense."),
        ("validation", "It's completely understandable that you feel this way."),
        ("scaling", "On a scale of zero to ten, how confident are you?"),
        ("psychoeducation", "A lot of people who stop drinking notice their sleep gets worse for a week."),
        ("psychoeducation", "That's the fight-or-flight response doing its job."),
        ("psychoeducation", "Can I explain a couple of ideas about why sleep gets stuck?"),
        ("homework_review", "Let's start with the sleep diary."),
        ("exposure", "That's what we'd call a behavioural experiment."),
        ("cognitive_restructuring", "How strongly did you believe that, zero to a hundred?"),
        ("cognitive_restructuring", "What's the evidence for that thought?"),
        ("cognitive_restructuring", "What would you say to a friend who thought that?"),
        ("ambivalence", "What are the pros and cons of quitting?"),
        ("values", "What matters most to you as a father?"),
        ("behavioural_activation", "Could you schedule one pleasant activity each day?"),
        ("exposure", "Let's build a fear ladder, starting with the easiest step."),
        ("relaxation", "Let's try some slow breathing together."),
        ("relaxation", "Name five things you can see right now."),
        ("safety_planning", "Let's go over your safety plan."),
        ("risk_screening", "Have you had any thoughts of suicide?"),
        ("risk_screening", "Are you having any thoughts of hurting yourself?"),
        # dev-17: a screening asked through what "people" feel; the guard needs it found
        ("risk_screening", "Sometimes people have thoughts that life isn't worth living. Has that happened?"),
        ("risk_screening", "Some people think of hurting themselves when they feel this alone."),
        ("goal_setting", "What would you like to work on in our sessions?"),
        ("homework", "For homework, keep a thought record."),
        ("homework", "Try the breathing exercise every morning this week."),
    ],
)
def test_technique_matches(key: str, sentence: str) -> None:
    assert technique(key).matches(sentence)


@pytest.mark.parametrize(
    ("key", "sentence"),
    [
        ("open_questions", "Did you drink last night?"),
        ("open_questions", "What a week."),
        ("open_questions", "How are you?"),
        ("reflections", "You could try writing it down."),
        ("reflections", "You know, it happens."),
        ("reflections", "Do you feel better?"),
        ("affirmations", "Take your time."),
        ("validation", "That sounds like a plan."),
        ("scaling", "We can look at that next time."),
        ("psychoeducation", "People say all sorts of things."),
        ("cognitive_restructuring", "Tell me about your week."),
        ("ambivalence", "What happened on Friday?"),
        ("values", "How important is this to you, from zero to ten?"),
        ("relaxation", "I was out of breath after the stairs."),
        ("relaxation", "Tingling hands are a common effect of breathing fast when anxious."),
        ("homework_review", "How was your weekend?"),
        ("risk_screening", "Let's go over your safety plan."),
        ("goal_setting", "Good morning."),
        ("homework", "See you next week."),
    ],
)
def test_technique_does_not_match(key: str, sentence: str) -> None:
    assert not technique(key).matches(sentence)


def test_detect_counts_only_the_therapist() -> None:
    transcript = (
        "Client: It sounds like a lot. It sounds like too much. What should I do? How do I stop?\n"
        "Client: On a scale of zero to ten, I'm a two.\n"
        "Therapist: Mm."
    )
    assert found_in(transcript) == set()


def test_min_count_applies() -> None:
    one = "Therapist: What happened then?\nClient: Nothing much."
    two = one + "\nTherapist: How did that feel?"
    assert "open_questions" not in found_in(one)
    assert "open_questions" in found_in(two)


def test_mi_session_sentence() -> None:
    found = found_in(MI_SESSION)
    assert {"open_questions", "reflections", "scaling", "ambivalence", "affirmations", "homework"} <= found
    assert not found & {"risk_screening", "safety_planning", "exposure", "cognitive_restructuring"}
    sentence = interventions_sentence(MI_SESSION)
    assert sentence.startswith("The therapist used open questions, reflective listening, affirmations")
    assert "an importance ruler" in sentence
    assert "explored the pros and cons of drinking" in sentence
    assert "assigned homework" in sentence
    assert "safety" not in sentence and "psychoeducation" not in sentence


def test_sentence_uses_the_transcripts_role_label() -> None:
    transcript = MI_SESSION.replace("Therapist:", "Counselor:")
    assert interventions_sentence(transcript).startswith("The counselor used")
    assert clinician_title(parse_turns("Dr. Lee: Hello.\nClient: Hi.")) == "therapist"


def test_details_name_what_was_reviewed_screened_and_tried() -> None:
    transcript = """Therapist: Let's start with the panic diary.
Therapist: Have you had thoughts of ending your life, or of hurting yourself?
Therapist: That's what we'd call a behavioural experiment."""
    sentence = interventions_sentence(transcript)
    assert sentence.startswith("The therapist reviewed the panic diary, ")
    assert "screened for suicidal thoughts and self-harm" in sentence
    assert "set up a behavioural experiment" in sentence


def test_no_techniques_no_sentence() -> None:
    assert interventions_sentence("Client: I had a quiet week.\nTherapist: Okay.") == ""
    assert interventions_sentence("") == ""
    assert describe({}) == ""


def test_topics_come_from_the_transcript() -> None:
    transcript = (
        "Therapist: A lot of people who feel anxious find that avoidance keeps the anxiety going.\n"
        "Therapist: What are the pros and cons of gambling for you?"
    )
    sentence = interventions_sentence(transcript)
    assert "provided psychoeducation about avoidance and anxiety" in sentence
    assert "the pros and cons of gambling" in sentence


def test_many_techniques_make_two_sentences() -> None:
    transcript = """Therapist: What happened this week? How did you cope?
Therapist: Have you had any thoughts of suicide?
Therapist: Let's update your safety plan together.
Therapist: What's the evidence for that thought?
Therapist: Let's practise slow breathing.
Therapist: For homework, try the breathing each morning this week.
Therapist: That makes sense."""
    parts = phrases(detect(parse_turns(transcript)))
    assert "screened for suicidal thoughts" in parts and "reviewed a safety plan" in parts
    sentence = interventions_sentence(transcript)
    assert sentence.count("The therapist") == 2 and sentence.endswith(".")
    assert "The therapist also" in sentence
