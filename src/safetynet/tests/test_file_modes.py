"""What the service writes to disk is its own: the lake's Parquet, quarantine, photos, the audit archive and
an export are readable by the service account only (files 0600, folders 0700), whatever the shell's umask."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.access.services import Actor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_files_and_folders_written_are_the_service_accounts_alone(
    county, make_user, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.access import audit
    from safetynet.cases import photos, workflow
    from safetynet.cases.services import open_case_for
    from safetynet.lake import services as lake
    from safetynet.screening import services as screening

    settings.DATA_DIR = tmp_path / "data"
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "data" / "lake")
    wang = testing.make_id_number(dt.date(1958, 3, 14), 1, True)
    claims = testing.write_csv(
        tmp_path / "claims.csv",
        ["claim_id", "id_number", "settle_date", "out_of_pocket"],
        [["C1", wang, "2026-05-01", "10"], ["C2", "bad", "2026-05-01", "10"]],
    )
    assert lake.ingest("medical_claims", claims).rejected == 1  # a data part and a quarantine part

    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    visit = {"visited_on": dt.date.today().isoformat(), "hardship": True, "situation": "核实",
             "monthly_income": "600", "monthly_expense": "0", "wants_help": True}  # fmt: skip
    workflow.act(town, case.pk, case.version, "verify", visit)
    photos.attach(town, case.pk, [testing.picture("JPEG", gps=True)])
    screening.export_warnings(tmp_path / "data" / "warnings.csv")
    audit.archive(tmp_path / "data" / "audit-archive")

    modes = _modes(tmp_path / "data")
    files = {p: m for p, m in modes.items() if (tmp_path / "data" / p).is_file()}
    folders = {p: m for p, m in modes.items() if (tmp_path / "data" / p).is_dir()}
    assert any(p.endswith(".parquet") and "_quarantine" not in p for p in files), files
    assert any("_quarantine" in p for p in files) and any(p.startswith("photos") for p in files), files
    assert {p: oct(m) for p, m in files.items() if m & 0o077} == {}  # nothing for group or others
    assert {p: oct(m) for p, m in folders.items() if m & 0o077} == {}


def test_visit_photos_are_encrypted_at_rest_and_a_moved_one_does_not_open(
    county, make_user, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from safetynet.access import encryption
    from safetynet.cases import photos, workflow
    from safetynet.cases.services import open_case_for

    settings.DATA_DIR = tmp_path
    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    visit = {"visited_on": dt.date.today().isoformat(), "hardship": True, "situation": "核实",
             "monthly_income": "600", "monthly_expense": "0", "wants_help": True}  # fmt: skip
    workflow.act(town, case.pk, case.version, "verify", visit)
    first, second = photos.attach(
        town, case.pk, [testing.picture("PNG"), testing.picture("JPEG", size=(80, 60))]
    )
    stored = (tmp_path / first.path).read_bytes()
    assert stored.startswith(encryption.MAGIC) and b"PNG" not in stored[:64] and b"IHDR" not in stored
    shown = photos.read(town, case.pk, first.pk)
    assert shown is not None and shown.content.startswith(b"\x89PNG")  # what was kept after re-encoding

    client = Client()
    client.force_login(town.user)
    assert client.get(f"/cases/{case.pk}/photos/{first.pk}/").content.startswith(b"\x89PNG")
    # One photo's file copied over another's: it refuses to open instead of showing the wrong picture.
    (tmp_path / second.path).write_bytes(stored)
    refused = client.get(f"/cases/{case.pk}/photos/{second.pk}/")
    assert refused.status_code == 409 and "照片无法打开" in refused.content.decode()


def test_keys_can_live_apart_from_the_data_folder(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safetynet import conf

    monkeypatch.setenv("SAFETYNET_KEYS_DIR", str(tmp_path / "vault" / "keys"))
    value = conf.secret("file_key_test")
    kept = tmp_path / "vault" / "keys" / "file_key_test"
    assert kept.read_text().strip() == value and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not (conf.data_dir() / "keys" / "file_key_test").exists()
    assert conf.secret("file_key_test") == value  # read back, not made again
