"""Village aliases: the county's table of names people use for villages (张家庄 for 张庄村), kept on the
settings page or loaded from a file, read by the address resolver, scoped to the county, audited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from safetynet import testing
from safetynet.access.models import AuditEntry
from safetynet.linkage import services
from safetynet.linkage.address import AddressResolver
from safetynet.linkage.models import VillageAlias

pytestmark = pytest.mark.django_db
EAST = "371522100201"  # 燕店镇东王村
WEST = "371522100202"  # 燕店镇西李村


def login(make_user, role: str, region: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user(f"{role}-{region}", role, region))
    return client


def test_an_alias_is_read_as_its_village(county, make_user) -> None:  # type: ignore[no-untyped-def]
    assert AddressResolver.cached().resolve("燕店镇王家湾") is not None  # only the township: not the village
    assert AddressResolver.cached().resolve("燕店镇王家湾").level == "township"  # type: ignore[union-attr]
    admin = login(make_user, "county_admin", "371522000000")
    saved = admin.post("/linkage/settings/", {"alias": "王家湾", "village": EAST}, follow=True)
    assert "王家湾" in saved.content.decode() and "东王村" in saved.content.decode()
    place = AddressResolver.cached().resolve("燕店镇王家湾卫生室后面")
    assert place is not None and (place.code, place.level) == (EAST, "village")
    assert AuditEntry.objects.filter(action="add", object_type="village_alias").exists()
    # the alias and its village are shown to whoever keeps the table; removing it takes it out of reading
    alias = VillageAlias.objects.get()
    admin.post("/linkage/settings/", {"remove_alias": str(alias.pk)})
    assert not VillageAlias.objects.exists()
    assert AddressResolver.cached().resolve("燕店镇王家湾").level == "township"  # type: ignore[union-attr]


def test_bad_and_hostile_aliases_are_refused_with_a_reason(county, make_user) -> None:  # type: ignore[no-untyped-def]
    admin = login(make_user, "county_admin", "371522000000")
    for alias, village in (
        ("王", EAST),  # one character matches too much
        ("<script>x</script>", EAST),
        ("'; DROP TABLE linkage_villagealias; --", EAST),
        ("王家湾", "371522100000"),  # a township, not a village
        ("王家湾", "370102001001"),  # not of this county
        ("王家湾", "x" * 5000),
        ("王" * 31, EAST),
    ):
        page = admin.post("/linkage/settings/", {"alias": alias, "village": village}, follow=True).content.decode()
        assert "别名" in page or "不是本县的村" in page, (alias, village)
    assert not VillageAlias.objects.exists()
    assert admin.post("/linkage/settings/", {"remove_alias": "99999"}, follow=True).status_code == 200
    assert admin.post("/linkage/settings/", {"remove_alias": "１"}, follow=True).status_code == 200
    # full-width letters are read as they are meant (NFKC), as everywhere else
    admin.post("/linkage/settings/", {"alias": "王家湾２", "village": EAST})
    assert VillageAlias.objects.get().alias == "王家湾2"


def test_only_the_county_administrator_keeps_the_table(county, make_user) -> None:  # type: ignore[no-untyped-def]
    services_alias = VillageAlias.objects.create(alias="王家湾", region_code=EAST)
    for role, region in (("county", "371522000000"), ("township", "371522100000"), ("coordinator", EAST)):
        client = login(make_user, role, region)
        assert client.post("/linkage/settings/", {"alias": "西李庄", "village": WEST}).status_code == 403
        assert client.post("/linkage/settings/", {"remove_alias": str(services_alias.pk)}).status_code == 403
    assert list(VillageAlias.objects.values_list("alias", flat=True)) == ["王家湾"]


def test_the_whole_table_loads_from_a_file_all_or_nothing(county, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = testing.write_csv(tmp_path / "aliases.csv", ["alias", "region_code"], [["王家湾", EAST], ["李家洼", WEST]])
    assert services.replace_aliases([("王家湾", EAST), ("李家洼", WEST)]) == 2
    with pytest.raises(ValueError, match="第 3 行"):
        services.replace_aliases([("张庄", EAST), ("坏", WEST)])
    assert sorted(VillageAlias.objects.values_list("alias", flat=True)) == ["李家洼", "王家湾"]  # unchanged
    assert good.exists()


def test_the_aliases_command_reports_a_bad_file_and_changes_nothing(tmp_path: Path) -> None:
    import os

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    env.update(SAFETYNET_DATA_DIR=str(data), SAFETYNET_DATABASE_URL=f"sqlite:///{data}/db.sqlite3")
    safetynet = str(Path(sys.executable).parent / "safetynet")
    testing.write_county(tmp_path / "county")
    subprocess.run([safetynet, "registry", "import", str(tmp_path / "county")], env=env, check=True, capture_output=True)
    good = tmp_path / "aliases.csv"
    good.write_bytes("alias,region_code\n王家湾,371522100201\n".encode("gbk"))  # from an old system: GBK
    done = subprocess.run([safetynet, "linkage", "aliases", str(good)], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "aliases: 1" in done.stdout, done.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("alias,region_code\n王家湾,371522100201,extra\n", encoding="utf-8")
    done = subprocess.run([safetynet, "linkage", "aliases", str(bad)], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "列数" in done.stderr
    missing = subprocess.run(
        [safetynet, "linkage", "aliases", str(tmp_path / "nope.csv")], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "不存在" in missing.stderr


def _confirmed(n: int, text: str, person_name: str = "王建国") -> None:
    from safetynet.linkage.models import Review
    from safetynet.registry.models import Person

    person = Person.objects.get(name=person_name)
    for i in range(n):
        Review.objects.create(
            source="hotline", source_ref=f"{text}:{i}:{Review.objects.count()}", fingerprint="f",
            record={"name": person.name, "address_text": text}, candidates=[{"id_number": person.id_number}],
            region_code=person.household.region_code, status=Review.Status.CONFIRMED, id_number=person.id_number,
        )  # fmt: skip


def test_aliases_are_suggested_from_confirmed_matches_and_added_by_the_administrator(county, make_user) -> None:  # type: ignore[no-untyped-def]
    _confirmed(2, "燕店镇王家湾西头")  # twice: staff confirmed 东王村 people for "王家湾"
    _confirmed(1, "李家洼12组")  # once: not yet a pattern
    _confirmed(3, "东王村卫生室后面")  # the registered name: nothing to learn
    admin = login(make_user, "county_admin", "371522000000")
    page = admin.get("/linkage/settings/").content.decode()
    assert "王家湾" in page and "李家洼" not in page
    table = page.split('data-testid="alias-suggestions"', 1)[1].split("</table>", 1)[0]
    assert "东王村" in table and ">2<" in table and "卫生室" not in table
    admin.post("/linkage/settings/", {"alias": "王家湾", "village": EAST})  # the suggestion's button
    assert VillageAlias.objects.filter(alias="王家湾", region_code=EAST).exists()
    assert 'data-testid="alias-suggestions"' not in admin.get("/linkage/settings/").content.decode()
    place = AddressResolver.cached().resolve("燕店镇王家湾西头")
    assert place is not None and place.code == EAST
