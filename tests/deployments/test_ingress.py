"""The HTTP layer in process: the real FastAPI app of the Ingress (middleware, key check, audit,
idempotency, error handlers), the real NoteWriter on a real SQLite file and the real Preprocessor,
with a fake NoteGenerator (a fixed note) standing in for the model. Two clinics, over ASGI.

The same checks run against Ray Serve and the real model in test_access_serve.py (marked serve).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from ray.exceptions import RayActorError
from ray.serve._private.common import DeploymentID
from ray.serve.exceptions import DeploymentUnavailableError
from sqlalchemy import text

from deployments import auth, db, ingress
from deployments.preprocessor import Preprocessor
from deployments.writer import NoteWriter
from schemas.api import NoteResponse
from schemas.notes import Note, NoteFormat, NoteMetadata, NoteSource

SENTINEL = f"QX{uuid.uuid4().hex[:10]}SENT"
TRANSCRIPT = (
    "Therapist: How was the week?\n"
    f"Client: My neighbour {SENTINEL} was loud every night and I slept four hours.\n"
    "Therapist: Let's review the sleep diary on Thursday.\n"
)
PLAIN_PHRASE = b"loud every night and I slept four hours"


class Handle:
    """A deployment handle on a local object: `handle.method.remote(...)` awaits the method."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> SimpleNamespace:
        method = getattr(self._target, name)

        async def remote(*args, **kwargs):
            result = method(*args, **kwargs)
            return await result if asyncio.iscoroutine(result) else result

        return SimpleNamespace(remote=remote)


class FakeGenerator:
    """Answers a fixed SOAP note (after `delay_s`), or raises `error`."""

    def __init__(self) -> None:
        self.delay_s, self.error = 0.0, None

    async def generate(self, prepared, note_format, deadline=None) -> NoteResponse:
        await asyncio.sleep(self.delay_s)
        if self.error is not None:
            raise self.error
        sections = {
            k: f"The client discussed {k}." for k in ("subjective", "objective", "assessment", "plan")
        }
        note = Note(
            format=NoteFormat.SOAP, sections=sections, summary="s", risk_flags=prepared.risk_flags, text="t"
        )
        meta = NoteMetadata(
            model="fake",
            model_version="1",
            source=NoteSource.MODEL,
            generation_ms=1,
            generated_at="2026-01-01T00:00:00Z",
        )
        return NoteResponse(note=note, metadata=meta)

    def model_info(self) -> dict:
        return {"model": "fake", "engine": {"ok": True}}


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    writer = NoteWriter.func_or_class(url)
    generator = FakeGenerator()
    ingress_class = next(c for c in ingress.Ingress.func_or_class.__mro__ if "_once" in c.__dict__)
    instance = object.__new__(ingress_class)
    ingress_class.__init__(
        instance,
        Handle(Preprocessor.func_or_class(max_transcript_chars=10_000)),
        Handle(generator),
        Handle(writer),
        max_body_bytes=100_000,
        request_timeout_s=30,
        database_url=url,
    )
    # Serve hands each route its deployment instance through the replica context.
    monkeypatch.setattr("ray.serve.get_replica_context", lambda: SimpleNamespace(servable_object=instance))
    monkeypatch.setattr(ingress, "_replica_states", lambda: {})
    keys = {name: auth.create_key(instance.engine, name)[1] for name in ("a", "b")}
    seen: list[str] = []

    async def record(response: httpx.Response) -> None:
        seen.append(response.headers.get("X-Request-ID", "<none>"))

    def client(key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.ASGITransport(app=ingress.app)
        return httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers, event_hooks={"response": [record]}
        )

    yield SimpleNamespace(
        a=client(keys["a"]),
        b=client(keys["b"]),
        anonymous=client(None),
        keys=keys,
        engine=instance.engine,
        generator=generator,
        ingress=instance,
        writer=writer,
        seen=seen,
        path=tmp_path / "notes.db",
    )
    instance.engine.dispose()
    writer.engine.dispose()


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "request_id"} and body["code"] == code, body
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert SENTINEL not in response.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _service_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record of the service, with its extras (the test's own HTTP client's are left out:
    it logs the URLs it calls)."""
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    return json.dumps([{**r.__dict__, "message": r.getMessage()} for r in records], default=str)


def _run(coroutine):
    return asyncio.run(coroutine)


def test_two_clinics_sweep_and_audit(service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        a, b, anonymous = service.a, service.b, service.anonymous
        ids = {}
        for name, c in (("a", a), ("b", b)):
            ids[name] = [
                (await c.post("/v1/sessions", json={"transcript": TRANSCRIPT})).json()["id"] for _ in range(2)
            ]
        generated = await a.post(f"/v1/sessions/{ids['a'][0]}/generate-notes", json={})
        assert generated.status_code == 200, generated.text
        current = await a.get(f"/v1/sessions/{ids['a'][0]}")
        etag = current.headers["ETag"]
        edit = {k: v for k, v in generated.json()["note"].items() if k != "text"}
        # Without a valid key: 401 on every route, the open paths aside.
        routes = [
            ("GET", "/v1/sessions", None),
            ("GET", f"/v1/sessions/{ids['a'][0]}", None),
            ("POST", "/v1/sessions", {"transcript": TRANSCRIPT}),
            ("POST", "/v1/summarize", {"transcript": TRANSCRIPT}),
            ("POST", f"/v1/sessions/{ids['a'][0]}/generate-notes", {}),
            ("PUT", f"/v1/sessions/{ids['a'][0]}/notes", edit),
            ("DELETE", f"/v1/sessions/{ids['a'][0]}", None),
            ("GET", f"/v1/{SENTINEL}", None),
        ]
        bad_keys = [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer pn_x"},
            {"X-API-Key": service.keys["a"][:-1]},
        ]
        for method, path, body in routes:
            for headers in bad_keys:
                response = await anonymous.request(method, path, json=body, headers=headers)
                _assert_error(response, 401, "unauthorized")
        assert (
            await anonymous.get(f"/v1/sessions/{ids['a'][0]}", headers={"X-API-Key": service.keys["a"]})
        ).status_code == 200
        assert (await anonymous.get("/health")).status_code == 200
        # Another clinic's ids: 404 everywhere, and nothing of a's changes.
        for caller, other in ((b, "a"), (a, "b")):
            listing = (await caller.get("/v1/sessions", params={"limit": 500})).json()
            assert not {s["id"] for s in listing["data"]} & set(ids[other])
            for session_id in ids[other]:
                for response in (
                    await caller.get(f"/v1/sessions/{session_id}"),
                    await caller.post(f"/v1/sessions/{session_id}/generate-notes", json={"force": True}),
                    await caller.put(
                        f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": etag}
                    ),
                    await caller.delete(f"/v1/sessions/{session_id}"),
                    await caller.delete(f"/v1/sessions/{session_id}", params={"purge": "true"}),
                ):
                    _assert_error(response, 404, "session_not_found")
        after = await a.get(f"/v1/sessions/{ids['a'][0]}")
        assert after.headers["ETag"] == etag and after.json()["note"] == generated.json()["note"]
        # Soft delete, then purge.
        assert (await a.delete(f"/v1/sessions/{ids['a'][1]}")).status_code == 204
        _assert_error(await a.get(f"/v1/sessions/{ids['a'][1]}"), 404, "session_not_found")
        assert (await a.delete(f"/v1/sessions/{ids['a'][1]}", params={"purge": "true"})).status_code == 204

    _run(scenario())
    with service.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT request_id, action, outcome, status, clinic_id FROM audit_events")
        ).all()
    assert len(service.seen) > 60 and set(service.seen) <= {r[0] for r in rows}
    assert len(rows) == len(service.seen)  # one row per request, no more
    assert {r[1] for r in rows} >= {
        "session.create", "session.read", "session.list", "note.generate", "note.edit", "session.delete",
        "session.purge", "note.summarize", "health", "unknown",
    }  # fmt: skip
    assert all(r[4] is None and r[2] == "denied" for r in rows if r[3] == 401)
    for file in [p for p in service.path.parent.iterdir() if p.name.startswith("notes.db")]:
        data = file.read_bytes()
        assert SENTINEL.encode() not in data and PLAIN_PHRASE not in data, file.name
    assert SENTINEL not in _service_logs(caplog)


def test_every_error_path_has_one_shape_and_leaks_nothing(service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        a = service.a
        _assert_error(await a.get(f"/v1/{SENTINEL}"), 404, "not_found")
        _assert_error(await a.patch("/v1/sessions"), 405, "method_not_allowed")
        nested = b'{"transcript": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        _assert_error(await a.post("/v1/summarize", content=nested), 422, "invalid_request")
        for huge in ("99999999999999999999999", str(2**63), str(2**31), "0", "-1", SENTINEL):
            _assert_error(await a.get(f"/v1/sessions/{huge}"), 422, "invalid_request")
        _assert_error(await a.get("/v1/sessions", params={"offset": 2**70}), 422, "invalid_request")
        _assert_error(
            await a.post("/v1/summarize", json={"transcript": "x"}, headers={"Idempotency-Key": "a b"}),
            422,
            "invalid_request",
        )
        # Anything unexpected: 500 internal_error, its text nowhere (here the model's error holds it).
        service.generator.error = ValueError(f"context overflow in {SENTINEL}")
        _assert_error(await a.post("/v1/summarize", json={"transcript": TRANSCRIPT}), 500, "internal_error")
        service.generator.error = None
        # A chained exception: InvalidNote raised from a pydantic error that holds the clinician's text.
        session_id = (await a.post("/v1/sessions", json={"transcript": TRANSCRIPT})).json()["id"]
        generated = (await a.post(f"/v1/sessions/{session_id}/generate-notes", json={})).json()
        etag = (await a.get(f"/v1/sessions/{session_id}")).headers["ETag"]
        edit = {k: v for k, v in generated["note"].items() if k != "text"}
        for flags in (
            [{"category": SENTINEL, "evidence": SENTINEL}],
            [{"category": "self_harm", "evidence": SENTINEL, "severity": SENTINEL}],
        ):
            put = await a.put(
                f"/v1/sessions/{session_id}/notes",
                json={**edit, "risk_flags": flags},
                headers={"If-Match": etag},
            )
            _assert_error(put, 422, "invalid_note")

    _run(scenario())
    with service.engine.connect() as connection:
        codes = connection.execute(text("SELECT code FROM audit_events WHERE status = 500")).scalars().all()
    assert codes == ["internal_error"]
    assert SENTINEL not in _service_logs(caplog)


def test_idempotency_over_http(service) -> None:
    async def scenario() -> None:
        a, b = service.a, service.b
        key = {"Idempotency-Key": "create-1"}
        first = await a.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
        again = await a.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
        assert first.status_code == again.status_code == 201 and first.json() == again.json()
        _assert_error(
            await a.post("/v1/sessions", json={"transcript": TRANSCRIPT + "x"}, headers=key),
            422,
            "idempotency_key_reused",
        )
        assert (
            await b.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
        ).json() != first.json()
        service.generator.delay_s = 0.5
        key = {"Idempotency-Key": "summarize-1"}
        pending = asyncio.create_task(a.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key))
        await asyncio.sleep(0.2)
        _assert_error(
            await a.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key),
            409,
            "idempotency_in_flight",
        )
        answer = await pending
        replay = await a.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key)
        assert answer.status_code == replay.status_code == 200 and replay.json() == answer.json()
        # A 5xx is not kept: the same key runs again.
        service.generator.error = RuntimeError("down")
        key = {"Idempotency-Key": "summarize-2"}
        _assert_error(
            await a.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key), 500, "internal_error"
        )
        service.generator.error = None
        assert (
            await a.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key)
        ).status_code == 200

    _run(scenario())
    with service.engine.connect() as connection:
        stored = connection.execute(text("SELECT response_ct FROM idempotency_keys")).scalars().all()
    assert stored and not any(SENTINEL.encode() in (blob or b"") for blob in stored)


def test_the_openapi_schema_shows_the_request_bodies(service) -> None:
    schema = _run(service.anonymous.get("/openapi.json")).json()
    body = schema["paths"]["/v1/summarize"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["transcript"] and body["properties"]["note_format"]["enum"] == [
        "SOAP",
        "DAP",
        "BIRP",
    ]
    assert "requestBody" in schema["paths"]["/v1/sessions/{session_id}/notes"]["put"]
    assert "$ref" not in json.dumps(schema["paths"]["/v1/sessions"]["post"])


def test_model_and_time_failures_answer_503_with_retry_after(
    service, caplog: pytest.LogCaptureFixture
) -> None:
    """A dead NoteGenerator replica, a NoteGenerator that failed to deploy, and a note that runs
    past request_timeout_s: each its own 503 code, with Retry-After, audited, leaking nothing."""
    caplog.set_level(logging.DEBUG)
    failures = [
        (RayActorError(error_msg=f"replica died decoding {SENTINEL}"), "model_unavailable"),
        (
            DeploymentUnavailableError(DeploymentID(name="NoteGenerator", app_name="notes")),
            "model_unavailable",
        ),
    ]

    async def scenario() -> None:
        for error, code in failures:
            service.generator.error = error
            response = await service.a.post("/v1/summarize", json={"transcript": TRANSCRIPT})
            _assert_error(response, 503, code)
            assert response.headers["Retry-After"] == "5"
        service.generator.error = None
        service.generator.delay_s, service.ingress.request_timeout_s = 1.0, 0.2
        created = await service.a.post("/v1/sessions", json={"transcript": TRANSCRIPT})
        generate = f"/v1/sessions/{created.json()['id']}/generate-notes"
        for path, body in (("/v1/summarize", {"transcript": TRANSCRIPT}), (generate, {})):
            response = await service.a.post(path, json=body)
            _assert_error(response, 503, "generation_timeout")
            assert response.headers["Retry-After"] == "5"

    _run(scenario())
    with service.engine.connect() as connection:
        codes = connection.execute(text("SELECT code FROM audit_events WHERE status = 503")).scalars().all()
    assert codes == ["model_unavailable"] * 2 + ["generation_timeout"] * 2
    assert SENTINEL not in _service_logs(caplog)


def test_past_max_pending_notes_the_ingress_refuses_at_once_and_counts_down_again(service) -> None:
    """With the graph full (max_pending_notes note requests in it) a note request gets 503
    queue_full at once, before preprocessing, audited; once those are answered the count is back
    to 0 (errors included), so later requests pass."""
    service.ingress.max_pending_notes = 2
    service.generator.delay_s = 0.5
    calls = 0
    process = service.ingress.preprocessor.process.remote

    async def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return await process(*args, **kwargs)

    service.ingress.preprocessor.process = SimpleNamespace(remote=counting)

    async def scenario() -> None:
        first = [
            asyncio.create_task(service.a.post("/v1/summarize", json={"transcript": TRANSCRIPT}))
            for _ in range(2)
        ]
        await asyncio.sleep(0.2)
        start = asyncio.get_running_loop().time()
        refused = await service.b.post("/v1/summarize", json={"transcript": TRANSCRIPT})
        assert asyncio.get_running_loop().time() - start < 0.4  # not after the 0.5 s generations
        _assert_error(refused, 503, "queue_full")
        assert refused.headers["Retry-After"]
        assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
        assert service.ingress.pending_notes == 0 and calls == 2
        service.generator.delay_s, service.generator.error = 0.0, RuntimeError("down")
        failed = await service.a.post("/v1/summarize", json={"transcript": TRANSCRIPT})
        _assert_error(failed, 500, "internal_error")
        service.generator.error = None
        assert service.ingress.pending_notes == 0
        assert (await service.a.post("/v1/summarize", json={"transcript": TRANSCRIPT})).status_code == 200

    _run(scenario())
    with service.engine.connect() as connection:
        codes = connection.execute(text("SELECT code FROM audit_events WHERE status = 503")).scalars().all()
    assert codes == ["queue_full"]


def test_a_dead_database_answers_503_and_health_reports_what_is_down(
    service, caplog: pytest.LogCaptureFixture
) -> None:
    """The database server gone (nothing listens on its port). Only the NoteWriter's: /health is
    degraded and says so. The Ingress's too: nothing can be audited, so every answer, /health's
    included, is 503 database_unavailable."""
    caplog.set_level(logging.DEBUG)
    healthy = _run(service.anonymous.get("/health"))
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok", healthy.text

    service.generator.model_info = lambda: {"model": "fake", "engine": {"ok": False}}
    stalled = _run(service.anonymous.get("/health"))
    assert stalled.status_code == 503 and stalled.json()["status"] == "degraded"
    assert stalled.json()["database"] is True
    del service.generator.model_info

    live = (service.ingress.engine, service.writer.engine)
    dead = db.make_engine(f"postgresql://postgres@127.0.0.1:{_free_port()}/notes?connect_timeout=2")
    try:
        service.writer.engine = dead
        health = _run(service.anonymous.get("/health"))
        assert health.status_code == 503, health.text
        assert health.json()["status"] == "degraded" and health.json()["database"] is False
        assert health.json()["model"]["model"] == "fake"
        created = _run(service.a.post("/v1/sessions", json={"transcript": TRANSCRIPT}))
        _assert_error(created, 503, "database_unavailable")

        service.ingress.engine = service.ingress.audit.engine = dead
        for method, path, body in [
            ("GET", "/health", None),
            ("POST", "/v1/summarize", {"transcript": TRANSCRIPT}),
            ("POST", "/v1/sessions", {"transcript": TRANSCRIPT}),
            ("GET", "/v1/sessions", None),
        ]:
            response = _run(service.a.request(method, path, json=body))
            _assert_error(response, 503, "database_unavailable")
            assert response.headers["Retry-After"] == "5"
    finally:
        service.ingress.engine, service.writer.engine = live
        service.ingress.audit.engine = live[0]
        dead.dispose()
    assert _run(service.anonymous.get("/health")).status_code == 200
    assert SENTINEL not in _service_logs(caplog)
