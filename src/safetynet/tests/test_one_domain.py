"""One set of household facts, fresh inputs and case events, across apps, as a county would meet them.

The small county's H001 (东王村): 王建国 (68, 800 a month), 李秀英 (65, 300) and their granddaughter
王小红 (13): 1,100 a month, 366.67 per person against a rural dibao standard of 780 (low-income line
1,170). Every figure below is worked out by hand from those rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from typer.testing import CliRunner

from safetynet import testing
from safetynet.access.services import Actor
from safetynet.cli import app
from safetynet.lake import services as lake
from safetynet.lake.models import RegistrySnapshot
from safetynet.registry.models import Person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
TODAY = testing.FROZEN_NOW.date()
CLAIMS = ["claim_id", "id_number", "name", "settle_date", "inpatient", "total_cost", "fund_paid",
          "out_of_pocket", "diagnosis_code", "serious_illness"]  # fmt: skip


def _claims(tmp_path: Path, wang: Person) -> Path:
    day = (TODAY - dt.timedelta(days=40)).isoformat()
    rows = [["C-1", wang.id_number, wang.name, day, "true", "60000", "40000", "20000", "I21.9", "false"]]
    return testing.write_csv(tmp_path / "claims.csv", CLAIMS, rows)


def _pension(tmp_path: Path, wang: Person, amount: str) -> Path:
    rows = [[wang.id_number, amount, (TODAY - dt.timedelta(days=10)).isoformat()]]
    return testing.write_csv(tmp_path / f"pension-{amount}.csv", ["id_number", "monthly_amount", "as_of"], rows)


def _medical_warning(run_id: int):  # type: ignore[no-untyped-def]
    from safetynet.screening.models import RiskWarning

    return RiskWarning.objects.get(run_id=run_id, household_id="H001", rule_id="medical_burden")


def _everyone_sees(make_user, monthly: str, per_capita: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the household page, the API, the policy matcher and a campaign say of H001's income."""
    from safetynet.campaigns import services as campaigns
    from safetynet.policies import services as policies

    town = make_user(f"town{monthly}", "township", "371522100000")
    client = Client()
    client.force_login(town)
    page = client.get("/registry/households/H001/").content.decode()
    assert f'data-testid="monthly-income">{monthly}<' in page and f'data-testid="per-capita">{per_capita}<' in page
    api = client.get("/api/registry/households/H001").json()
    assert (api["monthly_income"], api["per_capita_income"]) == (monthly, per_capita)
    facts = policies.household_facts("H001").values
    assert str(facts["per_capita_income"]) == per_capita
    actor = Actor(town, "test")
    chosen = campaigns.declare(
        actor,
        name=f"排查{monthly}",
        kind="other",
        region_codes=["371522100000"],
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=7),
        target_groups=["low_income", "dibao_edge"],
    ).tasks.filter(household_id="H001").values_list("groups", flat=True)
    return {"policies": {m.code: m.why for m in policies.matching(actor, "H001")}, "groups": list(chosen)}


def test_a_pension_changes_the_warning_the_household_page_the_policies_and_campaigns_alike(
    household_facts, make_user, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from safetynet.policies import services as policies

    policies.seed_catalog("371522", by="test")
    wang = Person.objects.get(name="王建国")
    assert lake.ingest("medical_claims", _claims(tmp_path, wang)).accepted == 1
    run = testing.compute_facts()
    warning = _medical_warning(run.pk)
    assert warning.values["h.annual_income"] == "13200.00" and "13,200.00" in warning.explanation
    before = _everyone_sees(make_user, "1100.00", "366.67")
    assert "366.67" in before["policies"]["dibao"]  # type: ignore[index]
    assert before["groups"] == ["low_income"]  # below dibao itself: not the edge

    # 人社 reports a pension of 1,000 a month: 2,100 for three, 700 each — still below dibao.
    assert lake.ingest("pensions", _pension(tmp_path, wang, "1000")).accepted == 1
    run = testing.compute_facts()
    warning = _medical_warning(run.pk)
    assert warning.values["h.annual_income"] == "25200.00" and "25,200.00" in warning.explanation
    after = _everyone_sees(make_user, "2100.00", "700.00")
    assert "700" in after["policies"]["dibao"] and "366.67" not in after["policies"]["dibao"]  # type: ignore[index]

    # A pension of 2,000: 3,100 for three, 1,033.33 each — above dibao, below the line: the edge.
    assert lake.ingest("pensions", _pension(tmp_path, wang, "2000")).accepted == 1
    testing.compute_facts()
    edge = _everyone_sees(make_user, "3100.00", "1033.33")
    assert "dibao" not in edge["policies"] and edge["groups"] == ["low_income,dibao_edge"]


def test_a_verification_visit_counts_at_once_and_says_so(household_facts, make_user) -> None:  # type: ignore[no-untyped-def]
    from safetynet.cases import workflow
    from safetynet.cases.services import open_case_for
    from safetynet.registry import services as registry

    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    visit = {
        "visited_on": TODAY.isoformat(),
        "hardship": True,
        "situation": "户主务农收入减少",
        "monthly_income": "450",
        "monthly_expense": "0",
        "wants_help": True,
    }
    workflow.act(town, case.pk, case.version, "verify", visit)
    facts = registry.household_facts("H001")
    assert facts is not None and facts.verified_after_run
    assert (facts.monthly_income, facts.per_capita_income) == (Decimal("450.00"), Decimal("150.00"))
    assert "实地核实" in facts.source
    _everyone_sees(make_user, "450.00", "150.00")
    # The next run computes the same from the visit: the run's own figures now agree.
    testing.compute_facts()
    facts = registry.household_facts("H001")
    assert facts is not None and not facts.verified_after_run and facts.row.verified_income
    assert (facts.row.monthly_income, facts.row.per_capita_income) == (Decimal("450.00"), Decimal("150.00"))


def test_import_ingest_screen_on_a_fresh_data_folder_and_a_decision_counts_tonight(
    db, settings, tmp_path: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    """The contract's sequence with no snapshot command; a dibao decided after a run is seen by the next."""
    from safetynet.cases import workflow
    from safetynet.cases.services import open_case_for
    from safetynet.registry import services as registry

    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    runner = CliRunner()
    testing.write_county(tmp_path / "county")
    assert runner.invoke(app, ["registry", "import", str(tmp_path / "county")]).exit_code == 0
    wang = Person.objects.get(name="王建国")
    ingested = runner.invoke(app, ["ingest", "medical_claims", str(_claims(tmp_path, wang))])
    assert ingested.exit_code == 0, ingested.output
    first = runner.invoke(app, ["screen"])
    assert first.exit_code == 0, first.output
    assert RegistrySnapshot.objects.count() == 1
    facts = registry.household_facts("H001")
    assert facts is not None and not facts.covered
    assert "medical_burden" in first.output

    again = runner.invoke(app, ["screen"])  # nothing changed: the snapshot is reused
    assert again.exit_code == 0 and RegistrySnapshot.objects.count() == 1

    # Approved this morning, by a township review and the county's confirmation.
    case, _ = open_case_for("H001", "371522100201")
    town = Actor(make_user("town", "township", "371522100000"), "test")
    county = Actor(make_user("county", "county", "371522000000"), "test")
    visit = {"visited_on": TODAY.isoformat(), "hardship": True, "situation": "核实", "monthly_income": "1100",
             "monthly_expense": "0", "wants_help": True}  # fmt: skip
    case = workflow.act(town, case.pk, case.version, "verify", visit)
    case = workflow.act(town, case.pk, case.version, "inform", {"policies": "低保"})
    case = workflow.act(town, case.pk, case.version, "apply", {"program": "dibao"})
    case = workflow.act(town, case.pk, case.version, "review", {"approved": True, "monthly_amount": "1240"})
    case = workflow.act(county, case.pk, case.version, "decide", {"approved": True, "monthly_amount": "1240"})

    tonight = runner.invoke(app, ["screen"])
    assert tonight.exit_code == 0, tonight.output
    assert RegistrySnapshot.objects.count() == 2  # the registry changed: the run took a snapshot itself
    facts = registry.household_facts("H001")
    assert facts is not None and facts.covered and "dibao" in facts.programs
    from safetynet.screening.models import RiskWarning, Run

    newest = Run.objects.order_by("-id").first()
    assert newest is not None
    assert not RiskWarning.objects.filter(run=newest, household_id="H001", rule_id="medical_burden").exists()


def test_a_verification_marks_the_warnings_and_the_leads_follow_the_case(screened_county, make_user) -> None:  # type: ignore[no-untyped-def]
    """Screening, leads and cases never call each other in a circle: the case publishes its steps."""
    from safetynet.cases import workflow
    from safetynet.leads.models import Lead
    from safetynet.screening.models import RiskWarning

    warning = RiskWarning.objects.filter(household_id="H001", status="open").first()
    assert warning is not None and warning.case_id is not None
    lead = Lead.objects.get(source_ref=f"warning:{warning.pk}")
    assert lead.case_id == warning.case_id and lead.status == "received"
    town = Actor(make_user("town", "township", "371522100000"), "test")
    from safetynet.cases.models import Case

    case = Case.objects.get(pk=warning.case_id)
    visit = {"visited_on": TODAY.isoformat(), "hardship": False, "situation": "外出务工，收入稳定",
             "monthly_income": "5000", "monthly_expense": "0", "wants_help": False}  # fmt: skip
    case = workflow.act(town, case.pk, case.version, "verify", visit)
    assert case.status == "closed" and case.outcome == "unfounded"
    warning.refresh_from_db()
    lead.refresh_from_db()
    assert warning.status == "unfounded" and warning.outcome_at is not None and warning.outcome_by == "town"
    assert lead.status == "no_hardship"
