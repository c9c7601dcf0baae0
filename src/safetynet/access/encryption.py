"""Encryption at rest of the files the service keeps (visit photos), with AES-256-GCM from pyca/cryptography.

A file is `SNE1` + 4 bytes naming the key + a 12-byte random nonce + the ciphertext with its tag. The file's
own place (its path under the data folder) is bound in as associated data, so a file copied over another
fails to open rather than showing the wrong household's photo. The key is derived (HKDF-SHA256) from the
`file_key` secret in the keys folder, apart from the files it protects. A file written before encryption
existed (no `SNE1`) is read as it is.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safetynet import conf

MAGIC = b"SNE1"


class CannotOpen(Exception):
    """The file was changed, moved, or sealed with another key."""


@cache
def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"safetynet files v1").derive(
        secret.encode()
    )


def _current() -> bytes:
    return _key(conf.secret("file_key"))


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def seal(data: bytes, place: str) -> bytes:
    """`data` encrypted for keeping at `place` (the path it is stored under)."""
    key = _current()
    nonce = os.urandom(12)
    return MAGIC + _key_id(key) + nonce + AESGCM(key).encrypt(nonce, data, place.encode())


def unseal(blob: bytes, place: str) -> bytes:
    """The data of a file kept at `place`; a file from before encryption is returned as it is."""
    if not blob.startswith(MAGIC):
        return blob
    key = _current()
    if blob[4:8] != _key_id(key):
        raise CannotOpen("文件由另一把密钥加密，无法打开")
    try:
        return AESGCM(key).decrypt(blob[8:20], blob[20:], place.encode())
    except Exception as exc:  # InvalidTag: changed, truncated or moved
        raise CannotOpen("文件已被改动或移动，无法打开") from exc
