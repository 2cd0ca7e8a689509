"""Data passed between the stages of note generation (Preprocessor -> NoteGenerator -> NoteWriter)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.notes import NoteFormat, RiskFlag


class PreparedTranscript(BaseModel):
    """A normalised transcript with what the deterministic scan found in it."""

    text: str
    turns: list[tuple[str, str]] = Field(description="(speaker, text) per speaker turn.")
    words: int
    risk_flags: list[RiskFlag]


class Draft(BaseModel):
    """What the model wrote for one note, before validation."""

    note_format: NoteFormat
    model: str = ""
    model_version: str = ""
    sections: dict[str, str] | None = None
    raw_json: str | None = None
    attempt: int = 0
    generation_ms: int = 0
    truncated: bool = False
    timed_out: bool = False
    chunks: int = Field(default=1, description="Transcript parts summarised separately (map-reduce).")
    opinion_flags: list[RiskFlag] = Field(
        default_factory=list, description="Risks the model's second opinion found (models.risk_model)."
    )
