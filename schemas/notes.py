"""The progress note: formats, sections, risk flags and the note itself."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class NoteFormat(StrEnum):
    SOAP = "SOAP"
    DAP = "DAP"
    BIRP = "BIRP"


#: Section keys of each format, in the order they are written and rendered.
SECTIONS: dict[NoteFormat, tuple[str, ...]] = {
    NoteFormat.SOAP: ("subjective", "objective", "assessment", "plan"),
    NoteFormat.DAP: ("data", "assessment", "plan"),
    NoteFormat.BIRP: ("behavior", "intervention", "response", "plan"),
}

SUMMARY_MIN_WORDS = 30
SUMMARY_MAX_WORDS = 70


class RiskCategory(StrEnum):
    SUICIDAL_IDEATION = "suicidal_ideation"
    SELF_HARM = "self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    ABUSE_NEGLECT = "abuse_neglect"
    SUBSTANCE_RELAPSE = "substance_relapse"


class RiskFlag(BaseModel):
    category: RiskCategory
    evidence: str = Field(description="The transcript sentence that raised the flag.")


class NoteSource(StrEnum):
    MODEL = "model"
    FALLBACK = "fallback"
    CLINICIAN = "clinician"


class Note(BaseModel):
    format: NoteFormat = NoteFormat.SOAP
    sections: dict[str, str] = Field(description="Section text keyed by lower-case section name.")
    summary: str = Field(description="A 30-70 word summary of the session.")
    risk_flags: list[RiskFlag] = Field(default_factory=list)
    text: str = Field(default="", description="The rendered note; risks wrapped in {{RED:...}}.")


class NoteMetadata(BaseModel):
    model: str
    model_version: str
    source: NoteSource
    generation_ms: int
    generated_at: str = Field(description="ISO 8601 UTC time the note was generated.")
    truncated: bool = False
    edited_at: str | None = None
