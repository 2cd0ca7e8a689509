"""Run the service from serve_config.yaml with only what a clinic needs (`make run` uses it).

    python -m deployments.launch [serve_config.yaml] [--ready-file PATH]

It does what `serve run serve_config.yaml` does (start a local Ray, start Serve with the config's
HTTP options, deploy its applications) but starts Ray without its dashboard, which `serve run`
always starts (a web UI and its workers: about 0.5 GiB and seconds at start-up that a clinic's
backend never uses), and without the dashboard's API server, the autoscaler's monitor and the log
monitor (`lean_head`: 1,455 against 1,620 MiB PSS for the idle service, 2026-12-04).
It waits until every application is RUNNING, prints one line saying where
the API listens, and blocks; SIGTERM or SIGINT shut Serve and Ray down. A deployment that fails
(a bad model, an engine self-test that fails) ends it with exit status 1 and Serve's reason.

Ray starts its workers (every Serve replica, the NoteGenerator's llama.cpp threads included) at
nice 15, below its own daemons at nice 0: on a 2-core machine every wake-up of a daemon then
stalls a decoding step (llama.cpp's threads wait for each other). The launcher starts workers at
nice 0 (`RAY_worker_niceness`, unless the environment sets it), which is what makes the graph cost
a few percent over calling the engine directly instead of about 15 %. It also lets Serve's
controller loop and its replicas' metrics export run every second instead of every 0.1 s
(`RAY_SERVE_CONTROL_LOOP_INTERVAL_S`, `RAY_SERVE_METRICS_EXPORT_INTERVAL_MS`): an idle service
then takes 2.6 CPU-seconds per 30 s instead of 4.1, time the engine's threads would wait for.

On a Ray cluster use `serve deploy serve_config.yaml` against the dashboard's address instead, with
`RAY_worker_niceness=0` in the nodes' environment (cluster/rayservice.yaml sets it).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
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
}
#: Longest wait for the applications to come up (model checks and the engine self-test included).
READY_TIMEOUT_S = 600.0


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default="serve_config.yaml", type=Path)
    parser.add_argument("--ready-file", type=Path, help="write the time the service was ready here")
    parser.add_argument("--num-cpus", type=float, default=None, help="CPUs Ray offers (default: all)")
    args = parser.parse_args(argv)

    import ray
    from ray import serve
    from ray.serve._private import api as serve_api
    from ray.serve._private.constants import SERVE_NAMESPACE
    from ray.serve.config import gRPCOptions
    from ray.serve.schema import ApplicationStatus, ServeDeploySchema

    config = ServeDeploySchema.model_validate(yaml.safe_load(args.config.read_text()))
    for name, value in QUIET_RAY.items():  # read by the raylet this starts, and its workers
        os.environ.setdefault(name, value)
    lean_head()
    ray.init(
        namespace=SERVE_NAMESPACE,
        include_dashboard=False,
        log_to_driver=False,
        num_cpus=args.num_cpus,
    )
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
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
                break
            if time.monotonic() > deadline:
                print(f"not running after {READY_TIMEOUT_S:.0f} s: {states}", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.25)
        if not stopping:
            http = config.http_options
            print(f"ready: http://{http.host}:{http.port} ({', '.join(names)})", flush=True)
            if args.ready_file:
                args.ready_file.write_text(f"{time.time()}\n")
        while not stopping:
            time.sleep(0.5)
        return 0
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
