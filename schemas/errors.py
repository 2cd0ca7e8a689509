"""Error types of the API: one class per failure, each with a stable code and fixed text.

Messages are fixed strings: they never contain transcript or note text.
"""

from __future__ import annotations


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"
    message: str = "An internal error occurred."
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class InvalidRequest(ApiError):
    status, code, message = 422, "invalid_request", "The request body is not valid."


class EmptyTranscript(ApiError):
    status, code, message = 422, "empty_transcript", "The transcript is empty."


class InvalidEncoding(ApiError):
    status, code, message = 422, "invalid_encoding", "The request body is not valid UTF-8 JSON."


class UnknownNoteFormat(ApiError):
    status, code, message = 422, "unknown_note_format", "note_format must be SOAP, DAP or BIRP."


class InvalidNote(ApiError):
    status, code, message = 422, "invalid_note", "The note is missing required sections."


class TranscriptTooLarge(ApiError):
    status, code, message = 413, "transcript_too_large", "The transcript exceeds the size limit."


class SessionNotFound(ApiError):
    status, code, message = 404, "session_not_found", "No session has this id."


class NoteNotFound(ApiError):
    status, code, message = 404, "note_not_found", "This session has no note yet."


class ClinicianEditExists(ApiError):
    status, code = 409, "clinician_edit_exists"
    message = "A clinician edited this note; send force=true to overwrite it."


class EtagMismatch(ApiError):
    status, code, message = 412, "etag_mismatch", "The note changed since this ETag was read."


class IfMatchRequired(ApiError):
    status, code, message = 428, "if_match_required", "Send the note's ETag in If-Match."


class ServiceUnavailable(ApiError):
    status = 503
    headers = {"Retry-After": "5"}


class QueueFull(ServiceUnavailable):
    code, message = "queue_full", "Too many notes are being generated; retry later."


class ModelUnavailable(ServiceUnavailable):
    code, message = "model_unavailable", "The note model is not available; retry later."


class GenerationTimeout(ServiceUnavailable):
    code, message = "generation_timeout", "Note generation ran past its time limit."


class DatabaseUnavailable(ServiceUnavailable):
    code, message = "database_unavailable", "The database is not reachable; retry later."


class InternalError(ApiError):
    """Anything unexpected: the catch-all handler answers with this, and logs the error's type only."""


class Unauthorized(ApiError):
    status, code, message = 401, "unauthorized", "Send a valid API key: Authorization: Bearer <key>."
    headers = {"WWW-Authenticate": "Bearer"}


class PathNotFound(ApiError):
    status, code, message = 404, "not_found", "No such path."


class MethodNotAllowed(ApiError):
    status, code, message = 405, "method_not_allowed", "This method is not allowed on this path."


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request."


class IdempotencyInFlight(ApiError):
    status, code = 409, "idempotency_in_flight"
    message = "A request with this Idempotency-Key is still being processed; retry later."
    headers = {"Retry-After": "5"}
