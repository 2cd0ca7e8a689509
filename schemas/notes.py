"""The progress note: formats, sections, risk flags and the note itself."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, model_validator


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


class RiskSource(StrEnum):
    """Who raised a risk flag: the deterministic scan, the learned detector (`models.risk.detector`),
    the model's second opinion, or a clinician."""

    SCAN = "scan"
    DETECTOR = "detector"
    MODEL = "model"
    CLINICIAN = "clinician"


#: Severity levels of each category, lowest first; `unknown` (a flag stored before severities
#: existed, or a clinician's flag without one) is valid for every category. Suicidal ideation
#: follows the Columbia Suicide Severity Rating Scale (C-SSRS) screener: `history` (behaviour
#: before the past three months), `wish_to_die` (item 1), `active_thoughts` (2), `method` (3),
#: `intent` (4), `plan` (5), `behavior` (6: an attempt or preparatory act, recent or ongoing).
#: The other scales are the project's own; models/risk/lexicon.py documents each level.
SEVERITIES: dict[RiskCategory, tuple[str, ...]] = {
    RiskCategory.SUICIDAL_IDEATION: (
        "history", "wish_to_die", "active_thoughts", "method", "intent", "plan", "behavior",
    ),
    RiskCategory.SELF_HARM: ("history", "urges", "behavior"),
    RiskCategory.HARM_TO_OTHERS: ("intrusive_thoughts", "ideation", "threat", "plan", "behavior"),
    RiskCategory.ABUSE_NEGLECT: ("history", "current", "reportable"),
    RiskCategory.SUBSTANCE_RELAPSE: ("use", "lapse", "relapse", "overdose"),
}  # fmt: skip
UNKNOWN_SEVERITY = "unknown"


class RiskFlag(BaseModel):
    """One risk statement. The fields after `evidence` are optional so that flags stored or
    edited before they existed still validate."""

    category: RiskCategory
    evidence: str = Field(description="The transcript sentence that raised the flag.")
    severity: str = Field(default=UNKNOWN_SEVERITY, description="A level of SEVERITIES[category].")
    turn: int | None = Field(default=None, ge=0, description="Index of the speaker turn it came from.")
    source: RiskSource = RiskSource.SCAN

    @model_validator(mode="after")
    def _known_severity(self) -> RiskFlag:
        if self.severity != UNKNOWN_SEVERITY and self.severity not in SEVERITIES[self.category]:
            raise ValueError(f"unknown severity for {self.category.value}")
        return self


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


class GroundingCounts(BaseModel):
    """What the grounding guard removed from the model's draft: counts by reason, never text."""

    sentences_in: int = 0
    sentences_kept: int = 0
    removed: dict[str, int] = Field(
        default_factory=dict,
        description="Sentences removed per reason: register, age, number, date, medication, name, "
        "demographic, risk_denial (a denial of a risk the scan found), denial, risk_rating, "
        "safety_plan, technique (one the session did not hold), referral (a service the session "
        "never names), symptom (one the session never holds), meta (a sentence about the record, not "
        'the session), stage (a stage of change that does not exist: "the pre-quit stage"), '
        "duplicate, loop; and what went from a kept sentence: repeated_item (a list item said again), "
        'demographic_phrase (a medical record\'s demographic opening or "patient"), stage_phrase (a '
        "coined stage of change), each when what is left states nothing unsupported.",
    )
    extracted_sections: list[str] = Field(
        default_factory=list, description="Sections left empty by the guard and filled extractively."
    )
    pronouns_changed: int = Field(
        default=0, description="Pronouns for the client made to agree (models.pronouns)."
    )


class NoteMetadata(BaseModel):
    model: str
    model_version: str
    source: NoteSource
    generation_ms: int
    generated_at: str = Field(description="ISO 8601 UTC time the note was generated.")
    truncated: bool = False
    edited_at: str | None = None
    grounding: GroundingCounts | None = Field(
        default=None, description="The grounding guard's counts for a model-written note; else null."
    )
