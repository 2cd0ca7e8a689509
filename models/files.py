"""File primitives the model code shares: checksums (with a sidecar cache), locks, atomic writes."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

#: Files smaller than this are hashed every time; larger ones keep a `<file>.sha256` sidecar.
SIDECAR_MIN_BYTES = 1 << 20
_CHUNK = 1 << 20
# A sidecar is trusted only for files last changed this long before they were hashed: a change
# within the filesystem's timestamp granularity of the hashing could otherwise go unnoticed.
_RACY_SECONDS = 2.0


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def sha256_data(path: Path) -> str:
    """The hex sha256 of a data file, or of a folder of sessions: its `*.json` files' names and
    sha256s in name order (the same sessions give the same digest wherever the folder lies)."""
    path = Path(path)
    if not path.is_dir():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(path.glob("*.json")):
        digest.update(f"{file.name}\0{sha256_file(file)}\0".encode())
    return digest.hexdigest()


def cached_sha256(path: Path, min_size: int | None = None) -> str:
    """sha256 of `path`, kept in a `<path>.sha256` sidecar keyed by size, mtime, ctime, inode.

    Files under `min_size` bytes (default SIDECAR_MIN_BYTES) get no sidecar. The sidecar is
    ignored when any of those changed, not written for a file changed in the last
    seconds, and silently not written where the folder is read-only.
    """
    path = Path(path)
    stat = path.stat()
    if stat.st_size < (SIDECAR_MIN_BYTES if min_size is None else min_size):
        return sha256_file(path)
    sidecar = path.with_name(path.name + ".sha256")
    # ctime and inode change when a file is replaced by a copy that keeps the mtime (cp -p).
    key = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "inode": stat.st_ino,
    }
    try:
        cached = json.loads(sidecar.read_text())
        if {k: cached.get(k) for k in key} == key and isinstance(cached.get("sha256"), str):
            return str(cached["sha256"])
    except (OSError, ValueError):
        pass
    started = time.time()
    digest = sha256_file(path)
    if path.stat().st_mtime_ns == stat.st_mtime_ns and stat.st_mtime < started - _RACY_SECONDS:
        with suppress(OSError):  # a read-only store: hash again next time
            write_atomic(sidecar, json.dumps({**key, "sha256": digest}))
    return digest


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if absent) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path` and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
