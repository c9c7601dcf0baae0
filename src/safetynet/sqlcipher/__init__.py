"""The embedded database encrypted at rest with SQLCipher (AES-256 per page, HMAC-SHA512 per page).

Every page of the SQLite file, its WAL and its journal is encrypted, so the registry, leads, cases, linkage
index and audit trail hold no ID number, phone or name in clear on disk, and a copied file is useless
without the key. The key is a 256-bit raw key derived (HKDF-SHA256) from the `database_key` secret in the
keys folder (`SAFETYNET_KEYS_DIR` keeps it on another volume); a raw key skips SQLCipher's password
stretching, which would cost every new connection a quarter of a second.

A plain SQLite file left by an earlier version is encrypted in place the first time it is opened.
`rotate_key` re-encrypts under a new key, recoverably: the new key is written beside the old one first,
and a connection that finds the file already under the new key finishes the switch.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlcipher3.dbapi2 as Database

from safetynet import conf
from safetynet.access import encryption

KEY_NAME = "database_key"
PLAIN_HEADER = b"SQLite format 3\x00"


class WrongKey(Exception):
    """The database file cannot be opened with the key in the keys folder."""


def derive(secret: str) -> str:
    """The raw key SQLCipher is given, as the hex of 32 bytes."""
    return encryption.derive(secret, b"safetynet database v1").hex()


def _pragma_key(hex_key: str) -> str:
    # The key is our own hex, never user text: the PRAGMA takes no bound parameters.
    assert len(hex_key) == 64 and all(c in "0123456789abcdef" for c in hex_key)
    return f"\"x'{hex_key}'\""


def is_plain(path: Path) -> bool:
    """True when `path` is an unencrypted SQLite file (an earlier version's)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == PLAIN_HEADER
    except FileNotFoundError:
        return False


def _opens(conn: Database.Connection, hex_key: str) -> bool:
    conn.execute(f"PRAGMA key = {_pragma_key(hex_key)}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except Database.DatabaseError:
        return False
    return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time converts or re-keys a database file."""
    with open(f"{path}.lock", "a") as lock:
        os.chmod(lock.name, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def current_key(keys_dir: Path | None = None) -> str:
    """The database key: from this process's keys folder, or from `keys_dir` (another process's)."""
    if keys_dir is None:
        return derive(conf.secret(KEY_NAME))
    return derive((keys_dir / KEY_NAME).read_text().strip())


def connect(path: str | Path, keys_dir: Path | None = None, **params: object) -> Database.Connection:
    """A connection to the encrypted database at `path`, keyed; a plain file is encrypted first."""
    path = Path(path)
    keys = keys_dir or conf.keys_dir()
    if is_plain(path):
        encrypt_in_place(path, keys_dir)
    conn = Database.connect(str(path), **params)  # type: ignore[arg-type]
    if _opens(conn, current_key(keys_dir)):
        return conn
    conn.close()
    pending = keys / f"{KEY_NAME}.next"
    if pending.exists():  # a rotation stopped after re-keying the file: finish it
        with _locked(path):
            conn = Database.connect(str(path), **params)  # type: ignore[arg-type]
            if _opens(conn, derive(pending.read_text().strip())):
                os.replace(pending, keys / KEY_NAME)
                return conn
            conn.close()
    raise WrongKey(f"数据库 {path.name} 无法用密钥目录中的 {KEY_NAME} 打开（密钥不符或文件损坏）")


def encrypt_in_place(path: Path, keys_dir: Path | None = None) -> None:
    """Encrypt a plain SQLite file under the current key (its WAL folded in first); atomic."""
    with _locked(path):
        if not is_plain(path):
            return
        hex_key = current_key(keys_dir)
        target = path.with_name(path.name + ".encrypting")
        target.unlink(missing_ok=True)
        plain = Database.connect(str(path))
        try:
            plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            plain.execute(f"ATTACH DATABASE ? AS encrypted KEY {_pragma_key(hex_key)}", (str(target),))
            plain.execute("SELECT sqlcipher_export('encrypted')")
            plain.execute("DETACH DATABASE encrypted")
        finally:
            plain.close()
        os.chmod(target, 0o600)
        os.replace(target, path)
        for leftover in ("-wal", "-shm", "-journal"):
            Path(f"{path}{leftover}").unlink(missing_ok=True)


def rotate_key(path: Path) -> None:
    """Re-encrypt the database under a new key. The new secret is kept as `database_key.next` until the
    file is re-keyed, then replaces the old one, so a crash at any point leaves a key that opens it."""
    import secrets

    keys = conf.keys_dir()
    with _locked(path):
        pending = keys / f"{KEY_NAME}.next"
        if not pending.exists():
            fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(50))
        new = derive(pending.read_text().strip())
        conn = Database.connect(str(path), isolation_level=None)
        try:
            if not _opens(conn, current_key()):
                conn.close()
                conn = Database.connect(str(path), isolation_level=None)
                if not _opens(conn, new):
                    raise WrongKey(f"数据库 {path.name} 无法用现有密钥打开，未轮换")
            else:
                # SQLCipher re-keys a rollback-journal database; WAL is folded in and resumed after.
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
                conn.execute(f"PRAGMA rekey = {_pragma_key(new)}")
                conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        os.replace(pending, keys / KEY_NAME)
