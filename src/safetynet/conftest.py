"""Fixtures shared by every app: a small imported county and one user per role."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine

from safetynet import testing


def pytest_configure() -> None:
    from django.conf import settings
    from django.db import connections

    # Tests sign accounts in with force_login: the second factor has tests of its own (test_second_factor).
    settings.SAFETYNET_SECOND_FACTOR_ROLES = ()
    # Still Argon2 (the hash says so, and a server process reads its parameters from the hash), at a cost
    # of half a millisecond instead of 150: the suite makes and signs in over a thousand accounts.
    settings.PASSWORD_HASHERS = ["safetynet.testing.QuickArgon2PasswordHasher"]
    # Jobs run inside the request or command that asks for them, through the same claim and record as on
    # the worker; the worker itself is tested in processes of its own (jobs/tests/test_worker.py).
    settings.SAFETYNET_JOBS_INLINE = True
    # Live-server threads must not keep connections open, or PostgreSQL cannot drop the test database.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    connections.settings["default"]["CONN_MAX_AGE"] = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole suite, the service's own log file: every line JSON, none holding a whole ID number or
    mobile number (whatever the tests threw at the server). A failure fails the run, naming only lines."""
    import json
    import re

    from django.conf import settings

    whole = re.compile(r"(?<![0-9])(\d{17}[\dXx]|1[3-9]\d{9})(?![0-9])")
    bad = []
    for log in sorted((Path(settings.DATA_DIR) / "logs").glob("safetynet.log*")):
        for number, line in enumerate(log.read_text(encoding="utf-8").split("\n"), 1):
            if not line:
                continue
            try:
                json.loads(line)
            except ValueError:
                bad.append(f"{log.name}:{number} is not JSON")
            if whole.search(line):
                bad.append(f"{log.name}:{number} holds a whole ID number or phone")
    if bad:
        session.config.get_terminal_writer().line("log scan failed: " + "; ".join(bad[:20]), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    """The clock at testing.FROZEN_NOW, ticking from there: for tests that compute dates (deadlines in
    working days, windows, ages), so none depends on the day it runs or on a holiday calendar not yet
    published. Processes the test starts keep the real clock, so tests that run the CLI do not use it."""
    with time_machine.travel(testing.FROZEN_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _audit_triggers_let_the_test_database_be_emptied(request):  # type: ignore[no-untyped-def]
    """The audit tables refuse DELETE (migration access 0006). PostgreSQL empties a transactional test's
    database with TRUNCATE, which the triggers allow; SQLite with DELETE, which they refuse: for such a
    test on SQLite the triggers are lifted while the database is emptied and restored before the next."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so emptied after this fixture ends
    from django.db import connection

    from safetynet.access import audit

    if connection.vendor != "sqlite":
        yield
        return
    audit.install_triggers(connection)  # a previous test lifted them
    yield
    audit.remove_triggers(connection)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache (region statistics are cached per import)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def county_dir(tmp_path: Path) -> Path:
    testing.write_county(tmp_path / "county")
    return tmp_path / "county"


@pytest.fixture
def county(db, county_dir: Path):  # type: ignore[no-untyped-def]
    from safetynet.registry import services

    result = services.import_registry(county_dir)
    assert not result.errors, result.errors
    return result


@pytest.fixture
def household_facts(county, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The small county's household facts, computed by a live run exactly as every page reads them.
    The run's warnings stay warnings (not leads), so a test starts with no case open."""
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    return testing.compute_facts()


@pytest.fixture
def make_user(db):  # type: ignore[no-untyped-def]
    from safetynet.access.services import create_user

    def make(username: str, role: str, region_code: str):  # type: ignore[no-untyped-def]
        return create_user(username, "correct-horse-battery", role, region_code)

    return make


@pytest.fixture
def chromium():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium through Playwright. Do database work in fixtures listed before this one:
    Playwright's greenlets would open a second connection the test database cannot drop."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls here stay synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    testing.ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=testing.CHROMIUM, headless=True, args=testing.CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def screen_small_county(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Screen the imported small county today: H001 (东王村) is warned for a child without a guardian,
    H002 (西李村) for a village-wide disaster. Returns the live run that raised them."""
    import datetime as dt

    from safetynet.lake import services as lake
    from safetynet.registry import services as registry
    from safetynet.screening import services as screening

    day = (dt.date.today() - dt.timedelta(days=5)).isoformat()
    disasters = testing.write_csv(
        tmp_path / "disasters.csv",
        ["event_id", "event_name", "id_number", "region_code", "occurred_on", "loss_level", "house_damaged"],
        [["ZH-T-001", "暴雨", "", "371522100202", day, "severe", "true"]],
    )
    assert lake.ingest("disasters", disasters).accepted == 1
    lake.snapshot_registry(registry.snapshot_tables())
    run = screening.screen()
    assert {w.household_id for w in run.warnings.all()} >= {"H001", "H002"}, list(run.warnings.values())
    return run


@pytest.fixture
def screened_county(county, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings.SAFETYNET_LAKE_URL = str(tmp_path / "lake")
    return screen_small_county(tmp_path)
