"""Where the lake's files live, through fsspec: a local folder by default, S3 or HDFS by URL.

Layout: `<lake>/<source>/batch=<id>/part-NNNNN.parquet` for accepted rows, `<lake>/_quarantine/<source>/
batch=<id>/part-0.parquet` for rejected ones, `<lake>/registry/snapshot=<id>/<table>.parquet` for the
registry. A batch is written under `_staging/` first and moved into place only when complete, and readers
list only batches the database records as done: a crash never exposes half a batch.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import fsspec
from django.conf import settings
from fsspec import AbstractFileSystem


def lake_url() -> str:
    return (
        os.environ.get("SAFETYNET_LAKE_URL")
        or getattr(settings, "SAFETYNET_LAKE_URL", "")
        or str(settings.DATA_DIR / "lake")
    )


def filesystem() -> tuple[AbstractFileSystem, str]:
    fs, root = fsspec.core.url_to_fs(lake_url())
    return fs, root.rstrip("/")


def batch_dir(
    root: str, source: str, batch_id: int, *, staging: bool = False, quarantine: bool = False
) -> str:
    base = f"{root}/_quarantine/{source}" if quarantine else f"{root}/{source}"
    return f"{base}/_staging/batch={batch_id}" if staging else f"{base}/batch={batch_id}"


def remove_batch_files(fs: AbstractFileSystem, root: str, source: str, batch_id: int) -> None:
    """Remove everything a batch may have written, staged or published."""
    for quarantine in (False, True):
        for staging in (False, True):
            path = batch_dir(root, source, batch_id, staging=staging, quarantine=quarantine)
            if fs.exists(path):
                fs.rm(path, recursive=True)


def publish(fs: AbstractFileSystem, root: str, source: str, batch_id: int) -> None:
    """Move a complete staged batch into place (a rename on a local folder)."""
    for quarantine in (False, True):
        staged = batch_dir(root, source, batch_id, staging=True, quarantine=quarantine)
        if fs.exists(staged):
            final = batch_dir(root, source, batch_id, quarantine=quarantine)
            fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            fs.mv(staged, final, recursive=True)


SPOOL_MAX_AGE = 6 * 3600  # seconds; no push takes this long, so an older file is an orphan


def spool_dir() -> Path:
    """Where pushed files wait while they are ingested (never the system's temporary folder, so what a
    killed server left behind is found and removed)."""
    path = Path(settings.DATA_DIR) / "tmp" / "pushes"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def inbox_dir() -> Path:
    """Where an accepted push waits for the worker, named by its batch id (outside the spool, which is
    swept of a dead server's files: an accepted push must outlive the server that took it)."""
    path = Path(settings.DATA_DIR) / "lake-inbox"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def spool_prefix() -> str:
    return f"{socket.gethostname()}.{os.getpid()}."


def sweep_spool() -> int:
    """Remove pushed files whose server process is gone, and uploads older than SPOOL_MAX_AGE."""
    from safetynet.processes import process_alive

    removed = 0
    now = time.time()
    uploads = Path(settings.FILE_UPLOAD_TEMP_DIR or spool_dir())
    for folder in {spool_dir(), uploads}:
        for path in folder.glob("*"):
            host, _, rest = path.name.partition(".")
            pid = rest.split(".", 1)[0]
            try:
                stale = now - path.stat().st_mtime > SPOOL_MAX_AGE
            except FileNotFoundError:
                continue
            if stale or (folder == spool_dir() and not process_alive(host, pid)):
                path.unlink(missing_ok=True)
                removed += 1
    return removed
