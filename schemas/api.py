"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from schemas.notes import Note, NoteFormat, NoteMetadata


class SummarizeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcript: str = Field(description="The session transcript, one speaker turn per line.")
    note_format: NoteFormat = NoteFormat.SOAP


class NoteResponse(BaseModel):
    note: Note
    metadata: NoteMetadata


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcript: str
    client_ref: str | None = Field(default=None, max_length=128)
    session_date: date | None = None


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_format: NoteFormat = NoteFormat.SOAP
    force: bool = Field(default=False, description="Overwrite a clinician-edited note.")


class NoteEdit(BaseModel):
    """A clinician's edit: the whole note content; `text` is rendered by the server."""

    model_config = ConfigDict(extra="forbid")

    format: NoteFormat
    sections: dict[str, str]
    summary: str
    #: Each {category, evidence} with optional severity, turn and source (RiskFlag); a flag without
    #: a source is taken to be the clinician's.
    risk_flags: list[dict[str, str | int | None]] | None = None


class SessionCreated(BaseModel):
    id: int


class SessionSummary(BaseModel):
    """A session in a listing: its metadata and its note's metadata, never transcript text."""

    id: int
    client_ref: str | None
    session_date: date | None
    created_at: str
    transcript_words: int
    note_format: NoteFormat | None = None
    note_metadata: NoteMetadata | None = None


class SessionsPublic(BaseModel):
    data: list[SessionSummary]
    count: int


class SessionPublic(SessionSummary):
    transcript: str
    note: Note | None = None
    etag: str | None = None
