"""A training job submitted as an ML engineer does (`ray start --head` on loopback, then
`ray job submit --working-dir .`) leaves its run, its evaluation and its published artifact in
the configured shared store, not in Ray's temporary copy of the working directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.training_jobs.test_sft import tiny_phi3  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A Ray head started with `ray start --head --block` in its own process group; the group is
    ended afterwards (never `ray stop`, which would end every Ray instance on the machine)."""
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp")
    dashboard = _free_port()
    env = {
        **os.environ,
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    command = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--head",
        "--block",
        f"--port={_free_port()}",
        "--node-ip-address=127.0.0.1",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        # Free ports for the node's agents too: another Ray instance on this machine (the test
        # session's own) holds the default agent port, and the job agent would never register.
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
        f"--ray-client-server-port={_free_port()}",
        "--num-cpus=2",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
    ]
    head = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + 90
        while True:
            try:
                client = JobSubmissionClient(f"http://127.0.0.1:{dashboard}")
                break
            except Exception:
                if time.monotonic() > deadline or head.poll() is not None:
                    raise
                time.sleep(1)
        yield client
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.mark.slow
def test_submitted_job_publishes_to_the_shared_store(ray_head, tmp_path: Path, tiny_phi3: Path):  # noqa: F811
    from ray.job_submission import JobStatus

    shared = tmp_path / "shared"
    entrypoint = (
        f"{sys.executable} -m training_jobs.sft --config training_jobs/configs/tiny-phi3.yaml "
        f"--backend ray --set base_path={tiny_phi3} --set publish_name=tiny-notes "
        "--set publish_form=merged --set eval_data=training_jobs/configs/tiny-fixture.csv --set eval_limit=2"
    )
    runtime_env = {
        "working_dir": str(ROOT),
        "env_vars": {
            "NOTES_STORAGE_DIR": str(shared),
            "NOTES_ARTIFACT_STORE": str(shared / "published"),
            "HF_HUB_OFFLINE": "1",
        },
    }
    started = time.monotonic()
    while True:  # the dashboard answers before the node's job agent has registered
        try:
            job = ray_head.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
            break
        except RuntimeError as e:
            if "No available agent" not in str(e) or time.monotonic() - started > 180:
                raise
            time.sleep(3)
    deadline = time.monotonic() + 900
    while (status := ray_head.get_job_status(job)) not in {
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.STOPPED,
    }:
        assert time.monotonic() < deadline, "the job did not finish in 15 minutes"
        time.sleep(2)
    logs = ray_head.get_job_logs(job)
    assert status == JobStatus.SUCCEEDED, logs[-3000:]

    runs = list((shared / "sft").iterdir())
    assert len(runs) == 1
    run = runs[0]
    assert (run / "adapter").is_dir() and (run / "train_summary.json").is_file()
    report = json.loads((run / "eval" / "report.json").read_text())
    assert report["n"] == 2
    manifest = json.loads((shared / "published" / "tiny-notes" / "v1" / "manifest.json").read_text())
    assert manifest["training_config"]["backend"] == "ray"
    # Paths in the job's working directory are recorded as the project names them, not as Ray's
    # temporary copy of it (training_jobs.sft_config.as_recorded).
    assert manifest["training_config"]["eval_data"] == "training_jobs/configs/tiny-fixture.csv"
    assert "runtime_resources" not in json.dumps(manifest)
    summary = json.loads((run / "train_summary.json").read_text())
    assert "runtime_resources" not in json.dumps(summary)  # the data's provenance too
    assert summary["data"][0]["path"] == "training_jobs/configs/tiny-fixture.csv"
    assert manifest["metrics"]["n"] == 2
    assert not (ROOT / "artifacts" / "sft" / run.name).exists()


def test_a_relative_store_inside_rays_working_copy_is_refused(tmp_path: Path, monkeypatch) -> None:
    from training_jobs.sft_config import ConfigError, load_config

    copy = tmp_path / "session_1" / "runtime_resources" / "working_dir_files" / "_ray_pkg_1"
    copy.mkdir(parents=True)
    (copy / "pairs.csv").write_text("transcript,note,section\nClient: hi,Client said hi.,subjective\n")
    monkeypatch.chdir(copy)
    monkeypatch.delenv("NOTES_STORAGE_DIR", raising=False)
    with pytest.raises(ConfigError, match="NOTES_STORAGE_DIR"):
        load_config(None, {"data": [{"path": "pairs.csv", "preset": "own"}]})
    monkeypatch.setenv("NOTES_STORAGE_DIR", str(tmp_path / "shared"))
    config = load_config(None, {"data": [{"path": "pairs.csv", "preset": "own"}]})
    assert Path(config.output_dir) == tmp_path / "shared" / "sft"


def test_a_run_records_paths_in_rays_working_copy_relative_to_the_working_dir(
    tmp_path: Path, monkeypatch
) -> None:
    from training_jobs.sft_config import as_recorded, load_config, recorded_config

    copy = tmp_path / "session_1" / "runtime_resources" / "working_dir_files" / "_ray_pkg_1"
    (copy / "data").mkdir(parents=True)
    pairs = "transcript,note,section\nClient: hi,Client said hi.,subjective\n"
    (copy / "data" / "pairs.csv").write_text(pairs)
    monkeypatch.chdir(copy)
    monkeypatch.setenv("NOTES_STORAGE_DIR", str(tmp_path / "shared"))
    config = load_config(None, {"data": [{"path": "data/pairs.csv", "preset": "own"}], "eval_data": "data"})
    assert Path(config.data[0]["path"]).is_absolute()  # Ray Train's workers run elsewhere
    record = recorded_config(config)
    assert record["data"][0]["path"] == "data/pairs.csv"
    assert record["eval_data"] == "data"
    assert record["output_dir"] == str(tmp_path / "shared" / "sft")  # shared storage: as it is
    assert config.data[0]["path"] == str(copy / "data" / "pairs.csv")  # the config is not changed
    assert as_recorded("/srv/data/pairs.csv") == "/srv/data/pairs.csv"
