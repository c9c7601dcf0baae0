"""Odd input gets a 4xx with a reason, never a 500; caps hold under concurrency; each payment is a record."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.test import Client

from safetynet import testing
from safetynet.access.services import Actor

pytestmark = [pytest.mark.usefixtures("clock")]
TODAY = testing.FROZEN_NOW.date()


def _client(make_user, role: str, region: str) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user(role, role, region))
    client.get("/")
    return client, client.cookies["csrftoken"].value


def _post(client: Client, token: str, url: str, raw: str) -> object:
    return client.post(url, raw, content_type="application/json", headers={"X-CSRFToken": token})


@pytest.mark.django_db
def test_broken_text_and_deep_nesting_are_refused_with_a_reason(county, make_user) -> None:  # type: ignore[no-untyped-def]
    hotline, token = _client(make_user, "hotline", "371522000000")
    lone_surrogate = '{"channel": "hotline", "summary": "求助", "name": "王\\ud800"}'
    answer = _post(hotline, token, "/api/leads", lone_surrogate)
    assert answer.status_code == 400 and "Unicode" in answer.json()["message"]  # type: ignore[attr-defined]
    deep = "[" * 50_000 + "]" * 50_000
    answer = _post(hotline, token, "/api/leads", deep)
    assert answer.status_code == 400 and "嵌套" in answer.json()["message"]  # type: ignore[attr-defined]
    from safetynet.leads.models import Lead

    assert not Lead.objects.exists()


@pytest.mark.django_db
def test_a_feed_line_nested_50000_deep_or_with_a_lone_surrogate_is_quarantined(tmp_path: Path) -> None:
    from safetynet.lake import services

    good = {"id_number": testing.make_id_number(testing.FROZEN_NOW.date().replace(year=1950), 1, True),
            "monthly_amount": "1200", "as_of": "2026-05-01"}  # fmt: skip
    path = tmp_path / "pensions.jsonl"
    path.write_text(
        json.dumps(good) + "\n" + '{"id_number": ' + "[" * 50_000 + "]" * 50_000 + "}\n"
        '{"id_number": "\\ud800", "monthly_amount": "1", "as_of": "2026-05-01"}\n',
        encoding="utf-8",
    )
    result = services.ingest("pensions", path)
    assert (result.accepted, result.rejected) == (1, 2), result


@pytest.mark.django_db
def test_screening_refuses_impossible_dates_and_a_missing_engine(
    county, make_user, monkeypatch, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    staff, token = _client(make_user, "county", "371522000000")
    early = _post(staff, token, "/api/screening/runs", json.dumps({"as_of": "0001-01-01"}))
    assert early.status_code == 409 and "早于" in early.json()["message"]  # type: ignore[attr-defined]
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    spark = _post(staff, token, "/api/screening/runs", json.dumps({"engine": "spark"}))
    assert spark.status_code == 409 and "Spark" in spark.json()["message"]  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_three_temporary_payments_on_one_day_are_three_records(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.cases import workflow
    from safetynet.cases.services import open_case_for
    from safetynet.registry.models import Assistance

    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    other = Actor(make_user("town2", "township", "371522100000"), "test")
    for amount in ("500", "500", "800"):
        case = workflow.act(town, case.pk, case.version, "grant_first", {"amount": amount, "reason": "急难"})
        case = workflow.act(other, case.pk, case.version, "complete_paperwork", {"reason": "已补齐"})
    paid = Assistance.objects.filter(household_id="H001", program="temporary", start_date=TODAY)
    assert sorted(str(a.monthly_amount) for a in paid) == ["500.00", "500.00", "800.00"]
    steps = case.steps.filter(action="grant_first").order_by("id")
    assert "repeat" not in steps[0].data and "已获临时救助 2 次" in steps[2].data["repeat"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_photo_uploads_hold_the_cap(county, make_user, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from django.db import connections

    from safetynet.cases import photos, workflow
    from safetynet.cases.models import Photo
    from safetynet.cases.services import open_case_for

    settings.DATA_DIR = tmp_path
    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    visit = {"visited_on": TODAY.isoformat(), "hardship": True, "situation": "核实", "monthly_income": "600",
             "monthly_expense": "0", "wants_help": True}  # fmt: skip
    workflow.act(town, case.pk, case.version, "verify", visit)
    png = testing.picture("PNG")
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def upload() -> None:
        barrier.wait()
        try:
            photos.attach(town, case.pk, [png] * 5)
            outcomes.append("saved")
        except workflow.StepRejected as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("saved") == 4 and Photo.objects.filter(case=case).count() == 20, outcomes
    assert len(list((tmp_path / "photos" / str(case.pk)).glob("*"))) == 20  # no file without its row


@pytest.mark.django_db
def test_an_idempotency_key_makes_a_retried_write_happen_once(county, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.leads.models import Lead

    hotline, token = _client(make_user, "hotline", "371522000000")
    body = json.dumps(
        {"channel": "hotline", "summary": "老人无人照料", "name": "王建国", "phone": "13812345678"}
    )

    def send(raw: str, key: str):  # type: ignore[no-untyped-def]
        return hotline.post(
            "/api/leads",
            raw,
            content_type="application/json",
            headers={"X-CSRFToken": token, "Idempotency-Key": key},
        )

    first, again = send(body, "call-0042"), send(body, "call-0042")
    assert first.status_code == 201 and again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and Lead.objects.count() == 1
    other = send(json.dumps({**json.loads(body), "summary": "孩子无人照料"}), "call-0042")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert send(body, "call-0043").status_code == 201 and Lead.objects.count() == 2  # a new key: a new lead


@pytest.mark.django_db(transaction=True)
def test_keyed_twins_sent_at_once_do_the_work_once(county, make_user) -> None:  # type: ignore[no-untyped-def]
    """The key, the lead and the answer commit together: a twin waits for the first and replays it."""
    from django.db import connections

    from safetynet.leads.models import Lead

    user = make_user("hotline", "hotline", "371522000000")
    body = json.dumps({"channel": "hotline", "summary": "独居老人摔倒", "name": "赵桂兰"})
    answers: list[object] = []
    barrier = threading.Barrier(4)
    first = Client()
    first.force_login(user)  # one session shared by the twins: an account holds at most three sessions

    def send() -> None:
        client = Client()
        client.cookies = first.cookies
        barrier.wait()
        try:
            answers.append(
                client.post("/api/leads", body, content_type="application/json", headers={"Idempotency-Key": "t-1"})
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 4  # type: ignore[attr-defined]
    assert sum(a.get("Idempotent-Replayed") == "true" for a in answers) == 3  # type: ignore[attr-defined]
    assert len({a.content for a in answers}) == 1 and Lead.objects.count() == 1  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_keyed_write_that_fails_undoes_its_work_and_the_retry_does_it(county, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A 5xx (here: the answer cannot be built after the lead was saved) leaves no lead and no key behind,
    so the client's retry with the same key is done once, as if the first had never arrived."""
    from safetynet.access.models import IdempotentRequest
    from safetynet.leads import services
    from safetynet.leads.models import Lead

    client = Client(raise_request_exception=False)
    client.force_login(make_user("hotline", "hotline", "371522000000"))
    body = json.dumps({"channel": "hotline", "summary": "独居老人摔倒", "name": "赵桂兰"})

    def send():  # type: ignore[no-untyped-def]
        return client.post("/api/leads", body, content_type="application/json", headers={"Idempotency-Key": "f-1"})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk holding the answer failed")

    with monkeypatch.context() as patched:
        patched.setattr(services, "my_leads", broken)
        assert send().status_code == 500
    assert Lead.objects.count() == 0 and IdempotentRequest.objects.count() == 0
    retry = send()
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry and Lead.objects.count() == 1
