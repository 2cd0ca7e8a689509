"""The one prompt builder that serving and training share.

The service asks the model for a note one section at a time (the form the fine-tuned model was
trained on: MTS-Dialog and ACI-Bench pair a dialogue with one note section) or, for a model
trained on whole notes, for the whole note as JSON. Either way the exact text the model sees is
built here, so a training example and a serving prompt for one transcript are identical.
"""

from __future__ import annotations

import json

from models.profiles import ModelProfile
from schemas.notes import SECTIONS, NoteFormat, RiskCategory

#: Heading the model is asked to write, for each service section and each dataset section.
#: Service sections map onto the dataset headings the model was fine-tuned on.
HEADINGS: dict[str, str] = {
    # psychotherapy note sections
    "subjective": "history of present illness",
    "objective": "examination",
    "assessment": "assessment",
    "plan": "plan",
    "data": "history of present illness",
    "behavior": "history of present illness",
    "intervention": "plan",
    "response": "assessment",
    # dataset section headers (MTS-Dialog codes and ACI-Bench divisions)
    "genhx": "history of present illness",
    "cc": "chief complaint",
    "fam/sochx": "family and social history",
    "pastmedicalhx": "past medical history",
    "pastsurgical": "past surgical history",
    "medications": "medications",
    "allergy": "allergies",
    "ros": "review of systems",
    "exam": "examination",
    "diagnosis": "diagnosis",
    "disposition": "disposition",
    "edcourse": "emergency department course",
    "immunizations": "immunizations",
    "labs": "laboratory results",
    "imaging": "imaging",
    "procedures": "procedures",
    "other_history": "other history",
    "gynhx": "gynecologic history",
    "objective_exam": "examination",
    "objective_results": "results",
    "assessment_and_plan": "assessment and plan",
    # map step of long transcripts
    "partial": "summary of this part of the conversation",
}


def heading_for(section: str) -> str:
    """The heading for a service section or dataset section header (case-insensitive)."""
    key = section.strip().lower()
    return HEADINGS.get(key, key.replace("_", " "))


def section_instruction(transcript: str, section: str) -> str:
    """The user turn asking for one section of the note."""
    return (
        f"Write the {heading_for(section)} section of the clinical note for this conversation.\n\n"
        f"Conversation:\n{transcript}"
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
    """The user turn asking for the whole note as JSON."""
    keys = ", ".join(SECTIONS[note_format])
    return (
        f"Write a {note_format.value} progress note for this therapy session as JSON with "
        f'"sections" ({keys}), a 30 to 70 word "summary", and "risk_flags" for any suicidal '
        "ideation, self-harm, harm to others, abuse or neglect, or substance relapse.\n\n"
        f"Conversation:\n{transcript}"
    )


def section_prompt(profile: ModelProfile, transcript: str, section: str) -> str:
    """The exact prompt text for one section (serving), without the target."""
    return profile.render(section_instruction(transcript, section))


def section_example(profile: ModelProfile, transcript: str, section: str, target: str) -> tuple[str, str]:
    """(prompt, completion) of one training example: the loss goes on the completion only."""
    prompt = section_prompt(profile, transcript, section)
    return prompt, profile.render(section_instruction(transcript, section), target)[len(prompt) :]


def note_prompt(profile: ModelProfile, transcript: str, note_format: NoteFormat) -> str:
    """The exact prompt text for a whole note as JSON (serving), without the target."""
    return profile.render(note_instruction(transcript, note_format))


def note_example(
    profile: ModelProfile, transcript: str, note_format: NoteFormat, note: dict
) -> tuple[str, str]:
    """(prompt, completion) of one whole-note training example."""
    prompt = note_prompt(profile, transcript, note_format)
    return prompt, json.dumps(note, ensure_ascii=False) + profile.assistant_suffix
