"""One pronoun for the client through a note (models.pronouns)."""

from __future__ import annotations

import pytest

from models.pronouns import agree, transcript_gender
from models.text import normalize, parse_turns, with_roles


def turns(transcript: str):
    return parse_turns(with_roles(normalize(transcript)))


NO_CUE = turns("Therapist: How was the week?\nClient: Long. I kept putting the bet slips in the drawer.")


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("Therapist: How are things?\nClient: As a mum of two, I never get a minute.", "f"),
        ("Therapist: Go on.\nClient: I'm a single dad, so the mornings are mine.", "m"),
        ("Therapist: Thanks for coming in, Mr Okafor.\nClient: Call me Sam.", "m"),
        ("Client: Are patches safe when you're pregnant?\nTherapist: They are safer than smoking.", "f"),
        # a spouse is no cue (the client may have a husband either way), nor is the therapist's "I"
        ("Client: My husband counted it up.\nTherapist: I'm a mother myself.", None),
        ("Therapist: How was it?\nClient: Fine.", None),
        # cues that disagree decide nothing
        ("Client: As a mum I worry. As a dad he doesn't.\nTherapist: Go on.", None),
    ],
)
def test_the_transcript_decides_the_clients_gender_only_from_a_cue(transcript, expected):
    assert transcript_gender(turns(transcript)) == expected


def test_a_cue_in_the_transcript_makes_every_client_pronoun_agree():
    mum = turns("Therapist: How was the week?\nClient: As a mum, it was a lot.")
    sections = {
        "subjective": "Client reported a hard week. She felt tired.",
        "plan": "Client will leave his phone downstairs. He will return next week.",
    }
    out, changed = agree(sections, mum)
    assert out == {
        "subjective": "Client reported a hard week. She felt tired.",
        "plan": "Client will leave her phone downstairs. She will return next week.",
    }
    assert changed == 2


def test_her_becomes_his_or_him_by_what_follows():
    dad = turns("Therapist: And at home?\nClient: I'm a dad, so I'm up at six.")
    out, _ = agree({"plan": "Client will tell her story and wants the group to hear her out."}, dad)
    assert out["plan"] == "Client will tell his story and wants the group to hear him out."


def test_a_pronoun_that_may_mean_someone_else_stays():
    mum = turns("Client: As a mum, I'm tired.\nTherapist: Tell me more.")
    sections = {
        # "he" after "husband" (this sentence or the one before) and after a name: left alone
        "subjective": "Client said her husband drinks. He shouts at night. She told Sam he was wrong.",
        "plan": "Client will ask her brother to help, so he can drive.",
    }
    out, changed = agree(sections, mum)
    assert out == sections and changed == 0


def test_without_a_cue_only_a_clear_majority_of_the_note_decides():
    clear = {
        "subjective": "She reported poor sleep. She said work was hard. She felt low.",
        "assessment": "She is in contemplation.",
        "plan": "He will keep a sleep log.",
    }
    out, changed = agree(clear, NO_CUE)
    assert out["plan"] == "She will keep a sleep log." and changed == 1
    split = {
        "subjective": "She reported poor sleep. She felt low.",
        "plan": "He will log sleep. He will call.",
    }
    assert agree(split, NO_CUE) == (split, 0)
    neutral = {"subjective": "The client reported poor sleep.", "plan": "Client will keep a sleep log."}
    assert agree(neutral, NO_CUE) == (neutral, 0)
