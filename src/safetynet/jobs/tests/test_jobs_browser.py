"""What a county officer sees, on the service as a bureau runs it (`safetynet serve` with its worker): a
data-comparison run started from the page answers at once with a moving progress bar, and the page goes on
to the run when the worker is done."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from safetynet import testing
from safetynet.tests.test_faults import PASSWORD, SAFETYNET, env_for, prepare, rows, served

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_run_started_from_the_page_shows_its_progress_and_then_the_run(tmp_path: Path, chromium) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    env = env_for(data)
    subprocess.run([SAFETYNET, "manage", "migrate", "-v", "0"], env=env, check=True)
    prepare(data, env, households=7_000)
    with served(env, tmp_path / "server.log") as (_, url):
        page = chromium.new_page(locale="zh-CN")
        page.goto(f"{url}/login/")
        page.fill("input[name=username]", "county")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{url}/screening/")
        started = time.monotonic()
        page.click("[data-testid=start]")
        page.wait_for_url(re.compile(r"/jobs/\d+/\?then=result$"))
        answered = time.monotonic() - started
        assert answered < 3, answered  # the request queued the run; it did not run it
        bar = page.locator("[data-testid=job-progress]")
        assert bar.is_visible()
        seen = set()
        deadline = time.monotonic() + 300
        while "/screening/runs/" not in page.url:
            assert time.monotonic() < deadline, page.content()[-2000:]
            if "/jobs/" in page.url:
                try:
                    seen.add(int(bar.get_attribute("value", timeout=1000) or 0))
                    if len(seen) == 2:
                        page.screenshot(path=str(testing.ARTIFACTS / "job-progress.png"), full_page=True)
                except Exception:  # noqa: BLE001, S110 - the page moved on to the run between two reads
                    pass
            time.sleep(0.2)
        assert len(seen) >= 2 and max(seen) > 0, seen  # the bar moved while the worker ran
        page.wait_for_selector("[data-testid=runs], table")
        page.screenshot(path=str(testing.ARTIFACTS / "job-done-run.png"), full_page=True)
    assert rows(env, "SELECT status, started_by FROM screening_run") == [("done", "county")]
    assert rows(env, "SELECT status, attempts FROM jobs_job") == [("done", 1)]
