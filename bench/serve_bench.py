"""End-to-end benchmark of the note service against a direct llama_cpp call and llama-cpp-python's
own OpenAI-compatible server, on the same GGUF and the same prompts.

    python bench/serve_bench.py [--model embedded|name:latest|path.gguf] [--runs 8] [--clients 4]

Prints, side by side in one run: /v1/summarize latency vs the same section calls made directly
on a `llama_cpp.Llama` (p50, p95 and their ratio), notes per minute under concurrent clients, the
resident memory of the whole Serve stack, time from start to first answer, and the same notes
asked of `python -m llama_cpp.server`. Everything listens on 127.0.0.1; all loops are bounded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.engine import EngineConfig, NoteEngine  # noqa: E402
from models.pipeline import prepare  # noqa: E402
from models.prompts import section_prompt  # noqa: E402
from models.resolve import resolve_model  # noqa: E402
from schemas.notes import SECTIONS, NoteFormat  # noqa: E402

TRANSCRIPT = (
    "Therapist: Welcome back. How was the week?\n"
    "Client: Honestly pretty rough. I had two panic attacks at work, one in a meeting on Monday and one "
    "on the train home on Wednesday. My heart was racing and I thought I was going to pass out.\n"
    "Therapist: That sounds frightening. What did you do when it happened?\n"
    "Client: I tried the breathing we practised, the four-seven-eight one, and it helped a little on the "
    "train. In the meeting I just left the room. I'm sleeping maybe five hours a night.\n"
    "Therapist: Leaving was a way to cope. Let's look at what you noticed before each attack.\n"
    "Client: Before the meeting I'd had three coffees and I was worried my boss would criticise my report.\n"
    "Therapist: For this week, please cut back to one coffee, keep a short panic diary, and practise the "
    "breathing twice a day. We'll review the diary next Tuesday.\n"
)
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


def wait_ready(url: str, proc: subprocess.Popen, limit_s: float = 300) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if (
                httpx.post(url, json={"transcript": TRANSCRIPT}, headers=HEADERS, timeout=120).status_code
                == 200
            ):
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not answer in time")


def tree_memory(proc: subprocess.Popen) -> tuple[float, float, int]:
    """RSS and PSS (MiB) of a process and all its descendants, and how many there are."""
    procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    rss = pss = 0
    for p in procs:
        try:
            info = p.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
        except psutil.Error:
            continue
    return rss / 2**20, pss / 2**20, len(procs)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model ref; default: serve_config.yaml's")
    parser.add_argument("--runs", type=int, default=8, help="sequential notes per side")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--concurrent-notes", type=int, default=12, help="notes sent by the clients")
    args = parser.parse_args()

    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    app_args = config["applications"][0]["args"]
    if args.model:
        app_args["model"] = args.model
    resolved = resolve_model(app_args["model"])
    engine_args = app_args.get("engine", {})
    max_tokens = app_args.get("draft", {}).get("section_max_tokens", 160)
    port = free_port()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    tmp = Path(tempfile.mkdtemp(prefix="bench"))
    app_args["database_url"] = f"sqlite:///{tmp / 'bench.db'}"
    HEADERS["Authorization"] = f"Bearer {api_key(app_args['database_url'])}"
    config_path = tmp / "serve_config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    print(
        f"model {resolved.name}:{resolved.version} (lora: {bool(resolved.lora_path)}), "
        f"{os.cpu_count()} CPUs, n_threads {engine_args.get('n_threads', 2)}",
        flush=True,
    )

    # 1. The service: time to first answer, sequential latency, concurrency, memory.
    serve_proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "serve"), "run", str(config_path)],
        cwd=ROOT,
        env={**os.environ, **ENV, "RAY_TMPDIR": str(tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1/summarize"
    results: dict = {}
    try:
        results["start_to_first_answer_s"] = wait_ready(url, serve_proc)
        # 2. Direct llama_cpp on the same GGUF, the same prompts and decoding settings.
        engine = NoteEngine(
            EngineConfig(
                model_path=str(resolved.path),
                lora_path=resolved.lora_path and str(resolved.lora_path),
                profile=resolved.profile,
                max_tokens=max_tokens,
                **{k: v for k, v in engine_args.items() if k in ("n_ctx", "n_threads", "repeat_penalty")},
            )
        )
        prompts = [
            section_prompt(engine.profile, prepare(TRANSCRIPT).text, s) for s in SECTIONS[NoteFormat.SOAP]
        ]
        direct, served, sources = [], [], []
        for _ in range(args.runs):  # interleaved, so both sides see the same machine state
            t = time.monotonic()
            for prompt in prompts:
                engine.generate(prompt, max_tokens=max_tokens)
            direct.append(time.monotonic() - t)
            t = time.monotonic()
            response = httpx.post(url, json={"transcript": TRANSCRIPT}, headers=HEADERS, timeout=300)
            served.append(time.monotonic() - t)
            sources.append(response.json()["metadata"]["source"])
        engine.close()
        results["direct"] = {"p50_s": statistics.median(direct), "p95_s": pct(direct, 0.95)}
        results["service"] = {
            "p50_s": statistics.median(served),
            "p95_s": pct(served, 0.95),
            "sources": sources,
        }
        results["service_over_direct_p50"] = results["service"]["p50_s"] / results["direct"]["p50_s"]
        results["service_over_direct_p95"] = results["service"]["p95_s"] / results["direct"]["p95_s"]

        t = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
            codes = list(
                pool.map(
                    lambda _: (
                        httpx.post(
                            url, json={"transcript": TRANSCRIPT}, headers=HEADERS, timeout=600
                        ).status_code
                    ),
                    range(args.concurrent_notes),
                )
            )
        elapsed = time.monotonic() - t
        results["concurrent"] = {
            "clients": args.clients,
            "notes": codes.count(200),
            "statuses": sorted(set(codes)),
            "notes_per_minute": codes.count(200) / elapsed * 60,
        }
        rss, pss, count = tree_memory(serve_proc)
        results["memory"] = {"rss_mib": rss, "pss_mib": pss, "processes": count}
    finally:
        stop(serve_proc)

    # 3. The peer: llama-cpp-python's OpenAI-compatible server, the same section prompts.
    peer_port = free_port()
    peer_cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(resolved.path),
        "--host",
        "127.0.0.1",
        "--port",
        str(peer_port),
        "--n_ctx",
        str(engine_args.get("n_ctx", 4096)),
        "--n_threads",
        str(engine_args.get("n_threads", 2)),
        "--chat_format",
        "gemma",
    ]
    if resolved.lora_path:
        peer_cmd += ["--lora_path", str(resolved.lora_path)]
    peer = subprocess.Popen(peer_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{peer_port}/v1/completions"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{peer_port}/v1/models", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        peer_times = []
        for _ in range(args.runs):
            t = time.monotonic()
            for prompt in prompts:
                httpx.post(
                    base,
                    json={
                        "prompt": prompt,
                        "max_tokens": max_tokens,
                        "temperature": 0,
                        "repeat_penalty": engine_args.get("repeat_penalty", 1.1),
                        "stop": list(engine.profile.stop),
                    },
                    timeout=300,
                ).raise_for_status()
            peer_times.append(time.monotonic() - t)
        results["llama_cpp_server"] = {"p50_s": statistics.median(peer_times), "p95_s": pct(peer_times, 0.95)}
        results["service_over_llama_cpp_server_p50"] = (
            results["service"]["p50_s"] / results["llama_cpp_server"]["p50_s"]
        )
        rss, pss, count = tree_memory(peer)
        results["llama_cpp_server"]["memory"] = {"rss_mib": rss, "pss_mib": pss}
    finally:
        stop(peer)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
