"""Ingress: the HTTP API (FastAPI) in front of Preprocessor -> NoteGenerator -> NoteWriter."""

# No `from __future__ import annotations` here: FastAPI must see real types on the routes.
import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from ray import serve
from ray.exceptions import RayActorError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException
from starlette.routing import Match

from deployments import audit, auth, db, idempotency
from schemas.api import GenerateRequest, NoteEdit, SessionCreate, SummarizeRequest
from schemas.errors import (
    ApiError,
    DatabaseUnavailable,
    EmptyTranscript,
    GenerationTimeout,
    InternalError,
    InvalidEncoding,
    InvalidRequest,
    MethodNotAllowed,
    ModelUnavailable,
    PathNotFound,
    QueueFull,
    TranscriptTooLarge,
    Unauthorized,
    UnknownNoteFormat,
)
from schemas.notes import NoteFormat

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")
app = FastAPI(title="Progress note service", version="1.0")
Body = TypeVar("Body", bound=BaseModel)

#: Ids above PostgreSQL's INTEGER answer 422 before any query (a larger one would be a driver error).
MAX_ID = 2**31 - 1
SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The session's id.")]
#: A client's X-Request-ID is kept only if it looks like an id (it is logged and audited).
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: Paths served without an API key: the health check and the API's own description.
OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
#: The audit's action for each route; a path no route matches is audited as "unknown".
ACTIONS = {
    ("POST", "/v1/summarize"): "note.summarize",
    ("POST", "/v1/sessions"): "session.create",
    ("POST", "/v1/sessions/{session_id}/generate-notes"): "note.generate",
    ("PUT", "/v1/sessions/{session_id}/notes"): "note.edit",
    ("GET", "/v1/sessions"): "session.list",
    ("GET", "/v1/sessions/{session_id}"): "session.read",
    ("DELETE", "/v1/sessions/{session_id}"): "session.delete",
    ("GET", "/health"): "health",
}


def _error(exc: ApiError, request: Request) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "")
    request.state.error_code = exc.code
    body = {"code": exc.code, "message": exc.message, "request_id": request_id}
    return JSONResponse(body, status_code=exc.status, headers={**exc.headers, "X-Request-ID": request_id})


def _servable() -> Any:
    """This replica's Ingress instance (Serve hands the same one to the routes)."""
    return serve.get_replica_context().servable_object


def _route_path(request: Request) -> str:
    """The path inside this application (without Serve's route prefix)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _routes(router: Any) -> Iterator[Any]:
    """Every route of `router`; FastAPI >= 0.137 nests included routers (Serve's class routes)."""
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        yield from _routes(inner) if inner is not None else [route]


def _action(request: Request) -> tuple[str, int | None]:
    """The audit action of the route the request matches, and the session id in its path."""
    for route in _routes(app.router):
        match, child = route.matches(request.scope)
        if match == Match.FULL:
            raw = str(child.get("path_params", {}).get("session_id", ""))
            session_id = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None
            return ACTIONS.get((request.method, getattr(route, "path", "")), "other"), session_id
    return "unknown", None


@app.middleware("http")
async def guard(request: Request, call_next):
    """Request id, the API key, a catch-all for anything unexpected, and one audit row per request.

    The catch-all answers `500 internal_error` and logs the error's type only: an exception's
    message (or the one it was raised from) may hold transcript text. An answer that could not
    be audited is not given: it becomes `503 database_unavailable`.
    """
    supplied = request.headers.get("X-Request-ID", "")
    request_id = request.state.request_id = supplied if REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
    start = time.monotonic()
    ingress = _servable()
    action, session_id = _action(request)
    principal: auth.Principal | None = None
    try:
        if _route_path(request) not in OPEN_PATHS:
            token = auth.token_from(request.headers.get("Authorization"), request.headers.get("X-API-Key"))
            principal = await asyncio.to_thread(auth.authenticate, ingress.engine, token)
            if principal is None:
                raise Unauthorized()
        request.state.principal = principal
        response = await call_next(request)
    except ApiError as e:
        response = _error(e, request)
    except Exception as e:
        logger.error("unexpected error", extra={"request_id": request_id, "error": type(e).__name__})
        response = _error(InternalError(), request)
    try:
        await ingress.audit.record(
            action=getattr(request.state, "action", action),
            status=response.status_code,
            request_id=request_id,
            clinic_id=principal.clinic_id if principal else None,
            key_id=principal.key_id if principal else None,
            session_id=getattr(request.state, "session_id", None) or session_id,
            code=getattr(request.state, "error_code", None),
        )
    except Exception as e:
        logger.error("audit write failed", extra={"request_id": request_id, "error": type(e).__name__})
        response = _error(DatabaseUnavailable(), request)
    response.headers["X-Request-ID"] = request_id
    logger.info(
        "request",
        extra={
            "request_id": request_id,
            "action": action,
            "status": response.status_code,
            "ms": int((time.monotonic() - start) * 1000),
        },
    )
    return response


@app.exception_handler(ApiError)
async def api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _error(exc, request)


@app.exception_handler(HTTPException)
async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own 404 (no such path), 405 and others, in the API's error shape."""
    if exc.status_code == 404:
        return _error(PathNotFound(), request)
    if exc.status_code == 405:
        response = _error(MethodNotAllowed(), request)
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    error = ApiError("The request could not be served.")
    error.status, error.code = exc.status_code, "http_error"
    return _error(error, request)


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
    except (json.JSONDecodeError, RecursionError) as e:  # RecursionError: JSON nested too deeply
        raise InvalidRequest("The request body is not valid JSON.") from e
    try:
        body = model.model_validate(data)
    except ValidationError as e:
        raise _invalid(e) from None
    transcript = getattr(body, "transcript", None)
    if transcript is not None and not transcript.strip():
        raise EmptyTranscript()
    return body


def _inline(node: Any, defs: dict) -> Any:
    """`node` with every `{"$ref": "#/$defs/X"}` replaced by X's schema."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {key: _inline(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(value, defs) for value in node]
    return node


def _body(model: type[BaseModel], required: bool = True) -> dict:
    """The OpenAPI request body of a route that parses `model` itself (to answer 413 and bad
    UTF-8 or JSON in its own words), so the schema still shows it."""
    schema = model.model_json_schema()
    schema = _inline(schema, schema.pop("$defs", {}))
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def _clinic(request: Request) -> int:
    """The calling clinic's id (the middleware has authenticated the request)."""
    return request.state.principal.clinic_id


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
        database_url: str,
        max_pending_notes: int | None = None,
    ) -> None:
        self.preprocessor, self.generator, self.writer = preprocessor, generator, writer
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s
        # Admission: note requests this replica has let through to the graph and not yet answered.
        # Past the limit a request gets 503 queue_full at once, before preprocessing, instead of
        # after a round trip to the Preprocessor and to the NoteGenerator's full queue (a burst's
        # last refusals came after ~1 s that way). The generator's own queue limit still holds.
        self.max_pending_notes = max_pending_notes
        self.pending_notes = 0
        # Keys, the audit and idempotency records; the NoteWriter owns sessions and notes.
        self.engine = db.make_engine(database_url)
        db.migrate(self.engine)
        self.audit = audit.GroupCommit(self.engine)

    async def _once(self, request: Request, run: Callable[[], Awaitable[Response]]) -> Response:
        """Run a POST once per Idempotency-Key: a replay gets the first answer (see idempotency.py)."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return await run()
        if not idempotency.KEY_PATTERN.fullmatch(key):
            raise InvalidRequest("Idempotency-Key must be 1-255 visible ASCII characters.")
        raw = await request.body()
        if len(raw) > self.max_body_bytes:
            return await run()  # 413, nothing worth remembering
        fingerprinted = b"\n".join([request.method.encode(), _route_path(request).encode(), raw])
        record, stored = await asyncio.to_thread(
            idempotency.begin, self.engine, _clinic(request), key, fingerprinted
        )
        if stored is not None:
            request.state.error_code = "replayed"
            return Response(stored.body, stored.status, media_type="application/json")
        try:
            response = await run()
        except ApiError as e:
            response = _error(e, request)
        except BaseException:
            await asyncio.to_thread(idempotency.abandon, self.engine, record)
            raise
        body = bytes(response.body)
        session_id = getattr(request.state, "session_id", None)
        await asyncio.to_thread(
            idempotency.finish, self.engine, record, response.status_code, body, session_id
        )
        return response

    async def _note(
        self,
        transcript: str,
        note_format: NoteFormat,
        session_id: int | None = None,
        force: bool = False,
        clinic_id: int | None = None,
    ) -> dict:
        deadline = time.time() + self.request_timeout_s  # one budget: queue, draft, retry, fallback
        if self.max_pending_notes is not None and self.pending_notes >= self.max_pending_notes:
            raise QueueFull()
        self.pending_notes += 1  # the event loop is this replica's one thread: no lock needed
        try:
            prepared = await self.preprocessor.process.remote(transcript)
            try:
                drafted = await asyncio.wait_for(
                    self.generator.generate.remote(prepared, note_format, deadline),
                    timeout=deadline - time.time(),
                )
            except BackPressureError as e:
                raise QueueFull() from e
            except TimeoutError as e:
                raise GenerationTimeout() from e
            except (DeploymentUnavailableError, RayActorError) as e:
                raise ModelUnavailable() from e
            result = await self.writer.write.remote(drafted, session_id, force, clinic_id=clinic_id)
        finally:
            self.pending_notes -= 1
        return result.model_dump(mode="json")

    @app.post("/v1/summarize", openapi_extra=_body(SummarizeRequest))
    async def summarize(self, request: Request) -> Response:
        async def run() -> Response:
            body = await _parse(request, SummarizeRequest, self.max_body_bytes)
            return JSONResponse(await self._note(body.transcript, body.note_format))

        return await self._once(request, run)

    @app.post("/v1/sessions", status_code=201, openapi_extra=_body(SessionCreate))
    async def create_session(self, request: Request) -> Response:
        async def run() -> Response:
            body = await _parse(request, SessionCreate, self.max_body_bytes)
            prepared = await self.preprocessor.process.remote(body.transcript)
            session_id = await self.writer.create_session.remote(
                _clinic(request), prepared.text, body.client_ref, body.session_date
            )
            request.state.session_id = session_id
            return JSONResponse({"id": session_id}, status_code=201)

        return await self._once(request, run)

    @app.post(
        "/v1/sessions/{session_id}/generate-notes", openapi_extra=_body(GenerateRequest, required=False)
    )
    async def generate_notes(self, session_id: SessionId, request: Request) -> Response:
        async def run() -> Response:
            raw = await request.body()
            body = (
                await _parse(request, GenerateRequest, self.max_body_bytes)
                if raw.strip()
                else GenerateRequest()
            )
            clinic = _clinic(request)
            transcript = await self.writer.transcript_for_generation.remote(clinic, session_id, body.force)
            return JSONResponse(
                await self._note(transcript, body.note_format, session_id, body.force, clinic)
            )

        return await self._once(request, run)

    @app.put("/v1/sessions/{session_id}/notes", openapi_extra=_body(NoteEdit))
    async def edit_note(self, session_id: SessionId, request: Request) -> JSONResponse:
        body = await _parse(request, NoteEdit, self.max_body_bytes)
        result, etag = await self.writer.save_edit.remote(
            _clinic(request), session_id, body, request.headers.get("If-Match")
        )
        return JSONResponse(result.model_dump(mode="json"), headers={"ETag": etag})

    @app.get("/v1/sessions")
    async def list_sessions(
        self,
        request: Request,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    ) -> dict:
        result = await self.writer.list_sessions.remote(_clinic(request), limit, offset)
        return result.model_dump(mode="json")

    @app.get("/v1/sessions/{session_id}")
    async def get_session(self, session_id: SessionId, request: Request) -> JSONResponse:
        result = await self.writer.get_session.remote(_clinic(request), session_id)
        headers = {"ETag": result.etag} if result.etag else {}
        return JSONResponse(result.model_dump(mode="json"), headers=headers)

    @app.delete("/v1/sessions/{session_id}", status_code=204)
    async def delete_session(self, session_id: SessionId, request: Request, purge: bool = False) -> Response:
        """Soft-delete the session (404 from then on); `purge=true` also removes its text."""
        if purge:
            request.state.action = "session.purge"
        await self.writer.delete_session.remote(_clinic(request), session_id, purge)
        return Response(status_code=204)

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
        # Degraded unless the engine's last real decode worked (NoteGenerator.model_info).
        ok = bool(checks["model"] and checks["model"]["engine"]["ok"]) and checks["database"]
        return JSONResponse({"status": "ok" if ok else "degraded", **checks}, status_code=200 if ok else 503)
