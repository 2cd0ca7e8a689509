"""`make run`'s launcher (deployments.launch): serve_config.yaml deployed on a Ray of its own,
without the dashboard, answering over HTTP on loopback, and gone after SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

pytestmark = pytest.mark.serve

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp_path: Path, **popen: object) -> tuple[subprocess.Popen, Path, int, str]:
    """The launcher on a free port with a database in `tmp_path`: (process, ready file, port, Ray's
    temporary folder)."""
    port = _free_port()
    config = yaml.safe_load((ROOT / "serve_config.yaml").read_text())
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    config["applications"][0]["args"]["database_url"] = f"sqlite:///{tmp_path / 'notes.db'}"
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    ray_tmp = tempfile.mkdtemp(prefix="rl", dir="/tmp")  # AF_UNIX paths: at most 107 bytes
    proc = subprocess.Popen(
        [sys.executable, "-m", "deployments.launch", str(path), "--ready-file", str(ready)],
        cwd=ROOT,
        env={**env, "RAY_TMPDIR": ray_tmp},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,  # type: ignore[arg-type]
    )
    return proc, ready, port, ray_tmp


def _wait_ready(proc: subprocess.Popen, ready: Path, deadline: float) -> None:
    while not ready.exists():
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "not ready in 240 s"
        time.sleep(0.5)


def test_launch_serves_the_config_without_the_dashboard_and_stops_on_sigterm(tmp_path):
    proc, ready, port, ray_tmp = _start(tmp_path)
    try:
        deadline = time.monotonic() + 240
        _wait_ready(proc, ready, deadline)
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"
        # No dashboard (neither its UI nor its API server), no autoscaler monitor, no log monitor:
        # this Ray runs its GCS, raylet and agents, Serve and the application's replicas.
        tree = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
        commands = [" ".join(psutil.Process(p).cmdline()) for p in tree if psutil.pid_exists(p)]
        for daemon in ("dashboard/dashboard.py", "autoscaler/_private/monitor.py", "log_monitor.py"):
            assert not any(daemon in c for c in commands), (daemon, commands)
        assert any("gcs_server" in c for c in commands) and any("raylet" in c for c in commands), commands
        # The launcher holds Ray's processes (a subreaper) without being a Ray driver itself.
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "_raylet" not in maps and "libllama" not in maps
        for replica in ("Ingress", "Preprocessor", "NoteGenerator", "NoteWriter"):
            assert any(c.startswith(f"ray::ServeReplica:notes:{replica}") for c in commands), commands
        # Serve's controller looped every 0.1 s while the service started, and at the launcher's
        # quiet interval once it ran (deployments.launch.controller_starting).
        logs = Path(ray_tmp, "ray", "session_latest", "logs", "serve")
        said = ""
        while time.monotonic() < deadline and "control loop every 1.0 s" not in said:
            said = "".join(p.read_text() for p in logs.glob("controller_*.log"))
            time.sleep(0.2)
        assert "control loop every 0.1 s until the applications run" in said
        assert "control loop every 1.0 s" in said
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in tree[1:])


def test_launch_stops_promptly_when_its_whole_process_group_is_signalled(tmp_path):
    """Ctrl-C or `kill -- -PGID` reach Ray's daemons too: the launcher does not wait for them."""
    proc, ready, _, _ = _start(tmp_path, start_new_session=True)
    try:
        _wait_ready(proc, ready, time.monotonic() + 240)
        tree = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        os.killpg(proc.pid, signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 0
    assert took < 30, f"stopped {took:.0f} s after the signal"
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in tree)
