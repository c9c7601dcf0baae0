"""Logs are JSON lines with no identifier in clear: a request per line (user, status, duration), errors
with their traceback, every ID number and phone masked however it reached the message."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.test import Client

from safetynet.registry.models import Person

pytestmark = pytest.mark.django_db

WHOLE_ID = re.compile(r"(?<![0-9])\d{17}[\dXx](?![0-9])")
WHOLE_PHONE = re.compile(r"(?<![0-9])1[3-9]\d{9}(?![0-9])")


def test_requests_and_errors_are_json_lines_without_identifiers(county, make_user, settings) -> None:  # type: ignore[no-untyped-def]
    wang = Person.objects.get(name="王建国")
    log = settings.DATA_DIR / "logs" / "safetynet.log"
    start = log.stat().st_size if log.exists() else 0  # earlier tests wrote to the same file
    town = Client()
    town.force_login(make_user("town", "township", "371522100000"))
    town.get("/registry/search/", {"q": wang.id_number})  # a number in the query string
    town.get("/registry/search/", {"q": wang.phone})
    town.get("/registry/households/H001/")
    logging.getLogger("safetynet").error("import failed for %s, call %s", wang.id_number, wang.phone)
    # a hostile name with the characters line readers split on must still be one line
    logging.getLogger("safetynet").warning("name %s rejected", "王\u2028建\u2029国\x85\x0b\x1c")
    for handler in logging.getLogger().handlers + logging.getLogger("safetynet.requests").handlers:
        if isinstance(handler, logging.FileHandler):  # stderr's stream may be pytest's, already closed
            handler.flush()
    with log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode("utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]  # every line parses
    requests = [p for p in parsed if p["logger"] == "safetynet.requests" and p.get("user") == "town"]
    assert {r["path"] for r in requests} >= {"/registry/search/", "/registry/households/H001/"}
    assert all(r["status"] == 200 and r["ms"] >= 0 and r["role"] == "township" for r in requests)
    error = next(p for p in parsed if p["message"].startswith("import failed"))
    assert error["level"] == "error"
    hostile = next(p for p in parsed if p["message"].startswith("name "))
    assert hostile["message"] == "name 王\u2028建\u2029国\x85\x0b\x1c rejected"
    text = "\n".join(lines)
    assert not WHOLE_ID.search(text) and not WHOLE_PHONE.search(text)


def test_each_command_leaves_one_json_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The command line's own process: the words of the command (never its arguments), outcome, time."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYNET_")}
    env.update(SAFETYNET_DATA_DIR=str(data), SAFETYNET_DATABASE_URL=f"sqlite:///{data}/db.sqlite3")
    env["SAFETYNET_JOBS_INLINE"] = "1"
    safetynet = str(Path(sys.executable).parent / "safetynet")
    missing = tmp_path / "张三-370102199001011234.csv"  # a file name holding a name and an ID number
    done = subprocess.run([safetynet, "link", str(missing), str(tmp_path / "out.csv")], env=env, capture_output=True)
    assert done.returncode != 0
    subprocess.run([safetynet, "cases", "escalate"], env=env, check=True, capture_output=True)
    lines = [json.loads(line) for line in (data / "logs" / "safetynet.log").read_text(encoding="utf-8").splitlines()]
    commands = [(line["command"], line["outcome"]) for line in lines if line["logger"] == "safetynet.commands"]
    assert commands == [("link", f"exit {done.returncode}"), ("cases escalate", "ok")], commands
    assert all(isinstance(line["ms"], float) for line in lines if line["logger"] == "safetynet.commands")
    text = (data / "logs" / "safetynet.log").read_text(encoding="utf-8")
    assert "370102199001011234" not in text and "张三" not in text
