"""The llama.cpp library this venv runs is the portable build, and the engine refuses a CPU that
cannot run it with a sentence, not SIGILL. Runs on any machine (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import cpu

#: Build settings llama.cpp lists beside the instruction sets; they need no CPU flag.
NOT_INSTRUCTIONS = {"LLAMAFILE", "OPENMP", "REPACK"}


@pytest.fixture(scope="module")
def features() -> dict[str, bool]:
    import llama_cpp

    return cpu.library_features(llama_cpp.llama_print_system_info().decode("utf-8"))


def test_the_build_uses_avx2_and_no_avx512_or_amx(features):
    assert features.get("AVX2") is True, features
    enabled = {name for name, on in features.items() if on}
    assert not {name for name in enabled if name.startswith(cpu.FORBIDDEN_PREFIXES)}, enabled


def test_every_instruction_set_the_build_uses_is_checked_at_start(features):
    enabled = {name for name, on in features.items() if on}
    assert enabled - NOT_INSTRUCTIONS <= set(cpu.BUILD_FEATURES), enabled - NOT_INSTRUCTIONS


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    return path


def test_a_cpu_without_avx2_is_refused_with_a_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    old = _cpuinfo(tmp_path, "fpu sse sse2 pni ssse3 avx")
    with pytest.raises(cpu.UnsupportedCPU, match="lacks avx2, f16c, fma, bmi2"):
        cpu.check(old)


def test_a_cpu_with_the_baseline_passes(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    cpu.check(_cpuinfo(tmp_path, "fpu pni ssse3 avx avx2 f16c fma bmi2 amx_tile amx_int8"))
    assert cpu.missing_flags(tmp_path / "absent") == []


def test_this_machine_can_run_the_build():
    assert cpu.missing_flags() == []


def test_system_info_parsing():
    info = "CPU : SSE3 = 1 | AVX512 = 0 | AMX_INT8 = 1 | LLAMAFILE = 1 | \n"
    assert cpu.library_features(info) == {"SSE3": True, "AVX512": False, "AMX_INT8": True, "LLAMAFILE": True}
