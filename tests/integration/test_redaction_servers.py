"""Personal data in a request never reaches stdout or the exported spans (a real uvicorn)."""

from __future__ import annotations

import time

import pytest

from msatrace.testing import OTLPReceiver
from tests.conftest import need
from tests.integration.servers import Server, ServerPool

httpx = need("httpx")
need("fastapi")

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "010-1234-5678"
BEARER = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
SECRETS = (
    EMAIL,
    "4111111111111111",
    CARD,
    "1234-5678",
    "01012345678",
    "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
)


@pytest.fixture(scope="module")
def app(servers: ServerPool) -> Server:
    return servers.uvicorn("pii_app:app", env={"MSATRACE_LOG_FORMAT": "json"})


@pytest.mark.parametrize("fail", [0, 1])
def test_no_personal_data_in_stdout_or_spans(
    app: Server, otlp_receiver: OTLPReceiver, fail: int
) -> None:
    """Query string, Authorization header, log fields, span attribute and exception message."""
    mark, start_ns = app.mark(), time.time_ns()
    response = httpx.get(
        f"{app.url}/signup",
        params={"email": EMAIL, "card": CARD, "phone": PHONE, "fail": fail},
        headers={"Authorization": BEARER},
    )
    assert response.status_code == (500 if fail else 200)
    trace_id = response.headers["x-trace-id"]
    app.wait_for(lambda ls: any(ln.get("logger") == "msatrace.access" for ln in ls), since=mark)
    spans = otlp_receiver.wait_for(
        lambda ss: any(s.trace_id == trace_id and s.kind == "SERVER" for s in ss), timeout=30
    )
    output = app.output(since=mark, tail=1000)
    exported = repr([s for s in spans if s.start_ns >= start_ns])
    for secret in SECRETS:
        assert secret not in output, (secret, output)
        assert secret not in exported, (secret, exported)
    assert "[REDACTED:email]" in output
    assert "[REDACTED:" in exported
    signup = [ln for ln in app.lines(mark) if ln.get("event") == "signup"]
    assert signup
    assert signup[0]["trace_id"] == trace_id


@pytest.fixture(scope="module")
def django_app(servers: ServerPool) -> Server:
    need("django")
    return servers.django_gunicorn(env={"MSATRACE_LOG_FORMAT": "json"})


@pytest.mark.parametrize("path", ["/boom", "/no-such-page"])
def test_a_percent_encoded_address_in_django_s_request_line_is_redacted(
    django_app: Server, path: str
) -> None:
    """Django's ``django.request`` line ("Internal Server Error", "Not Found") carries the
    request's repr with its query string as sent: the address encoded (``%40``)."""
    mark = django_app.mark()
    response = httpx.get(
        f"{django_app.url}{path}?for=kim.minji%40example.com&tel=%2B82-10-1234-5678"
    )
    assert response.status_code in (404, 500)
    django_app.wait_for(
        lambda ls: any(ln.get("logger") == "django.request" for ln in ls), since=mark
    )
    output = django_app.output(since=mark, tail=1000)
    for secret in ("kim.minji", "example.com", "1234-5678"):
        assert secret not in output, (secret, output)
    assert "[REDACTED:email]" in output
