"""Encryption at rest: AES-256-GCM with named data keys, and HMAC fingerprints.

Keys come from the environment: `NOTES_DATA_KEYS="k1:<base64 32 bytes>,k2:<...>"` and
`NOTES_ACTIVE_KEY_ID=k2` (the key new rows are written with; the others only decrypt). Without
them (a laptop, `make run`, the tests) a local key file (`var/data_keys.json`, mode 0600) is
created on first use. Each encrypted row stores the id of its key, so keys can be rotated
(`python -m deployments.admin keys rotate-data`) while old rows stay readable.

A ciphertext is `nonce (12 bytes) || AES-GCM(plaintext) || tag`; the associated data names the
table, clinic and row, so a ciphertext copied to another row or clinic does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from filelock import FileLock

from schemas.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyringError(Exception):
    """The data keys are missing, malformed or do not open a row (the message names no data)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    active: str

    def __post_init__(self) -> None:
        problems = [
            f"key {kid!r} is not {KEY_BYTES} bytes" for kid, k in self.keys.items() if len(k) != KEY_BYTES
        ]
        if self.active not in self.keys:
            problems.append(f"the active key id {self.active!r} is not among the keys")
        if problems:
            raise KeyringError("; ".join(problems))

    def encrypt(self, plaintext: bytes, aad: str, key_id: str | None = None) -> tuple[str, bytes]:
        """Encrypt with `key_id` (default: the active key); return (key id, nonce || ciphertext || tag)."""
        kid = key_id or self.active
        if kid not in self.keys:
            raise KeyringError(f"data key {kid!r} is not configured")
        nonce = os.urandom(NONCE_BYTES)
        return kid, nonce + AESGCM(self.keys[kid]).encrypt(nonce, plaintext, aad.encode())

    def decrypt(self, key_id: str, blob: bytes, aad: str) -> bytes:
        """Decrypt a blob written by `encrypt`; KeyringError if the key is unknown or it does not open."""
        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(f"data key {key_id!r} is not configured")
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
        except InvalidTag as e:
            raise KeyringError("a ciphertext did not authenticate") from e

    def fingerprint(self, key_id: str, data: bytes) -> str:
        """HMAC-SHA256 of `data` under a key derived from data key `key_id` (hex)."""
        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(f"data key {key_id!r} is not configured")
        derived = hmac.new(key, b"psynote fingerprint", hashlib.sha256).digest()
        return hmac.new(derived, data, hashlib.sha256).hexdigest()


def new_key() -> str:
    """A fresh data key, base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def parse_keys(spec: str, active: str | None) -> Keyring:
    """Keys from `kid:base64,kid:base64`; `active` defaults to the only key when there is one."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, sep, encoded = item.partition(":")
        if not sep or not kid:
            raise KeyringError("NOTES_DATA_KEYS must be 'kid:base64key[,kid:base64key...]'")
        try:
            keys[kid] = base64.b64decode(encoded, validate=True)
        except binascii.Error as e:
            raise KeyringError(f"key {kid!r} is not base64") from e
    if not keys:
        raise KeyringError("NOTES_DATA_KEYS holds no key")
    if active is None:
        if len(keys) > 1:
            raise KeyringError("set NOTES_ACTIVE_KEY_ID: NOTES_DATA_KEYS holds more than one key")
        active = next(iter(keys))
    return Keyring(keys, active)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_key_file(path: Path, create: bool = True) -> Keyring:
    """The keyring in a local key file, created (0600) with one fresh key if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            if not create:
                raise KeyringError(f"no data key file at {path}")
            _write_private(path, json.dumps({"active": "local-1", "keys": {"local-1": new_key()}}))
        data = json.loads(path.read_text())
    return parse_keys(",".join(f"{k}:{v}" for k, v in data["keys"].items()), data["active"])


def add_local_key(path: Path) -> str:
    """Add a fresh key to the local key file, make it active, and return its id."""
    with FileLock(str(path) + ".lock"):
        data = json.loads(path.read_text())
        kid = f"local-{len(data['keys']) + 1}"
        while kid in data["keys"]:
            kid += "x"
        data["keys"][kid] = new_key()
        data["active"] = kid
        _write_private(path, json.dumps(data))
    return kid


def keyring_from(settings: Settings) -> Keyring:
    """The environment's keys (NOTES_DATA_KEYS), or the local key file when none are set."""
    if settings.data_keys:
        return parse_keys(settings.data_keys, settings.active_key_id)
    return load_key_file(settings.data_key_file)


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    """This process's keyring (read once)."""
    return keyring_from(Settings())
