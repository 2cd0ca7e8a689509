"""Which llama.cpp build this CPU runs, chosen before the library is loaded, and what it needs.

The Makefile builds llama-cpp-python twice, never `-march=native` and never with AMX (llama.cpp's
AMX path crashes with SIGSEGV on the first decode on Intel CPUs that have it):
- the baseline, x86-64-v3 (AVX2, FMA, F16C, BMI2), installed as the package itself; it runs on any
  x86-64 CPU of the last decade;
- variants (today one, `avx512`: AVX-512 F/CD/VL/DQ/BW, VBMI, VNNI, BF16), whose libraries are put
  under `<venv>/llama-cpp-variants/<name>/`. Prompt evaluation is about 1.5x faster with it.

`select_library` (run when `models` is imported, so before any module loads llama.cpp) points
llama-cpp-python at the first variant whose every instruction set this CPU lists in /proc/cpuinfo,
through `LLAMA_CPP_LIB_PATH`; otherwise the baseline stays. A CPU without the baseline's flags
would die with SIGILL somewhere inside llama.cpp; `check` says so in a sentence instead.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import zipfile
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
#: Features the baseline build must never use: AVX-512 is not on every CPU, and AMX crashes.
FORBIDDEN_PREFIXES = ("AVX512", "AMX", "AVX_VNNI")
#: Features no build may use.
NEVER = ("AMX",)
#: llama.cpp's name for an AVX-512 feature -> the /proc/cpuinfo flags its compiler options need.
AVX512_FEATURES = {
    "AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "AVX512_VBMI": ("avx512vbmi",),
    "AVX512_VNNI": ("avx512_vnni",),
    "AVX512_BF16": ("avx512_bf16",),
}
#: The variants the Makefile builds, best first: name -> the llama.cpp features it is built with
#: beyond the baseline (LLAMA_AVX512_CMAKE_ARGS in the Makefile must match).
VARIANTS: dict[str, tuple[str, ...]] = {"avx512": tuple(AVX512_FEATURES)}
#: Where the Makefile puts the variants' libraries.
VARIANTS_DIR = Path(sys.prefix) / "llama-cpp-variants"
LIB_PATH_VAR = "LLAMA_CPP_LIB_PATH"


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


def required_flags(features: tuple[str, ...] | list[str]) -> set[str]:
    """The /proc/cpuinfo flags a build with llama.cpp `features` (and the baseline) needs."""
    flags = set(BUILD_FEATURES.values())
    for feature in features:
        flags.update(AVX512_FEATURES.get(feature, (BUILD_FEATURES.get(feature, feature.lower()),)))
    return flags


def runnable_variants(
    cpuinfo: Path = Path("/proc/cpuinfo"), variants_dir: Path = VARIANTS_DIR
) -> dict[str, Path]:
    """The installed variants this CPU can run, best first: name -> library folder."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    flags = cpu_flags(cpuinfo)
    if flags is None:
        return {}
    return {
        name: variants_dir / name
        for name, features in VARIANTS.items()
        if (variants_dir / name / "libllama.so").is_file() and required_flags(features) <= flags
    }


def choose_variant(cpuinfo: Path = Path("/proc/cpuinfo"), variants_dir: Path = VARIANTS_DIR) -> Path | None:
    """The library folder of the best installed variant this CPU can run, or None (baseline)."""
    return next(iter(runnable_variants(cpuinfo, variants_dir).values()), None)


def select_library() -> str | None:
    """Point llama-cpp-python at the best variant for this CPU (unless LLAMA_CPP_LIB_PATH is set
    already, or llama_cpp is loaded); the folder in use, or None for the baseline."""
    if LIB_PATH_VAR in os.environ or "llama_cpp" in sys.modules:
        return os.environ.get(LIB_PATH_VAR)
    if os.environ.get("PSYNOTE_LLAMA_VARIANT") == "baseline":
        return None
    folder = choose_variant()
    if folder is not None:
        os.environ[LIB_PATH_VAR] = str(folder)
        return str(folder)
    return None


def install_variant(name: str, wheel: Path, variants_dir: Path = VARIANTS_DIR) -> Path:
    """Put the libraries of llama-cpp-python `wheel` (a variant build) under variants_dir/name."""
    if name not in VARIANTS:
        raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    target = variants_dir / name
    partial = variants_dir / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.filename.startswith("llama_cpp/lib/") and not member.is_dir():
                (partial / Path(member.filename).name).write_bytes(archive.read(member))
    if not (partial / "libllama.so").is_file():
        raise SystemExit(f"{wheel} holds no llama_cpp/lib/libllama.so")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The llama.cpp build variants of this venv.")
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install-variant", help="install a variant wheel's libraries")
    install.add_argument("name", choices=sorted(VARIANTS))
    install.add_argument("wheel", type=Path)
    sub.add_parser("show", help="which build this CPU runs, and its llama.cpp system info")
    args = parser.parse_args(argv)
    if args.command == "install-variant":
        print(install_variant(args.name, args.wheel))
        return
    folder = select_library()
    import llama_cpp

    print(f"library: {folder or 'baseline (the package itself)'}")
    print(llama_cpp.llama_print_system_info().decode("utf-8").strip())


if __name__ == "__main__":
    main()
