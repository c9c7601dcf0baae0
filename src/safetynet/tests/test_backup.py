"""Backup and restore: a demo county backed up, restored into an empty service, and found the same —
warnings, cases, the audit trail (still verifiable), the lake — on SQLite and on PostgreSQL; a damaged
backup and a restore over live data are refused before anything is touched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from safetynet import sqlcipher

SAFETYNET = [sys.executable, "-m", "safetynet.cli"]
POSTGRES = os.environ.get("SAFETYNET_TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")
WARNINGS = "SELECT household_id, rule_id, level, id_number FROM screening_riskwarning ORDER BY 1, 2, 4"
AUDIT = "SELECT id, username, action, object_type, object_id, detail FROM access_auditentry ORDER BY id"


# Another process of the running service, writing to the audit trail while the backup is taken.
WRITER = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safetynet.settings")
django.setup()
from safetynet.access.services import record_as
n = 0
while not os.path.exists(sys.argv[1]):
    record_as("writer", "system", "read", "household", str(n))
    n += 1
print(n)
"""


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SAFETYNET, *args], env=env, capture_output=True, text=True, timeout=900)


def service(data: Path, database: str = "") -> dict[str, str]:
    env = {**os.environ, "SAFETYNET_DATA_DIR": str(data), "SAFETYNET_DATABASE_URL": database}
    env.pop("SAFETYNET_KEYS_DIR", None)
    env.pop("SAFETYNET_LAKE_URL", None)
    return env


def rows(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    url = env["SAFETYNET_DATABASE_URL"]
    if not url:
        data = Path(env["SAFETYNET_DATA_DIR"])
        with sqlcipher.connect(data / "safetynet.sqlite3", keys_dir=data / "keys") as db:
            return db.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]  # type: ignore[arg-type]


def lake_files(data: Path) -> dict[str, str]:
    lake = data / "lake"
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lake.rglob("*"))
        if p.is_file()
    }


def fresh_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def back_up_and_restore(tmp_path: Path, first: str, second: str) -> None:
    original, restored, folder = tmp_path / "original", tmp_path / "restored", tmp_path / "backup"
    source = service(original, first)
    demo = run(source, "demo", "--persons", "300", "--no-serve")
    assert demo.returncode == 0, demo.stderr[-2000:]
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(stop)], env=source, stdout=subprocess.PIPE, text=True)
    while len(rows(source, "SELECT id FROM access_auditentry WHERE username = 'writer' LIMIT 20")) < 20:
        pass
    made = run(source, "backup", str(folder))
    stop.touch()
    written = int(writer.communicate(timeout=60)[0])
    assert made.returncode == 0, made.stderr[-2000:]
    assert "households=" in made.stdout and (folder / "manifest.json").exists()
    assert {oct(p.stat().st_mode & 0o777) for p in folder.rglob("*") if p.is_file()} == {"0o600"}

    target = service(restored, second)
    back = run(target, "restore", str(folder))
    assert back.returncode == 0, back.stderr[-2000:]
    assert rows(target, WARNINGS) == rows(source, WARNINGS) and len(rows(source, WARNINGS)) > 10
    # The copy is one moment of the trail: a prefix of what the service holds now, without the writes and
    # the backup's own entry that came after it; the restore's entry last.
    trail, copied = rows(source, AUDIT), rows(target, AUDIT)
    assert copied[-1][2] == "restore" and copied[:-1] == trail[: len(copied) - 1]
    assert 20 <= sum(r[1] == "writer" for r in copied) < written
    assert ("backup",) not in {(r[2],) for r in copied}
    assert lake_files(restored) == lake_files(original)
    verified = run(target, "audit", "verify")
    assert verified.returncode == 0 and "broken=0" in verified.stdout, verified.stdout + verified.stderr

    again = run(target, "restore", str(folder))  # over data: refused, nothing touched
    assert again.returncode == 2 and "已有数据" in again.stderr
    # a restore that fails half-way (the counts do not match) over a service with data: put back as it was
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["counts"]["warnings"] += 1
    (broken / "manifest.json").write_text(json.dumps(manifest))
    failed = run(target, "restore", str(broken), "--force")
    assert failed.returncode == 2 and "数量与备份不符" in failed.stderr, failed.stderr[-1000:]
    assert rows(target, WARNINGS) == rows(source, WARNINGS) and lake_files(restored) == lake_files(original)
    assert run(target, "audit", "verify").returncode == 0

    some = next(p for p in sorted((folder / "lake").rglob("*.parquet")))
    some.write_bytes(some.read_bytes()[:-1] + b"\x00")
    damaged = run(service(tmp_path / "third", second and fresh_postgres("sn_backup_third")), "restore", str(folder))
    assert damaged.returncode == 2 and "备份已损坏" in damaged.stderr


def test_backup_of_the_embedded_service_restores_the_same_warnings_trail_and_lake(tmp_path: Path) -> None:
    back_up_and_restore(tmp_path, "", "")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL run covers pg_dump / pg_restore")
def test_backup_of_a_postgresql_service_restores_into_an_empty_database(tmp_path: Path) -> None:
    back_up_and_restore(tmp_path, fresh_postgres("sn_backup_original"), fresh_postgres("sn_backup_restored"))
