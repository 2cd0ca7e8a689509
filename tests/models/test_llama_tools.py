"""Unpacking llama.cpp's converters from a source distribution (a small fake one: no network)."""

from __future__ import annotations

import io
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from models import llama_tools
from models.llama_tools import ConverterUnavailable, converter_dir, converter_env

ROOT = "llama_cpp_python-9.9.9/vendor/llama.cpp/"


def fake_sdist(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def sdist(tmp_path: Path) -> Path:
    return fake_sdist(
        tmp_path / "llama_cpp_python-9.9.9.tar.gz",
        {
            ROOT + "convert_hf_to_gguf.py": b"# hf",
            ROOT + "convert_lora_to_gguf.py": b"# lora",
            ROOT + "conversion/__init__.py": b"",
            ROOT + "gguf-py/gguf/__init__.py": b"",
            ROOT + "ggml/src/huge.c": b"not needed",
            "llama_cpp_python-9.9.9/llama_cpp/llama.py": b"not needed",
        },
    )


def test_only_the_converters_are_unpacked(sdist: Path, tmp_path: Path) -> None:
    folder = converter_dir("9.9.9", tmp_path / "cache", sdist)

    assert folder == tmp_path / "cache" / "llama-cpp-python-9.9.9"
    assert sorted(p.name for p in folder.iterdir()) == [
        "conversion",
        "convert_hf_to_gguf.py",
        "convert_lora_to_gguf.py",
        "gguf-py",
    ]
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".fetch-")]


def test_an_unpacked_folder_is_reused_without_fetching(
    sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    converter_dir("9.9.9", tmp_path, sdist)
    monkeypatch.setattr(llama_tools, "_download_sdist", lambda *a: pytest.fail("fetched again"))
    assert converter_dir("9.9.9", tmp_path) == tmp_path / "llama-cpp-python-9.9.9"


def test_the_sdist_is_downloaded_when_none_is_given(
    sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr(llama_tools, "_download_sdist", lambda v, d: calls.append(v) or sdist)
    monkeypatch.setenv("NOTES_CACHE", str(tmp_path / "env-cache"))
    assert converter_dir("9.9.9") == tmp_path / "env-cache" / "llama-cpp-python-9.9.9"
    assert calls == ["9.9.9"]


def test_concurrent_callers_unpack_once(sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unpacks = []
    real_unpack = llama_tools._unpack
    monkeypatch.setattr(llama_tools, "_unpack", lambda s, d: unpacks.append(d) or real_unpack(s, d))
    with ThreadPoolExecutor(4) as pool:
        folders = list(pool.map(lambda _: converter_dir("9.9.9", tmp_path, sdist), range(4)))
    assert len(set(folders)) == 1 and len(unpacks) == 1


def test_an_sdist_without_converters_is_refused(tmp_path: Path) -> None:
    empty = fake_sdist(tmp_path / "llama_cpp_python-9.9.9.tar.gz", {"x/README.md": b""})
    with pytest.raises(ConverterUnavailable):
        converter_dir("9.9.9", tmp_path / "cache", empty)
    assert not (tmp_path / "cache" / "llama-cpp-python-9.9.9").exists()


def test_converter_env_puts_the_bundled_gguf_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.setenv("NO_LOCAL_GGUF", "1")
    env = converter_env(tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "gguf-py"), "/elsewhere"]
    assert "NO_LOCAL_GGUF" not in env and env["HF_HUB_OFFLINE"] == "1"
