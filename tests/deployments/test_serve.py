"""The real application: serve_config.yaml deployed on Ray Serve with the real GGUF, a real
database, spoken to over HTTP on loopback. Beside it, three variants of the same application
whose generation always runs past its limit (`limited`, `strict`) or whose model file is missing
(`faults`, on a database of its own that a test then breaks)."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import os
import socket
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.serve

ROOT = Path(__file__).resolve().parents[2]
SENTINEL = f"ZQX{uuid.uuid4().hex[:12]}SENTINEL"
TRANSCRIPT = (
    "Therapist: How have things been since our last session?\n"
    f"Client: Work has been stressful and my manager {SENTINEL} keeps adding projects. "
    "I have been sleeping about five hours a night and I feel tired all day.\n"
    "Therapist: What have you tried to manage the stress?\n"
    "Client: I went for walks twice and used the breathing exercise once. "
    "Sometimes I feel like I want to kill myself when it gets this bad.\n"
    "Therapist: Thank you for telling me. Let's make a safety plan together and schedule a check-in "
    "for Thursday. Please practise the breathing exercise daily.\n"
)
SOAP = ["subjective", "objective", "assessment", "plan"]
#: Realistic sessions (about 1,500 tokens each) that the v2 adapter writes valid notes for.
DEV_SESSIONS = sorted((ROOT / "tests" / "data" / "therapy" / "dev").glob("*.json"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'notes.db'}"


def _reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "DROP TABLE IF EXISTS notes, sessions, audit_events, idempotency_keys, api_keys, clinics,"
                " alembic_version CASCADE"
            )
        )
        conn.execute(sa.text("DROP FUNCTION IF EXISTS audit_events_append_only() CASCADE"))
    engine.dispose()


def _api_key(database_url: str) -> str:
    """A key of a clinic of its own on the migrated database (every API call needs one)."""
    from deployments import auth, db

    engine = db.make_engine(database_url)
    db.migrate(engine)
    _, key = auth.create_key(engine, f"serve-test-{uuid.uuid4().hex[:8]}")
    engine.dispose()
    return key


def _variant(main: dict, name: str, generator_cpus: float) -> dict:
    """A copy of the main application under /<name>; its NoteGenerator reserves `generator_cpus`."""
    variant = yaml.safe_load(yaml.safe_dump(main))
    variant.update(name=name, route_prefix=f"/{name}")
    for deployment in variant["deployments"]:
        if deployment["name"] == "NoteGenerator":
            deployment["ray_actor_options"] = {"num_cpus": generator_cpus}
    return variant


def _config(port: int, database_url: str, faults_database_url: str) -> dict:
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    main = config["applications"][0]
    main["args"]["database_url"] = database_url
    main["args"]["draft"].update(section_max_tokens=40, timeout_s=60)
    # A second application whose generation always runs past its limit and whose queue is short.
    limited = yaml.safe_load(yaml.safe_dump(main))
    limited.update(name="limited", route_prefix="/limited")
    limited["args"]["draft"].update(timeout_s=0.3, section_max_tokens=200)
    for deployment in limited["deployments"]:
        if deployment["name"] == "NoteGenerator":
            deployment["max_queued_requests"] = 1
    config["applications"].append(limited)
    # Less time than the NoteGenerator keeps back for the fallback note: every note times out.
    strict = _variant(main, "strict", generator_cpus=0.1)
    strict["args"]["request_timeout_s"] = 1.0
    strict["args"]["engine"]["kv_tokens"] = 4096
    # A model file that is not there: the NoteGenerator never starts (DEPLOY_FAILED), the Ingress does.
    faults = _variant(main, "faults", generator_cpus=0.1)
    faults["args"].update(model="/nonexistent/missing-model.gguf", database_url=faults_database_url)
    config["applications"] += [strict, faults]
    return config


def _started(status: dict, name: str) -> bool:
    """Whether application `name` is up: RUNNING, or for `faults` its Ingress healthy and its
    NoteGenerator given up on."""
    app = status.get(name)
    if app is None:
        return False
    if name != "faults":
        assert app.status != "DEPLOY_FAILED", status
        return app.status == "RUNNING"
    deployments = app.deployments
    return (
        "Ingress" in deployments
        and deployments["Ingress"].status == "HEALTHY"
        and deployments.get("NoteGenerator") is not None
        and deployments["NoteGenerator"].status == "DEPLOY_FAILED"
    )


@pytest.fixture(scope="module")
def served(ray_instance, tmp_path_factory):
    """The running applications: `http` (a client with the main application's key), and the
    `faults` application's database file and key."""
    from ray import serve
    from ray.serve._private.api import serve_start
    from ray.serve.schema import ServeDeploySchema

    tmp = tmp_path_factory.mktemp("serve")
    database_url = _database_url(tmp)
    if database_url.startswith("postgresql"):
        _reset_postgres(database_url)
    port = _free_port()
    key = _api_key(database_url)
    faults_database = tmp / "faults" / "notes.db"
    faults_key = _api_key(f"sqlite:///{faults_database}")
    config = ServeDeploySchema.model_validate(_config(port, database_url, f"sqlite:///{faults_database}"))
    client = serve_start(http_options=config.http_options.model_dump(), proxy_location=config.proxy_location)
    client.deploy_apps(config, _blocking=False)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = serve.status().applications
        if all(_started(status, a.name) for a in config.applications):
            break
        time.sleep(1)
    else:
        pytest.fail(f"the application did not start: {serve.status()}")
    with httpx.Client(base_url=base, timeout=180, headers={"Authorization": f"Bearer {key}"}) as http:
        yield SimpleNamespace(http=http, faults_database=faults_database, faults_key=faults_key)
    serve.shutdown()


@pytest.fixture(scope="module")
def service(served) -> httpx.Client:
    """A client of the main application, with its key."""
    return served.http


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"] and body["request_id"]
    assert SENTINEL not in response.text


def test_health_reports_model_database_and_replicas(service):
    response = service.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["database"] is True
    assert len(body["model"]["sha256"]) == 64 and body["model"]["model"]
    assert body["replicas"]["NoteGenerator"] == {"RUNNING": 1}
    # The engine's last real decode (the replica's self-test at least), not a fixed answer.
    engine = body["model"]["engine"]
    assert engine["ok"] is True and engine["last_decode_at"] and engine["tokens_per_s"] > 0


def test_summarize_returns_a_soap_note_with_every_risk_marked(service):
    response = service.post("/v1/summarize", json={"transcript": TRANSCRIPT})
    assert response.status_code == 200, response.text
    note, metadata = response.json()["note"], response.json()["metadata"]
    assert note["format"] == "SOAP" and list(note["sections"]) == SOAP
    assert all(text.strip() for text in note["sections"].values())
    assert 30 <= len(note["summary"].split()) <= 70
    assert {f["category"] for f in note["risk_flags"]} >= {"suicidal_ideation"}
    assert "{{RED:" in note["text"]
    assert metadata["source"] in ("model", "fallback")
    assert set(metadata) >= {"model", "model_version", "generation_ms", "generated_at", "truncated"}


@pytest.mark.parametrize(
    "note_format,sections",
    [
        ("DAP", ["data", "assessment", "plan"]),
        ("BIRP", ["behavior", "intervention", "response", "plan"]),
    ],
)
def test_summarize_in_other_formats(service, note_format, sections):
    response = service.post("/v1/summarize", json={"transcript": TRANSCRIPT, "note_format": note_format})
    assert response.status_code == 200, response.text
    assert list(response.json()["note"]["sections"]) == sections


def test_bad_input_gets_stable_codes_without_echo(service):
    _assert_error(service.post("/v1/summarize", json={"transcript": "  \n\t "}), 422, "empty_transcript")
    _assert_error(
        service.post("/v1/summarize", json={"transcript": SENTINEL, "note_format": f"X{SENTINEL}"}),
        422,
        "unknown_note_format",
    )
    bad_utf8 = b'{"transcript": "' + SENTINEL.encode() + b'\xff\xfe"}'
    _assert_error(service.post("/v1/summarize", content=bad_utf8), 422, "invalid_encoding")
    _assert_error(
        service.post("/v1/summarize", content=b"{not json " + SENTINEL.encode()), 422, "invalid_request"
    )
    _assert_error(service.post("/v1/summarize", json={"text": SENTINEL}), 422, "invalid_request")
    _assert_error(
        service.post("/v1/summarize", json={"transcript": SENTINEL * 100_000}), 413, "transcript_too_large"
    )
    _assert_error(service.get("/v1/sessions/999999"), 404, "session_not_found")


def test_session_lifecycle_edit_protection_and_equivalence(service):
    created = service.post(
        "/v1/sessions", json={"transcript": TRANSCRIPT, "client_ref": "c-17", "session_date": "2026-11-20"}
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]

    generated = service.post(f"/v1/sessions/{session_id}/generate-notes", json={})
    assert generated.status_code == 200, generated.text
    summarized = service.post("/v1/summarize", json={"transcript": TRANSCRIPT})
    assert generated.json()["note"] == summarized.json()["note"]  # same path, deterministic decoding

    session = service.get(f"/v1/sessions/{session_id}")
    assert session.status_code == 200
    assert session.json()["note"] == generated.json()["note"]
    # What generate-notes answered is what was stored, to the microsecond and in one time format.
    assert session.json()["note_metadata"] == generated.json()["metadata"]
    etag = session.headers["ETag"]

    listing = service.get("/v1/sessions", params={"limit": 5, "offset": 0}).json()
    assert listing["count"] >= 1
    entry = next(s for s in listing["data"] if s["id"] == session_id)
    assert entry["note_metadata"]["source"] == generated.json()["metadata"]["source"]
    assert SENTINEL not in str(listing)  # listings carry no transcript text

    edit = dict(generated.json()["note"])
    edit.pop("text")
    edit["sections"]["plan"] = "Safety plan reviewed; check-in Thursday."
    _assert_error(service.put(f"/v1/sessions/{session_id}/notes", json=edit), 428, "if_match_required")
    _assert_error(
        service.put(f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": '"0-0"'}),
        412,
        "etag_mismatch",
    )
    edited = service.put(f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": etag})
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] != etag
    assert edited.json()["metadata"]["source"] == "clinician" and edited.json()["metadata"]["edited_at"]
    _assert_error(
        service.put(f"/v1/sessions/{session_id}/notes", json=edit, headers={"If-Match": etag}),
        412,
        "etag_mismatch",
    )

    _assert_error(
        service.post(f"/v1/sessions/{session_id}/generate-notes", json={}), 409, "clinician_edit_exists"
    )
    kept = service.get(f"/v1/sessions/{session_id}").json()
    assert kept["note"]["sections"]["plan"] == "Safety plan reviewed; check-in Thursday."
    forced = service.post(
        f"/v1/sessions/{session_id}/generate-notes", json={"force": True, "note_format": "DAP"}
    )
    assert forced.status_code == 200, forced.text
    assert service.get(f"/v1/sessions/{session_id}").json()["note"]["format"] == "DAP"


def test_generation_past_its_limit_falls_back(service):
    response = service.post("/limited/v1/summarize", json={"transcript": TRANSCRIPT})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"]["source"] == "fallback"
    assert "suicidal_ideation" in {f["category"] for f in body["note"]["risk_flags"]}


def test_full_queue_answers_503_with_retry_after(service):
    def post(_: int) -> httpx.Response:
        return service.post("/limited/v1/summarize", json={"transcript": TRANSCRIPT}, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert 200 in statuses and 503 in statuses, statuses
    rejected = next(r for r in responses if r.status_code == 503)
    _assert_error(rejected, 503, "queue_full")
    assert rejected.headers["Retry-After"]


def test_health_names_the_published_adapter(service):
    from models.resolve import resolve_model

    published = resolve_model("gemma3-270m-notes:latest")
    assert published.lora_sha256, "the published model has no adapter"
    model = service.get("/health").json()["model"]
    assert (model["model"], model["model_version"]) == (published.name, published.version)
    assert (model["sha256"], model["lora_sha256"]) == (published.sha256, published.lora_sha256)
    assert model["lora_merged"] is True  # serve_config's merge_lora: the merged model is served


@pytest.fixture(scope="module")
def local_generation():
    """An engine and draft options built in this process from the main application's args, as the
    NoteGenerator builds its own."""
    from deployments.app import AppArgs
    from models.engine import EngineConfig, NoteEngine
    from models.pipeline import DraftOptions
    from models.resolve import resolve_model

    args = AppArgs.model_validate(_config(0, "sqlite://", "sqlite://")["applications"][0]["args"])
    model = resolve_model(args.model, profile=args.profile, merge_lora=args.merge_lora)
    engine = NoteEngine(
        EngineConfig(
            model_path=str(model.path),
            lora_path=str(model.lora_path) if model.lora_path else None,
            profile=model.profile,
            **args.engine.model_dump(),
        )
    )
    yield engine, DraftOptions(**args.draft.model_dump())
    engine.close()


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=st.sampled_from(DEV_SESSIONS), note_format=st.sampled_from(["SOAP", "DAP", "BIRP"]))
def test_the_service_serves_the_adapters_note_that_draft_note_writes(
    service, local_generation, session, note_format
):
    """A realistic session: the service answers the model's own note (not the fallback), and it is
    the note `draft_note` writes here on an engine of the same configuration (greedy decoding on an
    idle engine is deterministic), so nothing between HTTP and the pipeline changes it."""
    from models.pipeline import draft_note
    from schemas.notes import NoteFormat

    transcript = json.loads(session.read_text())["transcript"]
    response = service.post("/v1/summarize", json={"transcript": transcript, "note_format": note_format})
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["metadata"]["source"] == "model", (session.name, served["metadata"])
    engine, options = local_generation
    note, info = draft_note(engine, transcript, NoteFormat(note_format), options)
    assert info["source"] == "model" and not info["problems"]
    assert served["note"] == note.model_dump(mode="json"), session.name


def test_a_note_past_the_request_timeout_answers_503_generation_timeout(service):
    created = service.post("/strict/v1/sessions", json={"transcript": TRANSCRIPT})
    assert created.status_code == 201, created.text
    for path, body in [
        ("/strict/v1/summarize", {"transcript": TRANSCRIPT}),
        (f"/strict/v1/sessions/{created.json()['id']}/generate-notes", {}),
    ]:
        response = service.post(path, json=body)
        _assert_error(response, 503, "generation_timeout")
        assert response.headers["Retry-After"] == "5"
    assert service.get(f"/strict/v1/sessions/{created.json()['id']}").json()["note"] is None


def test_a_model_that_did_not_load_answers_503_model_unavailable(served):
    http, key = served.http, {"Authorization": f"Bearer {served.faults_key}"}
    health = http.get("/faults/health")
    assert health.status_code == 503, health.text
    body = health.json()
    assert body["status"] == "degraded" and body["model"] is None and body["database"] is True
    assert "RUNNING" not in body["replicas"]["NoteGenerator"]
    response = http.post("/faults/v1/summarize", json={"transcript": TRANSCRIPT}, headers=key)
    _assert_error(response, 503, "model_unavailable")
    assert response.headers["Retry-After"] == "5"
    created = http.post("/faults/v1/sessions", json={"transcript": TRANSCRIPT}, headers=key)
    assert created.status_code == 201, created.text  # storing a session needs no model
    generated = http.post(f"/faults/v1/sessions/{created.json()['id']}/generate-notes", json={}, headers=key)
    _assert_error(generated, 503, "model_unavailable")


def test_a_broken_database_answers_503_database_unavailable(served):
    """The faults application's SQLite files overwritten in place (the replicas' open connections
    see it): no request can be audited, so every answer, /health's too, is database_unavailable."""
    http, key = served.http, {"Authorization": f"Bearer {served.faults_key}"}
    assert http.get("/faults/v1/sessions", headers=key).status_code == 200
    for path in served.faults_database.parent.glob(served.faults_database.name + "*"):
        with path.open("r+b") as f:
            f.write(b"\xff" * max(path.stat().st_size, 4096))
    for method, path, body in [
        ("GET", "/faults/health", None),
        ("GET", "/faults/v1/sessions", None),
        ("POST", "/faults/v1/sessions", {"transcript": TRANSCRIPT}),
        ("POST", "/faults/v1/summarize", {"transcript": TRANSCRIPT}),
    ]:
        response = http.request(method, path, json=body, headers=key)
        _assert_error(response, 503, "database_unavailable")
        assert response.headers["Retry-After"] == "5"


def test_no_connection_leaves_loopback_during_a_request(service):
    """Every connection the test process and all of Ray's processes hold stays on loopback."""
    me = psutil.Process()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(service.post, "/v1/summarize", json={"transcript": TRANSCRIPT})
        remote: dict[str, set[str]] = {}
        while not pending.done():
            ours = {me.pid, *(p.pid for p in me.children(recursive=True))}
            for conn in psutil.net_connections(kind="inet"):
                if conn.raddr and conn.pid in ours:
                    try:
                        name = psutil.Process(conn.pid).name()
                    except psutil.Error:
                        name = "?"
                    remote.setdefault(conn.raddr.ip, set()).add(name)
            time.sleep(0.05)
    assert pending.result().status_code == 200
    assert remote, "no connection was seen at all"
    outside = {
        ip: names
        for ip, names in remote.items()
        if not ipaddress.ip_address(ip).is_loopback
        and not (ip.startswith("::ffff:") and ipaddress.ip_address(ip[7:]).is_loopback)
    }
    assert outside == {}


def test_sentinel_appears_in_no_log(service, ray_instance, capfd):
    # Runs after the others (file order): every request above carried the sentinel.
    service.post("/v1/summarize", json={"transcript": TRANSCRIPT})
    time.sleep(2)  # let the log writers flush
    hits = []
    for path in Path(ray_instance).rglob("*"):
        if path.is_file() and path.suffix in (".log", ".out", ".err", ".txt", ".json", ""):
            try:
                if SENTINEL.encode() in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    logs = list(Path(ray_instance).rglob("*.log"))
    assert logs, "no Ray log files found to check"
    assert hits == []
    captured = capfd.readouterr()
    assert SENTINEL not in captured.out + captured.err
