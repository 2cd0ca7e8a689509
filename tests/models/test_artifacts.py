"""The artifact store: atomic publish, version resolution, checksum verification, sidecars."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from models import artifacts
from models.artifacts import (
    ArtifactNotFound,
    ChecksumMismatch,
    InvalidManifest,
    VersionExists,
    list_artifacts,
    publish,
    resolve,
    verify,
)
from models.files import cached_sha256

SECRET = b"SENTINEL-CONTENT-7f3a"


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.gguf").write_bytes(b"GGUF" + SECRET * 10)
    (src / "card.md").write_text("a model card\n")
    return {"model.gguf": src / "model.gguf", "docs/card.md": src / "card.md"}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


def test_publish_writes_files_and_manifest(store: Path, sources: dict[str, Path]) -> None:
    fields = {"profile": "gemma3", "metrics": {"rouge1": 0.3}, "training_config": {"r": 16}}
    path = publish(store, "notes", sources, fields)

    assert path == store / "notes" / "v1"
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["name"] == "notes" and manifest["version"] == "v1"
    assert manifest["kind"] == "gguf" and manifest["gguf"] == "model.gguf"
    assert manifest["metrics"] == {"rouge1": 0.3} and manifest["training_config"] == {"r": 16}
    expected = hashlib.sha256(sources["model.gguf"].read_bytes()).hexdigest()
    assert manifest["files"]["model.gguf"] == expected
    assert (path / "docs" / "card.md").read_text() == "a model card\n"
    assert datetime.fromisoformat(manifest["created_at"]).utcoffset().total_seconds() == 0
    assert sources["model.gguf"].exists()  # copied, not moved

    art = resolve(store, "notes:v1")
    assert (art.name, art.version, art.profile) == ("notes", "v1", "gemma3")
    assert art.gguf_path == path / "model.gguf" and art.lora_path is None
    verify(art)


def test_versions_count_up_and_latest_is_the_highest_number(store: Path, sources: dict[str, Path]) -> None:
    for _ in range(10):
        publish(store, "notes", sources)
    publish(store, "notes", sources, version="release-candidate")
    (store / "notes" / ".tmp-leftover").mkdir()  # an interrupted publish
    (store / "notes" / "v99").mkdir()  # no manifest: not a published version

    assert resolve(store, "notes:latest").version == "v10"  # numeric, not lexical order
    assert resolve(store, "notes:release-candidate").version == "release-candidate"
    assert [a.version for a in list_artifacts(store)][-2:] == ["v10", "release-candidate"]


def test_an_existing_version_is_never_overwritten(store: Path, sources: dict[str, Path]) -> None:
    publish(store, "notes", sources, version="v1")
    sources["model.gguf"].write_bytes(b"other")
    with pytest.raises(VersionExists):
        publish(store, "notes", sources, version="v1")
    verify(resolve(store, "notes:v1"))


def test_a_failure_mid_publish_leaves_no_version_folder(
    store: Path, sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_place = artifacts._place
    calls = []

    def failing_place(src: Path, dest: Path, move: bool) -> str:
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_place(src, dest, move)

    monkeypatch.setattr(artifacts, "_place", failing_place)
    with pytest.raises(OSError, match="disk full"):
        publish(store, "notes", sources)

    assert [p.name for p in (store / "notes").iterdir() if not p.name.startswith(".lock")] == []
    with pytest.raises(ArtifactNotFound):
        resolve(store, "notes:latest")


def test_a_flipped_byte_is_refused_naming_the_file(store: Path, sources: dict[str, Path]) -> None:
    path = publish(store, "notes", sources)
    data = bytearray((path / "model.gguf").read_bytes())
    data[7] ^= 0x01
    (path / "model.gguf").write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatch, match="model.gguf") as caught:
        verify(resolve(store, "notes:v1"))
    assert SECRET.decode() not in str(caught.value)
    with pytest.raises(ChecksumMismatch):
        verify(resolve(store, "notes:v1"), cached=True)


def test_a_missing_file_is_refused(store: Path, sources: dict[str, Path]) -> None:
    path = publish(store, "notes", sources)
    (path / "docs" / "card.md").unlink()
    with pytest.raises(ArtifactNotFound, match="docs/card.md"):
        verify(resolve(store, "notes:v1"))


@pytest.mark.parametrize("ref", ["notes", "notes:", ":v1", "notes:v7", "other:latest", "../x:v1"])
def test_unknown_references_are_not_found(store: Path, sources: dict[str, Path], ref: str) -> None:
    publish(store, "notes", sources)
    with pytest.raises(ArtifactNotFound):
        resolve(store, ref)


def test_contradictory_manifests_are_rejected_before_anything_is_written(
    store: Path, sources: dict[str, Path]
) -> None:
    with pytest.raises(InvalidManifest, match="base_model") as caught:
        publish(store, "adapter", sources, {"kind": "lora", "gguf": "model.gguf"})
    with pytest.raises(InvalidManifest):
        publish(store, "notes", {"../escape.gguf": sources["model.gguf"]})
    with pytest.raises(InvalidManifest):
        publish(store, "notes", sources, {"kind": "onnx"})
    with pytest.raises(InvalidManifest):
        publish(store, "bad/name", sources)
    with pytest.raises(InvalidManifest):
        publish(store, "notes", sources, version="latest")
    assert "a lora artifact needs base_model" in str(caught.value)
    assert not (store / "adapter").exists()


def test_a_lora_artifact_exposes_its_adapter(store: Path, sources: dict[str, Path]) -> None:
    base = {"ref": "embedded:gemma3-270m-q4_k_m", "sha256": "ab" * 32}
    publish(
        store,
        "adapter",
        {"adapter.gguf": sources["model.gguf"]},
        {"kind": "lora", "base_model": base},
    )
    art = resolve(store, "adapter:latest")
    assert art.kind == "lora" and art.lora_path == art.path / "adapter.gguf"
    assert art.manifest["base_model"] == base


def test_publish_can_move_sources(store: Path, sources: dict[str, Path]) -> None:
    path = publish(store, "notes", sources, move=True)
    assert not sources["model.gguf"].exists()
    verify(resolve(store, f"notes:{path.name}"))


def test_sidecar_checksum_is_reused_and_invalidated_on_change(tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    big.write_bytes(b"a" * 1000)
    old = 1_600_000_000
    os.utime(big, (old, old))
    first = cached_sha256(big, min_size=0)
    sidecar = tmp_path / "weights.bin.sha256"
    assert first == hashlib.sha256(b"a" * 1000).hexdigest() and sidecar.is_file()

    # While size and mtime are unchanged the sidecar answers, without reading the file.
    record = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**record, "sha256": "cached"}))
    assert cached_sha256(big, min_size=0) == "cached"

    big.write_bytes(b"b" * 1000)  # same size, new mtime
    assert cached_sha256(big, min_size=0) == hashlib.sha256(b"b" * 1000).hexdigest()
    # Just written: too recent to trust a sidecar (a change within the mtime granularity).
    assert json.loads(sidecar.read_text())["sha256"] == "cached"


def test_sidecar_notices_a_replacement_that_keeps_the_mtime(tmp_path: Path) -> None:
    big = tmp_path / "weights.bin"
    big.write_bytes(b"a" * 1000)
    os.utime(big, (1_600_000_000, 1_600_000_000))
    cached_sha256(big, min_size=0)
    copy = tmp_path / "copy.bin"  # as rsync -t or cp -p leave it: same size and mtime
    copy.write_bytes(b"b" * 1000)
    os.utime(copy, (1_600_000_000, 1_600_000_000))
    os.replace(copy, big)
    assert cached_sha256(big, min_size=0) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_small_files_get_no_sidecar(tmp_path: Path) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"x")
    os.utime(small, (1_600_000_000, 1_600_000_000))
    cached_sha256(small)
    assert not (tmp_path / "small.bin.sha256").exists()


def test_cli_lists_shows_and_verifies(
    store: Path, sources: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    publish(store, "notes", sources, {"profile": "phi3"})
    assert artifacts.main(["--root", str(store), "list"]) == 0
    assert "notes:v1\tgguf\tphi3" in capsys.readouterr().out
    assert artifacts.main(["--root", str(store), "show", "notes:latest"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "v1"
    assert artifacts.main(["--root", str(store), "verify", "notes:v1"]) == 0
    (store / "notes" / "v1" / "model.gguf").write_bytes(b"changed")
    assert artifacts.main(["--root", str(store), "verify", "notes:v1"]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
