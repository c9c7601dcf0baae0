"""Encryption at rest of the files the service keeps (visit photos), with AES-256-GCM from pyca/cryptography.

A file is `SNE1` + 4 bytes naming the key + a 12-byte random nonce + the ciphertext with its tag. The file's
own place (its path under the data folder) is bound in as associated data, so a file copied over another
fails to open rather than showing the wrong household's photo. The key is derived (HKDF-SHA256) from the
`file_key` secret in the keys folder, apart from the files it protects. A file written before encryption
existed (no `SNE1`) is read as it is. `rotate` moves every file to a new key (`safetynet keys rotate`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safetynet import conf

MAGIC = b"SNE1"


class CannotOpen(Exception):
    """The file was changed, moved, or sealed with another key."""


@cache
def derive(secret: str, purpose: bytes) -> bytes:
    """A 256-bit key for one purpose from a secret of the keys folder (HKDF-SHA256): each store has its own
    key, and knowing one tells nothing of another."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret.encode())


def _key(secret: str) -> bytes:
    return derive(secret, b"safetynet files v1")


def _current() -> bytes:
    return _key(conf.secret("file_key"))


def _known() -> list[bytes]:
    """Every key a file may be sealed with: the current one, the one a rotation is moving to, and the one
    it replaced (a photo saved by another process while the rotation ran is still under that one)."""
    keys = [_current()]
    for name in ("file_key.next", "file_key.previous"):
        path = conf.keys_dir() / name
        if path.exists():
            keys.append(_key(path.read_text().strip()))
    return keys


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def _seal_with(key: bytes, data: bytes, place: str) -> bytes:
    nonce = os.urandom(12)
    return MAGIC + _key_id(key) + nonce + AESGCM(key).encrypt(nonce, data, place.encode())


def seal(data: bytes, place: str) -> bytes:
    """`data` encrypted for keeping at `place` (the path it is stored under)."""
    return _seal_with(_current(), data, place)


def unseal(blob: bytes, place: str) -> bytes:
    """The data of a file kept at `place`; a file from before encryption is returned as it is."""
    if not blob.startswith(MAGIC):
        return blob
    key = next((k for k in _known() if _key_id(k) == blob[4:8]), None)
    if key is None:
        raise CannotOpen("文件由另一把密钥加密，无法打开")
    try:
        return AESGCM(key).decrypt(blob[8:20], blob[20:], place.encode())
    except Exception as exc:  # InvalidTag: changed, truncated or moved
        raise CannotOpen("文件已被改动或移动，无法打开") from exc


def rotate(root: Path, places: Iterable[str]) -> int:
    """Re-seal every file at `places` (paths under `root`) under a new key, then make it current; the old
    key is kept as `file_key.previous` until the next rotation. Safe to run again after a crash: the new
    key waits as `file_key.next` and files already moved to it are simply sealed again."""
    keys = conf.keys_dir()
    pending = keys / "file_key.next"
    if pending.exists() and not (keys / "file_key").exists():  # stopped between the two renames below
        os.replace(pending, keys / "file_key")
        return 0
    conf.secret("file_key")  # a service that never kept a photo has no key yet
    if not pending.exists():
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    new = _key(pending.read_text().strip())
    done = 0
    for place in places:
        path = root / place
        if not path.exists():
            continue
        sealed = _seal_with(new, unseal(path.read_bytes(), place), place)
        temporary = path.with_name(path.name + ".rotating")
        temporary.write_bytes(sealed)
        os.replace(temporary, path)  # a file is always whole, under one key or the other
        done += 1
    # copied, not moved: there is a current key at every moment (a process asking for one in between
    # would otherwise make a new, random one)
    shutil.copy2(keys / "file_key", keys / "file_key.previous")
    os.replace(pending, keys / "file_key")
    return done
