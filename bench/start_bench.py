"""How long the service takes to start, and where the CPU time of its start goes.

    python bench/start_bench.py [--starts 3] [--service-python .venv/bin/python] [--env K=V ...]

Starts the service from serve_config.yaml as `make run` does (`python -m deployments.launch`),
`--starts` times, and for each start prints the seconds from launch to ready (every application
RUNNING, from the launcher's ready file) and to the first note answered (one therapy dev session,
SOAP, sent as soon as the API answers anything: the figure the engine issue sets at 15 s), and the
CPU seconds every process of the tree had used when the service was ready, by kind (the Ray
daemons, Serve's controller and proxy, each replica, the launcher and the children it reaped). The
machine has 2 cores: CPU seconds near twice the seconds to ready mean the start is bound by work,
not by waiting. `--env` sets a variable for the service (to compare a Ray or Serve setting).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bench import ENV, HEADERS, ROOT, SESSIONS, api_key, free_port, stop  # noqa: E402

from models.resolve import resolve_model  # noqa: E402


def _kind(cmd: str) -> str:
    """A short name for a process of the service's tree, from its command line."""
    for needle, name in (
        ("gcs_server", "gcs_server"),
        ("raylet", "raylet"),
        ("dashboard/agent.py", "dashboard_agent"),
        ("runtime_env/agent", "runtime_env_agent"),
        ("ServeController", "serve_controller"),
        ("ProxyActor", "proxy"),
        ("ServeReplica", None),
        ("ray::IDLE", "idle_worker"),
        ("deployments.launch", "launcher"),
    ):
        if needle in cmd:
            return name or "replica:" + cmd.split("ServeReplica:", 1)[1].split()[0].split(":")[-1]
    return cmd.split()[0].rsplit("/", 1)[-1] if cmd.strip() else "?"


def tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds by kind for every live process under `root` (the children it reaped counted
    apart, on the launcher: the deploying child and Serve's build task among them)."""
    out: dict[str, float] = {}
    try:
        top = psutil.Process(root)
        reaped = top.cpu_times()
        out["reaped_children"] = reaped.children_user + reaped.children_system
        procs = [top, *top.children(recursive=True)]
    except psutil.Error:
        return {}
    for proc in procs:
        try:
            kind, cpu = _kind(" ".join(proc.cmdline())), proc.cpu_times()
        except psutil.Error:
            continue
        out[kind] = out.get(kind, 0.0) + cpu.user + cpu.system
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def _busy_cores() -> tuple[float, float]:
    """(busy, total) jiffies of all cores so far, from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class StartWatch:
    """In the background while the service starts: the tree's CPU seconds by kind when the ready
    file appears, and the machine's cores in use per half second until then."""

    def __init__(self, root: int, ready: Path) -> None:
        self.root, self.ready = root, ready
        self.cpu_at_ready: dict[str, float] | None = None
        self.busy: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = _busy_cores()
        cores = os.cpu_count() or 1
        while not self._stop.wait(0.5):
            now = _busy_cores()
            self.busy.append(round(cores * (now[0] - last[0]) / max(1, now[1] - last[1]), 2))
            last = now
            if self.ready.is_file():
                self.cpu_at_ready = tree_cpu(self.root)
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


_TEXT_TIME = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})")
#: Lines of Serve's logs that mark a step of the start (controller: text lines; replicas: JSON).
_STEPS = {
    "Controller starting": "controller started",
    "Importing and building app": "build task started",
    "Imported and built app": "app built",
    "Adding 1 replica to Deployment(name='NoteGenerator'": "replicas added",
    "deployment='Preprocessor', app='notes') started successfully": "Preprocessor running",
    "deployment='Ingress', app='notes') started successfully": "Ingress running",
    "deployment='NoteWriter', app='notes') started successfully": "NoteWriter running",
    "deployment='NoteGenerator', app='notes') started successfully": "NoteGenerator running",
}


def timeline(ray_tmp: Path, started_at: float) -> dict[str, float]:
    """Seconds after the launch at which each step of the start was logged (Ray's and Serve's
    log files of that start)."""
    out: dict[str, float] = {}
    logs = next(ray_tmp.glob("ray/session_2*"), None)
    if logs is None:
        return out
    logs = logs / "logs"
    gcs = logs / "gcs_server.out"
    if gcs.is_file() and (m := re.search(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", gcs.read_text())):
        out["gcs started"] = _local(m.group(1)) - started_at
    for path in sorted((logs / "serve").glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                message = record.get("message", "")
                if message in ("Started initializing replica.", "Finished initializing replica."):
                    name = path.name.split("_")[2]
                    step = f"{name} {'init started' if message.startswith('Started') else 'init done'}"
                    out.setdefault(step, record["timestamp_ns"] / 1e9 - started_at)
                continue
            for needle, step in _STEPS.items():
                if needle in line and (m := _TEXT_TIME.search(line)):
                    out.setdefault(step, _local(m.group(1)) - started_at)
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: kv[1])}


def _local(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def one_start(
    python: str, root: Path, config_path: Path, url: str, env: dict[str, str], tmp: Path, i: int
) -> dict:
    ready = tmp / f"ready{i}"
    cmd = [python, "-m", "deployments.launch", str(config_path), "--ready-file", str(ready)]
    started_at, start = time.time(), time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=root,
        env={**os.environ, **ENV, **env, "RAY_TMPDIR": str(tmp / f"ray{i}")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out: dict = {}
    watch = StartWatch(proc.pid, ready)
    try:
        first_try = None
        while time.monotonic() - start < 300:
            if proc.poll() is not None:
                raise SystemExit(f"the launcher exited with {proc.returncode}")
            try:
                t = time.monotonic()
                answer = httpx.post(url, json={"transcript": SESSIONS[0]}, headers=HEADERS, timeout=900)
                if answer.status_code == 200:
                    out["first_note_s"] = round(time.monotonic() - t, 1)
                    first_try = round(t - start, 1)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        out["start_to_first_note_s"] = round(time.monotonic() - start, 1)
        out["first_note_sent_at_s"] = first_try
        if ready.is_file():
            out["start_to_ready_s"] = round(float(ready.read_text()) - started_at, 1)
        watch.stop()
        cpu_at_ready = watch.cpu_at_ready or {}
        out["cpu_s_at_ready"] = cpu_at_ready
        out["cpu_s_at_ready_total"] = round(sum(cpu_at_ready.values()), 1)
        out["cores_busy_per_half_second_to_ready"] = watch.busy
        out["timeline_s"] = timeline(tmp / f"ray{i}", started_at)
    finally:
        watch.stop()
        stop(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--service-python", default=sys.executable)
    parser.add_argument("--env", action="append", default=[], metavar="K=V")
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="the checkout whose code the service runs (default: this one), to compare two versions",
    )
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    app_args = config["applications"][0]["args"]
    # The model is resolved (and merged) before the service starts, as `make run` does.
    resolve_model(app_args["model"], merge_lora=app_args.get("merge_lora", True))
    tmp = Path(tempfile.mkdtemp(prefix="startbench"))
    app_args["database_url"] = f"sqlite:///{tmp / 'bench.db'}"
    HEADERS["Authorization"] = f"Bearer {api_key(app_args['database_url'])}"
    port = free_port()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    path = tmp / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = dict(kv.split("=", 1) for kv in args.env)
    url = f"http://127.0.0.1:{port}/v1/summarize"
    runs = []
    for i in range(args.starts):
        runs.append(one_start(args.service_python, args.root, path, url, env, tmp, i))
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    summary = {
        key: round(statistics.median(r[key] for r in runs), 1)
        for key in ("start_to_ready_s", "start_to_first_note_s", "first_note_s", "cpu_s_at_ready_total")
        if all(key in r for r in runs)
    }
    print(json.dumps({"env": env, "starts": args.starts, "median": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
