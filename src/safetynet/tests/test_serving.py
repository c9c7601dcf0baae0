"""Serving as a bureau deploys it: gunicorn with several worker processes behind a TLS-terminating proxy
(`SAFETYNET_HTTPS=1`, the proxy saying `X-Forwarded-Proto: https`). A sign-in, a form and an API step
succeed through it; every cookie is Secure; a request that did not come through the proxy is refused
where it matters (no HTTPS, a foreign origin)."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest

from safetynet.tests.test_faults import BIN, PASSWORD, env_for, free_port, prepare

pytestmark = [pytest.mark.slow, pytest.mark.processes]

HOST = "safetynet.county.example"
ORIGIN = f"https://{HOST}"


class ProxiedBrowser:
    """What reaches the application from the TLS proxy: the public host, the scheme it was asked in, and
    the browser's cookies (kept by hand: a Secure cookie is one a browser sends only over HTTPS)."""

    def __init__(self, port: int, forwarded: bool = True):
        self.port, self.forwarded = port, forwarded
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None, body: Any = None,
                origin: str = ORIGIN) -> tuple[int, dict[str, str], str]:  # fmt: skip
        headers = {"Host": HOST, "Origin": origin, "Referer": f"{origin}{path}"}
        if self.forwarded:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if form is not None:
            data = urllib.parse.urlencode({**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False)
            headers["Content-Type"] = "application/json"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(method, path, body=data.encode() if data else None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookies.append(header)
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response.status, dict(response.headers), text


@contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[int]:
    port = free_port()
    with log.open("ab") as out:
        server = subprocess.Popen(  # noqa: S603 - the documented deployment command
            [str(BIN / "gunicorn"), "safetynet.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--forwarded-allow-ips", "127.0.0.1"],
            env=env, stdout=out, stderr=out,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/login/")
            break
        except OSError:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_behind_a_tls_proxy_signs_in_and_takes_a_form_and_an_api_step(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = env_for(data)
    prepare(data, env)
    env |= {"SAFETYNET_HTTPS": "1", "SAFETYNET_ALLOWED_HOSTS": HOST}
    with gunicorn(env, tmp_path / "gunicorn.log") as port:
        browser = ProxiedBrowser(port)
        status, headers, _ = browser.request("GET", "/login/")
        assert status == 200 and headers["Strict-Transport-Security"].startswith("max-age=31536000")
        status, headers, _ = browser.request("POST", "/login/", form={"username": "town", "password": PASSWORD})
        assert status == 302, status
        assert {"csrftoken", "sessionid"} <= set(browser.cookies)
        assert all("Secure" in c for c in browser.set_cookies), browser.set_cookies
        assert any(c.startswith("sessionid=") and "HttpOnly" in c for c in browser.set_cookies)

        # a form: the password page (served by either worker process: the session is in the database)
        for _ in range(4):
            assert browser.request("GET", "/password/")[0] == 200
        new = "another-horse-battery-staple"
        status, _, text = browser.request(
            "POST", "/password/", form={"old_password": PASSWORD, "new_password1": new, "new_password2": new}
        )
        assert status == 302, text[:500]
        # an API step: a village visit's lead reported as JSON, CSRF token in the header
        status, _, text = browser.request(
            "POST", "/api/leads", body={"channel": "visit", "summary": "走访发现老人独居无收入", "name": "王建国"}
        )
        assert status == 201, text[:500]

        # a request that went round the proxy (plain HTTP) is only sent to HTTPS, never served or signed in
        direct = ProxiedBrowser(port, forwarded=False)
        status, headers, _ = direct.request("POST", "/login/", form={"username": "town", "password": new})
        assert status == 301 and headers["Location"] == f"{ORIGIN}/login/"
        assert "sessionid" not in direct.cookies
        # and through the proxy, a page posted from another site is refused
        foreign = ProxiedBrowser(port)
        foreign.request("GET", "/login/")
        status, _, _ = foreign.request(
            "POST", "/login/", form={"username": "town", "password": new}, origin="https://evil.example"
        )
        assert status == 403
