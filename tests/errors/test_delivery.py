"""Delivery to the Slack and webhook stand-ins: once, in a digest, through trouble, after fork."""

from __future__ import annotations

import os
import threading
import time

import pytest
from tests.errors.vendors import stand_in

from msatrace._core.errors.dispatch import Dispatcher
from msatrace._core.errors.event import ErrorEvent, build
from msatrace._core.errors.noise import Noise
from msatrace.notifiers import SlackNotifier, WebhookNotifier, verify_signature

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _event(trace: str = TRACE, message: str = "order 42 failed") -> ErrorEvent:
    def checkout() -> None:
        raise ValueError(message)

    try:
        checkout()
    except ValueError as exc:
        return build(
            exc,
            context={
                "service": "orders", "environment": "production", "version": "1.4.0",
                "trace_id": trace, "request_id": "r-1", "method": "POST",
                "route": "/orders/{id}", "status": 500,
            },
        )  # fmt: skip
    raise AssertionError


def _wait(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_a_hundred_identical_errors_give_one_message_then_one_digest() -> None:
    """100 occurrences: one Slack message at once, one digest with the count and 5 trace IDs."""
    with stand_in("slack") as slack:
        notifier = SlackNotifier(slack.url, trace_url="https://grafana.example/trace/{trace_id}")
        dispatcher = Dispatcher([notifier], Noise(window=1.0), tick=0.05)
        for i in range(100):
            dispatcher.observe(_event(trace=f"{i:032x}"))
        _wait(lambda: len(slack.received) == 2)
        assert dispatcher.close(timeout=5.0)
    first, digest = slack.received
    assert first["text"] == f"[orders] ValueError: order 42 failed (trace {0:032x})"
    assert f"<https://grafana.example/trace/{0:032x}|{0:032x}>" in str(first["blocks"])
    assert digest["text"].startswith("[orders] 99 more in 1 min: ValueError: order 42 failed")
    assert str(digest["blocks"]).count("grafana.example/trace/") == 1 + 5  # the field + 5 IDs
    assert slack.attempts == 2


def test_rate_limited_and_failing_vendors_are_retried() -> None:
    """429 with Retry-After, then 500: retried, delivered once; a 400 is not retried."""
    with stand_in("slack") as slack:
        slack.script = ["429", "500"]
        dispatcher = Dispatcher([SlackNotifier(slack.url)], Noise(), backoff=0.05)
        started = time.monotonic()
        dispatcher.observe(_event())
        _wait(lambda: len(slack.received) == 1)
        waited = time.monotonic() - started
        assert slack.attempts == 3
        assert waited >= 1.0  # Retry-After: 1 was honoured (a lower bound, not a timing target)
        slack.script = ["400"]
        dispatcher.observe(_event(message="another bug entirely"))
        _wait(lambda: dispatcher.failed == 1)
        assert slack.attempts == 4  # not retried
        dispatcher.close(1.0)


def test_a_hanging_vendor_never_blocks_the_caller_and_a_full_queue_drops() -> None:
    """observe() returns while the vendor hangs; past the queue size reports are dropped."""
    with stand_in("slack") as slack:
        slack.script = ["hang"]
        dispatcher = Dispatcher([SlackNotifier(slack.url, timeout=30)], Noise(), queue_size=2)
        dispatcher.observe(_event(message="bug kind a"))
        _wait(lambda: slack.attempts == 1)  # in the hanging request
        for kind in "bcde":  # four other bugs: two wait in the queue, two are dropped
            dispatcher.observe(_event(message=f"bug kind {kind}"))
        # observe() returned while the vendor still hangs (it is released only below)
        assert (slack.attempts, slack.received) == (1, [])
        assert dispatcher.dropped == 2
        slack.release.set()
        _wait(lambda: len(slack.received) == 3)
        assert dispatcher.close(2.0)


def test_close_is_bounded_when_the_vendor_hangs() -> None:
    """close() gives up at its timeout with the vendor still hanging, and says so."""
    with stand_in("slack") as slack:
        slack.script = ["hang"]
        dispatcher = Dispatcher([SlackNotifier(slack.url, timeout=30)], Noise())
        dispatcher.observe(_event())
        _wait(lambda: slack.attempts == 1)
        assert dispatcher.close(timeout=0.5) is False


def test_a_refused_connection_is_retried_then_counted() -> None:
    """Nobody listening: retried, then one failure counted; nothing raised."""
    with stand_in("slack") as slack:
        url = slack.url
    dispatcher = Dispatcher([SlackNotifier(url)], Noise(), backoff=0.01, retries=2)
    dispatcher.observe(_event())
    _wait(lambda: dispatcher.failed == 1)
    assert dispatcher.delivered == 0
    dispatcher.close(1.0)


def test_webhook_is_signed_and_versioned() -> None:
    """The receiver verifies the signature; the body is version 1 with the trace ID."""
    with stand_in("webhook", secret="s3cret") as hook:
        notifier = WebhookNotifier(hook.url, secret="s3cret", trace_url="https://t/{trace_id}")
        dispatcher = Dispatcher([notifier], Noise())
        dispatcher.observe(_event())
        _wait(lambda: len(hook.received) == 1)
        dispatcher.close(1.0)
        with stand_in("webhook", secret="other") as wrong:
            bad = Dispatcher([WebhookNotifier(wrong.url, secret="s3cret")], Noise())
            bad.observe(_event())
            _wait(lambda: bad.failed == 1)
            assert wrong.received == []
    body = hook.received[0]
    assert (body["version"], body["kind"], body["count"]) == (1, "new", 1)
    assert body["trace_ids"] == [TRACE]
    assert body["trace_url"] == f"https://t/{TRACE}"
    assert body["event"]["route"] == "/orders/{id}"
    assert body["event"]["exceptions"][0]["type"] == "ValueError"


def test_verify_signature_refuses_replays_and_forgeries() -> None:
    """An old timestamp, another body or another secret is refused."""
    from msatrace._core.errors.notify.webhook import sign

    body, ts = b'{"a":1}', "1796400000"
    good = "v1=" + sign(b"k", ts, body)
    assert verify_signature("k", ts, body, good, now=1796400100)
    assert not verify_signature("k", ts, body, good, now=1796400000 + 301)  # replayed later
    assert not verify_signature("k", ts, b'{"a":2}', good, now=1796400100)
    assert not verify_signature("other", ts, body, good, now=1796400100)
    assert not verify_signature("k", "not-a-time", body, good)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running (3.12+)
def test_a_forked_child_delivers_through_its_own_thread() -> None:
    """After fork (gunicorn --preload), the child's reports still go out."""
    with stand_in("slack") as slack:
        dispatcher = Dispatcher([SlackNotifier(slack.url)], Noise())
        dispatcher.observe(_event(message="in the parent"))
        _wait(lambda: len(slack.received) == 1)
        pid = os.fork()
        if pid == 0:  # the child: report, wait for delivery, leave without running pytest's exit
            code = 1
            try:
                dispatcher.observe(_event(message="in the child"))
                code = 0 if dispatcher.close(timeout=10.0) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        _wait(lambda: len(slack.received) == 2)
        assert "in the child" in slack.received[1]["text"]
        assert threading.active_count() >= 1
        dispatcher.close(1.0)


def test_a_vendor_down_for_more_than_a_few_tries_still_gets_the_report() -> None:
    """Six 500s in a row, then up: the report arrives once, nothing counted as failed."""
    with stand_in("slack") as slack:
        slack.script = ["500"] * 6
        dispatcher = Dispatcher([SlackNotifier(slack.url)], Noise(), backoff=0.01)
        dispatcher.observe(_event())
        _wait(lambda: len(slack.received) == 1)
        assert dispatcher.close(1.0)
    assert (slack.attempts, dispatcher.failed, dispatcher.delivered) == (7, 0, 1)


def test_a_notifier_waiting_to_retry_holds_no_other_back() -> None:
    """One vendor answering 500 (next try in 30 s): the other gets the report meanwhile."""
    with stand_in("slack") as down, stand_in("slack") as up:
        down.script = ["500"] * 100
        notifiers = [SlackNotifier(down.url), SlackNotifier(up.url)]
        dispatcher = Dispatcher(notifiers, Noise(), backoff=30.0)
        dispatcher.observe(_event())
        _wait(lambda: len(up.received) == 1)
        assert down.attempts == 1
        assert dispatcher.close(0.2) is False  # the waiting one is given up at the bound
    assert dispatcher.failed == 1


def test_the_outbox_of_a_vendor_that_stays_down_is_bounded() -> None:
    """Five bugs for a vendor that is down, two places: the oldest are dropped and counted."""
    with stand_in("slack") as slack:
        slack.script = ["500"] * 100
        dispatcher = Dispatcher([SlackNotifier(slack.url)], Noise(), backoff=30.0, outbox_size=2)
        for kind in "abcde":
            dispatcher.observe(_event(message=f"bug kind {kind}"))
        _wait(lambda: dispatcher.failed == 3)
        assert [len(outbox) for outbox in dispatcher._outboxes] == [2]
        assert dispatcher.close(0.2) is False
    assert (dispatcher.failed, dispatcher.delivered) == (5, 0)
