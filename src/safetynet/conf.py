"""Where safetynet keeps its files and secrets: everything derives from SAFETYNET_DATA_DIR."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def data_dir() -> Path:
    path = Path(os.environ.get("SAFETYNET_DATA_DIR", "data")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return os.environ.get("SAFETYNET_DATABASE_URL") or f"sqlite:///{data_dir() / 'safetynet.sqlite3'}"


def keys_dir() -> Path:
    """Where the secrets live: `DATA_DIR/keys`, or SAFETYNET_KEYS_DIR to keep them apart from the data
    they protect (another volume, a mounted secrets store), so a copy of the data folder holds no key."""
    configured = os.environ.get("SAFETYNET_KEYS_DIR", "")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "keys"


def secret(name: str, nbytes: int = 50) -> str:
    """Read a secret from the keys folder, creating it on first use (never committed, owner-only)."""
    path = keys_dir() / name
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()
