"""llama.cpp's own converters, taken from the pinned llama-cpp-python source distribution.

The converters (`convert_hf_to_gguf.py`, `convert_lora_to_gguf.py`, the `conversion/` package
they import and the bundled `gguf-py/`) are not committed: they are unpacked once per
llama-cpp-python version into `$NOTES_CACHE/llama-cpp-python-<ver>/` (default cache folder
`~/.cache/psynote`). Fetching uses pip and the package registry, so it is a set-up step:

    python -m models.llama_tools fetch

Run the converters as subprocesses with `converter_env(dir)`: the bundled gguf-py must come
before the PyPI `gguf`, which lacks what the converters import (LazyChunkedTensor).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from models.files import file_lock

CONVERTERS = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py")
#: What is kept from the sdist's vendor/llama.cpp (conversion/ is absent in older releases).
_KEEP = (*CONVERTERS, "conversion", "gguf-py", "LICENSE")
_VENDOR = "vendor/llama.cpp"


class ConverterUnavailable(RuntimeError):
    """The llama.cpp converters could not be fetched or unpacked."""


def llama_cpp_version() -> str:
    """The installed llama-cpp-python version, which pins the converters' version."""
    return importlib.metadata.version("llama_cpp_python")


def cache_root() -> Path:
    """`$NOTES_CACHE`, else `~/.cache/psynote`."""
    env = os.environ.get("NOTES_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "psynote"


def converter_dir(version: str | None = None, cache: Path | None = None, sdist: Path | None = None) -> Path:
    """The folder holding llama.cpp's converters for `version` (default: the installed one).

    Unpacks the sdist on first use (`sdist`, a local llama_cpp_python-<ver>.tar.gz for machines
    without the registry, else downloaded with pip), under a file lock so that concurrent
    processes unpack it once. Raises ConverterUnavailable.
    """
    version = version or llama_cpp_version()
    cache = Path(cache) if cache else cache_root()
    target = cache / f"llama-cpp-python-{version}"
    if _complete(target):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with file_lock(cache / f".llama-cpp-python-{version}.lock"):
        if _complete(target):
            return target
        with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
            sdist = sdist or _download_sdist(version, Path(tmp) / "sdist")
            staging = Path(tmp) / "unpacked"
            _unpack(sdist, staging)
            if target.exists():  # an incomplete leftover from an interrupted older layout
                target.rename(Path(tmp) / "stale")
            os.rename(staging, target)
    return target


def converter_env(folder: Path) -> dict[str, str]:
    """Environment for a converter subprocess: bundled gguf-py first, hub access off."""
    env = dict(os.environ)
    env.pop("NO_LOCAL_GGUF", None)
    paths = [str(Path(folder) / "gguf-py"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    # The converters fall back to the hub for missing config files; never let them.
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    return env


def _complete(folder: Path) -> bool:
    return (
        all((folder / name).is_file() for name in CONVERTERS)
        and (folder / "gguf-py" / "gguf" / "__init__.py").is_file()
    )


def _download_sdist(version: str, dest: Path) -> Path:
    # pip prepares the sdist's metadata, which needs its build backend (scikit-build-core):
    # `--no-build-isolation` fails where that is not installed, and `--no-binary :all:` builds
    # the backend from source (45 s); this form takes wheels for the backend only (6 s).
    command = [
        sys.executable, "-m", "pip", "download", "--no-binary", "llama-cpp-python", "--no-deps",
        f"llama-cpp-python=={version}", "-d", str(dest),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(dest.glob("llama_cpp_python-*.tar.gz")) if dest.is_dir() else []
    if done.returncode != 0 or not found:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise ConverterUnavailable(
            f"pip could not download the llama-cpp-python {version} source distribution "
            f"(exit {done.returncode}); it needs the package registry:\n{tail}"
        )
    return found[0]


def _unpack(sdist: Path, dest: Path) -> None:
    """Extract only vendor/llama.cpp/{converters, conversion, gguf-py, LICENSE} into `dest`."""
    with tarfile.open(sdist, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            # <sdist root>/vendor/llama.cpp/<kept>/...
            if len(parts) < 4 or "/".join(parts[1:3]) != _VENDOR or parts[3] not in _KEEP:
                continue
            member.name = "/".join(parts[3:])
            members.append(member)
        if not members:
            raise ConverterUnavailable(f"no llama.cpp converters inside {sdist.name}")
        tar.extractall(dest, members=members, filter="data")
    if not _complete(dest):
        raise ConverterUnavailable(f"incomplete llama.cpp converters inside {sdist.name}")


def main(argv: list[str] | None = None) -> int:
    """`fetch`: make sure the converters are unpacked and print their folder."""
    parser = argparse.ArgumentParser(prog="python -m models.llama_tools")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="unpack llama.cpp's converters; print their folder")
    fetch.add_argument("--sdist", type=Path, help="local llama_cpp_python-<ver>.tar.gz to use")
    args = parser.parse_args(argv)
    try:
        print(converter_dir(sdist=args.sdist))
    except ConverterUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
