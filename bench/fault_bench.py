"""Fault and load figures of the note service, printed as one table.

    python bench/fault_bench.py                 # reduced counts (the default; minutes on 2 cores)
    python bench/fault_bench.py --full          # the issue's figures: 20 replica kills, 50 writer
                                                # kills, a 10-minute soak, 50 examples per operation
    python bench/fault_bench.py --only writer-kill,burst    # some parts only

Parts (each a row of the table):
- generator-kill: SIGKILL the NoteGenerator replica while a generate-notes request is in flight.
  Each request must end with exactly one stored note (200) or a clean 503 and none; the replica
  must be RUNNING again (and answer) within 60 s.
- writer-kill (SQLite, and PostgreSQL with --postgres-url or TEST_DATABASE_URL): a process storing
  sessions and notes through deployments.db is killed with SIGKILL at a random moment; then
  SQLite's integrity_check must pass and every note it acknowledged must be stored.
- burst: 10x max_queued_requests at once; the overflow must get `503 queue_full` with Retry-After
  within 1 s; resident memory of all Ray processes before and after.
- soak: 4 clients create sessions and generate notes (with Idempotency-Key, retrying 503s) for a
  bounded time; 0 lost, 0 duplicated, resident memory growth after warm-up.
- schemathesis: `st run` against /openapi.json with a key: no 5xx.

Everything listens on 127.0.0.1 and every loop is bounded. The service runs in this process's own
Ray instance with `draft.section_max_tokens` 24 and llama.cpp on 1 thread (a shared 2-core
machine); the fast application (route /fast) stops generating after 0.5 s, for the burst and
schemathesis, where the model's output does not matter.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.update(
    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0"
)

from deployments import auth, db  # noqa: E402

TRANSCRIPT = (
    "Therapist: How did the week go?\n"
    "Client: Better. I walked three times and slept six hours most nights.\n"
    "Therapist: What got in the way on the other nights?\n"
    "Client: Worrying about money. I wrote the worries down like we practised.\n"
    "Therapist: Good. Keep the worry diary and we'll review it next week.\n"
)
PARTS = ("writer-kill", "schemathesis", "burst", "soak", "generator-kill")
Row = tuple[str, str, str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_rss_mib() -> float:
    """Resident memory of this process and all its descendants (Ray's processes), MiB."""
    procs = [psutil.Process(), *psutil.Process().children(recursive=True)]
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


# writer-kill ------------------------------------------------------------------------------------


def writer_loop(url: str, clinic: int) -> None:
    """Store sessions with notes forever; print `ack <id>` after each note's commit."""
    from schemas.notes import Note, NoteFormat, NoteMetadata

    engine = db.make_engine(url)
    note = Note(
        format=NoteFormat.DAP, sections={"data": "d", "assessment": "a", "plan": "p"}, summary="s", text="t"
    )
    meta = NoteMetadata(
        model="m", model_version="1", source="model", generation_ms=1, generated_at="2026-01-01T00:00:00Z"
    )
    while True:
        session_id = db.create_session(engine, clinic, "Client: fine.", None, None)
        db.save_generated_note(engine, clinic, session_id, note, meta, force=False)
        print(f"ack {session_id}", flush=True)


def writer_kill(url: str, kills: int) -> Row:
    from sqlalchemy import text

    engine = db.make_engine(url)
    db.migrate(engine)
    clinic = auth.clinic_id(engine, f"writer-{uuid.uuid4().hex[:6]}", create=True)
    acked: list[int] = []
    rng = random.Random(0)
    for _ in range(kills):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--writer-loop", url, "--clinic", str(clinic)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the writer is running (and writing) from here on
        time.sleep(rng.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        acked += [int(line.split()[1]) for line in (first + out).splitlines() if line.startswith("ack ")]
    with engine.connect() as connection:
        integrity = (
            connection.exec_driver_sql("PRAGMA integrity_check").scalar()
            if engine.dialect.name == "sqlite"
            else "n/a"
        )
        stored = set(
            connection.execute(
                text(
                    "SELECT s.id FROM sessions s JOIN notes n ON n.session_id = s.id WHERE s.clinic_id = :c"
                ),
                {"c": clinic},
            ).scalars()
        )
    missing = set(acked) - stored
    engine.dispose()
    ok = integrity in ("ok", "n/a") and not missing
    name = f"writer-kill ({engine.dialect.name})"
    return (
        name,
        f"{kills} SIGKILLs",
        f"integrity {integrity}; {len(acked)} acked, {len(missing)} missing",
        _ok(ok),
    )


# the service ------------------------------------------------------------------------------------


def start_service(tmp: Path, port: int, url: str) -> None:
    import ray
    from ray import serve
    from ray.serve._private.api import serve_start
    from ray.serve.schema import ServeDeploySchema

    ray.init(num_cpus=4, include_dashboard=False, _temp_dir=str(tmp / "ray"), log_to_driver=False)
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    main = config["applications"][0]
    main["args"]["database_url"] = url
    main["args"]["draft"].update(section_max_tokens=24, timeout_s=30)
    main["args"]["engine"].update(n_threads=1)
    fast = yaml.safe_load(yaml.safe_dump(main))
    fast.update(name="fast", route_prefix="/fast")
    fast["args"]["draft"].update(timeout_s=0.5)
    config["applications"].append(fast)
    schema = ServeDeploySchema.model_validate(config)
    client = serve_start(http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location)
    client.deploy_apps(schema, _blocking=False)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        apps = serve.status().applications
        if all(apps.get(a.name) and apps[a.name].status == "RUNNING" for a in schema.applications):
            return
        time.sleep(1)
    raise SystemExit(f"the service did not start: {serve.status()}")


def generator_replica() -> tuple[int | None, dict]:
    """The pid of the notes application's running NoteGenerator replica, and its replica states."""
    from ray import serve

    states = dict(serve.status().applications["notes"].deployments["NoteGenerator"].replica_states)
    # Ray names a replica's process by its actor ("ray::ServeReplica:<app>:<deployment>"); the
    # state API would need the dashboard, which this Ray runs without.
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if cmdline.startswith("ray::ServeReplica:notes:NoteGenerator") and proc.info["status"] != "zombie":
            return proc.pid, states
    return None, states


def generator_kill(http: httpx.Client, url: str, kills: int) -> Row:
    from sqlalchemy import text

    engine = db.make_engine(url)
    outcomes, recoveries, bad = {"note": 0, "clean_503": 0}, [], []
    for i in range(kills):
        session_id = http.post("/v1/sessions", json={"transcript": TRANSCRIPT}).json()["id"]
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(http.post, f"/v1/sessions/{session_id}/generate-notes", json={})
            time.sleep(random.Random(i).uniform(0.5, 2.0))  # mid-request: generation takes seconds here
            pid, _ = generator_replica()
            killed_at = time.monotonic()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            response = pending.result()
        with engine.connect() as connection:
            notes = connection.execute(
                text("SELECT COUNT(*) FROM notes WHERE session_id = :s"), {"s": session_id}
            ).scalar_one()
        code = response.json().get("code") if response.status_code != 200 else None
        if response.status_code == 200 and notes == 1:
            outcomes["note"] += 1
        elif response.status_code == 503 and notes == 0:
            outcomes["clean_503"] += 1
        else:
            bad.append((response.status_code, code, notes))
        deadline = killed_at + 120
        while time.monotonic() < deadline:
            pid, states = generator_replica()
            if states == {"RUNNING": 1} and http.get("/health").status_code == 200:
                break
            time.sleep(0.5)
        recoveries.append(time.monotonic() - killed_at)
    engine.dispose()
    ok = not bad and max(recoveries) <= 60
    return (
        "generator-kill",
        f"{kills} SIGKILLs mid-request",
        f"{outcomes['note']} stored, {outcomes['clean_503']} clean 503, {len(bad)} other {bad[:3]}; "
        f"back in max {max(recoveries):.1f} s (median {sorted(recoveries)[len(recoveries) // 2]:.1f})",
        _ok(ok),
    )


def burst(http: httpx.Client, factor: int) -> Row:
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    generator = next(d for d in config["applications"][0]["deployments"] if d["name"] == "NoteGenerator")
    count = factor * generator["max_queued_requests"]
    # On a service that has served (as in --full, where schemathesis comes first): the first
    # request through a new Serve graph pays for its routers and lazy imports.
    http.post("/fast/v1/summarize", json={"transcript": TRANSCRIPT}, timeout=600)
    before = ray_rss_mib()

    def post(_: int) -> tuple[int, float, str | None, str | None]:
        start = time.monotonic()
        r = http.post("/fast/v1/summarize", json={"transcript": TRANSCRIPT}, timeout=600)
        code = r.json().get("code") if r.status_code != 200 else None
        return r.status_code, time.monotonic() - start, code, r.headers.get("Retry-After")

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        results = list(pool.map(post, range(count)))
    after = ray_rss_mib()
    rejected = [r for r in results if r[0] == 503]
    served = sum(1 for r in results if r[0] == 200)
    slowest = max((r[1] for r in rejected), default=float("nan"))
    clean = all(r[2] == "queue_full" and r[3] for r in rejected)
    growth = 100 * (after - before) / before
    ok = bool(rejected) and clean and slowest <= 1.0 and served + len(rejected) == count and growth < 10
    return (
        "burst",
        f"{count} at once ({factor}x the queue)",
        f"{served} served, {len(rejected)} queue_full (Retry-After: {clean}), slowest 503 {slowest:.2f} s; "
        f"RSS {before:.0f} -> {after:.0f} MiB ({growth:+.1f} %)",
        _ok(ok),
    )


def soak(http: httpx.Client, url: str, key: str, seconds: float, clients: int) -> Row:
    """The soak uses a clinic of its own (`key`), so its counts are its own."""
    from sqlalchemy import text

    deadline = time.monotonic() + seconds
    warm_rss: list[float] = []

    def retrying(method: str, path: str, idem: str, body: dict) -> httpx.Response:
        for _ in range(60):  # bounded: 503s are retried with the same Idempotency-Key
            headers = {"Idempotency-Key": idem, "Authorization": f"Bearer {key}"}
            r = http.request(method, path, json=body, headers=headers, timeout=600)
            if r.status_code != 503:
                return r
            time.sleep(float(r.headers.get("Retry-After", "1")))
        return r

    def client(_: int) -> tuple[list[int], list[int], int]:
        sessions, notes, errors = [], [], 0
        while time.monotonic() < deadline:
            created = retrying("POST", "/v1/sessions", uuid.uuid4().hex, {"transcript": TRANSCRIPT})
            if created.status_code != 201:
                errors += 1
                continue
            session_id = created.json()["id"]
            sessions.append(session_id)
            generated = retrying("POST", f"/v1/sessions/{session_id}/generate-notes", uuid.uuid4().hex, {})
            if generated.status_code == 200:
                notes.append(session_id)
            else:
                errors += 1
            if not warm_rss and time.monotonic() > deadline - seconds * 0.9:
                warm_rss.append(ray_rss_mib())
        return sessions, notes, errors

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    end_rss = ray_rss_mib()
    sessions = [s for r in results for s in r[0]]
    noted = [s for r in results for s in r[1]]
    errors = sum(r[2] for r in results)
    engine = db.make_engine(url)
    principal = auth.authenticate(engine, key)
    assert principal is not None
    clinic = principal.clinic_id
    with engine.connect() as connection:
        stored = (
            connection.execute(text("SELECT id FROM sessions WHERE clinic_id = :c"), {"c": clinic})
            .scalars()
            .all()
        )
        with_note = set(
            connection.execute(
                text(
                    "SELECT session_id FROM notes n JOIN sessions s ON s.id = n.session_id"
                    " WHERE s.clinic_id = :c"
                ),
                {"c": clinic},
            ).scalars()
        )
    engine.dispose()
    lost = len(set(sessions) - set(stored)) + len(set(noted) - with_note)
    duplicated = len(stored) - len(set(sessions))
    growth = 100 * (end_rss - warm_rss[0]) / warm_rss[0] if warm_rss else float("nan")
    ok = lost == 0 and duplicated == 0 and errors == 0 and growth < 10
    return (
        "soak",
        f"{clients} clients, {seconds:.0f} s",
        f"{len(sessions)} sessions, {len(noted)} notes, {errors} errors, {lost} lost, "
        f"{duplicated} duplicated; "
        f"RSS {warm_rss[0] if warm_rss else float('nan'):.0f} -> {end_rss:.0f} MiB ({growth:+.1f} %)",
        _ok(ok),
    )


def schemathesis(base: str, key: str, examples: int, tmp: Path) -> Row:
    st = Path(sys.executable).parent / "st"
    command = [
        str(st),
        "run",
        f"{base}/fast/openapi.json",
        "--url",
        f"{base}/fast",
        "-H",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--report",
        "junit",
        "--report-dir",
        str(tmp / "st"),
    ]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    summary = [line.strip() for line in done.stdout.splitlines() if "passed" in line or "failed" in line]
    return (
        "schemathesis",
        f"{examples} examples/operation, not_a_server_error",
        f"exit {done.returncode} in {time.monotonic() - started:.0f} s; "
        f"{summary[-1] if summary else done.stdout[-200:]}",
        _ok(done.returncode == 0),
    )


class _Rows(list[Row]):
    """The table's rows; each is also printed to stderr as soon as its part ends."""

    def append(self, row: Row) -> None:
        print(" | ".join(row), file=sys.stderr, flush=True)
        super().append(row)


def _ok(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's counts and durations")
    parser.add_argument("--only", help=f"comma-separated parts: {','.join(PARTS)}")
    parser.add_argument("--generator-kills", type=int)
    parser.add_argument("--writer-kills", type=int)
    parser.add_argument("--soak-s", type=float)
    parser.add_argument("--examples", type=int, help="schemathesis examples per operation")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--writer-loop", help=argparse.SUPPRESS)
    parser.add_argument("--clinic", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer_loop:
        writer_loop(args.writer_loop, args.clinic)
        return
    parts = args.only.split(",") if args.only else list(PARTS)
    generator_kills = args.generator_kills or (20 if args.full else 3)
    writer_kills = args.writer_kills or (50 if args.full else 10)
    soak_s = args.soak_s or (600.0 if args.full else 60.0)
    examples = args.examples or (50 if args.full else 5)

    tmp = Path(tempfile.mkdtemp(prefix="fb", dir="/tmp"))
    url = f"sqlite:///{tmp / 'notes.db'}"
    rows = _Rows()
    if "writer-kill" in parts:
        rows.append(writer_kill(f"sqlite:///{tmp / 'writer.db'}", writer_kills))
        if args.postgres_url:
            rows.append(writer_kill(args.postgres_url, writer_kills))
    if set(parts) - {"writer-kill"}:
        engine = db.make_engine(url)
        db.migrate(engine)
        _, key = auth.create_key(engine, "bench")
        _, soak_key = auth.create_key(engine, "soak")
        engine.dispose()
        port = free_port()
        start_service(tmp, port, url)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {key}"}) as http:
            if "schemathesis" in parts:
                rows.append(schemathesis(base, key, examples, tmp))
            if "burst" in parts:
                rows.append(burst(http, factor=10))
            if "soak" in parts:
                rows.append(soak(http, url, soak_key, soak_s, clients=4))
            if "generator-kill" in parts:
                rows.append(generator_kill(http, url, generator_kills))
    print_table(rows)


def print_table(rows: list[Row]) -> None:
    widths = [max(len(r[i]) for r in [("part", "load", "result", "ok"), *rows]) for i in range(4)]
    print()
    for row in [("part", "load", "result", "ok"), tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
