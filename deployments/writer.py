"""NoteWriter: owns the database; stores the NoteGenerator's notes and clinicians' edits, and reads."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from ray import serve

from deployments import db
from models.notes import build_note
from schemas.api import NoteEdit, NoteResponse, SessionPublic, SessionsPublic, SessionSummary
from schemas.errors import ClinicianEditExists, InvalidNote
from schemas.notes import SECTIONS, Note, NoteFormat, NoteSource, RiskFlag
from schemas.times import format_time

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")


def _summary(session, note_row) -> SessionSummary:
    return SessionSummary(
        id=session.id,
        client_ref=session.client_ref,
        session_date=session.session_date,
        created_at=format_time(session.created_at),
        transcript_words=session.transcript_words,
        note_format=note_row.format if note_row else None,
        note_metadata=db.metadata_of(note_row) if note_row else None,
    )


@serve.deployment(name="NoteWriter", ray_actor_options={"num_cpus": 0.1})
class NoteWriter:
    def __init__(self, database_url: str) -> None:
        self.engine = db.make_engine(database_url)
        db.migrate(self.engine)

    async def write(
        self,
        result: NoteResponse,
        session_id: int | None = None,
        force: bool = False,
        clinic_id: int | None = None,
    ) -> NoteResponse:
        """Store the NoteGenerator's note with its metadata when `session_id` is set; return it.

        The note is already final (validated, retried or fallen back on the generator side).
        """
        if session_id is not None:
            assert clinic_id is not None, "a session's note is stored for its clinic"
            await asyncio.to_thread(
                db.save_generated_note,
                self.engine,
                clinic_id,
                session_id,
                result.note,
                result.metadata,
                force,
            )
            logger.info("note stored", extra={"session_id": session_id, "source": result.metadata.source})
        return result

    async def create_session(
        self, clinic_id: int, transcript: str, client_ref: str | None, session_date: date | None
    ) -> int:
        return await asyncio.to_thread(
            db.create_session, self.engine, clinic_id, transcript, client_ref, session_date
        )

    async def transcript_for_generation(self, clinic_id: int, session_id: int, force: bool) -> str:
        """The session's transcript; ClinicianEditExists early when regeneration would be refused."""
        session, note_row = await asyncio.to_thread(db.get_session, self.engine, clinic_id, session_id)
        if note_row is not None and note_row.source == NoteSource.CLINICIAN and not force:
            raise ClinicianEditExists()
        return db.transcript_of(session)

    async def get_session(self, clinic_id: int, session_id: int) -> SessionPublic:
        session, note_row = await asyncio.to_thread(db.get_session, self.engine, clinic_id, session_id)
        return SessionPublic(
            **_summary(session, note_row).model_dump(),
            transcript=db.transcript_of(session),
            note=db.note_of(note_row) if note_row else None,
            etag=db.etag(note_row) if note_row else None,
        )

    async def list_sessions(self, clinic_id: int, limit: int, offset: int) -> SessionsPublic:
        rows, count = await asyncio.to_thread(db.list_sessions, self.engine, clinic_id, limit, offset)
        return SessionsPublic(data=[_summary(s, n) for s, n in rows], count=count)

    async def save_edit(
        self, clinic_id: int, session_id: int, edit: NoteEdit, if_match: str | None
    ) -> tuple[NoteResponse, str]:
        """Store a clinician's edit; returns the note with its metadata and the new ETag."""
        expected = SECTIONS[edit.format]
        sections = {k.lower(): v.strip() for k, v in edit.sections.items()}
        if set(sections) != set(expected) or not all(sections.values()) or not edit.summary.strip():
            raise InvalidNote()
        if edit.risk_flags is None:
            # Omitted flags keep the current note's: an edit must not drop a flagged risk silently.
            _, current = await asyncio.to_thread(db.get_session, self.engine, clinic_id, session_id)
            flags = db.note_of(current).risk_flags if current is not None else []
        else:
            try:
                flags = [RiskFlag.model_validate({"source": "clinician"} | f) for f in edit.risk_flags]
            except ValueError:
                # `from None`: pydantic's error holds the clinician's text, and Ray logs the chain.
                raise InvalidNote() from None
        note: Note = build_note(NoteFormat(edit.format), sections, edit.summary.strip(), flags)
        row = await asyncio.to_thread(
            db.save_clinician_edit, self.engine, clinic_id, session_id, note, if_match
        )
        return NoteResponse(note=db.note_of(row), metadata=db.metadata_of(row)), db.etag(row)

    async def delete_session(self, clinic_id: int, session_id: int, purge: bool) -> None:
        """Soft-delete the clinic's session; `purge` also removes its transcript and note."""
        await asyncio.to_thread(db.delete_session, self.engine, clinic_id, session_id, purge)

    def ping(self) -> bool:
        return db.ping(self.engine)
