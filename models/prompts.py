"""The one prompt builder that serving and training share.

Every prompt puts the transcript first and the instruction after it, so that all the prompts of
one note (its sections, the map step's parts, the risk questions) begin with the same tokens and
the engine evaluates the transcript once for all of them. The service asks the model for a note
one section at a time (the form the fine-tuned model is trained on) or, for a model trained on
whole notes, for the whole note as JSON. Either way the exact text the model sees is built here,
so a training example and a serving prompt for one transcript are identical.
"""

from __future__ import annotations

import json

from models.profiles import ModelProfile
from models.sections import definition
from schemas.notes import SECTIONS, NoteFormat, RiskCategory

#: Heading of the map step's answer for one part of a long transcript.
PARTIAL = "partial"


def transcript_block(transcript: str) -> str:
    """The start of every user turn: the transcript, shared by all prompts of one note."""
    return f"Therapy session transcript:\n{transcript}\n\n"


def section_instruction(
    transcript: str, section: str, note_format: NoteFormat = NoteFormat.SOAP, focus: str = ""
) -> str:
    """The user turn asking for one section of a psychotherapy note (transcript first).

    `focus` narrows the section to one topic: training and evaluation ask a dataset's single
    section (MTS-Dialog's family and social history, say) this way, so the model learns a short
    focused answer there and the whole section where no focus is given (the service never gives one).
    """
    if section == PARTIAL:
        return (
            f"{transcript_block(transcript)}This is one part of a longer session. Summarise what the "
            "client said and what the therapist did in this part, in a few sentences about the client."
        )
    d = definition(note_format, section)
    if focus:
        return (
            f"{transcript_block(transcript)}Write the part of the {d.title} section of a "
            f"{NoteFormat(note_format).value} psychotherapy progress note for this session about "
            f"{focus}, only that. Write about the client, only with facts the transcript states."
        )
    return (
        f"{transcript_block(transcript)}Write the {d.title} section of a {NoteFormat(note_format).value} "
        f"psychotherapy progress note for this session: {d.holds}. Write about the client, only with "
        "facts the transcript states."
    )


def note_schema(note_format: NoteFormat) -> dict:
    """JSON schema that constrains a whole-note answer for `note_format`."""
    sections = SECTIONS[note_format]
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "properties": {
            "sections": {
                "type": "object",
                "properties": {name: text for name in sections},
                "required": list(sections),
            },
            "summary": text,
            "risk_flags": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "category": {"enum": [c.value for c in RiskCategory]},
                        "evidence": text,
                    },
                    "required": ["category", "evidence"],
                },
            },
        },
        "required": ["sections", "summary", "risk_flags"],
    }


def note_instruction(transcript: str, note_format: NoteFormat) -> str:
    """The user turn asking for the whole note as JSON (transcript first)."""
    keys = ", ".join(SECTIONS[note_format])
    return (
        f"{transcript_block(transcript)}Write a {note_format.value} psychotherapy progress note for this "
        f'session as JSON with "sections" ({keys}), a 30 to 70 word "summary", and "risk_flags" for '
        "any suicidal ideation, self-harm, harm to others, abuse or neglect, or substance relapse."
    )


def section_prompt(
    profile: ModelProfile,
    transcript: str,
    section: str,
    note_format: NoteFormat = NoteFormat.SOAP,
    focus: str = "",
) -> str:
    """The exact prompt text for one section (serving), without the target."""
    return profile.render(section_instruction(transcript, section, note_format, focus))


def section_example(
    profile: ModelProfile,
    transcript: str,
    section: str,
    target: str,
    note_format: NoteFormat = NoteFormat.SOAP,
    focus: str = "",
) -> tuple[str, str]:
    """(prompt, completion) of one training example: the loss goes on the completion only."""
    prompt = section_prompt(profile, transcript, section, note_format, focus)
    full = profile.render(section_instruction(transcript, section, note_format, focus), target)
    return prompt, full[len(prompt) :]


def note_prompt(profile: ModelProfile, transcript: str, note_format: NoteFormat) -> str:
    """The exact prompt text for a whole note as JSON (serving), without the target."""
    return profile.render(note_instruction(transcript, note_format))


def note_example(
    profile: ModelProfile, transcript: str, note_format: NoteFormat, note: dict
) -> tuple[str, str]:
    """(prompt, completion) of one whole-note training example."""
    prompt = note_prompt(profile, transcript, note_format)
    return prompt, json.dumps(note, ensure_ascii=False) + profile.assistant_suffix


def risk_prompt(profile: ModelProfile, transcript: str, question: str) -> str:
    """The exact prompt asking the model one yes/no risk question about the client, answered
    `no` or `yes: "<the client's words>"` (transcript first: it shares the transcript's tokens
    with the note's section prompts). The questions live in `models.risk_model`."""
    return profile.render(
        f"{transcript_block(transcript)}Question about what the client said (not the therapist): "
        f"{question} Answer no, or answer yes: followed by the client's exact words in quotes."
    )
