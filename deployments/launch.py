"""Run the service from serve_config.yaml with only what a clinic needs (`make run` uses it).

    python -m deployments.launch [serve_config.yaml] [--ready-file PATH]

It does what `serve run serve_config.yaml` does (start a local Ray, start Serve with the config's
HTTP options, deploy its applications) but starts Ray without its dashboard, which `serve run`
always starts (a web UI and its workers: about 0.5 GiB and seconds at start-up that a clinic's
backend never uses), and without the dashboard's API server, the autoscaler's monitor and the log
monitor (`lean_head`: 1,455 against 1,620 MiB PSS for the idle service, 2026-12-04).
It waits until every application is RUNNING, prints one line saying where the API listens, and
blocks; SIGTERM or SIGINT shut Serve and Ray down. A deployment that fails (a bad model, an engine
self-test that fails) ends it with exit status 1 and Serve's reason.

The launcher itself never imports Ray: a short-lived child starts the Ray head (its processes
outlive the child), deploys and waits for RUNNING, then exits; the launcher, a subreaper, adopts
Ray's processes and holds them in its tree while it waits (about 20 MiB instead of a Ray driver's
100 MiB PSS, and no driver's threads waking beside the engine's). At SIGTERM a second child stops
Serve, then the launcher ends what is left of its tree.

Ray starts its workers (every Serve replica, the NoteGenerator's llama.cpp threads included) at
nice 15, below its own daemons at nice 0: on a 2-core machine every wake-up of a daemon then
stalls a decoding step (llama.cpp's threads wait for each other). The launcher starts workers at
nice 0 (`RAY_worker_niceness`, unless the environment sets it), which is what makes the graph cost
a few percent over calling the engine directly instead of about 15 %. It also lets Serve's
controller loop and its replicas' metrics export run every second instead of every 0.1 s
(`RAY_SERVE_CONTROL_LOOP_INTERVAL_S`, `RAY_SERVE_METRICS_EXPORT_INTERVAL_MS`): an idle service
then takes 2.6 CPU-seconds per 30 s instead of 4.1, time the engine's threads would wait for.
Only once it runs, though: while it starts, each step of a replica (built, started, ready) waits
for the loop's next turn, so the controller loops every 0.1 s until the deployer says every
application runs (`controller_starting`, Serve's controller callback).

On a Ray cluster use `serve deploy serve_config.yaml` against the dashboard's address instead, with
`RAY_worker_niceness=0` in the nodes' environment (cluster/rayservice.yaml sets it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

#: Ray and Serve settings for a small machine whose cores the engine needs (the environment wins).
QUIET_RAY = {
    "RAY_worker_niceness": "0",
    "RAY_SERVE_CONTROL_LOOP_INTERVAL_S": "1",
    "RAY_SERVE_METRICS_EXPORT_INTERVAL_MS": "1000",
    # Serve kills an HTTP proxy that is not ready within 5 s; on a busy 2-core machine starting
    # one can take longer (seen in a test run beside another job: every request then failed).
    "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "60",
    # Less often, for a one-machine service without a dashboard: the node's stats for the
    # dashboard (every 5 s by default), every worker's task events for the state API (1 s), the
    # raylet's memory check for its out-of-memory killer (0.25 s) and its resource report to
    # the GCS (0.1 s). An idle service took 2.79 CPU-seconds per minute instead of 3.87 (Ray's
    # daemons, Serve's controller and proxy, the four replicas; 2026-12-07).
    "REPORTER_UPDATE_INTERVAL_MS": "30000",
    "RAY_task_events_report_interval_ms": "5000",
    "RAY_memory_monitor_refresh_ms": "1000",
    "RAY_raylet_report_resources_period_milliseconds": "1000",
}
#: Longest wait for the applications to come up (model checks and the engine self-test included).
READY_TIMEOUT_S = 600.0
#: Serve's controller loop while the service starts (Serve's own default). At QUIET_RAY's 1 s,
#: the waits for the loop's next turn made the start about 1.8 s longer (bench/start_bench.py).
START_LOOP_INTERVAL_S = 0.1
#: The file the deployer creates once every application runs: the controller then loops at the
#: quiet interval (the launcher names it; see controller_starting).
STARTED_FILE_ENV = "PSYNOTE_SERVE_STARTED_FILE"
#: Serve calls the function this names in its controller's process as the controller starts.
CONTROLLER_CALLBACK_ENV = "RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH"
#: Longest wait for Serve to stop its replicas at shutdown before Ray's processes are ended.
STOP_TIMEOUT_S = 60.0


def lean_head() -> None:
    """Start the local Ray head without three daemons a one-machine service does not use.

    - the autoscaler's monitor (it adds and removes cluster nodes; Serve's own autoscaling of
      replicas runs in its controller), and the log monitor (it streams workers' log lines to
      the driver's terminal; they stay in Ray's log files): `ray start --no-monitor
      --include-log-monitor=false` leaves them out, `ray.init` has no switch, so its RayParams
      get the same defaults;
    - the dashboard's API server, which `ray.init(include_dashboard=False)` still starts (it
      serves the dashboard's REST API: `ray job submit`, `serve deploy`, the state API; the
      launcher deploys through Serve's Python API).
    Together about 170 MiB PSS and three Python start-ups on a 2-core machine. Ray is pinned
    (pyproject.toml), and tests/deployments/test_launch.py checks which processes run.
    """
    from ray._private import node, parameter

    original = parameter.RayParams.__init__

    def init(self, *args, **kwargs) -> None:
        kwargs.setdefault("include_log_monitor", False)
        kwargs.setdefault("no_monitor", True)
        original(self, *args, **kwargs)

    parameter.RayParams.__init__ = init  # type: ignore[method-assign]
    node.Node.start_api_server = lambda self, **kwargs: None  # type: ignore[method-assign]


def controller_starting() -> None:
    """Run in Serve's controller process as it starts (the launcher sets
    RAY_SERVE_CONTROLLER_CALLBACK_IMPORT_PATH to this function): the control loop turns every
    START_LOOP_INTERVAL_S until the file STARTED_FILE_ENV names exists (the deployer writes it
    when every application runs), then at the interval the environment set (QUIET_RAY's 1 s).
    A controller that Ray restarts later finds the file there and stays quiet."""
    import logging
    import threading

    from ray.serve._private import controller

    started = os.environ.get(STARTED_FILE_ENV)
    quiet = controller.CONTROL_LOOP_INTERVAL_S
    if not started or os.path.exists(started) or quiet <= START_LOOP_INTERVAL_S:
        return
    logger = logging.getLogger("ray.serve")
    controller.CONTROL_LOOP_INTERVAL_S = START_LOOP_INTERVAL_S
    logger.info(f"control loop every {START_LOOP_INTERVAL_S} s until the applications run")

    def settle() -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not os.path.exists(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        controller.CONTROL_LOOP_INTERVAL_S = quiet
        logger.info(f"control loop every {quiet} s")

    threading.Thread(target=settle, name="serve-start-loop", daemon=True).start()


def _become_subreaper() -> None:
    """Adopt the processes the deploying child leaves (Linux: PR_SET_CHILD_SUBREAPER), so that
    Ray's daemons stay in this process's tree: one process to signal, and one tree to measure."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


def _descendants() -> list[int]:
    """Every live process below this one (from /proc: no psutil in the service's venv)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            out.append(pid)
            todo.append(pid)
    return out


def _reap() -> None:
    """Collect every adopted process that has ended (they would stay zombies otherwise)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "deployments.launch", *args])


def _teardown(address: str) -> None:
    """Stop Serve (replicas close their engines and databases), then every Ray process left."""
    if not _descendants():  # the child failed before it started Ray
        return
    stopper = _child("--stop", address)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    # A signal sent to the whole process group (Ctrl-C, `kill -- -PGID`) ends Ray's daemons with
    # the launcher: the stopper's connection then waits for a GCS that is gone, so it is given up
    # as soon as the GCS or the raylet has ended.
    while stopper.poll() is None and time.monotonic() < deadline and _ray_alive():
        time.sleep(0.1)
    if stopper.poll() is None:
        stopper.kill()
        stopper.wait()
    # The GCS last, as Ray's own shutdown does (it waits for the raylet and agents it knows).
    is_gcs = _is_gcs_server
    for sig, chosen, grace in (
        (signal.SIGTERM, lambda pid: not is_gcs(pid), 15.0),
        (signal.SIGTERM, lambda pid: True, 5.0),
        (signal.SIGKILL, lambda pid: True, 5.0),
    ):
        for pid in filter(chosen, _descendants()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _reap()
            left = [pid for pid in _descendants() if chosen(pid)]
            if not left:
                break
            time.sleep(0.1)
        if not _descendants():
            return


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:
        return ""


def _is_gcs_server(pid: int) -> bool:
    return "gcs_server" in _command(pid)


def _ray_alive() -> bool:
    """Whether Ray's GCS and raylet are both still running in this tree."""
    _reap()
    commands = [_command(pid) for pid in _descendants()]
    return any("gcs_server" in c for c in commands) and any("/raylet" in c for c in commands)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default="serve_config.yaml", type=Path)
    parser.add_argument("--ready-file", type=Path, help="write the time the service was ready here")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs Ray offers (default: all)")
    # The two short-lived children of the launcher (see the module docstring).
    parser.add_argument("--deploy", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--stop", metavar="ADDRESS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stop:
        return stop_serve(args.stop)
    if args.deploy:
        return deploy(args.config, args.deploy, args.num_cpus, args.ready_file)

    for name, value in QUIET_RAY.items():  # read by the raylet the child starts, and its workers
        os.environ.setdefault(name, value)
    state = Path(tempfile.mkdtemp(prefix="psynote-launch-"))
    os.environ[STARTED_FILE_ENV] = str(state / "started")
    os.environ.setdefault(CONTROLLER_CALLBACK_ENV, "deployments.launch.controller_starting")
    _become_subreaper()
    address = f"127.0.0.1:{_free_port()}"
    stopping = False
    deployer: subprocess.Popen | None = None

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if deployer is not None and deployer.poll() is None:
            deployer.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        options = ["--num-cpus", str(args.num_cpus)] if args.num_cpus else []
        options += ["--ready-file", str(args.ready_file)] if args.ready_file else []
        deployer = _child(str(args.config), "--deploy", address, *options)
        code = deployer.wait()
        if code != 0 or stopping:
            return 0 if stopping else code
        while not stopping:
            _reap()
            time.sleep(0.5)
        return 0
    finally:
        _teardown(address)
        shutil.rmtree(state, ignore_errors=True)


def _import_serve() -> None:
    """What the deployer needs of Serve (imported in a thread while the Ray head starts)."""
    import ray.serve._private.api  # noqa: F401
    import ray.serve.schema  # noqa: F401


def deploy(config_path: Path, address: str, num_cpus: int | None, ready_file: Path | None) -> int:
    """The deploying child: start the lean Ray head at `address` (it outlives this process), deploy
    the config's applications, wait until they run (then say so, and write `ready_file`); 0 when
    they do, 1 when one fails."""
    import threading

    import ray
    from ray._common.usage import usage_lib
    from ray._private import node, parameter
    from ray._private.authentication import authentication_token_setup as auth

    # Serve's modules (about 0.5 s of imports) load while the Ray head starts, which mostly waits
    # for its processes; the config is read once they are here.
    serve_loading = threading.Thread(target=_import_serve, name="import-serve", daemon=True)
    serve_loading.start()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # What ray.init() does to start a local cluster, without the reaper that would end the
    # cluster with this process, and without the daemons lean_head leaves out.
    lean_head()
    auth.enable_token_auth_by_default()
    auth.ensure_token_if_auth_enabled({}, create_token_if_missing=True)
    usage_lib.set_usage_stats_enabled_via_env_var(False)
    host, port = address.rsplit(":", 1)
    params = parameter.RayParams(
        node_ip_address=host, gcs_server_port=int(port), num_cpus=num_cpus, include_dashboard=False
    )
    node.Node(ray_params=params, head=True, shutdown_at_exit=False, spawn_reaper=False, ray_init_cluster=True)
    serve_loading.join()
    from ray import serve
    from ray.serve._private import api as serve_api
    from ray.serve._private.constants import SERVE_NAMESPACE
    from ray.serve.config import gRPCOptions
    from ray.serve.schema import ApplicationStatus, ServeDeploySchema

    ray.init(address=address, namespace=SERVE_NAMESPACE, log_to_driver=False)
    try:
        config = ServeDeploySchema.model_validate(yaml.safe_load(config_path.read_text()))
        client = serve_api.serve_start(
            http_options=config.http_options.model_dump(),
            proxy_location=config.proxy_location,
            grpc_options=gRPCOptions(**config.grpc_options.model_dump()),
            controller_options=config.controller_options,
        )
        client.deploy_apps(config, _blocking=False)
        names = [app.name for app in config.applications]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not stopping:
            apps = serve.status().applications
            states = {n: apps[n].status if n in apps else None for n in names}
            bad = (ApplicationStatus.DEPLOY_FAILED, ApplicationStatus.UNHEALTHY)
            failed = [n for n, s in states.items() if s in bad]
            if failed:
                print(f"deployment failed: {apps[failed[0]].message}", file=sys.stderr, flush=True)
                return 1
            if all(s == ApplicationStatus.RUNNING for s in states.values()):
                http = config.http_options
                if started := os.environ.get(STARTED_FILE_ENV):
                    Path(started).touch()  # the controller's loop slows down (controller_starting)
                print(f"ready: http://{http.host}:{http.port} ({', '.join(names)})", flush=True)
                if ready_file:
                    ready_file.write_text(f"{time.time()}\n")
                return 0
            if time.monotonic() > deadline:
                print(f"not running after {READY_TIMEOUT_S:.0f} s: {states}", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.25)
        return 1
    finally:
        ray.shutdown()  # disconnects: the cluster was not started by ray.init, so it stays


def stop_serve(address: str) -> int:
    """The stopping child: shut Serve down on the cluster at `address`."""
    import ray
    from ray import serve

    ray.init(address=address, log_to_driver=False)
    try:
        serve.shutdown()
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
