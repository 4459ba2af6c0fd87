"""Three processes sharing a real redis-server report one bug once, and one digest per window."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest
from tests import redis_server
from tests.errors.jira_vendors import vendor_server
from tests.errors.vendors import stand_in
from tests.integration.servers import free_port

from msatrace._core.errors.event import ErrorEvent, ExceptionInfo
from msatrace._core.errors.shared import SharedNoise

WORKER = textwrap.dedent(
    """
    import sys, time
    from msatrace._core.errors.dispatch import Dispatcher
    from msatrace._core.errors.event import build
    from msatrace._core.errors.shared import SharedNoise
    from msatrace.notifiers import SlackNotifier

    redis_url, slack_url, start, n, worker = sys.argv[1:6]
    noise = SharedNoise(redis_url, window=5.0, quiet=600.0)
    dispatcher = Dispatcher([SlackNotifier(slack_url)], noise, tick=0.05)

    def checkout(i):
        raise ValueError(f"order {i} failed")

    time.sleep(max(0.0, float(start) - time.time()))  # all workers at the same moment
    for i in range(int(n)):
        try:
            checkout(i)
        except ValueError as exc:
            event = build(exc, context={"service": "orders", "trace_id": f"{worker}{i:031x}"})
            dispatcher.observe(event)
    time.sleep(7.0)  # past the window: one of the workers sends the digest
    sys.exit(0 if dispatcher.close(5.0) else 3)
    """
)


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server.running() as url:
        yield url


def test_three_workers_send_one_report_and_one_digest(redis_url: str) -> None:
    """1,002 identical errors across 3 processes: 1 Slack message, then 1 digest of 1,001."""
    with stand_in("slack") as slack:
        start = time.time() + 2.0
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, redis_url, slack.url, str(start), "334", str(w)],
                env=dict(os.environ),
            )
            for w in range(3)
        ]
        codes = [p.wait(60) for p in procs]
        assert codes == [0, 0, 0]
    texts = [m["text"] for m in slack.received]
    reports = [t for t in texts if " more in " not in t]
    digests = [t for t in texts if " more in " in t]
    assert len(reports) == 1, texts
    assert reports[0].startswith("[orders] ValueError: order ")
    # every other occurrence is in a digest, one per 5-s window: one, unless the machine was so
    # loaded that the workers' errors spread over more than one window
    assert sum(int(t.split()[1]) for t in digests) == 1001, texts
    assert 1 <= len(digests) <= 2, texts
    for message in slack.received:
        if " more in " in message["text"]:
            [some] = [
                b["text"]["text"]
                for b in message["blocks"]
                if b["type"] == "section" and b.get("text", {}).get("text", "").startswith("*Some")
            ]
            assert 1 <= some.count("`") // 2 <= 5, some  # at most 5 of their trace IDs


def _event(fp: str) -> ErrorEvent:
    info = ExceptionInfo(type="ValueError", message="x", frames=())
    return ErrorEvent(fingerprint=fp, exceptions=(info,), timestamp=0.0, trace_id="t" * 32)


def test_unreachable_redis_falls_back_to_this_process() -> None:
    """No Redis: decisions are made in the process; nothing raises."""
    noise = SharedNoise(f"redis://127.0.0.1:{free_port()}/0", window=60.0)
    first = noise.observe(_event("a" * 32), 0.0)
    assert first is not None
    assert first.kind == "new"
    assert noise.observe(_event("a" * 32), 1.0) is None
    [digest] = noise.due(100.0)
    assert digest.count == 1


def test_jira_workers_sharing_redis_file_one_issue_despite_search_lag(redis_url: str) -> None:
    """Search lags creation by 2 s: a second process comments on the issue the first filed
    (the key is in Redis); while one process is filing, another waits instead of filing."""
    from tests.errors.test_vendors import _event, _jira, _report

    from msatrace._core.errors.dispatch import DeliveryError
    from msatrace._core.errors.resp import Redis

    clients = [Redis(redis_url) for _ in range(3)]
    with vendor_server() as jira:
        jira.search_lag = 2.0
        first, second = _jira(jira.url), _jira(jira.url)
        first.share(clients[0])
        second.share(clients[1])
        event = _event()
        first.send(_report(event))
        second.send(_report(event, kind="digest", count=37))
        another = _event(message="stock service timed out")
        clients[2].call("SET", f"msatrace:errors:jira:SHOP:{another.fingerprint}:filing", "1")
        with pytest.raises(DeliveryError) as waiting:
            second.send(_report(another))
        assert waiting.value.retry
    for client in clients:
        client.close()

    assert len(jira.created()) == 1
    assert len(jira.comments["SHOP-1"]) == 1
    searched = [r[2]["jql"] for r in jira.requests if r[1] == "/rest/api/3/search/jql"]
    assert sum(event.fingerprint in jql for jql in searched) == 1  # the first, before filing
