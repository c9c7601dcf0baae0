"""Backup and restore of a whole service as one folder: the database, the lake, the photos, the pushes
accepted but not yet landed, and the keys.

A backup is consistent while the service runs: the embedded database is copied with SQLite's online
backup API in one step (one read transaction: writers carry on, the copy is a single moment), PostgreSQL
with `pg_dump` (one snapshot). The lake and the photos are copied after the database, and their files are
only ever added whole (a batch appears by a rename), so every batch and photo the copied database knows is
in the copy. The copy of the database stays encrypted under the same key, so the keys travel with it: keep
backups as carefully as the service itself (or move `keys/` elsewhere and bring it back to restore).

`manifest.json` lists every file with its SHA-256 and the counts that matter (households, warnings, cases,
audit entries); `restore` checks every file before it touches anything and refuses to overwrite a service
that already holds data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction

from safetynet import conf, sqlcipher

FORMAT = 1
DATABASE_FILE = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
COUNTED = {  # what a restore must bring back, by table
    "households": "registry_household",
    "persons": "registry_person",
    "warnings": "screening_riskwarning",
    "cases": "cases_case",
    "leads": "leads_lead",
    "audit_entries": "access_auditentry",
    "lake_batches": "lake_batch",
}


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why, in words a clerk can act on."""


@dataclass(frozen=True)
class Outcome:
    folder: Path
    counts: dict[str, int]
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def counts(cursor: Any = None) -> dict[str, int]:
    """The rows that matter, counted on `cursor` (a backup's own copy or snapshot), else the database."""
    if cursor is None:
        with connection.cursor() as own:
            return counts(own)
    found = {}
    for name, table in COUNTED.items():
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - table names from code
        found[name] = cursor.fetchone()[0]
    return found


def _pg_env() -> tuple[list[str], dict[str, str]]:
    """The connection arguments and environment of the pg_ tools for the configured database."""
    db = settings.DATABASES["default"]
    args = ["--dbname", str(db["NAME"]), "--host", str(db.get("HOST") or "127.0.0.1")]
    args += ["--port", str(db.get("PORT") or 5432), "--username", str(db.get("USER") or "postgres")]
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    return args, env


def _copy_tree(source: Path, target: Path, skip: tuple[str, ...] = ()) -> int:
    copied = 0
    for path in sorted(source.rglob("*")) if source.exists() else []:
        relative = path.relative_to(source)
        if (
            not path.is_file()
            or any(part in skip for part in relative.parts)
            or path.name.endswith((".rotating", ".writing"))
        ):
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(path, target / relative)
        os.chmod(target / relative, 0o600)
        copied += 1
    return copied


# Folders of the data folder a backup carries besides the lake: visit photos, and pushes a department was
# told were received (202) that the worker has not landed yet.
DATA_FOLDERS = ("photos", "lake-inbox")


def _folders() -> list[tuple[str, Path]]:
    return [("lake", _lake_folder()), *((name, settings.DATA_DIR / name) for name in DATA_FOLDERS)]


def _lake_folder() -> Path:
    from safetynet.lake import storage

    fs, root = storage.filesystem()
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol not in ("file", "local"):
        raise BackupError(f"数据湖在 {storage.lake_url()}：远程存储请用其自身的备份（快照、版本）")
    return Path(root)


def backup(target: Path) -> Outcome:
    """Write a backup of this service into `target` (a new or empty folder)."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"备份目录 {target} 不是空的：请指定新的目录")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    vendor = connection.vendor
    if vendor not in DATABASE_FILE:
        raise BackupError(f"不支持的数据库 {vendor}")
    database = target / DATABASE_FILE[vendor]
    if vendor == "sqlite":
        connection.ensure_connection()
        source = connection.connection
        encrypted = settings.DATABASES["default"]["ENGINE"] == "safetynet.sqlcipher"
        if encrypted:
            copy = sqlcipher.connect(database)  # keyed alike: the copy stays encrypted
        else:
            import sqlite3

            copy = sqlite3.connect(database)
        try:
            source.backup(copy)  # all pages in one step: one read transaction, one moment
            before = counts(copy.cursor())  # counted in the copy: writes since then are not in it
        finally:
            copy.close()
    else:
        # pg_dump reads the snapshot this transaction exported, so the counts are those of the dump.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            before = counts(cursor)
            args, env = _pg_env()
            done = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--snapshot", snapshot, "--file", str(database), *args],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(f"pg_dump 失败：{done.stderr.strip()[-500:]}")
    os.chmod(database, 0o600)
    files = 1
    files += _copy_tree(_lake_folder(), target / "lake", skip=("_staging",))
    for name in DATA_FOLDERS:
        files += _copy_tree(settings.DATA_DIR / name, target / name)
    files += _copy_tree(conf.keys_dir(), target / "keys", skip=())
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": vendor,
        "encrypted_database": vendor == "sqlite" and settings.DATABASES["default"]["ENGINE"] == "safetynet.sqlcipher",
        "counts": before,
        "files": {
            str(p.relative_to(target)): _sha256(p) for p in sorted(target.rglob("*")) if p.is_file()
        },
    }
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    os.chmod(target / "manifest.json", 0o600)
    return Outcome(target, before, files)


def _holds_data() -> bool:
    try:
        found = counts()
    except Exception:  # noqa: BLE001 - no tables yet: nothing to lose
        return False
    return any(found[name] for name in ("households", "audit_entries", "lake_batches"))


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, after every file it lists was found whole (SHA-256)."""
    path = source / "manifest.json"
    if not path.exists():
        raise BackupError(f"{source} 不是 safetynet 备份（没有 manifest.json）")
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式 {manifest.get('format')} 不受支持（本版本为 {FORMAT}）")
    for name, digest in manifest["files"].items():
        file = source / name
        if not file.is_file():
            raise BackupError(f"备份不完整：缺少 {name}")
        if _sha256(file) != digest:
            raise BackupError(f"备份已损坏：{name} 与清单不符")
    return manifest


def _database_files() -> list[Path]:
    database = Path(settings.DATABASES["default"]["NAME"])
    return [Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]


def _set_aside(aside: Path, vendor: str) -> None:
    """What a restore replaces, moved (keys: copied) into `aside`, so a failed restore loses nothing."""
    aside.mkdir(parents=True, mode=0o700)
    _copy_tree(conf.keys_dir(), aside / "keys")
    for name, path in _folders():
        if path.exists():
            shutil.move(path, aside / name)
    if vendor == "sqlite":
        for path in _database_files():
            if path.exists():
                shutil.move(path, aside / path.name)


def _put_back(aside: Path, vendor: str) -> None:
    """Undo a failed restore: the keys, lake, photos and database file as they were before it."""
    connections.close_all()
    keys = conf.keys_dir()
    for path in keys.iterdir() if keys.exists() else []:
        if not (aside / "keys" / path.name).exists():
            path.unlink()
    _copy_tree(aside / "keys", keys)
    for name, path in _folders():
        shutil.rmtree(path, ignore_errors=True)
        if (aside / name).exists():
            shutil.move(aside / name, path)
    if vendor == "sqlite":
        for path in _database_files():
            path.unlink(missing_ok=True)
            if (aside / path.name).exists():
                shutil.move(aside / path.name, path)
    shutil.rmtree(aside, ignore_errors=True)


def restore(source: Path, force: bool = False) -> Outcome:
    """Bring a backup back into this (empty) service: keys, database, lake, photos; then migrate. What it
    replaces is set aside first (`DATA_DIR/before-restore-…`, kept after a success for the operator to
    delete once checked) and put back if anything fails; on PostgreSQL the restore is one transaction."""
    manifest = read_manifest(source)
    vendor = connection.vendor
    if manifest["database"] != vendor:
        raise BackupError(f"备份来自 {manifest['database']} 数据库，本服务使用 {vendor}：请配置同类数据库后再恢复")
    encrypted_here = vendor == "sqlite" and settings.DATABASES["default"]["ENGINE"] == "safetynet.sqlcipher"
    if manifest.get("encrypted_database", False) != encrypted_here:
        raise BackupError("备份的数据库加密设置与本服务不同（SAFETYNET_DATABASE_ENCRYPTION）：请改为一致后再恢复")
    if _holds_data() and not force:
        raise BackupError("本服务已有数据（家庭、审计记录或数据批次）：恢复会覆盖它们。确认无误请加 --force")
    connections.close_all()
    aside = settings.DATA_DIR / f"before-restore-{dt.datetime.now():%Y%m%d-%H%M%S}"
    _set_aside(aside, vendor)
    try:
        _copy_tree(source / "keys", conf.keys_dir())
        if vendor == "sqlite":
            database = _database_files()[0]
            shutil.copy2(source / DATABASE_FILE[vendor], database)
            os.chmod(database, 0o600)
        else:
            args, env = _pg_env()
            done = subprocess.run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", *args,
                 str(source / DATABASE_FILE[vendor])],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise BackupError(f"pg_restore 失败：{done.stderr.strip()[-500:]}")
        for name, path in _folders():
            _copy_tree(source / name, path)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # a backup from an earlier version
        restored = counts()
        missing = {k: (v, restored.get(k)) for k, v in manifest["counts"].items() if restored.get(k) != v}
        if missing:
            raise BackupError(f"恢复后的数量与备份不符：{missing}")
    except BackupError as error:
        _put_back(aside, vendor)
        if vendor == "postgresql" and "pg_restore" not in str(error):
            # PostgreSQL's restore was its own transaction, already committed: say so, plainly
            raise BackupError(f"{error}。数据库已是备份的内容，其余已放回恢复前：请排除问题后用 --force 重新恢复") from None
        raise
    except BaseException:
        _put_back(aside, vendor)
        raise
    return Outcome(source, restored, len(manifest["files"]))
