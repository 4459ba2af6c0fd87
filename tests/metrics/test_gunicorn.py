"""Under gunicorn and uvicorn with 3 recycling workers, every scrape returns all workers' totals."""

from __future__ import annotations

import tempfile
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import need
from tests.integration.servers import Server, start_gunicorn, start_uvicorn


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def _counts(base: str) -> dict[str, float]:
    """Requests per status code in one OpenMetrics scrape (strict parser)."""
    parser = need("prometheus_client.openmetrics.parser")
    status, body = _get(base + "/metrics", {"Accept": "application/openmetrics-text"})
    assert status == 200
    out: dict[str, float] = {}
    for fam in parser.text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            if s.name == "http_server_request_duration_seconds_count":
                code = s.labels["http_response_status_code"]
                out[code] = out.get(code, 0) + s.value
    return out


def _send_and_scrape(srv: Server) -> tuple[dict[str, int], list[dict[str, float]]]:
    """60 requests (200, 500, 404 in turn), then scrapes until the totals are reached (20 at
    least, 30 s at most)."""
    sent = {"200": 0, "500": 0, "404": 0}
    for i in range(60):
        path = [f"/items/{i}", "/fail", f"/nope/{i}"][i % 3]
        code, _ = _get(srv.url + path)
        sent[str(code)] += 1
    seen: list[dict[str, float]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen.append(_counts(srv.url))
        if len(seen) >= 20 and seen[-1] == {k: float(v) for k, v in sent.items()}:
            break
        time.sleep(0.1)
    return sent, seen


@pytest.mark.parametrize("preload", [False, True])
def test_gunicorn_scrapes_sum_all_workers_through_recycling(preload: bool) -> None:
    """60 requests over 3 gunicorn workers recycled every 7 requests: scrapes never go down and
    reach the exact totals per status."""
    need("gunicorn")
    with (
        tempfile.TemporaryDirectory() as d,
        start_gunicorn(
            "metrics_wsgi_app:app",
            workers=3,
            preload=preload,
            access_log=False,
            env={"MSATRACE_METRICS_DIR": d},
            extra_args=["--max-requests", "7", "--max-requests-jitter", "0"],
        ) as srv,
    ):
        sent, seen = _send_and_scrape(srv)

    totals = [sum(c.values()) for c in seen]
    assert totals == sorted(totals), f"a scrape went down: {totals}"
    assert seen[-1] == {k: float(v) for k, v in sent.items()}


def test_uvicorn_workers_scrapes_sum_all_workers() -> None:
    """The same with ``uvicorn --workers 3`` (spawned workers, each with its own init)."""
    need("uvicorn")
    with (
        tempfile.TemporaryDirectory() as d,
        start_uvicorn(
            "metrics_asgi_app:app",
            env={"MSATRACE_METRICS_DIR": d},
            extra_args=["--workers", "3"],
        ) as srv,
    ):
        sent, seen = _send_and_scrape(srv)

    totals = [sum(c.values()) for c in seen]
    assert totals == sorted(totals), f"a scrape went down: {totals}"
    assert seen[-1] == {k: float(v) for k, v in sent.items()}
