"""Shared fixtures: one Ray instance per test session, kept on loopback."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from deployments.launch import QUIET_RAY

# Before Ray is imported anywhere: loopback only, no token set-up, no usage reporting.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Serve kills a proxy not ready within 5 s; on a busy 2-core machine starting one takes longer
# (the launcher's setting, deployments.launch.QUIET_RAY).
_PROXY_TIMEOUT = "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S"
os.environ.setdefault(_PROXY_TIMEOUT, QUIET_RAY[_PROXY_TIMEOUT])


@pytest.fixture(scope="session")
def ray_instance():
    """A local Ray instance for the whole test session; its folder holds every Ray log."""
    import ray

    if ray.is_initialized():
        yield Path(ray._private.worker._global_node.get_session_dir_path())
        return
    temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths have a limit
    # Logical CPUs: the service (1.3) and a training job (1) can be placed side by side.
    ray.init(num_cpus=4, include_dashboard=False, _temp_dir=temp_dir, log_to_driver=False)
    try:
        yield Path(temp_dir)
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
