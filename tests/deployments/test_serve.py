"""The real application: serve_config.yaml deployed on Ray Serve with the real GGUF, a real
database, spoken to over HTTP on loopback."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import socket
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

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


def _config(port: int, database_url: str) -> dict:
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
    return config


@pytest.fixture(scope="module")
def service(ray_instance, tmp_path_factory):
    from ray import serve
    from ray.serve._private.api import serve_start
    from ray.serve.schema import ServeDeploySchema

    tmp = tmp_path_factory.mktemp("serve")
    database_url = _database_url(tmp)
    if database_url.startswith("postgresql"):
        _reset_postgres(database_url)
    port = _free_port()
    key = _api_key(database_url)
    config = ServeDeploySchema.model_validate(_config(port, database_url))
    client = serve_start(http_options=config.http_options.model_dump(), proxy_location=config.proxy_location)
    client.deploy_apps(config, _blocking=False)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = serve.status().applications
        if all(status.get(a.name) and status[a.name].status == "RUNNING" for a in config.applications):
            break
        assert not any(s.status == "DEPLOY_FAILED" for s in status.values()), status
        time.sleep(1)
    else:
        pytest.fail(f"the application did not start: {serve.status()}")
    with httpx.Client(base_url=base, timeout=180, headers={"Authorization": f"Bearer {key}"}) as http:
        yield http
    serve.shutdown()


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
