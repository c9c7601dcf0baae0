"""Locust users for benchmarks/leads.py: signed-in clerks of each role.

Not run by hand: benchmarks/leads.py writes the plan (accounts with the session cookies it got by signing
in through the login page, case ids and lead payloads in each account's region, the mix, the think time) to a JSON file named by LEADS_BENCH_PLAN, runs locust headless
on this file, and reads back the raw samples this file writes at the end (every request's name, start
time, milliseconds and success; every posted lead's token and id). Percentiles are computed from those
raw samples, not from locust's rounded histogram.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant, events

PLAN: dict[str, Any] = json.loads(Path(os.environ["LEADS_BENCH_PLAN"]).read_text(encoding="utf-8"))
ACCOUNTS = {role: itertools.cycle(found) for role, found in PLAN["accounts"].items() if found}
STATE: dict[str, Any] = {"spawned_at": None, "stopping_at": None}
SAMPLES: list[tuple[str, float, float, bool, str]] = []  # name, start (epoch s), ms, ok, error
POSTED: list[dict[str, Any]] = []  # one per lead POST sent: token, status, lead_id
SEQUENCE = itertools.count(1)
# Pages served that must have written a `read` audit entry: a case page, an inbox showing anything.
AUDITED = {"reads": 0}

# What people tell the hotline or a township worker (the hardship as reported, one line).
SUMMARIES = (
    "独居老人，腿脚不便，家中无人照料，近期生活困难",
    "丈夫因病去世，两个孩子上学，家庭收入骤减",
    "突发重病住院，自付医疗费用高，家里已借不到钱",
    "房屋漏雨，墙体开裂，冬季取暖困难",
    "失业半年，没有收入来源，房租已拖欠两个月",
    "重度残疾，靠父母照顾，父母年迈也无劳动能力",
    "遭遇车祸，主要劳动力无法工作，急需临时救助",
    "子女外出务工后失联，老人独自在家，吃饭成问题",
)


@events.request.add_listener
def _sample(
    name: str, response_time: float, exception: Any, start_time: float | None = None, **_: Any
) -> None:
    SAMPLES.append(
        (
            name,
            start_time or time.time(),
            response_time,
            exception is None,
            "" if exception is None else str(exception)[:200],
        )
    )


@events.spawning_complete.add_listener
def _spawned(**_: Any) -> None:
    STATE["spawned_at"] = STATE["spawned_at"] or time.time()


@events.test_stopping.add_listener
def _stopping(**_: Any) -> None:
    STATE["stopping_at"] = STATE["stopping_at"] or time.time()


@events.test_stop.add_listener
def _write(**_: Any) -> None:
    Path(PLAN["result"]).write_text(
        json.dumps(
            {
                "spawned_at": STATE["spawned_at"],
                "stopping_at": STATE["stopping_at"] or time.time(),
                "samples": SAMPLES,
                "posted": POSTED,
                "audited_reads": AUDITED["reads"],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )


def _cookie(name: str, value: str, host: str) -> Cookie:
    return Cookie(
        version=0,
        name=name,
        value=value,
        port=None,
        port_specified=False,
        domain=host,
        domain_specified=False,
        domain_initial_dot=False,
        path="/",
        path_specified=True,
        secure=False,
        expires=None,
        discard=True,
        comment=None,
        comment_url=None,
        rest={},
    )


class Clerk(FastHttpUser):
    abstract = True
    role = ""
    wait_time = between(*PLAN["wait"]) if PLAN["wait"][1] > 0 else constant(0)

    def on_start(self) -> None:
        # Signed in by benchmarks/leads.py through the login page before the load: Argon2 costs the
        # server a few hundred milliseconds of CPU per login, which is not what is measured here.
        self.account = next(ACCOUNTS[self.role])
        self.rng = random.Random(f"{PLAN['run_id']}:{self.role}:{id(self)}")
        for name, value in self.account["cookies"].items():
            self.client.cookiejar.set_cookie(_cookie(name, value, PLAN["host"]))

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == name), "")

    def page(self, url: str, name: str, marker: str, audited: tuple[str, ...] = ()) -> None:
        """GET a page; a success must hold `marker`. `audited`: strings any of which in the page means it
        showed personal data, so the server must have written a read audit entry for it."""
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            elif marker not in text:
                response.failure("page without its content")
            elif any(a in text for a in audited):
                AUDITED["reads"] += 1

    # -- the request types ---------------------------------------------------------------------------

    def inbox(self) -> None:
        self.page(
            PLAN["inbox_url"], f"inbox ({self.role})", PLAN["inbox_marker"], ('data-case="', 'data-lead="')
        )

    def leads_inbox(self) -> None:
        self.page("/leads/", f"leads inbox ({self.role})", 'data-testid="leads"', ('data-lead="',))

    def case_list(self) -> None:
        """The open cases list as staff narrow it: a later page, overdue only, a surname, the last month."""
        since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 30 * 86400))
        query = self.rng.choice((f"page={self.rng.randint(1, 20)}", "overdue=1", "q=王", f"since={since}", ""))
        self.page(f"/cases/?{query}", f"case list ({self.role})", 'data-testid="cases"', ('data-case="',))

    def case_page(self) -> None:
        case_id = self.rng.choice(self.account["cases"])
        self.page(f"/cases/{case_id}/", "case page", f"#{case_id}", ("data-testid=",))

    def baseline(self) -> None:
        self.page(PLAN["baseline_url"], "baseline", PLAN["baseline_marker"])

    def intake(self) -> None:
        payload = dict(self.rng.choice(PLAN["pools"][self.account["pool"]]))
        token = f"压测{PLAN['run_id']}-{next(SEQUENCE)}"
        body = {
            **payload,
            "channel": self.account["channel"],
            "summary": f"{self.rng.choice(SUMMARIES)}（{token}）",
            "urgent": self.rng.random() < 0.05,
        }
        sent: dict[str, Any] = {"token": token, "status": None, "lead_id": None}
        POSTED.append(sent)
        with self.client.post(
            "/api/leads",
            json=body,
            headers={"X-CSRFToken": self.cookie("csrftoken"), "Referer": self.host + "/"},
            name="lead intake",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            sent["status"] = response.status_code
            if response.status_code == 201:
                sent["lead_id"] = json.loads(response.text)["lead_id"]
            else:
                response.failure(f"{response.status_code} {(response.text or '')[:120]}")


def _user_class(role: str, count: int, weights: dict[str, int]) -> type[Clerk]:
    tasks = {getattr(Clerk, name): weight for name, weight in weights.items() if weight}
    cls = type(
        f"{role.title()}User",
        (Clerk,),
        {"role": role, "fixed_count": count, "tasks": tasks, "abstract": count == 0},
    )
    return cls


for _role, _count in PLAN["users"].items():
    globals()[f"{_role.title()}User"] = _user_class(_role, _count, PLAN["tasks"][_role])
