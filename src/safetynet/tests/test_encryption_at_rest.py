"""The embedded database is encrypted at rest (SQLCipher) and its key, like the photos' key, can be rotated.

The bytes on disk are scanned for what an attacker with a copy of the data folder would look for: whole ID
numbers, mobile numbers and names. The key handling is tested on files of its own: a plain database left
by an earlier version is converted on first open, a rotation keeps every row, and a rotation interrupted at
its riskiest point is finished by the next connection instead of locking the bureau out."""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from safetynet import sqlcipher, testing

WHOLE_ID = re.compile(rb"(?<![0-9])\d{17}[\dXx](?![0-9])")
WHOLE_PHONE = re.compile(rb"(?<![0-9])1[3-9]\d{9}(?![0-9])")
WANG = testing.make_id_number(dt.date(1958, 3, 14), 1, True)


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "keys"
    monkeypatch.setenv("SAFETYNET_KEYS_DIR", str(folder))
    return folder


def _db_bytes(path: Path) -> bytes:
    return b"".join(Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded database; PostgreSQL is the bureau's")
def test_the_database_file_holds_no_id_number_phone_or_name_in_clear(county) -> None:  # type: ignore[no-untyped-def]
    from safetynet.registry.models import Person

    assert connection.settings_dict["ENGINE"] == "safetynet.sqlcipher"
    people = list(Person.objects.values_list("id_number", "phone", "name"))
    assert len(people) == 5 and sum(bool(phone) for _, phone, _ in people) == 3
    path = Path(connection.settings_dict["NAME"])
    on_disk = _db_bytes(path)
    assert len(on_disk) > 100_000 and not on_disk.startswith(sqlcipher.PLAIN_HEADER)
    assert WHOLE_ID.findall(on_disk) == [] and WHOLE_PHONE.findall(on_disk) == []
    assert not any(name.encode() in on_disk for _, _, name in people)
    with pytest.raises(sqlite3.DatabaseError):  # a copy opened without the key is noise
        sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()


def _plain_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE person (id_number TEXT PRIMARY KEY, name TEXT, phone TEXT)")
        db.executemany("INSERT INTO person VALUES (?, ?, ?)", [(WANG, "王建国", "13812345678")])


def test_a_plain_database_from_an_earlier_version_is_encrypted_on_first_open(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _plain_database(path)
    assert WANG.encode() in _db_bytes(path)
    with sqlcipher.connect(path) as db:
        assert db.execute("SELECT id_number, name, phone FROM person").fetchall() == [(WANG, "王建国", "13812345678")]
    on_disk = _db_bytes(path)
    assert WANG.encode() not in on_disk and "王建国".encode() not in on_disk and b"13812345678" not in on_disk
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not Path(f"{path}.encrypting").exists()


def test_rotation_keeps_every_row_and_retires_the_old_key(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _plain_database(path)
    sqlcipher.connect(path).close()
    old_secret = (keys / sqlcipher.KEY_NAME).read_text()
    sqlcipher.rotate_key(path)
    assert (keys / sqlcipher.KEY_NAME).read_text() != old_secret
    assert not (keys / f"{sqlcipher.KEY_NAME}.next").exists()
    with sqlcipher.connect(path) as db:
        assert db.execute("SELECT name FROM person").fetchall() == [("王建国",)]
    (keys / sqlcipher.KEY_NAME).write_text(old_secret)  # the old key no longer opens it
    with pytest.raises(sqlcipher.WrongKey, match="无法用密钥目录中的 database_key 打开"):
        sqlcipher.connect(path)


def test_a_rotation_stopped_after_re_keying_is_finished_by_the_next_connection(keys: Path, tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    _plain_database(path)
    sqlcipher.connect(path).close()
    # The crash point: the file is under the new key, the new secret still waits as `.next`.
    (keys / f"{sqlcipher.KEY_NAME}.next").write_text("the-new-secret")
    db = sqlcipher.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute(f"PRAGMA rekey = \"x'{sqlcipher.derive('the-new-secret')}'\"")
    db.close()
    with sqlcipher.connect(path) as db:
        assert db.execute("SELECT count(*) FROM person").fetchone() == (1,)
    assert (keys / sqlcipher.KEY_NAME).read_text() == "the-new-secret"
    assert not (keys / f"{sqlcipher.KEY_NAME}.next").exists()


def test_photo_keys_rotate_and_a_photo_sealed_meanwhile_still_opens(keys: Path, tmp_path: Path) -> None:
    from safetynet.access import encryption

    root = tmp_path / "data"
    (root / "photos").mkdir(parents=True)
    places = ["photos/a.jpg", "photos/b.jpg"]
    for place in places:
        (root / place).write_bytes(encryption.seal(f"picture {place}".encode(), place))
    during = encryption.seal(b"saved by another process during the rotation", "photos/c.jpg")
    before = {p: (root / p).read_bytes() for p in places}
    assert encryption.rotate(root, [*places, "photos/gone.jpg"]) == 2
    for place in places:
        assert (root / place).read_bytes()[4:8] != before[place][4:8]  # sealed under another key
        assert encryption.unseal((root / place).read_bytes(), place) == f"picture {place}".encode()
    assert encryption.unseal(during, "photos/c.jpg") == b"saved by another process during the rotation"
    assert (keys / "file_key.previous").exists() and not (keys / "file_key.next").exists()
    encryption.rotate(root, places)  # the next rotation retires the key before last
    with pytest.raises(encryption.CannotOpen):
        encryption.unseal(during, "photos/c.jpg")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="rotates the embedded database's key")
def test_keys_rotate_command_re_keys_the_database_and_audits_it(tmp_path: Path) -> None:
    env = {**os.environ, "SAFETYNET_DATA_DIR": str(tmp_path), "SAFETYNET_DATABASE_URL": ""}
    env.pop("SAFETYNET_KEYS_DIR", None)
    safetynet = [sys.executable, "-m", "safetynet.cli"]
    rotated = subprocess.run([*safetynet, "keys", "rotate"], env=env, capture_output=True, text=True, timeout=300)
    assert rotated.returncode == 0, rotated.stderr
    assert "rotated database photos=0 lake_files=0" in rotated.stdout
    verified = subprocess.run([*safetynet, "audit", "verify"], env=env, capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0 and "broken=0" in verified.stdout, verified.stdout + verified.stderr
    with sqlcipher.connect(tmp_path / "safetynet.sqlite3", keys_dir=tmp_path / "keys") as db:
        assert db.execute("SELECT action, purpose FROM access_auditentry").fetchall() == [("rotate_keys", "key rotation")]


def test_after_the_demo_no_file_of_the_service_holds_a_persons_id_number_or_phone(tmp_path: Path) -> None:
    """The acceptance scan: the demo county's people, by the ID numbers and phones in the files the
    departments sent, are nowhere in the database, the lake (feeds, quarantine, registry snapshots) or the
    photo folder; yet the warnings name them by their real ID number."""
    env = {**os.environ, "SAFETYNET_DATA_DIR": str(tmp_path), "SAFETYNET_DATABASE_URL": ""}
    env.pop("SAFETYNET_KEYS_DIR", None)
    demo = subprocess.run(
        [sys.executable, "-m", "safetynet.cli", "demo", "--persons", "600", "--no-serve"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    [county] = tmp_path.glob("demo-county-*")
    sent = b"".join(p.read_bytes() for p in county.glob("*.csv"))
    people = set(WHOLE_ID.findall(sent))
    phones = set(WHOLE_PHONE.findall(sent))
    assert len(people) > 600 and len(phones) > 100
    kept = [p for p in tmp_path.rglob("*") if p.is_file() and county not in p.parents]
    scanned = [p for p in kept if p.name.startswith("safetynet.sqlite3") or {"lake", "photos"} & set(p.parts)]
    assert any("_quarantine" in p.parts for p in scanned) and any("registry" in p.parts for p in scanned)
    for path in scanned:
        on_disk = path.read_bytes()
        found = (set(WHOLE_ID.findall(on_disk)) & people) | (set(WHOLE_PHONE.findall(on_disk)) & phones)
        assert not found, f"{path.relative_to(tmp_path)} holds {sorted(found)[:3]}"
        # nor anything a scanner would take for one (pseudonyms are letters, sealed text is base64)
        looks = WHOLE_ID.findall(on_disk) + WHOLE_PHONE.findall(on_disk)
        assert not looks, f"{path.relative_to(tmp_path)} holds {looks[:3]}"
    with sqlcipher.connect(tmp_path / "safetynet.sqlite3", keys_dir=tmp_path / "keys") as db:
        named = {row[0].encode() for row in db.execute("SELECT id_number FROM screening_riskwarning")}
    assert len(named) > 20 and named <= people


@pytest.mark.django_db
def test_lake_key_rotation_re_encrypts_every_pseudonym_and_quarantined_row(
    keys: Path, tmp_path: Path, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    from safetynet.lake import pseudonyms, services, storage
    from safetynet.lake.models import Batch

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    calls = testing.write_csv(
        tmp_path / "hotline.csv",
        ["call_id", "called_at", "caller_name", "caller_phone", "id_number", "region_text", "summary"],
        [["R1", "2026-05-01T09:00:00+08:00", "王建国", "+86-138-1234-5678", WANG, "北城街道", "求助"],
         ["R2", "2026-05-01T10:00:00+08:00", "李四", "13900001111", "110105195803140039", "北城街道", "求助"]],
    )  # fmt: skip
    result = services.ingest("hotline", calls)
    batch = Batch.objects.get(pk=result.batch_id)
    assert (result.accepted, result.rejected) == (1, 1), services.read_quarantine(batch)  # R2: check digit
    fs, root = storage.filesystem()
    files = sorted(fs.glob(f"{root}/**/*.parquet"))
    before = {f: pq.read_table(f).to_pylist() for f in files}

    def row() -> tuple[object, object]:
        landed = services.landed("hotline", batch.pk).to_pylist()[0]
        return landed["id_number"], landed["caller_phone"]

    assert row() == (WANG, "13812345678")
    quarantined = services.read_quarantine(batch)
    assert "110105195803140039" in quarantined[0].raw
    # a crash after the files moved but before the key did: the second run finds them done and finishes
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("power cut")))
    with pytest.raises(OSError):
        pseudonyms.rotate(fs, root)
    monkeypatch.setattr(os, "replace", real_replace)
    assert pseudonyms.rotate(fs, root) == len(files)
    after = {f: pq.read_table(f).to_pylist() for f in files}
    assert after != before and not (keys / "lake_key.next").exists()
    assert row() == (WANG, "13812345678")  # the same person under the new key
    assert services.read_quarantine(batch) == quarantined


def test_rotation_turns_a_lake_from_before_pseudonyms_into_pseudonyms(keys: Path, tmp_path: Path) -> None:
    """A lake landed by an earlier version holds ID numbers and phones in clear: the first `keys rotate`
    after the upgrade writes them as pseudonyms under the new key, and other text stays as it was."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    from safetynet.lake import pseudonyms

    lake = tmp_path / "lake"
    (lake / "medical_claims/batch=1").mkdir(parents=True)
    (lake / "registry/snapshot=1").mkdir(parents=True)
    claims = pa.table({"claim_id": ["C1"], "id_number": [WANG], "name": ["王建国"]})
    pq.write_table(claims, lake / "medical_claims/batch=1/part-0.parquet")
    persons = pa.table({"id_number": [WANG], "phone": ["+86 138-1234-5678"], "name": ["王建国"]})
    pq.write_table(persons, lake / "registry/snapshot=1/persons.parquet")
    assert pseudonyms.rotate(fsspec.filesystem("file"), str(lake)) == 2
    on_disk = b"".join(p.read_bytes() for p in lake.rglob("*.parquet"))
    assert WANG.encode() not in on_disk and b"13812345678" not in on_disk and b"1234-5678" not in on_disk
    landed = pq.read_table(lake / "registry/snapshot=1/persons.parquet").to_pylist()[0]
    assert pseudonyms.reveal_ids([landed["id_number"]]) == [WANG]
    assert pseudonyms.reveal_phones([landed["phone"]]) == ["13812345678"]
    assert landed["name"] == "王建国"
    claim = pq.read_table(lake / "medical_claims/batch=1/part-0.parquet").to_pylist()[0]
    assert claim["claim_id"] == "C1" and pseudonyms.reveal_ids([claim["id_number"]]) == [WANG]


@pytest.mark.django_db
def test_a_registry_snapshot_from_before_pseudonyms_is_not_reused(county, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    from safetynet.lake import services as lake
    from safetynet.registry import services as registry

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    current = lake.fresh_snapshot(registry.snapshot_tables(), registry.VERSION_SQL)
    assert lake.fresh_snapshot(registry.snapshot_tables(), registry.VERSION_SQL).pk == current.pk  # reused
    persons = pq.read_table(f"{current.path}/persons.parquet")
    clear = pa.array([WANG] * persons.num_rows, pa.string())  # as an earlier version wrote it
    pq.write_table(persons.set_column(persons.column_names.index("id_number"), "id_number", clear),
                   f"{current.path}/persons.parquet")  # fmt: skip
    assert lake.fresh_snapshot(registry.snapshot_tables(), registry.VERSION_SQL).pk != current.pk


def test_a_phone_is_one_pseudonym_however_it_was_typed(keys: Path) -> None:
    """Full-width digits (a Chinese keyboard), a country code, spaces and dashes: the same phone, the same
    pseudonym, so a hotline caller still meets the registered person."""
    import pyarrow as pa

    from safetynet.lake import pseudonyms

    typed = ["１３８１２３４５６７８", "13812345678", "+86 138-1234-5678", "8613812345678"]
    made = pseudonyms.phones(pa.array(typed, pa.string())).to_pylist()
    assert len(set(made)) == 1 and pseudonyms.reveal_phones(made[:1]) == ["13812345678"]
    assert not any(ch.isdigit() for ch in made[0])  # letters only
