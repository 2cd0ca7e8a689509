"""The whole training path on the tiny Phi-3: a Ray Train job, merge, GGUF, quantise, publish,
resolve with checksums, load in llama_cpp and generate through the service's engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training_jobs.test_sft import fixture_csv, tiny_overrides, tiny_phi3  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_tiny_phi3_from_ray_job_to_served_gguf(
    ray_instance,
    tmp_path: Path,
    fixture_csv: Path,  # noqa: F811
    tiny_phi3: Path,  # noqa: F811
):
    from models.artifacts import VersionExists, resolve
    from models.engine import EngineConfig, NoteEngine
    from models.resolve import resolve_model
    from training_jobs import sft
    from training_jobs.publish import publish_run
    from training_jobs.sft_config import load_config

    config = load_config(None, tiny_overrides(fixture_csv, tiny_phi3, tmp_path / "out", "ray"))
    sft.run(config)
    store = tmp_path / "store"
    folder = publish_run(config.run_dir, "tiny-notes", store, form="merged")
    assert folder.name == "v1"

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "gguf" and manifest["gguf"] == "model-q4_k_m.gguf"
    assert set(manifest["files"]) == {"model-q4_k_m.gguf", "model-q8_0.gguf"}
    assert manifest["training"]["steps"] == 3 and manifest["training_config"]["backend"] == "ray"
    assert resolve(store, "tiny-notes:latest").version == "v1"
    # a chosen version (the store's next would be v2); a published one is never overwritten
    assert publish_run(config.run_dir, "tiny-notes", store, form="merged", version="v7").name == "v7"
    with pytest.raises(VersionExists):
        publish_run(config.run_dir, "tiny-notes", store, form="merged", version="v7")
    assert resolve(store, "tiny-notes:v1").version == "v1"

    resolved = resolve_model("tiny-notes:latest", store, tmp_path / "cache")
    assert resolved.profile == "phi3" and len(resolved.sha256) == 64
    engine = NoteEngine(
        EngineConfig(
            model_path=str(resolved.path), profile=resolved.profile, n_ctx=512, max_tokens=8, n_threads=1
        )
    )
    try:
        generation = engine.generate(engine.profile.render("Client: I slept badly."), max_tokens=8)
        assert generation.completion_tokens > 0 or generation.text == ""
        assert generation.prompt_tokens > 3
    finally:
        engine.close()
