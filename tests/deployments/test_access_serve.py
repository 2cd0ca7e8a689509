"""Access control, audit, encryption at rest, idempotency and error shapes on the real application
(Ray Serve, the real GGUF, a real SQLite database), over HTTP on loopback, with two clinics."""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import text

from deployments import auth, db

pytestmark = pytest.mark.serve

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = f"ZQX{uuid.uuid4().hex[:12]}ACCESS"
TRANSCRIPT = (
    "Therapist: How was the week?\n"
    f"Client: My neighbour {SENTINEL} was loud every night and I slept four hours.\n"
    "Therapist: What helped?\n"
    "Client: Walking in the morning. Some days I want to hurt myself when I can't sleep.\n"
    "Therapist: Let's make a safety plan and review it on Thursday.\n"
)
PLAIN_PHRASE = b"loud every night and I slept four hours"


def _request_id(response: httpx.Response) -> str:
    """The response's request id (Serve's proxy repeats the header: "id, id")."""
    return response.headers.get("X-Request-ID", "<none>").split(",")[0].strip()


class Clinic:
    def __init__(self, name: str, base: str, key: str, seen: list[str]) -> None:
        hooks = {"response": [lambda r: seen.append(_request_id(r))]}
        self.name, self.key = name, key
        self.http = httpx.Client(
            base_url=base, timeout=180, headers={"Authorization": f"Bearer {key}"}, event_hooks=hooks
        )


@pytest.fixture(scope="module")
def app(ray_instance, tmp_path_factory):
    """The application on a fresh SQLite database, with clinics a and b and a revoked key of a."""
    from ray import serve
    from ray.serve._private.api import serve_start
    from ray.serve.schema import ServeDeploySchema

    from tests.deployments.test_serve import _free_port

    tmp = tmp_path_factory.mktemp("access")
    url = f"sqlite:///{tmp / 'notes.db'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    keys = {name: auth.create_key(engine, name)[1] for name in ("a", "b")}
    revoked_id, revoked = auth.create_key(engine, "a")
    auth.revoke_key(engine, revoked_id)

    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    port = _free_port()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    main = config["applications"][0]
    main["args"]["database_url"] = url
    # Generation is not what this module tests: short, and bounded (past 15 s the note falls back).
    main["args"]["draft"].update(section_max_tokens=24, timeout_s=15)
    main["args"]["engine"].update(n_threads=1)
    schema = ServeDeploySchema.model_validate(config)
    client = serve_start(http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location)
    client.deploy_apps(schema, _blocking=False)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = serve.status().applications.get(main["name"])
        if status and status.status == "RUNNING":
            break
        assert not (status and status.status == "DEPLOY_FAILED"), status
        time.sleep(1)
    else:
        pytest.fail(f"the application did not start: {serve.status()}")
    seen: list[str] = []
    base = f"http://127.0.0.1:{port}"
    clinics = {name: Clinic(name, base, key, seen) for name, key in keys.items()}
    anonymous = httpx.Client(
        base_url=base,
        timeout=60,
        event_hooks={"response": [lambda r: seen.append(_request_id(r))]},
    )
    yield {
        "a": clinics["a"],
        "b": clinics["b"],
        "anonymous": anonymous,
        "revoked": revoked,
        "engine": engine,
        "path": tmp / "notes.db",
        "seen": seen,
    }
    for c in clinics.values():
        c.http.close()
    anonymous.close()
    serve.shutdown()
    engine.dispose()


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "request_id"} and body["code"] == code, body
    assert body["request_id"] == _request_id(response)
    assert SENTINEL not in response.text


def test_without_a_valid_key_nothing_is_served(app):
    a = app["a"]
    session_id = a.http.post("/v1/sessions", json={"transcript": TRANSCRIPT}).json()["id"]
    requests = [
        ("GET", "/v1/sessions", None),
        ("GET", f"/v1/sessions/{session_id}", None),
        ("POST", "/v1/sessions", {"transcript": TRANSCRIPT}),
        ("POST", "/v1/summarize", {"transcript": TRANSCRIPT}),
        ("POST", f"/v1/sessions/{session_id}/generate-notes", {}),
        ("PUT", f"/v1/sessions/{session_id}/notes", {"format": "SOAP", "sections": {}, "summary": "x"}),
        ("DELETE", f"/v1/sessions/{session_id}", None),
        ("GET", "/v1/no-such-path", None),
    ]
    credentials = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer pn_not-a-key"},
        {"Authorization": f"Basic {a.key}"},
        {"Authorization": f"Bearer {app['revoked']}"},
        {"X-API-Key": app["revoked"]},
        {"X-API-Key": a.key[:-1]},
    ]
    for method, path, body in requests:
        for headers in credentials:
            response = app["anonymous"].request(method, path, json=body, headers=headers)
            _assert_error(response, 401, "unauthorized")
            assert response.headers["WWW-Authenticate"] == "Bearer"
    # X-API-Key works as well as Bearer; /health needs no key and names no session.
    assert app["anonymous"].get(f"/v1/sessions/{session_id}", headers={"X-API-Key": a.key}).status_code == 200
    health = app["anonymous"].get("/health")
    assert health.status_code == 200 and "session" not in health.text and SENTINEL not in health.text


def test_another_clinics_ids_answer_404(app):
    """The sweep over two clinics: every route, every id of the other clinic, gets nothing back."""
    a, b = app["a"], app["b"]
    ids = {
        name: [c.http.post("/v1/sessions", json={"transcript": TRANSCRIPT}).json()["id"] for _ in range(2)]
        for name, c in (("a", a), ("b", b))
    }
    generated = a.http.post(f"/v1/sessions/{ids['a'][0]}/generate-notes", json={})
    assert generated.status_code == 200, generated.text
    etag = a.http.get(f"/v1/sessions/{ids['a'][0]}").headers["ETag"]
    edit = {k: v for k, v in generated.json()["note"].items() if k != "text"}
    for caller, other in ((b, "a"), (a, "b")):
        listing = caller.http.get("/v1/sessions", params={"limit": 500}).json()
        assert not {s["id"] for s in listing["data"]} & set(ids[other])
        for session_id in ids[other]:
            for response in (
                caller.http.get(f"/v1/sessions/{session_id}"),
                caller.http.post(f"/v1/sessions/{session_id}/generate-notes", json={"force": True}),
                caller.http.put(f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": etag}),
                caller.http.delete(f"/v1/sessions/{session_id}"),
                caller.http.delete(f"/v1/sessions/{session_id}", params={"purge": "true"}),
            ):
                _assert_error(response, 404, "session_not_found")
    # Nothing of a's changed: its note, its version and its transcript are as they were.
    after = a.http.get(f"/v1/sessions/{ids['a'][0]}")
    assert after.headers["ETag"] == etag and after.json()["note"] == generated.json()["note"]
    assert SENTINEL in after.json()["transcript"]


def test_errors_have_one_shape_and_echo_nothing(app):
    http = app["a"].http
    _assert_error(http.get(f"/v1/{SENTINEL}"), 404, "not_found")
    _assert_error(http.patch("/v1/sessions"), 405, "method_not_allowed")
    nested = b'{"transcript": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    _assert_error(http.post("/v1/summarize", content=nested), 422, "invalid_request")
    _assert_error(http.post("/v1/sessions", content=b"[" * 100_000), 422, "invalid_request")
    for huge in ("99999999999999999999999", str(2**63), str(2**31), "0", "-1", "1e3", SENTINEL):
        _assert_error(http.get(f"/v1/sessions/{huge}"), 422, "invalid_request")
    _assert_error(http.get("/v1/sessions", params={"offset": 2**70}), 422, "invalid_request")
    _assert_error(http.get("/v1/sessions", params={"limit": 0}), 422, "invalid_request")
    _assert_error(
        http.post("/v1/summarize", json={"transcript": 1}, headers={"Idempotency-Key": "bad key"}),
        422,
        "invalid_request",
    )
    # A chained exception (InvalidNote raised from a pydantic error that holds the clinician's text).
    session_id = http.post("/v1/sessions", json={"transcript": TRANSCRIPT}).json()["id"]
    http.post(f"/v1/sessions/{session_id}/generate-notes", json={})
    current = http.get(f"/v1/sessions/{session_id}")
    edit = {k: v for k, v in current.json()["note"].items() if k != "text"}
    edit["risk_flags"] = [{"category": SENTINEL, "evidence": SENTINEL}]
    put = http.put(
        f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": current.headers["ETag"]}
    )
    _assert_error(put, 422, "invalid_note")
    edit["risk_flags"] = [{"category": "self_harm", "evidence": SENTINEL, "severity": SENTINEL}]
    put = http.put(
        f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": current.headers["ETag"]}
    )
    _assert_error(put, 422, "invalid_note")


def test_idempotency_keys(app):
    http = app["a"].http
    key = {"Idempotency-Key": f"create-{uuid.uuid4().hex}"}
    first = http.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
    again = http.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    _assert_error(
        http.post("/v1/sessions", json={"transcript": TRANSCRIPT + "x"}, headers=key),
        422,
        "idempotency_key_reused",
    )
    # Another clinic's key space is its own.
    assert (
        app["b"].http.post("/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key).json()
        != first.json()
    )

    key = {"Idempotency-Key": f"summarize-{uuid.uuid4().hex}"}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(http.post, "/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key)
        time.sleep(1.0)
        _assert_error(
            http.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key),
            409,
            "idempotency_in_flight",
        )
        answer = pending.result()
    assert answer.status_code == 200, answer.text
    replay = http.post("/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key)
    assert replay.status_code == 200 and replay.json() == answer.json()


def test_delete_and_purge(app):
    http = app["a"].http
    session_id = http.post("/v1/sessions", json={"transcript": TRANSCRIPT}).json()["id"]
    assert http.delete(f"/v1/sessions/{session_id}").status_code == 204
    _assert_error(http.get(f"/v1/sessions/{session_id}"), 404, "session_not_found")
    assert http.delete(f"/v1/sessions/{session_id}", params={"purge": "true"}).status_code == 204
    with app["engine"].connect() as connection:
        row = connection.execute(
            text("SELECT transcript_ct, deleted_at, purged_at FROM sessions WHERE id = :i"), {"i": session_id}
        ).one()
        assert row[0] is None and row[1] is not None and row[2] is not None
        actions = (
            connection.execute(
                text("SELECT action FROM audit_events WHERE session_id = :i ORDER BY id"), {"i": session_id}
            )
            .scalars()
            .all()
        )
    assert actions == ["session.create", "session.delete", "session.read", "session.purge"]


def test_every_request_is_audited_and_no_text_is_stored_or_logged(app, ray_instance):
    """Runs last in this module: every request above has an audit row, the database file holds
    no transcript text, and no Ray log holds the sentinel."""
    seen = [r for r in app["seen"] if r != "<none>"]
    assert len(seen) == len(app["seen"]) and len(seen) > 100
    with app["engine"].connect() as connection:
        rows = connection.execute(
            text("SELECT request_id, action, outcome, status, clinic_id, code FROM audit_events")
        ).all()
    audited = {r[0] for r in rows}
    assert set(seen) <= audited, set(seen) - audited
    outcomes = {(r[2], r[3]) for r in rows}
    assert {("ok", 200), ("ok", 201), ("denied", 401), ("rejected", 404), ("rejected", 422)} <= outcomes
    assert all(r[4] is None for r in rows if r[3] == 401)  # a denial names no clinic
    columns = json.dumps([list(map(str, r)) for r in rows])
    assert SENTINEL not in columns

    files = [p for p in app["path"].parent.iterdir() if p.name.startswith("notes.db")]
    assert any(p.name.endswith("-wal") for p in files)
    for file in files:
        data = file.read_bytes()
        assert SENTINEL.encode() not in data and PLAIN_PHRASE not in data, file.name

    time.sleep(2)  # let the log writers flush
    hits = [
        str(p)
        for p in Path(ray_instance).rglob("*")
        if p.is_file() and not p.is_symlink() and SENTINEL.encode() in p.read_bytes()
    ]
    assert hits == []
