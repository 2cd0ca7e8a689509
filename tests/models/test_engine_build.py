"""The llama.cpp builds this venv holds are portable (the baseline and its AVX-512 variant, never
AMX), the one chosen suits this CPU, and the engine refuses a CPU that cannot run the baseline with
a sentence, not SIGILL. Runs on any machine (no model is loaded; a variant this CPU cannot run is
never loaded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models import cpu

#: Build settings llama.cpp lists beside the instruction sets; they need no CPU flag.
NOT_INSTRUCTIONS = {"LLAMAFILE", "OPENMP", "REPACK"}
SYSTEM_INFO = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"


def system_info(**env: str) -> dict[str, bool]:
    """The features of the library a fresh process loads under `env` (a crash would fail here)."""
    run_env = {k: v for k, v in os.environ.items() if k != cpu.LIB_PATH_VAR}
    out = subprocess.run(
        [sys.executable, "-c", f"import models; {SYSTEM_INFO}"],
        env={**run_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return cpu.library_features(out)


@pytest.fixture(scope="module")
def features() -> dict[str, bool]:
    """The baseline build (the package's own library)."""
    return system_info(PSYNOTE_LLAMA_VARIANT="baseline")


def test_every_variant_is_installed():
    for name in cpu.VARIANTS:
        assert (cpu.VARIANTS_DIR / name / "libllama.so").is_file(), f"make setup installs {name}"


@pytest.mark.parametrize("name", sorted(cpu.VARIANTS))
def test_a_variant_uses_what_it_is_chosen_for_and_never_amx(name):
    if not cpu.required_flags(cpu.VARIANTS[name]) <= (cpu.cpu_flags() or set()):
        pytest.skip(f"this CPU cannot run the {name} variant")
    features = system_info(**{cpu.LIB_PATH_VAR: str(cpu.VARIANTS_DIR / name)})
    enabled = {f for f, on in features.items() if on}
    assert set(cpu.VARIANTS[name]) <= enabled, enabled
    assert not {f for f in enabled if f.startswith(cpu.NEVER)}, enabled
    assert enabled - NOT_INSTRUCTIONS <= set(cpu.BUILD_FEATURES) | set(cpu.VARIANTS[name]), enabled


def test_this_process_runs_the_best_build_this_cpu_allows():
    chosen = cpu.choose_variant()
    assert os.environ.get(cpu.LIB_PATH_VAR) == (str(chosen) if chosen else None)
    features = system_info()
    assert features.get("AVX512", False) is (chosen is not None), features


def test_variant_choice_follows_the_cpu_flags(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    variants = tmp_path / "variants"
    (variants / "avx512").mkdir(parents=True)
    (variants / "avx512" / "libllama.so").write_bytes(b"")
    base = "fpu pni ssse3 avx avx2 f16c fma bmi2"
    avx512 = "avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi avx512_vnni avx512_bf16"
    # A Sapphire Rapids (AMX) gets the AVX-512 build, which is built without AMX.
    sapphire = _cpuinfo(tmp_path, f"{base} {avx512} amx_tile amx_int8 amx_bf16")
    assert cpu.choose_variant(sapphire, variants) == variants / "avx512"
    # A Skylake-X / Cascade Lake lacks BF16 and VBMI: the baseline.
    cascade = _cpuinfo(tmp_path, f"{base} avx512f avx512cd avx512vl avx512dq avx512bw avx512_vnni")
    assert cpu.choose_variant(cascade, variants) is None
    assert cpu.choose_variant(_cpuinfo(tmp_path, base), variants) is None
    # Not installed: the baseline.
    assert cpu.choose_variant(sapphire, tmp_path / "none") is None


def test_installing_a_variant_takes_the_wheels_libraries(tmp_path):
    import zipfile

    wheel = tmp_path / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("llama_cpp/lib/libllama.so", b"elf")
        archive.writestr("llama_cpp/lib/libggml-cpu.so", b"elf")
        archive.writestr("llama_cpp/llama.py", b"")
    folder = cpu.install_variant("avx512", wheel, tmp_path / "variants")
    assert sorted(p.name for p in folder.iterdir()) == ["libggml-cpu.so", "libllama.so"]


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
