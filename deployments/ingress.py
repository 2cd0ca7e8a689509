"""Ingress: the HTTP API (FastAPI) in front of Preprocessor -> NoteGenerator -> NoteWriter."""

# No `from __future__ import annotations` here: FastAPI must see real types on the routes.
import asyncio
import json
import logging
import time
import uuid
from typing import TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from ray import serve
from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle

from schemas.api import GenerateRequest, NoteEdit, SessionCreate, SummarizeRequest
from schemas.errors import (
    ApiError,
    EmptyTranscript,
    GenerationTimeout,
    InvalidEncoding,
    InvalidRequest,
    ModelUnavailable,
    QueueFull,
    TranscriptTooLarge,
    UnknownNoteFormat,
)
from schemas.notes import NoteFormat

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")
app = FastAPI(title="Progress note service", version="1.0")
Body = TypeVar("Body", bound=BaseModel)


def _error(exc: ApiError, request: Request) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "")
    body = {"code": exc.code, "message": exc.message, "request_id": request_id}
    return JSONResponse(body, status_code=exc.status, headers={**exc.headers, "X-Request-ID": request_id})


@app.middleware("http")
async def request_id(request: Request, call_next):
    request.state.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    start = time.monotonic()
    response = await call_next(request)
    response.headers["X-Request-ID"] = request.state.request_id
    logger.info(
        "request",
        extra={
            "request_id": request.state.request_id,
            "path": request.url.path,
            "status": response.status_code,
            "ms": int((time.monotonic() - start) * 1000),
        },
    )
    return response


@app.exception_handler(ApiError)
async def api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _error(exc, request)


@app.exception_handler(RequestValidationError)
async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default body echoes the input; ours never does. The log gets where (query, path)
    # and the error type only: a field name could itself be user text.
    logger.info("request rejected", extra={"errors": [(e["loc"][:1], e["type"]) for e in exc.errors()]})
    return _error(InvalidRequest(), request)


def _invalid(exc: ValidationError) -> ApiError:
    for err in exc.errors():
        field = err["loc"][0] if err["loc"] else None
        if field == "note_format" or (field == "format" and err["type"] == "enum"):
            return UnknownNoteFormat()
    return InvalidRequest()


async def _parse(request: Request, model: type[Body], max_bytes: int) -> Body:
    """The request body as `model`; 413 over `max_bytes`, 422 for bad UTF-8, JSON or fields."""
    raw = await request.body()
    if len(raw) > max_bytes:
        raise TranscriptTooLarge()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InvalidEncoding() from e
    except json.JSONDecodeError as e:
        raise InvalidRequest("The request body is not valid JSON.") from e
    try:
        body = model.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None
    transcript = getattr(body, "transcript", None)
    if transcript is not None and not transcript.strip():
        raise EmptyTranscript()
    return body


def _replica_states() -> dict:
    """Replica states per deployment of this application, e.g. {"NoteGenerator": {"RUNNING": 1}}."""
    try:
        status = serve.status()
    except Exception:
        logger.exception("health: serve status failed")
        return {}
    app_name = serve.get_replica_context().app_name
    application = status.applications.get(app_name)
    if application is None:
        return {}
    return {name: dict(d.replica_states) for name, d in application.deployments.items()}


@serve.deployment(name="Ingress", ray_actor_options={"num_cpus": 0.1})
@serve.ingress(app)
class Ingress:
    def __init__(
        self,
        preprocessor: DeploymentHandle,
        generator: DeploymentHandle,
        writer: DeploymentHandle,
        max_body_bytes: int,
        request_timeout_s: float,
    ) -> None:
        self.preprocessor, self.generator, self.writer = preprocessor, generator, writer
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s

    async def _note(
        self, transcript: str, note_format: NoteFormat, session_id: int | None = None, force: bool = False
    ) -> dict:
        prepared = await self.preprocessor.process.remote(transcript)
        try:
            draft = await asyncio.wait_for(
                self.generator.draft.remote(prepared, note_format), timeout=self.request_timeout_s
            )
        except BackPressureError as e:
            raise QueueFull() from e
        except TimeoutError as e:
            raise GenerationTimeout() from e
        except (DeploymentUnavailableError, RayActorError) as e:
            raise ModelUnavailable() from e
        result = await self.writer.write.remote(prepared, draft, session_id, force)
        return result.model_dump(mode="json")

    @app.post("/v1/summarize")
    async def summarize(self, request: Request) -> dict:
        body = await _parse(request, SummarizeRequest, self.max_body_bytes)
        return await self._note(body.transcript, body.note_format)

    @app.post("/v1/sessions", status_code=201)
    async def create_session(self, request: Request) -> dict:
        body = await _parse(request, SessionCreate, self.max_body_bytes)
        prepared = await self.preprocessor.process.remote(body.transcript)
        session_id = await self.writer.create_session.remote(
            prepared.text, body.client_ref, body.session_date
        )
        return {"id": session_id}

    @app.post("/v1/sessions/{session_id}/generate-notes")
    async def generate_notes(self, session_id: int, request: Request) -> dict:
        raw = await request.body()
        body = (
            await _parse(request, GenerateRequest, self.max_body_bytes) if raw.strip() else GenerateRequest()
        )
        transcript = await self.writer.transcript_for_generation.remote(session_id, body.force)
        return await self._note(transcript, body.note_format, session_id, body.force)

    @app.put("/v1/sessions/{session_id}/notes")
    async def edit_note(self, session_id: int, request: Request) -> JSONResponse:
        body = await _parse(request, NoteEdit, self.max_body_bytes)
        result, etag = await self.writer.save_edit.remote(session_id, body, request.headers.get("If-Match"))
        return JSONResponse(result.model_dump(mode="json"), headers={"ETag": etag})

    @app.get("/v1/sessions")
    async def list_sessions(self, limit: int = 50, offset: int = 0) -> dict:
        if not (1 <= limit <= 500) or offset < 0:
            raise InvalidRequest("limit must be 1-500 and offset >= 0.")
        result = await self.writer.list_sessions.remote(limit, offset)
        return result.model_dump(mode="json")

    @app.get("/v1/sessions/{session_id}")
    async def get_session(self, session_id: int) -> JSONResponse:
        result = await self.writer.get_session.remote(session_id)
        headers = {"ETag": result.etag} if result.etag else {}
        return JSONResponse(result.model_dump(mode="json"), headers=headers)

    @app.get("/health")
    async def health(self) -> JSONResponse:
        checks: dict = {}
        try:
            checks["model"] = await asyncio.wait_for(self.generator.model_info.remote(), timeout=10)
        except Exception:  # any failure means "not ready"; the reason goes to the log, not the body
            logger.exception("health: model check failed")
            checks["model"] = None
        try:
            checks["database"] = bool(await asyncio.wait_for(self.writer.ping.remote(), timeout=10))
        except Exception:
            logger.exception("health: database check failed")
            checks["database"] = False
        checks["replicas"] = _replica_states()
        ok = checks["model"] is not None and checks["database"]
        return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)
