"""The CPU instructions the llama.cpp build needs, checked before the library is loaded.

The Makefile builds llama-cpp-python for the x86-64-v3 baseline (AVX2, FMA, F16C, BMI2) with
AVX-512 and AMX off, so that one build runs on any CPU from the last decade and never takes
llama.cpp's AMX path (which crashes on the first decode). A CPU without one of these flags would
die with SIGILL somewhere inside llama.cpp; `check` says so in a sentence instead.
"""

from __future__ import annotations

import platform
from pathlib import Path

#: llama.cpp's name for a CPU feature the build uses -> the flag Linux lists in /proc/cpuinfo.
BUILD_FEATURES = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
}
#: Features the build must never use: AVX-512 is not on every CPU, and AMX crashes.
FORBIDDEN_PREFIXES = ("AVX512", "AMX", "AVX_VNNI")


class UnsupportedCPU(RuntimeError):
    """The CPU lacks an instruction set the llama.cpp build was compiled for."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The flags of the first CPU in `cpuinfo`, or None where there is no such file."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return None


def missing_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The /proc/cpuinfo flags the build needs and this CPU lacks (none off Linux x86-64)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []
    flags = cpu_flags(cpuinfo)
    if flags is None:
        return []
    return [flag for flag in BUILD_FEATURES.values() if flag not in flags]


def check(cpuinfo: Path = Path("/proc/cpuinfo")) -> None:
    """Raise UnsupportedCPU, naming what is missing, when llama.cpp would die of SIGILL here."""
    missing = missing_flags(cpuinfo)
    if missing:
        raise UnsupportedCPU(
            f"This CPU lacks {', '.join(missing)}, which the llama.cpp build needs (x86-64-v3: AVX2, "
            "FMA, F16C, BMI2); it would crash with an illegal instruction. Rebuild llama-cpp-python "
            "with fewer CPU features (LLAMA_CMAKE_ARGS in the Makefile) or use a newer CPU."
        )


def library_features(system_info: str) -> dict[str, bool]:
    """`{feature: enabled}` from llama.cpp's system info line ("CPU : AVX = 1 | AVX2 = 1 | ...")."""
    features = {}
    for part in system_info.replace("\n", "|").split("|"):
        name, sep, value = part.rpartition("=")
        if sep and value.strip() in ("0", "1"):
            features[name.split(":")[-1].strip()] = value.strip() == "1"
    return features
