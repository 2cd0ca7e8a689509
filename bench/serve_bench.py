"""Benchmark of the note service, in one run and as ratios: the batched engine against the
sequential one (the engine before batching, `engine.batching: false`) and against llama-cpp-python's
own OpenAI-compatible server asked the same per-section work, on therapy-length sessions.

    python bench/serve_bench.py [--quick] [--model name:latest] [--runs 6]

Sessions: the project's own therapy dev set (tests/data/therapy/dev, 1,000-1,350 words each,
written for this project); the long session is five of them run together (about 6,000 words).
Prints one JSON object with, per side: time from start to the first note, per-note p50/p95 alone
and with 4 and 8 clients, notes per minute, the peak PSS of the whole process tree, the long
session's time (service only), and the graph's overhead (service p50 / `draft_note` called on
the same engine in this process). Everything listens on 127.0.0.1; all loops are bounded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.engine import EngineConfig, NoteEngine  # noqa: E402
from models.pipeline import DraftOptions, draft_note, prepare  # noqa: E402
from models.profiles import get_profile  # noqa: E402
from models.prompts import section_prompt  # noqa: E402
from models.resolve import resolve_model  # noqa: E402
from schemas.notes import SECTIONS, NoteFormat  # noqa: E402

SESSIONS = [
    json.loads(p.read_text())["transcript"] for p in sorted((ROOT / "tests/data/therapy/dev").glob("*.json"))
]
LONG_SESSION = "\n".join(SESSIONS[:5])
#: The API key header of a clinic created on the benchmark's database (set in main).
HEADERS: dict[str, str] = {}
ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_key(database_url: str) -> str:
    """A key of a new clinic on the (migrated) benchmark database."""
    from deployments import auth, db

    engine = db.make_engine(database_url)
    db.migrate(engine)
    _, key = auth.create_key(engine, "bench")
    engine.dispose()
    return key


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(times: list[float]) -> dict:
    return {"n": len(times), "p50_s": round(statistics.median(times), 2), "p95_s": round(pct(times, 0.95), 2)}


def tree_pss(pid: int) -> float:
    """PSS (MiB) of a process and all its descendants."""
    total = 0
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except psutil.Error:
            continue
    return total / 2**20


class PeakMemory:
    """Samples a process tree's PSS every second while in use; `peak` is the highest seen.

    Reading PSS walks each process's page tables: about 100 ms of CPU for a sweep of the ~25
    processes of Ray and the service (psutil's memory_full_info; memory_info, which has no PSS,
    takes 0.4 ms). On a 2-core machine that time preempts one of llama.cpp's two threads, and the
    other waits for it, so the sampler runs at nice 19 and is paused (`paused()`) while a latency
    is timed: it measured the sampler, not the graph, when the service's notes were timed under it
    and the direct engine's were not.
    """

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # this thread only (Linux)
        while not self._stop.wait(1.0):
            if self._running.is_set():
                self.peak = max(self.peak, tree_pss(self.pid))

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No sampling inside (one sample before and after): for the latencies timed there."""
        self.peak = max(self.peak, tree_pss(self.pid))
        self._running.clear()
        try:
            yield
        finally:
            self._running.set()
            self.peak = max(self.peak, tree_pss(self.pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_pss(self.pid))


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def clients(call, items: list, n_clients: int) -> tuple[list[float], float, list]:
    """Run `call(item)` from `n_clients` threads; (per-call seconds, wall seconds, results)."""

    def timed(item):
        t = time.monotonic()
        result = call(item)
        return time.monotonic() - t, result

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n_clients) as pool:
        done = list(pool.map(timed, items))
    return [d for d, _ in done], time.monotonic() - start, [r for _, r in done]


def load_side(times: list[float], wall: float, codes: list[int]) -> dict:
    """Per-note statistics, notes per minute, and every answer's status but 200 counted."""
    ok = codes.count(200)
    failed = {str(c): codes.count(c) for c in sorted(set(codes) - {200})}
    return {**stats(times), "ok": ok, "failed": failed, "notes_per_minute": round(ok / wall * 60, 2)}


def bench_service(args, config: dict, batching: bool, tmp: Path, launcher: str = "launch") -> dict:
    """The service from serve_config.yaml (engine.batching set), started as `make run` starts it
    (`python -m deployments.launch`, no dashboard) or, with launcher "serve_run", by `serve run`."""
    app = config["applications"][0]
    app["args"]["engine"]["batching"] = batching
    if not batching:  # the engine before batching took one request at a time
        next(d for d in app["deployments"] if d["name"] == "NoteGenerator")["max_ongoing_requests"] = 1
    port = free_port()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    path = tmp / f"serve_config_{batching}_{launcher}.yaml"
    path.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{port}/v1/summarize"
    python = args.service_python or sys.executable
    ready = tmp / f"ready_{batching}_{launcher}"
    if launcher == "serve_run":
        cmd = [str(Path(python).parent / "serve"), "run", str(path)]
    else:
        cmd = [python, "-m", "deployments.launch", str(path), "--ready-file", str(ready)]
    start, started_at = time.monotonic(), time.time()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **ENV, "RAY_TMPDIR": str(tmp / f"ray{int(batching)}{launcher}")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    #: The generator's own time for each note timed alone (its metadata's generation_ms).
    generation: list[float] = []

    def note(transcript: str, record: bool = False) -> int:
        answer = httpx.post(url, json={"transcript": transcript}, headers=HEADERS, timeout=900)
        if record and answer.status_code == 200:
            generation.append(answer.json()["metadata"]["generation_ms"] / 1000)
        return answer.status_code

    out: dict = {}
    try:
        with PeakMemory(proc.pid) as memory:
            while time.monotonic() - start < 600:
                if proc.poll() is not None:
                    raise SystemExit(f"{cmd[-2]} exited with {proc.returncode}")
                try:
                    if note(SESSIONS[0]) == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)  # not ready (no listener yet, or 404/503 while deploying)
            out["start_to_first_note_s"] = round(time.monotonic() - start, 1)
            if ready.is_file():  # written by the launcher when every deployment runs
                out["start_to_ready_s"] = round(float(ready.read_text()) - started_at, 1)
            with memory.paused():
                times, _, codes = clients(lambda t: note(t, record=True), SESSIONS[: args.runs], 1)
            out["alone"] = {**stats(times), "ok": codes.count(200)}
            if generation and len(generation) == len(times):
                # Where the service's time goes: the generator's own (draft_note inside Serve) and
                # the rest (proxy, Ingress, Preprocessor, Writer, and the trips between them).
                out["alone"]["generator_p50_s"] = round(statistics.median(generation), 2)
                out["alone"]["outside_generator_p50_s"] = round(
                    statistics.median(t - g for t, g in zip(times, generation, strict=True)), 3
                )
            for n in args.clients:
                items = (SESSIONS * 4)[: n * args.notes_per_client]
                times, wall, codes = clients(note, items, n)
                out[f"clients_{n}"] = load_side(times, wall, codes)
            if batching and not args.quick:
                with memory.paused():
                    t = time.monotonic()
                    status = note(LONG_SESSION)
                out["long_session"] = {"s": round(time.monotonic() - t, 1), "status": status}
        out["peak_pss_mib"] = round(memory.peak)
    finally:
        stop(proc)
    return out


def bench_direct(args, resolved, engine_args: dict, options: DraftOptions) -> dict:
    """`draft_note` on the service's engine in this process: what the graph adds to."""
    engine = NoteEngine(
        EngineConfig(
            model_path=str(resolved.path),
            lora_path=str(resolved.lora_path) if resolved.lora_path else None,
            profile=resolved.profile,
            **engine_args,
        )
    )
    try:
        times = []
        for transcript in SESSIONS[: args.runs]:
            t = time.monotonic()
            draft_note(engine, prepare(transcript), NoteFormat.SOAP, options)
            times.append(time.monotonic() - t)
        out = {"alone": stats(times)}
        if not args.quick:
            t = time.monotonic()
            _, info = draft_note(engine, prepare(LONG_SESSION), NoteFormat.SOAP, options)
            out["long_session"] = {"s": round(time.monotonic() - t, 1), "parts": info["chunks"]}
    finally:
        engine.close()
    return out


def bench_llama_cpp_server(args, resolved, engine_args: dict, max_tokens: int) -> dict:
    """`python -m llama_cpp.server` asked for each SOAP section of a note, one after another."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(resolved.path), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", str(engine_args.get("n_ctx", 4096))]
    cmd += ["--n_threads", str(engine_args.get("n_threads", 2)), "--chat_format", "gemma"]
    if resolved.lora_path:
        cmd += ["--lora_path", str(resolved.lora_path)]
    profile = get_profile(resolved.profile)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def note(transcript: str) -> int:
        text = prepare(transcript).text
        for section in SECTIONS[NoteFormat.SOAP]:
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/completions",
                json={
                    "prompt": section_prompt(profile, text, section),
                    "max_tokens": max_tokens,
                    "temperature": 0,
                    "repeat_penalty": engine_args.get("repeat_penalty", 1.1),
                    "stop": list(profile.stop),
                },
                timeout=900,
            )
            if response.status_code != 200:
                return response.status_code
        return 200

    out: dict = {}
    try:
        with PeakMemory(proc.pid) as memory:
            while time.monotonic() - start < 120:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5)
                    break
                except httpx.HTTPError:
                    time.sleep(0.5)
            with memory.paused():
                times, _, codes = clients(note, SESSIONS[: args.runs], 1)
            out["alone"] = {**stats(times), "ok": codes.count(200)}
            for n in args.clients:
                items = (SESSIONS * 4)[: n * args.notes_per_client]
                times, wall, codes = clients(note, items, n)
                out[f"clients_{n}"] = load_side(times, wall, codes)
        out["peak_pss_mib"] = round(memory.peak)
    finally:
        stop(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model ref; default: serve_config.yaml's")
    parser.add_argument(
        "--runtime-lora",
        action="store_true",
        help="apply a LoRA artifact's adapter at run time (merge_lora: false) instead of merged",
    )
    parser.add_argument("--runs", type=int, default=6, help="notes run alone per side")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--notes-per-client", type=int, default=2)
    parser.add_argument(
        "--service-python",
        default=None,
        help="the Python of the venv the service runs in (default: this one); `make run` uses the "
        "service-only venv (no torch, datasets or pandas, which every Ray Serve process would import)",
    )
    parser.add_argument("--quick", action="store_true", help="2 notes alone, 4 clients, no long session")
    parser.add_argument(
        "--sides",
        nargs="+",
        default=["direct", "service", "serve_run", "sequential", "llama_cpp_server"],
        help="service: started as `make run` does; serve_run: the same by `serve run` (start and memory)",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.clients, args.notes_per_client = 2, [4], 1

    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    app_args = config["applications"][0]["args"]
    if args.model:
        app_args["model"] = args.model
    if args.runtime_lora:
        app_args["merge_lora"] = False
    # As the service loads it: a LoRA artifact merged into its base unless merge_lora is false.
    resolved = resolve_model(app_args["model"], merge_lora=app_args.get("merge_lora", True))
    engine_args = dict(app_args.get("engine", {}))
    options = DraftOptions(**app_args.get("draft", {}))
    tmp = Path(tempfile.mkdtemp(prefix="bench"))
    app_args["database_url"] = f"sqlite:///{tmp / 'bench.db'}"
    HEADERS["Authorization"] = f"Bearer {api_key(app_args['database_url'])}"
    results: dict = {
        "model": f"{resolved.name}:{resolved.version}",
        "lora_merged": resolved.merged,
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "session_words": [len(s.split()) for s in SESSIONS[: args.runs]],
        "long_session_words": len(LONG_SESSION.split()),
    }
    if "direct" in args.sides:
        results["direct"] = bench_direct(args, resolved, engine_args, options)
        print(json.dumps(results["direct"]), file=sys.stderr, flush=True)
    if "service" in args.sides:
        results["service"] = bench_service(args, yaml.safe_load(yaml.safe_dump(config)), True, tmp)
        print(json.dumps(results["service"]), file=sys.stderr, flush=True)
    if "serve_run" in args.sides:  # the same service started by `serve run` (with its dashboard)
        brief = argparse.Namespace(**{**vars(args), "runs": 2, "clients": [], "quick": True})
        results["service_serve_run"] = bench_service(
            brief, yaml.safe_load(yaml.safe_dump(config)), True, tmp, "serve_run"
        )
        print(json.dumps(results["service_serve_run"]), file=sys.stderr, flush=True)
    if "sequential" in args.sides:
        results["sequential_service"] = bench_service(
            args, yaml.safe_load(yaml.safe_dump(config)), False, tmp
        )
        print(json.dumps(results["sequential_service"]), file=sys.stderr, flush=True)
    if "llama_cpp_server" in args.sides:
        results["llama_cpp_server"] = bench_llama_cpp_server(
            args, resolved, engine_args, options.section_max_tokens
        )
    ratios = {}
    if "direct" in results and "service" in results:
        direct_p50 = results["direct"]["alone"]["p50_s"]
        ratios["graph_overhead_p50"] = results["service"]["alone"]["p50_s"] / direct_p50
        if "generator_p50_s" in results["service"]["alone"]:
            # The same draft_note inside the service's generator against this process's: what
            # running among Ray's processes costs the engine itself.
            ratios["generator_in_service_over_direct_p50"] = (
                results["service"]["alone"]["generator_p50_s"] / direct_p50
            )
    for other in ("sequential_service", "llama_cpp_server"):
        if other in results and "service" in results:
            ratios[f"{other}_over_service_p50_alone"] = (
                results[other]["alone"]["p50_s"] / results["service"]["alone"]["p50_s"]
            )
            n = f"clients_{args.clients[0]}"
            ratios[f"service_over_{other}_notes_per_minute_{n}"] = (
                results["service"][n]["notes_per_minute"] / results[other][n]["notes_per_minute"]
            )
    if "service_serve_run" in results and "service" in results:
        for key in ("peak_pss_mib", "start_to_first_note_s"):
            ratios[f"service_over_serve_run_{key}"] = (
                results["service"][key] / results["service_serve_run"][key]
            )
    results["ratios"] = {k: round(v, 3) for k, v in ratios.items()}
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
