"""The artifact store: published models as `<root>/<name>/<version>/` with a `manifest.json`.

The root is a plain folder (local by default, any shared filesystem path on a cluster). A version
is written into a hidden temporary folder beside it and renamed into place in one step, so a
reader sees a whole version or none; a published version is never overwritten.

    python -m models.artifacts list  --root models/published
    python -m models.artifacts show  --root models/published phi3-notes:latest
    python -m models.artifacts verify --root models/published phi3-notes:v3
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from models.files import cached_sha256, file_lock, sha256_file, write_atomic

MANIFEST = "manifest.json"
KINDS = ("gguf", "lora", "hf")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_NUMBERED = re.compile(r"v([0-9]+)")
_CHUNK = 1 << 20


class ArtifactError(Exception):
    """Base class of every artifact-store failure."""


class ArtifactNotFound(ArtifactError):
    """No artifact, version or file answers to the reference."""


class ChecksumMismatch(ArtifactError):
    """A file's content differs from the checksum recorded for it."""


class VersionExists(ArtifactError):
    """The version is already published; versions are never overwritten."""


class InvalidManifest(ArtifactError):
    """The manifest fields are incomplete or contradictory."""


@dataclass(frozen=True)
class Artifact:
    """One published version: its folder and its parsed manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", "gguf"))

    @property
    def profile(self) -> str | None:
        return self.manifest.get("profile")

    @property
    def gguf_path(self) -> Path | None:
        """The main GGUF file (for kind lora: the adapter), or None for an HF folder."""
        rel = self.manifest.get("gguf")
        return self.path / rel if rel else None

    @property
    def lora_path(self) -> Path | None:
        """The LoRA GGUF served on top of the base model, for kind lora; else None."""
        return self.gguf_path if self.kind == "lora" else None


def publish(
    root: Path,
    name: str,
    files: Mapping[str, Path],
    manifest_fields: Mapping[str, Any] | None = None,
    version: str | None = None,
    move: bool = False,
) -> Path:
    """Publish `files` ({relative path in the artifact: source file}) as `<root>/<name>/<version>`.

    `version` defaults to the next `v<N>`. `manifest_fields` adds kind, profile, gguf, base_model,
    training_config, data, metrics (and anything else); name, version, files and created_at are
    filled in here. With `move`, sources are moved instead of copied (same filesystem: no second
    copy of large weights). Returns the version folder. Raises VersionExists, InvalidManifest.
    """
    fields = dict(manifest_fields or {})
    _check_name(name, "name")
    if version is not None:
        _check_name(version, "version")
    rels = {_check_relpath(rel): Path(src) for rel, src in files.items()}
    _check_fields(fields, rels)
    folder = Path(root) / name
    if version is not None and (folder / version).exists():
        raise VersionExists(f"version already published: {name}:{version}")
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        hashes = {rel: _place(src, staging / rel, move) for rel, src in sorted(rels.items())}
        with file_lock(folder / ".lock"):
            chosen = version or _next_version(folder)
            manifest = {
                "kind": "gguf",
                **fields,
                "name": name,
                "version": chosen,
                "files": hashes,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            write_atomic(staging / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            target = folder / chosen
            if target.exists():
                raise VersionExists(f"version already published: {name}:{chosen}")
            try:
                os.rename(staging, target)
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise VersionExists(f"version already published: {name}:{chosen}") from e
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve(root: Path, ref: str) -> Artifact:
    """The artifact for `name:version` or `name:latest` (the highest `v<N>`).

    Raises ArtifactNotFound. Does not verify checksums: call `verify`.
    """
    name, sep, version = ref.partition(":")
    if not sep or not _NAME.fullmatch(name) or not version:
        raise ArtifactNotFound(f"not an artifact reference (name:version): {ref}")
    folder = Path(root) / name
    if version == "latest":
        numbered = _numbered_versions(folder)
        if not numbered:
            raise ArtifactNotFound(f"no published version of artifact: {name}")
        version = f"v{max(numbered)}"
    elif not _NAME.fullmatch(version):
        raise ArtifactNotFound(f"not an artifact reference (name:version): {ref}")
    manifest_file = folder / version / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text())
    except FileNotFoundError:
        raise ArtifactNotFound(f"artifact not found: {name}:{version}") from None
    except ValueError as e:
        raise InvalidManifest(f"unreadable manifest: {name}:{version}") from e
    return Artifact(path=folder / version, manifest=manifest)


def verify(artifact: Artifact, cached: bool = False) -> None:
    """Recompute every listed file's sha256 (with `cached`, via the sidecars).

    Raises ArtifactNotFound for a missing file and ChecksumMismatch for a changed one; both
    name the file, never its content.
    """
    for rel, expected in sorted(artifact.manifest.get("files", {}).items()):
        path = artifact.path / _check_relpath(rel)
        if not path.is_file():
            raise ArtifactNotFound(f"artifact file is missing: {artifact.name}:{artifact.version}/{rel}")
        actual = cached_sha256(path) if cached else sha256_file(path)
        if actual != expected:
            raise ChecksumMismatch(f"checksum mismatch: {artifact.name}:{artifact.version}/{rel}")


def list_artifacts(root: Path) -> list[Artifact]:
    """Every published version under `root`, by name then version number."""
    found = []
    for folder in sorted(p for p in Path(root).glob("*") if p.is_dir() and _NAME.fullmatch(p.name)):
        for version in sorted(
            (v for v in folder.iterdir() if (v / MANIFEST).is_file() and _NAME.fullmatch(v.name)),
            key=lambda v: (0, int(m[1]), "") if (m := _NUMBERED.fullmatch(v.name)) else (1, 0, v.name),
        ):
            found.append(resolve(root, f"{folder.name}:{version.name}"))
    return found


def _place(src: Path, dest: Path, move: bool) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if move:
        moved = sha256_file(src)
        shutil.move(src, dest)
        return moved
    digest = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while block := fin.read(_CHUNK):
            digest.update(block)
            fout.write(block)
    return digest.hexdigest()


def _numbered_versions(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return [
        int(m[1]) for v in folder.iterdir() if (m := _NUMBERED.fullmatch(v.name)) and (v / MANIFEST).is_file()
    ]


def _next_version(folder: Path) -> str:
    taken = [int(m[1]) for v in folder.iterdir() if (m := _NUMBERED.fullmatch(v.name))]
    return f"v{max(taken, default=0) + 1}"


def _check_name(value: str, what: str) -> None:
    if not _NAME.fullmatch(value) or value == "latest":
        raise InvalidManifest(f"invalid artifact {what}: letters, digits, '.', '_', '-' only")


def _check_relpath(rel: str) -> str:
    parts = PurePosixPath(rel).parts
    if not parts or rel.startswith("/") or ".." in parts or rel == MANIFEST:
        raise InvalidManifest(f"invalid file path in artifact: {rel}")
    return rel


def _check_fields(fields: dict[str, Any], rels: Mapping[str, Path]) -> None:
    problems = [f"{key} is set by publish" for key in ("name", "version", "files") if key in fields]
    kind = fields.setdefault("kind", "gguf")
    if kind not in KINDS:
        problems.append(f"kind must be one of {KINDS}")
    ggufs = [rel for rel in rels if rel.endswith(".gguf")]
    if kind in ("gguf", "lora") and "gguf" not in fields and len(ggufs) == 1:
        fields["gguf"] = ggufs[0]
    if kind in ("gguf", "lora") and fields.get("gguf") not in rels:
        problems.append("gguf must name one of the published files")
    base = fields.get("base_model")
    if kind == "lora" and not (isinstance(base, dict) and base.get("ref") and base.get("sha256")):
        problems.append("a lora artifact needs base_model = {ref, sha256}")
    missing = [str(src) for src in rels.values() if not src.is_file()]
    problems += [f"source file not found: {Path(m).name}" for m in missing]
    if problems:
        raise InvalidManifest("; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    """`list`, `show REF` or `verify REF` against `--root`."""
    parser = argparse.ArgumentParser(prog="python -m models.artifacts")
    parser.add_argument("--root", type=Path, help="store root (default: Settings.artifact_store)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every published name:version")
    for command in ("show", "verify"):
        sub.add_parser(command).add_argument("ref", help="name:version or name:latest")
    args = parser.parse_args(argv)
    if args.root is None:
        from schemas.settings import Settings

        args.root = Settings().artifact_store
    try:
        if args.command == "list":
            for art in list_artifacts(args.root):
                print(f"{art.name}:{art.version}\t{art.kind}\t{art.profile or '-'}\t{art.path}")
            return 0
        art = resolve(args.root, args.ref)
        if args.command == "show":
            print(json.dumps(art.manifest, indent=2, sort_keys=True))
        else:
            verify(art)
            print(f"ok {art.name}:{art.version} ({len(art.manifest.get('files', {}))} files)")
        return 0
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
