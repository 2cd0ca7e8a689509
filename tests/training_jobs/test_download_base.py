"""Base model download into the store, with the hub client replaced (no network)."""

from __future__ import annotations

import fnmatch
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from models.artifacts import resolve, verify
from models.resolve import resolve_model
from training_jobs import download_base

HUB = {
    "microsoft/Phi-3-mini-4k-instruct": {
        "config.json": b'{"model_type": "phi3"}',
        "model-00001-of-00002.safetensors": b"shard one",
        "model-00002-of-00002.safetensors": b"shard two",
        "tokenizer.model": b"sentencepiece",
        "tokenizer.json": b"{}",
        "modeling_phi3.py": b"# remote code: not needed",
        "README.md": b"card",
    },
    "microsoft/Phi-3-mini-4k-instruct-gguf": {
        "Phi-3-mini-4k-instruct-q4.gguf": b"GGUF q4",
        "Phi-3-mini-4k-instruct-fp16.gguf": b"GGUF fp16: far too large to fetch",
    },
}


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The hub client replaced by an in-memory one; returns the recorded download calls."""
    calls: list[dict[str, Any]] = []

    def snapshot_download(*, repo_id: str, revision: str, local_dir: str, allow_patterns: list[str]):
        calls.append({"repo_id": repo_id, "revision": revision, "patterns": allow_patterns})
        for name, data in HUB[repo_id].items():
            if any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                (Path(local_dir) / name).write_bytes(data)
        # the real client keeps bookkeeping files here; they must not be published
        (Path(local_dir) / ".cache" / "huggingface").mkdir(parents=True)
        (Path(local_dir) / ".cache" / "huggingface" / "x.metadata").write_text("etag")
        return local_dir

    monkeypatch.setattr(download_base, "_snapshot_download", snapshot_download)
    monkeypatch.setattr(download_base, "_commit_sha", lambda repo, rev: f"sha-of-{rev or 'main'}")
    return calls


def test_download_publishes_weights_and_gguf(fake_hub: list[dict[str, Any]], tmp_path: Path) -> None:
    store = tmp_path / "store"
    refs = download_base.download("phi3-mini", store)

    assert refs == ["phi3-mini-hf:v1", "phi3-mini-4k-instruct-q4:v1"]
    weights = resolve(store, "phi3-mini-hf:latest")
    verify(weights)
    assert weights.kind == "hf" and weights.profile == "phi3"
    assert sorted(weights.manifest["files"]) == [
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
        "tokenizer.model",
    ]
    assert weights.manifest["source"]["revision"] == "sha-of-main"

    gguf = resolve(store, "phi3-mini-4k-instruct-q4:v1")
    assert list(gguf.manifest["files"]) == ["Phi-3-mini-4k-instruct-q4.gguf"]
    served = resolve_model("phi3-mini-4k-instruct-q4:latest", store, tmp_path)
    assert served.profile == "phi3"
    assert served.sha256 == hashlib.sha256(b"GGUF q4").hexdigest()
    assert [c["repo_id"] for c in fake_hub] == list(HUB)
    assert not [p for p in store.iterdir() if p.name.startswith(".download-")]


def test_a_second_download_is_a_new_version(fake_hub: list[dict[str, Any]], tmp_path: Path) -> None:
    download_base.download("phi3-mini", tmp_path, revision="abc123")
    assert download_base.download("phi3-mini", tmp_path)[0] == "phi3-mini-hf:v2"
    assert resolve(tmp_path, "phi3-mini-hf:v1").manifest["source"]["revision"] == "sha-of-abc123"


def test_cli_refuses_to_run_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert download_base.main(["--model", "phi3-mini", "--store", str(tmp_path)]) == 2
    assert "unset it" in capsys.readouterr().err


def test_importing_it_does_not_import_the_hub_client() -> None:
    code = "import sys, training_jobs.download_base; print('huggingface_hub' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert done.stdout.strip() == "False"
