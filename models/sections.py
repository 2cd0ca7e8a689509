"""What each section of a psychotherapy progress note holds, for SOAP, DAP and BIRP, in one place.

These definitions drive the prompts (the model is told what the section holds), the training
targets (dataset sections are mapped onto them by meaning), validation and the extractive
fallback note. They follow common practice in behavioural-health documentation: SOAP (Weed's
problem-oriented record, adapted to psychotherapy), DAP and BIRP (behaviour, intervention,
response, plan). A note is about "the client" and holds only what the session transcript holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.notes import SECTIONS, NoteFormat

#: The kind of content a section holds; sections of different formats with the same kind are
#: drafted from the same training targets and the same fallback extraction.
Kind = Literal["client_report", "observation", "intervention", "assessment", "response", "plan"]


@dataclass(frozen=True)
class SectionDefinition:
    key: str
    title: str
    kind: Kind
    #: One sentence for the prompt: what the section holds.
    holds: str


_DEFS = {
    "client_report": "the client's reported concerns, mood, symptoms, recent events and their own words",
    "observation": "the therapist's observations of the client in session (affect, engagement, speech, "
    "behaviour) and the interventions the therapist used",
    "intervention": "what the therapist did in the session: the interventions and techniques used "
    "(for example open questions, reflections, psychoeducation, cognitive restructuring, "
    "safety planning) and the topics worked on",
    "assessment": "the clinical impression: themes, progress toward goals, readiness or stage of "
    "change, strengths, and any risk discussed",
    "response": "how the client responded to the interventions: engagement, insight, agreement or "
    "resistance, and progress toward goals",
    "plan": "what comes next: homework, the next session, referrals, and any safety plan",
}

DEFINITIONS: dict[NoteFormat, tuple[SectionDefinition, ...]] = {
    NoteFormat.SOAP: (
        SectionDefinition("subjective", "Subjective", "client_report", _DEFS["client_report"]),
        SectionDefinition("objective", "Objective", "observation", _DEFS["observation"]),
        SectionDefinition("assessment", "Assessment", "assessment", _DEFS["assessment"]),
        SectionDefinition("plan", "Plan", "plan", _DEFS["plan"]),
    ),
    NoteFormat.DAP: (
        SectionDefinition(
            "data",
            "Data",
            "client_report",
            _DEFS["client_report"] + ", with what the therapist observed and did in the session",
        ),
        SectionDefinition("assessment", "Assessment", "assessment", _DEFS["assessment"]),
        SectionDefinition("plan", "Plan", "plan", _DEFS["plan"]),
    ),
    NoteFormat.BIRP: (
        SectionDefinition(
            "behavior",
            "Behavior",
            "client_report",
            "the client's presentation and reported concerns, mood and events, in their own words "
            "where useful",
        ),
        SectionDefinition("intervention", "Intervention", "intervention", _DEFS["intervention"]),
        SectionDefinition("response", "Response", "response", _DEFS["response"]),
        SectionDefinition("plan", "Plan", "plan", _DEFS["plan"]),
    ),
}


#: The section of each format that names what the therapist did (the interventions sentence of
#: `models.interventions` goes there).
INTERVENTIONS_SECTION: dict[NoteFormat, str] = {
    NoteFormat.SOAP: "objective",
    NoteFormat.DAP: "data",
    NoteFormat.BIRP: "intervention",
}


def definitions(note_format: NoteFormat) -> tuple[SectionDefinition, ...]:
    """The sections of `note_format`, in the order they are written."""
    return DEFINITIONS[NoteFormat(note_format)]


def definition(note_format: NoteFormat, key: str) -> SectionDefinition:
    """The definition of section `key` of `note_format`; KeyError when the format has no such section."""
    for d in definitions(note_format):
        if d.key == key:
            return d
    raise KeyError(key)


def kind_of(note_format: NoteFormat, key: str) -> Kind:
    """The kind of content section `key` of `note_format` holds."""
    return definition(note_format, key).kind


assert all(tuple(d.key for d in DEFINITIONS[f]) == SECTIONS[f] for f in NoteFormat), "SECTIONS drifted"
