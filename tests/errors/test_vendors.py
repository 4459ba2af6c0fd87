"""Jira, PagerDuty and Opsgenie notifiers against stand-ins that check what the vendors check."""

from __future__ import annotations

import time

from tests.errors.jira_vendors import vendor_server

from msatrace._core.errors.dispatch import Dispatcher
from msatrace._core.errors.event import ErrorEvent, build
from msatrace._core.errors.noise import Noise, Report
from msatrace.notifiers import JiraNotifier, OpsgenieNotifier, PagerDutyNotifier

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def _event(message: str = "order 42 failed", trace: str = TRACE) -> ErrorEvent:
    def checkout() -> None:
        raise ValueError(message)

    try:
        checkout()
    except ValueError as exc:
        return build(
            exc,
            context={"service": "orders", "environment": "production", "trace_id": trace,
                     "method": "POST", "route": "/orders/{id}", "status": 500},
        )  # fmt: skip
    raise AssertionError


def _report(event: ErrorEvent, kind: str = "new", count: int = 1) -> Report:
    return Report(
        kind=kind,  # type: ignore[arg-type]
        event=event,
        count=count,
        trace_ids=(event.trace_id,) if event.trace_id else (),
        first_seen=0.0,
        last_seen=0.0,
        window=600.0,
    )


def _jira(url: str, **kw: object) -> JiraNotifier:
    return JiraNotifier(
        url, project="SHOP", email="bot@example.com", api_token="tok",
        trace_url="https://grafana.example/trace/{trace_id}", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_jira_files_one_issue_then_comments_with_valid_adf() -> None:
    """First report: an issue (ADF valid per Atlassian's schema); later ones: comments."""
    with vendor_server() as jira:
        notifier = _jira(jira.url)
        event = _event()
        notifier.send(_report(event))
        notifier.send(_report(_event(trace="b" * 32), kind="digest", count=37))
        [issue] = jira.created()
        assert issue["fields"]["summary"] == "[orders] ValueError: order 42 failed"
        assert issue["fields"]["labels"] == ["msatrace", f"msatrace-{event.fingerprint}"]
        assert TRACE in str(issue["fields"]["description"])
        assert "https://grafana.example/trace/" + TRACE in str(issue["fields"]["description"])
        [comment] = jira.comments["SHOP-1"]
        assert "37 more in 10 min" in str(comment)
        another = _event(message="stock service timed out")
        assert another.fingerprint != event.fingerprint


def test_jira_search_lag_never_files_a_duplicate() -> None:
    """A second notifier (another process) finds the issue once search catches up; the first
    never searches again."""
    with vendor_server() as jira:
        jira.search_lag = 0.5
        first, second = _jira(jira.url), _jira(jira.url)
        first.send(_report(_event()))
        first.send(_report(_event(), kind="digest", count=3))  # from its own map: no search
        time.sleep(0.6)  # the other process reports after search caught up
        second.send(_report(_event(), kind="digest", count=2))
        assert len(jira.created()) == 1
        assert len(jira.comments["SHOP-1"]) == 2
        searches = [r for r in jira.requests if r[1] == "/rest/api/3/search/jql"]
        assert len(searches) == 2  # one per notifier, before it knew the key


def test_jira_a_bug_back_after_done_gets_a_new_issue_or_a_reopen() -> None:
    """Returned after its issue was resolved: a new issue (default) or the old one reopened."""
    with vendor_server() as jira:
        notifier = _jira(jira.url)
        notifier.send(_report(_event()))
        jira.issues["SHOP-1"]["done"] = True
        notifier.send(_report(_event(), kind="returned"))
        assert sorted(jira.issues) == ["SHOP-1", "SHOP-2"]
        reopening = _jira(jira.url, on_done="reopen")
        jira.issues["SHOP-2"]["done"] = True
        reopening.send(_report(_event(), kind="returned"))
        assert sorted(jira.issues) == ["SHOP-1", "SHOP-2"]
        assert jira.issues["SHOP-2"]["done"] is False


def test_pagerduty_one_alert_per_fingerprint_within_limits() -> None:
    """Events v2: dedup_key = fingerprint, summary within 1,024, the trace in custom_details."""
    with vendor_server() as vendor:
        notifier = PagerDutyNotifier(
            ROUTING_KEY, url=f"{vendor.url}/v2/enqueue", trace_url="https://t/{trace_id}"
        )
        event = _event(message="x" * 5000)
        dispatcher = Dispatcher([notifier], Noise(window=0.2), tick=0.05)
        for _ in range(50):
            dispatcher.observe(event)
        assert dispatcher.close(5.0)
        sent = [r for r in vendor.requests if r[1] == "/v2/enqueue"]
        assert len(sent) == 1  # digests are not sent: PagerDuty counts repeats itself
        body = sent[0][2]
        assert body["dedup_key"] == event.fingerprint
        assert len(body["payload"]["summary"]) == 1024
        assert body["payload"]["summary"].endswith("…")
        assert body["payload"]["custom_details"]["trace_id"] == TRACE
        assert body["links"] == [{"href": f"https://t/{TRACE}", "text": f"Trace {TRACE}"}]
        assert dispatcher.failed == 0


def test_opsgenie_alias_is_the_fingerprint_and_limits_hold() -> None:
    """Alert API: alias = fingerprint, message within 130, GenieKey auth; 202 accepted."""
    with vendor_server() as vendor:
        notifier = OpsgenieNotifier("key-123\n", url=f"{vendor.url}/v2/alerts")
        event = _event(message="y" * 500)
        notifier.send(_report(event))
        [(_, _, body, headers)] = [r for r in vendor.requests if r[1] == "/v2/alerts"]
        assert headers["authorization"] == "GenieKey key-123"  # a key file's newline stripped
        assert body["alias"] == event.fingerprint
        assert len(body["message"]) == 130
        assert body["details"]["trace_id"] == TRACE
