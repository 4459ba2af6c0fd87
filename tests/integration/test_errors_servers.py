"""Error tracking on the four real servers, and across three gunicorn workers sharing Redis.

Each server reports to a Slack stand-in and a Jira stand-in (tests/errors). Stopping the server
runs its shutdown, which sends the pending digests: everything the server will ever send has
arrived once ``stop()`` returns, so the counts below are final, not sampled after a sleep.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests import redis_server
from tests.conftest import need
from tests.errors.jira_vendors import Vendor, vendor_server
from tests.errors.vendors import StandIn, stand_in
from tests.integration.inbound import Kind
from tests.integration.servers import ServerPool, free_port

TRACE_URL = "https://grafana.example/trace/{trace_id}"
DIGEST = re.compile(r"^\[[^\]]*\] (\d+) more in \d+ min: ")


def _notify(slack: StandIn, jira: Vendor) -> dict[str, str]:
    host = jira.url.removeprefix("http://")
    return {
        "MSATRACE_NOTIFY": f"slack:{slack.url},jira:http://bot%40example.com:tok@{host}?project=SHOP",
        "MSATRACE_TRACE_URL": TRACE_URL,
        "MSATRACE_ERROR_DIGEST_WINDOW": "600",
    }


def _fail(url: str, path: str) -> str:
    """One failing request; the trace ID the client received."""
    response = httpx.get(url + path, timeout=30)
    assert response.status_code == 500
    trace_id: str = response.headers["x-trace-id"]
    return trace_id


def _split(slack: StandIn) -> tuple[list[dict[str, Any]], list[int]]:
    """Slack messages reporting a bug, and the counts of the digests."""
    reports, counts = [], []
    for message in slack.received:
        digest = DIGEST.match(message["text"])
        if digest:
            counts.append(int(digest.group(1)))
        else:
            reports.append(message)
    return reports, counts


def test_each_bug_gives_one_message_and_one_issue_with_the_first_trace_id(
    kind: Kind, servers: ServerPool
) -> None:
    """4 requests to one failing route and 3 to another: two Slack messages and two Jira issues,
    each with the first request's trace ID; the repeats only in digests (3 and 2)."""
    need("slack_sdk")
    with stand_in("slack") as slack, vendor_server() as jira:
        srv = kind.start(servers, f"shop-{kind.id}", _notify(slack, jira))
        boom = [_fail(srv.url, "/boom") for _ in range(4)]
        bug = [_fail(srv.url, "/bug") for _ in range(3)]
        srv.stop()  # its shutdown sends the digests

    reports, counts = _split(slack)
    assert len(reports) == 2, [m["text"] for m in slack.received]
    [boom_report] = [m for m in reports if "boom from the app" in m["text"]]
    [bug_report] = [m for m in reports if "KeyError" in m["text"]]
    assert f"(trace {boom[0]})" in boom_report["text"]
    assert f"(trace {bug[0]})" in bug_report["text"]
    assert TRACE_URL.format(trace_id=boom[0]) in str(boom_report["blocks"])
    assert f"[shop-{kind.id}]" in boom_report["text"]
    assert sorted(counts) == [2, 3]
    issues = jira.created()
    assert len(issues) == 2
    descriptions = sorted(str(i["fields"]["description"]) for i in issues)
    assert sum(boom[0] in d for d in descriptions) == 1
    assert sum(bug[0] in d for d in descriptions) == 1
    assert sorted(len(c) for c in jira.comments.values()) == [1, 1]  # the digests: comments


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


N = 1000  # the issue's storm: a thousand identical exceptions within a minute
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


@pytest.mark.slow
def test_three_gunicorn_workers_sharing_redis_send_one_message(
    servers: ServerPool, redis_url: str
) -> None:
    """1,000 identical failing requests, concurrent, over three Flask workers sharing a real
    Redis: one Slack message, one Jira issue (search lagging 2 s behind creation), one PagerDuty
    and one Opsgenie alert, and digests (each with at most five trace IDs) whose counts sum to
    the other 999."""
    need("flask")
    need("slack_sdk")
    with stand_in("slack") as slack, vendor_server() as vendor:
        vendor.search_lag = 2.0  # Jira's search lags creation: the issue key is shared instead
        env = _notify(slack, vendor)
        env["MSATRACE_NOTIFY"] += (
            f",pagerduty:{ROUTING_KEY}?url={vendor.url}/v2/enqueue"
            f",opsgenie:key-1?url={vendor.url}/v2/alerts"
        )
        env["MSATRACE_ERRORS_REDIS_URL"] = redis_url
        srv = servers.gunicorn("flask_app:app", name="shop-workers", env=env, workers=3)

        def pid(_: int) -> int:
            return int(httpx.get(srv.url + "/pid?pause=0.3", timeout=30).json()["pid"])

        with ThreadPoolExecutor(9) as pool:
            # Nine slow requests at once: a sync worker answers one at a time, so the idle ones
            # take the rest (30 quick ones in a row could all reach one worker).
            pids = set(pool.map(pid, range(9)))
            traces = list(pool.map(lambda _: _fail(srv.url, "/boom"), range(N)))
        srv.stop()

    assert len(pids) > 1, "gunicorn sent every request to one worker"
    reports, counts = _split(slack)
    assert len(reports) == 1, [m["text"] for m in slack.received]
    [trace] = re.findall(r"\(trace ([0-9a-f]{32})\)", reports[0]["text"])
    assert trace in traces
    assert sum(counts) == N - 1, counts
    for message in slack.received:
        if DIGEST.match(message["text"]):
            [some] = [b for b in message["blocks"] if "Some of them" in str(b)]
            assert 1 <= len(re.findall(r"\|[0-9a-f]{32}>", str(some))) <= 5
    assert len(vendor.created()) == 1
    alerts = [r[1] for r in vendor.requests if r[1] in ("/v2/enqueue", "/v2/alerts")]
    assert sorted(alerts) == ["/v2/alerts", "/v2/enqueue"]


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_vendors_in_trouble_never_hold_a_request(kind: Kind, servers: ServerPool) -> None:
    """Slack hanging, then 429, then 500, and a webhook refusing all along: every request is
    answered while Slack still hangs, and both bugs reach Slack once it answers again."""
    need("slack_sdk")
    with stand_in("slack") as slack:
        slack.script = ["hang", "429", "500"]
        env = {
            "MSATRACE_NOTIFY": f"slack:{slack.url},webhook:http://127.0.0.1:{free_port()}/h#k",
            "MSATRACE_ERROR_DIGEST_WINDOW": "600",
        }
        srv = kind.start(servers, f"trouble-{kind.id}", env)
        first = _fail(srv.url, "/boom")
        _wait(lambda: slack.attempts == 1)  # the delivery of the first report hangs
        answered = [_fail(srv.url, path) for path in ("/boom", "/bug") * 10]
        assert (slack.attempts, slack.received) == (1, [])  # all answered while it hangs
        slack.release.set()
        _wait(lambda: len(slack.received) == 2)  # the second bug through 429 and 500
        srv.stop()

    assert len(answered) == 20
    reports, counts = _split(slack)
    assert slack.attempts == 4 + len(counts)  # hang, 429, 500, ok, then the digests
    assert f"(trace {first})" in reports[0]["text"]
    assert "KeyError" in reports[1]["text"]
    assert sorted(counts) == [9, 10]  # the repeats, flushed at shutdown


def test_a_hanging_vendor_does_not_keep_the_server_from_stopping(
    kind: Kind, servers: ServerPool
) -> None:
    """Slack hangs on the report being sent: SIGTERM still ends the server by itself (the
    report's flush gives up at its bound), never by the SIGKILL that follows a 15-s wait."""
    need("slack_sdk")
    with stand_in("slack") as slack:
        slack.script = ["hang"] * 5
        env = {"MSATRACE_NOTIFY": f"slack:{slack.url}"}
        srv = kind.start(servers, f"stopping-{kind.id}", env)
        _fail(srv.url, "/boom")
        _wait(lambda: slack.attempts == 1)

        code = srv.stop()

    assert code is not None
    assert code != -signal.SIGKILL, srv.output()
