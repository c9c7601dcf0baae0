"""Locust users for benchmarks/soak.py: clerks, hotline operators, departments and social organisations.

Not run by hand: benchmarks/soak.py writes the plan (accounts with the session cookies it got by signing
in through the login page, each stepper's own cases, lead records, department tokens, registry ID numbers
for feed rows, the mix and the think times) to the JSON file named by SOAK_PLAN, runs locust headless on
this file, and reads back what this file writes at the end: every request's name, start, milliseconds,
status and success; every lead, step and push sent with its token and the answers it got. benchmarks/soak.py
checks those against the database afterwards.

What is expected of the server, and therefore what counts as an error here (a locust failure):

- pages and API reads: 200 with the page's content;
- a case step: 200. A 409 on a step is the optimistic lock answering correctly; it is counted apart
  (`conflicts`), not as an error. A deliberate resend of a step that got 200 (same version, same note)
  must get 409: a 200 there would be a step recorded twice;
- a step whose first request was abandoned (sent whole, the connection closed before the answer) and
  then retried: 200 or 409 are both correct (whichever of the two the server ran first won);
- a lead: 201;
- a push: 201 for new content; a resend of content that landed before: 200 with the same batch; two
  identical pushes at the same moment: one 201 and one 200 with the same batch; a retry after an
  abandoned or a dropped push: 200 or 201.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import socket
import time
import uuid
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, events

PLAN: dict[str, Any] = json.loads(Path(os.environ["SOAK_PLAN"]).read_text(encoding="utf-8"))
ACCOUNTS = {role: iter(found) for role, found in PLAN["accounts"].items() if found}
STATE: dict[str, Any] = {"spawned_at": None, "stopping_at": None}
SAMPLES: list[tuple[str, float, float, bool, int, str]] = []  # name, start (epoch s), ms, ok, status, error
LEADS: list[dict[str, Any]] = []  # one per lead POST: token, status, lead_id
STEPS: list[dict[str, Any]] = []  # one per step token: case, action, answers [(kind, status)]
PUSHES: dict[str, dict[str, Any]] = {}  # file name -> source, rows, answers [(kind, status, batch, acc, rej)]
RAW: list[dict[str, Any]] = []  # requests sent on a raw socket and abandoned (not in SAMPLES)
SEQUENCE = itertools.count(1)
WORKABLE = {"new": "verify", "verified": "inform", "informed": "apply"}
P = PLAN["probabilities"]

SUMMARIES = (
    "独居老人，腿脚不便，家中无人照料，近期生活困难",
    "丈夫因病去世，两个孩子上学，家庭收入骤减",
    "突发重病住院，自付医疗费用高，家里已借不到钱",
    "房屋漏雨，墙体开裂，冬季取暖困难",
    "失业半年，没有收入来源，房租已拖欠两个月",
    "重度残疾，靠父母照顾，父母年迈也无劳动能力",
)
SITUATIONS = (
    "实地查访，情况属实，家中主要劳动力患病",
    "入户核实，老人独居，子女在外务工多年未归",
    "走访邻里和村委会，家庭收入低于当地标准",
)


@events.request.add_listener
def _sample(
    name: str,
    response_time: float,
    exception: Any,
    response: Any = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    status = getattr(response, "status_code", 0) or 0
    SAMPLES.append(
        (
            name,
            start_time or time.time(),
            response_time,
            exception is None,
            int(status),
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
                "leads": LEADS,
                "steps": STEPS,
                "pushes": PUSHES,
                "raw": RAW,
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


def owner(case_id: int, region_code: str) -> str:
    """Who works a case: its village's coordinator, else a township account of its township, else a
    county account; the same function as benchmarks/soak.py's, so no two users step one case."""
    own = PLAN["ownership"]
    if region_code in own["village"]:
        return str(own["village"][region_code])
    township = own["township"].get(region_code[:9])
    if township:
        return str(township[case_id % len(township)])
    county = own["county"]
    return str(county[case_id % len(county)])


def abandon(request: bytes, keep: int | None = None) -> None:
    """Send `request` (or its first `keep` bytes) on a fresh connection and close it without reading
    the answer: a client that timed out, or whose connection dropped mid-upload."""
    with socket.create_connection((PLAN["host"], PLAN["port"]), timeout=30) as s:
        s.sendall(request if keep is None else request[:keep])


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {PLAN['host']}:{PLAN['port']}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode() + body


class Soaker(FastHttpUser):
    abstract = True
    role = ""
    network_timeout = 300.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        # Signed in by benchmarks/soak.py through the login page before the load (Argon2 costs the
        # server a few hundred ms of CPU per login, which is not what a soak is about).
        self.account = next(ACCOUNTS[self.role])
        self.rng = random.Random(f"{PLAN['run_id']}:{self.role}:{self.account['username']}")
        for name, value in self.account.get("cookies", {}).items():
            self.client.cookiejar.set_cookie(_cookie(name, value, PLAN["host"]))
        self.queue: list[dict[str, Any]] = [{"id": c, "version": None} for c in self.account.get("queue", [])]
        self.worked: set[int] = set(self.account.get("queue", []))
        self.refilled_at = 0.0

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == name), "")

    def session_headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.cookie("csrftoken"), "Referer": f"{self.host}/"}

    def token(self, kind: str) -> str:
        return f"soak{PLAN['run_id']}-{kind}{next(SEQUENCE)}"

    # -- reads ----------------------------------------------------------------------------------------

    def page(self, url: str, name: str, marker: str) -> Any:
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:120]}")
            elif marker not in (response.text or ""):
                response.failure("page without its content")
            return response

    def inbox(self) -> None:
        self.page("/cases/inbox/", f"inbox ({self.role})", 'data-testid="who"')

    def leads_list(self) -> None:
        self.page("/leads/", "lead list", 'data-testid="leads"')

    def warnings(self) -> None:
        self.page("/screening/warnings/", "warnings list", 'data-testid="warnings"')

    def case_page(self) -> None:
        pool = self.account.get("cases") or []
        if not pool:
            return self.inbox()
        case_id = self.rng.choice(pool)
        self.page(f"/cases/{case_id}/", "case page", 'data-testid="timeline"')

    def household(self) -> None:
        pool = self.account.get("households") or []
        if not pool:
            return self.inbox()
        self.page(f"/registry/households/{self.rng.choice(pool)}/", "household page", 'data-testid="members"')

    def api_cases(self) -> None:
        self.page("/api/cases", "api cases", "[")

    def api_leads(self) -> None:
        self.page("/api/leads?limit=50", "api leads", "[")

    def my_leads(self) -> None:
        self.page("/leads/mine/", "my leads", 'data-testid="mine"')

    def baseline(self) -> None:
        self.page("/", "baseline (home, social org)", 'data-testid="who"')

    def batches(self) -> None:
        source = self.account["source"]
        with self.client.get(
            f"/api/lake/{source}/batches",
            name="api batches (department)",
            headers={"Authorization": f"Bearer {self.account['token']}"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:120]}")

    # -- writes: one way to send them ----------------------------------------------------------------

    def send(
        self,
        path: str,
        name: str,
        expected: tuple[int, ...],
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> tuple[int, Any, bool]:
        """POST; (status, JSON answer or None, whether the answer was a replay). A keyed retry racing its
        first attempt waits on the server for it and gets its answer: any 409 not listed is an error."""
        headers = dict(headers or {})
        if key:
            headers["Idempotency-Key"] = key
        with self.client.post(
            path,
            json=json_body,
            data=data,
            headers=headers,
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            status = response.status_code
            try:
                found = json.loads(response.text) if response.text else None
            except ValueError:
                found = None
            replayed = (response.headers or {}).get("Idempotent-Replayed") == "true"
            if status not in expected:
                response.failure(f"{status} {(response.text or '')[:200]}")
            else:
                response.success()  # a 409 listed as expected is a correct answer
        return status, found, replayed

    def key(self) -> str | None:
        return uuid.uuid4().hex if self.rng.random() < P["idempotency_key"] else None

    def raw_headers(self, extra: dict[str, str]) -> dict[str, str]:
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        return {**extra, **({"Cookie": cookies} if cookies else {})}

    # -- lead intake ----------------------------------------------------------------------------------

    def intake(self) -> None:
        payload = dict(self.rng.choice(PLAN["pools"][self.account["pool"]]))
        token = self.token("L")
        body = {
            **payload,
            "channel": self.account["channel"],
            "summary": f"{self.rng.choice(SUMMARIES)}（{token}）",
            "urgent": self.rng.random() < 0.05,
        }
        key = self.key()
        sent: dict[str, Any] = {"token": token, "key": bool(key), "answers": []}
        LEADS.append(sent)
        headers = self.session_headers()
        draw = self.rng.random()
        if key and draw < P["lead_abandon"]:
            # Sent whole, the connection closed before the answer; the client retries with its key.
            payload_bytes = json.dumps(body).encode()
            request = raw_request(
                "POST",
                "/api/leads",
                self.raw_headers({**headers, "Content-Type": "application/json", "Idempotency-Key": key}),
                payload_bytes,
            )
            abandon(request)
            RAW.append({"kind": "lead abandoned (key)", "token": token})
            sent["answers"].append(("abandoned", None, None, False))
            gevent.sleep(self.rng.uniform(0, 0.3))
            self.post_lead(body, key, "lead retry after abandon (key)", sent)
            return
        status = self.post_lead(body, key, "lead intake", sent)
        if key and status == 201 and draw < P["lead_abandon"] + P["lead_resend"]:
            # A retry after a timeout that was not one: the first answer again, nothing new.
            self.post_lead(body, key, "lead resend (key: replay expected)", sent, replay=True)

    def post_lead(
        self, body: dict[str, Any], key: str | None, name: str, sent: dict[str, Any], replay: bool = False
    ) -> int:
        status, found, replayed = self.send(
            "/api/leads", name, (201,), json_body=body, headers=self.session_headers(), key=key
        )
        lead_id = found.get("lead_id") if status == 201 and isinstance(found, dict) else None
        sent["answers"].append((name, status, lead_id, replayed))
        if replay and status == 201 and not replayed:
            events.request.fire(
                request_type="CHECK",
                name="lead resend not a replay",
                response_time=0,
                response_length=0,
                exception=AssertionError("a resent lead with its key was not answered from the first"),
            )
        return int(status)

    # -- case steps -----------------------------------------------------------------------------------

    def refill(self) -> None:
        """New work: the open cases of the user's region (the API's list) that are this user's own."""
        self.refilled_at = time.time()
        with self.client.get("/api/cases", name="api cases (refill)", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:120]}")
                return
            for case in json.loads(response.text):
                if (
                    case["case_id"] not in self.worked
                    and case["stage"] in WORKABLE
                    and owner(case["case_id"], case["region_code"]) == self.account["username"]
                ):
                    self.worked.add(case["case_id"])
                    self.queue.append({"id": case["case_id"], "version": None})

    def read_case(self, case: dict[str, Any]) -> bool:
        """GET the case through the API: its version and stage, as a client does before acting."""
        with self.client.get(f"/api/cases/{case['id']}", name="api case", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {(response.text or '')[:120]}")
                return False
            found = json.loads(response.text)
        case["version"], case["stage"] = found["version"], found["stage"]
        return found["stage"] in WORKABLE

    def step(self) -> None:
        if not self.queue and time.time() - self.refilled_at > PLAN["refill_every_s"]:
            self.refill()
        if not self.queue:
            return self.inbox()  # nothing of one's own to do: read the inbox instead
        case = self.queue[0]
        if case["version"] is None and not self.read_case(case):
            self.queue.pop(0)
            return
        action = WORKABLE[case["stage"]]
        if action == "inform" and self.rng.random() < P["decline"]:
            action = "decline"
        token = self.token("S")
        body = {"action": action, "version": case["version"], "data": self.facts(action), "note": token}
        key = self.key()
        record: dict[str, Any] = {
            "token": token,
            "case_id": case["id"],
            "action": action,
            "key": bool(key),
            "answers": [],
        }
        STEPS.append(record)
        url = f"/api/cases/{case['id']}/steps"
        draw = self.rng.random()
        if draw < P["step_abandon"]:
            # The client gives up before the answer (a phone losing its signal), then sends again. With
            # its key the retry gets the first answer (200); without, the optimistic lock says 409 if the
            # first went through, or the retry itself goes through (200).
            extra = {**self.session_headers(), "Content-Type": "application/json"}
            if key:
                extra["Idempotency-Key"] = key
            abandon(raw_request("POST", url, self.raw_headers(extra), json.dumps(body).encode()))
            record["answers"].append(("abandoned", None))
            RAW.append({"kind": f"step abandoned ({'key' if key else 'no key'})", "token": token})
            gevent.sleep(self.rng.uniform(0, 0.3))
            name = f"step retry after abandon ({'key' if key else 'no key'})"
            status, found = self.post_step(url, body, name, record, (200,) if key else (200, 409), key)
        else:
            status, found = self.post_step(url, body, f"step {action}", record, (200,), key)
        if status == 200:
            case["version"], case["stage"] = found["version"], found["stage"]
            if draw >= 1 - P["step_resend"]:
                # The same request again (a double tap). With its key: the first answer again (200,
                # replayed); without: the version has moved, so the lock must refuse it (409).
                if key:
                    self.post_step(url, body, "step resend (key: replay expected)", record, (200,), key)
                else:
                    self.post_step(url, body, "step resend (no key: 409 expected)", record, (409,), None)
        else:
            case["version"] = None  # read it again next time
        if case["version"] is not None and case["stage"] not in WORKABLE:
            self.queue.pop(0)

    def post_step(
        self,
        url: str,
        body: dict[str, Any],
        name: str,
        record: dict[str, Any],
        expected: tuple[int, ...],
        key: str | None,
    ) -> tuple[int, Any]:
        status, found, replayed = self.send(
            url, name, expected, json_body=body, headers=self.session_headers(), key=key
        )
        record["answers"].append((name, status))
        if name.startswith("step resend (key") and status == 200 and not replayed:
            events.request.fire(
                request_type="CHECK",
                name="step resend not a replay",
                response_time=0,
                response_length=0,
                exception=AssertionError("a resent step with its key was not answered from the first"),
            )
        return status, found if status == 200 else None

    def facts(self, action: str) -> dict[str, Any]:
        rng = self.rng
        if action == "verify":
            hardship = rng.random() >= P["no_hardship"]
            return {
                "visited_on": PLAN["yesterday"],
                "hardship": hardship,
                "situation": rng.choice(SITUATIONS),
                "monthly_income": f"{rng.randint(200, 2400)}.00",
                "monthly_expense": f"{rng.randint(300, 3000)}.00",
                "wants_help": True,
            }
        if action == "inform":
            return {"policies": "最低生活保障、临时救助、医疗救助"}
        if action == "decline":
            return {"reason": "本人表示暂不需要", "follow_up_on": PLAN["follow_up_on"]}
        return {"program": rng.choice(("dibao", "dibao", "temporary", "medical"))}

    # -- department pushes ----------------------------------------------------------------------------

    def push(self) -> None:
        source = self.account["source"]
        rows, good, bad = self.feed_rows(source)
        as_csv = self.rng.random() < 0.5
        name = f"soak-{PLAN['run_id']}-{next(SEQUENCE)}.{'csv' if as_csv else 'jsonl'}"
        content = self.encode(rows, as_csv)
        PUSHES[name] = {"source": source, "good": good, "bad": bad, "bytes": len(content), "answers": []}
        path, headers, body = self.push_request(source, name, content, as_csv)
        kind = "csv" if as_csv else "jsonl"
        key = self.key()
        draw = self.rng.random()
        if draw < P["push_twin"]:
            # Two identical pushes at the same moment, each its own client (no shared key): one lands,
            # the other waits for it and answers 200 with its batch.
            pair = [
                gevent.spawn(self.send_push, path, headers, body, name, "push twin", (200, 201), None)
                for _ in "ab"
            ]
            gevent.joinall(pair)
            if sorted(g.value for g in pair if g.value) == [201, 201]:
                events.request.fire(
                    request_type="CHECK",
                    name="push twin: both answered 201",
                    response_time=0,
                    response_length=0,
                    exception=AssertionError("one content, two new batches"),
                )
        elif draw < P["push_twin"] + P["push_abandon"]:
            abandon(raw_request("POST", path, {**headers, **({"Idempotency-Key": key} if key else {})}, body))
            RAW.append({"kind": f"push abandoned ({'key' if key else 'no key'})", "file": name})
            PUSHES[name]["answers"].append(("abandoned", None, None, None, None))
            gevent.sleep(self.rng.uniform(0, 0.5))
            label = f"push retry after abandon ({'key' if key else 'no key'})"
            self.send_push(path, headers, body, name, label, (200, 201), key)
        elif draw < P["push_twin"] + P["push_abandon"] + P["push_drop"]:
            abandon(raw_request("POST", path, headers, body), keep=len(body) // 2 + 200)
            RAW.append({"kind": "push dropped mid-upload", "file": name})
            PUSHES[name]["answers"].append(("dropped", None, None, None, None))
            self.send_push(path, headers, body, name, "push retry after drop", (200, 201), key)
        else:
            status = self.send_push(path, headers, body, name, f"push ({kind})", (201,), key)
            if status == 201 and self.rng.random() < P["push_resend"]:
                gevent.sleep(self.rng.uniform(0, 2))
                if key:  # the first answer again: 201, replayed
                    self.send_push(
                        path, headers, body, name, "push resend (key: replay expected)", (201,), key
                    )
                else:  # the content is known: 200 with the first batch
                    self.send_push(
                        path, headers, body, name, "push resend (no key: 200 expected)", (200,), None
                    )

    def push_request(
        self, source: str, name: str, content: bytes, as_csv: bool
    ) -> tuple[str, dict[str, str], bytes]:
        headers = {"Authorization": f"Bearer {self.account['token']}"}
        if not as_csv:
            return (
                f"/api/lake/{source}/batches?file_name={name}",
                {**headers, "Content-Type": "application/x-ndjson"},
                content,
            )
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return (
            f"/api/lake/{source}/batches",
            {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
            body,
        )

    def send_push(
        self,
        path: str,
        headers: dict[str, str],
        body: bytes,
        name: str,
        label: str,
        expected: tuple[int, ...],
        key: str | None,
    ) -> int:
        status, found, replayed = self.send(path, label, expected, data=body, headers=headers, key=key)
        answer: tuple[Any, ...] = (label, status, None, None, None)
        if status in (200, 201, 422) and isinstance(found, dict) and "batch_id" in found:
            answer = (label, status, found["batch_id"], found["accepted"], found["rejected"])
        PUSHES[name]["answers"].append(answer)
        if "replay expected" in label and status == 201 and not replayed:
            events.request.fire(
                request_type="CHECK",
                name="push resend not a replay",
                response_time=0,
                response_length=0,
                exception=AssertionError("a resent push with its key was not answered from the first"),
            )
        return int(status)

    def feed_rows(self, source: str) -> tuple[list[dict[str, str]], int, int]:
        """A small feed file of unique rows (claim ids unique in the whole run); sometimes with a few bad
        rows (an ID number with a wrong check digit), which must land in quarantine."""
        rng = self.rng
        count = rng.randint(*PLAN["push_rows"])
        ids = PLAN["id_numbers"]
        stamp = next(SEQUENCE)
        rows: list[dict[str, str]] = []
        for i in range(count):
            id_number = rng.choice(ids)
            if source == "medical_claims":
                cost = rng.randint(100, 60000)
                paid = rng.randint(0, cost)
                rows.append(
                    {
                        "claim_id": f"SOAK{PLAN['run_id']}-{stamp}-{i}",
                        "id_number": id_number,
                        "settle_date": rng.choice(PLAN["recent_days"]),
                        "inpatient": rng.choice(("true", "false")),
                        "total_cost": f"{cost / 100:.2f}",
                        "fund_paid": f"{paid / 100:.2f}",
                        "out_of_pocket": f"{(cost - paid) / 100:.2f}",
                        "diagnosis_code": rng.choice(("J18.9", "I10", "E11.9", "C34.9", "N18.5")),
                        "serious_illness": rng.choice(("true", "false")),
                    }
                )
            else:
                rows.append(
                    {
                        "id_number": id_number,
                        "monthly_amount": f"{rng.randint(200, 4000)}.{i % 100:02d}",
                        "as_of": rng.choice(PLAN["recent_days"]),
                    }
                )
        bad = 0
        if rng.random() < P["push_bad_rows"]:
            bad = rng.randint(1, 3)
            for row in rng.sample(rows, min(bad, len(rows))):
                id_number = row["id_number"]
                last = "0" if id_number[-1] != "0" else "1"
                row["id_number"] = id_number[:-1] + last  # a wrong check digit
        return rows, len(rows) - bad, bad

    @staticmethod
    def encode(rows: list[dict[str, str]], as_csv: bool) -> bytes:
        if as_csv:
            header = list(rows[0])
            lines = [",".join(header)] + [",".join(r[c] for c in header) for r in rows]
            return ("\n".join(lines) + "\n").encode()
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _user_class(role: str, count: int, weights: dict[str, int], wait: list[float]) -> type[Soaker]:
    tasks = {getattr(Soaker, name): weight for name, weight in weights.items() if weight}
    return type(
        f"{role.title()}User",
        (Soaker,),
        {
            "role": role,
            "fixed_count": count,
            "tasks": tasks,
            "abstract": count == 0 or not tasks,
            "wait_time": between(*wait) if wait[1] > 0 else constant(0),
        },
    )


for _role, _count in PLAN["users"].items():
    globals()[f"{_role.title()}User"] = _user_class(_role, _count, PLAN["tasks"][_role], PLAN["wait"][_role])
