"""The audit trail an auditor can work with: who signed in or failed to, who was refused, whom each read
was about (a keyed hash, never the number), entries of no region, pages and an export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from safetynet.access.models import AuditEntry
from safetynet.access.services import subject_of
from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db


def test_sign_ins_failures_refusals_and_reads_are_in_the_trail(county, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("coord", "coordinator", "371522100201")
    make_user("aud", "auditor", "371522000000")
    coordinator = Client()
    assert (
        coordinator.post("/login/", {"username": "coord", "password": "wrong-password-1"}).status_code == 200
    )
    assert (
        coordinator.post("/login/", {"username": "coord", "password": "correct-horse-battery"}).status_code
        == 302
    )
    wang = Person.objects.get(name="王建国")
    coordinator.get("/registry/search/", {"q": wang.id_number})
    assert coordinator.get("/audit/").status_code == 403  # refused, and that too is on record
    actions = list(AuditEntry.objects.filter(username="coord").values_list("action", flat=True))
    assert {"login_failed", "login", "read", "denied"} <= set(actions), actions
    search = AuditEntry.objects.get(username="coord", object_type="person_search")
    assert search.subject == subject_of(wang.id_number) and wang.id_number not in str(search.__dict__)

    auditor = Client()
    auditor.force_login(make_user("aud2", "auditor", "371522000000"))
    page = auditor.get("/audit/", {"person": wang.id_number}).content.decode()
    table = page.split('data-testid="audit"')[1]  # the form above echoes what the auditor typed
    assert "person_search" in table and wang.id_number not in table
    assert "login_failed" in auditor.get("/audit/", {"action": "login_failed"}).content.decode()  # no region
    exported = auditor.get("/audit/", {"username": "coord", "format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "时间" and len(rows) > 3 and wang.id_number not in exported.content.decode()
    assert AuditEntry.objects.filter(username="aud2", object_type="audit_trail").count() == 3


def test_the_trail_has_pages(county, make_user) -> None:  # type: ignore[no-untyped-def]
    auditor = Client()
    auditor.force_login(make_user("aud", "auditor", "371522000000"))
    AuditEntry.objects.bulk_create(
        [AuditEntry(username="x", action="read", region_code="371522100201") for _ in range(120)]
    )
    first = auditor.get("/audit/").content.decode()
    assert "第 1 页，共 3 页" in first or "page 1 of 3" in first
    third = auditor.get("/audit/", {"page": 3}).content.decode()
    assert third.count("<tr><td>") >= 20


def _entries(n: int) -> list[AuditEntry]:
    return [
        AuditEntry.objects.create(
            username=f"u{i}", role="county", action="read", object_type="household", object_id=f"H{i:03d}"
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "insert"])
def test_verify_finds_any_sealed_entry_edited_deleted_reordered_or_added(db, tamper: str) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    import time_machine
    from django.db import connection
    from typer.testing import CliRunner

    from safetynet.access import audit
    from safetynet.cli import app

    with time_machine.travel(dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)):
        entries = _entries(6)
    with time_machine.travel(dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)):
        seal = audit.seal()
        assert seal is not None and seal.entries == 6 and audit.verify() == []
        assert CliRunner().invoke(app, ["audit", "verify"]).exit_code == 0
    audit.remove_triggers(connection)  # what someone with the database's password could do
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        if tamper == "edit":
            cursor.execute(f"UPDATE {table} SET detail = 'nothing to see' WHERE id = %s", [entries[2].pk])
        elif tamper == "delete":
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entries[3].pk])
        elif tamper == "reorder":
            a, b = entries[1], entries[4]
            cursor.execute(f"UPDATE {table} SET username = %s WHERE id = %s", [b.username, a.pk])
            cursor.execute(f"UPDATE {table} SET username = %s WHERE id = %s", [a.username, b.pk])
        else:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [entries[2].pk])
            cursor.execute(
                f"INSERT INTO {table} (id, at, username, role, action, object_type, object_id, region_code, "
                "purpose, detail, subject) VALUES (%s, %s, 'ghost', '', 'read', '', '', '', '', '', '')",
                [entries[2].pk, entries[2].at],
            )
    audit.install_triggers(connection)
    broken = audit.verify()
    assert len(broken) == 1 and broken[0].last_id == entries[-1].pk, broken
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "broken=1" in result.output


def test_the_trail_refuses_update_and_delete_in_the_database(db) -> None:  # type: ignore[no-untyped-def]
    from django.db import DatabaseError, connection, transaction

    entry = _entries(1)[0]
    for sql in (
        f"UPDATE {AuditEntry._meta.db_table} SET detail = 'x' WHERE id = %s",
        f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql, [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(detail="x")
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


def test_an_archive_copies_sealed_runs_verifies_alone_and_finds_a_changed_copy(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`audit archive` copies each sealed run out (files 0600), again only what is new; the database keeps
    every entry; `audit verify --archive` checks the copy with the key alone and names a changed run."""
    import datetime as dt
    import gzip
    import json

    import time_machine
    from typer.testing import CliRunner

    from safetynet.access import audit
    from safetynet.cli import app

    folder = tmp_path / "archive"
    for hour in (9, 11):
        with time_machine.travel(dt.datetime(2026, 6, 15, hour, 0, tzinfo=dt.UTC)):
            _entries(4)
        with time_machine.travel(dt.datetime(2026, 6, 15, hour + 1, 0, tzinfo=dt.UTC)):
            result = CliRunner().invoke(app, ["audit", "archive", str(folder)])
            assert result.exit_code == 0 and "archived=1" in result.output, result.output
    assert audit.archive(folder) == 0  # nothing new
    files = sorted(folder.glob("audit-*.jsonl.gz"))
    assert len(files) == 2 and AuditEntry.objects.count() == 8
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in [*files, folder / "manifest.jsonl"])
    assert audit.verify_archive(folder) == []
    assert CliRunner().invoke(app, ["audit", "verify", "--archive", str(folder)]).exit_code == 0

    with gzip.open(files[1], "rt", encoding="utf-8") as copy:
        rows = [json.loads(line) for line in copy]
    rows[1][9] = "nothing to see"  # the detail column of one entry, changed in the copy
    with gzip.open(files[1], "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    broken = audit.verify_archive(folder)
    assert len(broken) == 1 and "改动" in broken[0].reason
    files[0].unlink()
    result = CliRunner().invoke(app, ["audit", "verify", "--archive", str(folder)])
    assert result.exit_code == 1 and "broken=2" in result.output


def test_the_trail_reads_in_words_not_codes(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    """Who, did what, to what, why: in Chinese on the page (the codes stay in the CSV and on hover)."""
    import html
    import re

    coordinator = Client()
    coordinator.force_login(make_user("coord", "coordinator", "371522100201"))
    from safetynet.leads.models import Lead

    lead = Lead.objects.order_by("id").first()
    coordinator.get(f"/leads/{lead.pk}/")
    coordinator.get("/cases/inbox/")
    coordinator.get("/audit/")  # refused: a denial, also in words
    auditor = Client()
    auditor.force_login(make_user("aud", "auditor", "371522000000"))
    table = auditor.get("/audit/").content.decode().split('data-testid="audit"')[1].split("</table>")[0]
    cells = []
    for row in re.findall(r"(?s)<tr>(.*?)</tr>", table):
        tds = re.findall(r"(?s)<td[^>]*>(.*?)</td>", row)
        cells += tds[1:5]  # user (role), action, object, purpose; the detail column is free text
    text = html.unescape(re.sub(r"<[^>]+>", " ", " ".join(cells)))
    codes = set(re.findall(r"(?<![A-Za-z0-9_.@:-])[a-z_]{4,}(?![A-Za-z0-9_])", text)) - {"coord", "aud"}
    assert not codes, codes
    assert "查阅" in text and "拒绝访问" in text and "村（社区）协理员" in text and "待办" in text
