"""The per-check health metric on the scrape (issue #19, Health): the name and labels the
generated alert rules page on, 1 pass and 0 fail, read at scrape time through the check cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import need

import msatrace
from msatrace import health
from msatrace._alerting import names
from msatrace._core import runtime
from msatrace._core.health.registry import REGISTRY
from msatrace._core.metrics.store import ScrapeGauge, Snapshot

need("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from msatrace._core.metrics.exposition import Exposition  # noqa: E402  (needs prometheus_client)


@pytest.fixture
def scrape(env: pytest.MonkeyPatch) -> Iterator[object]:
    """msatrace with metrics on and checks re-run on every scrape; call it for the samples of
    the health family, as {(check, critical): value}."""
    msatrace.init(service_name="svc", patch="none", tracing=False, metrics_exporter="prometheus")
    REGISTRY.ttl = 0.0

    def samples() -> dict[tuple[str, str], float]:
        rt = runtime.current()
        assert rt is not None
        assert rt.metrics is not None
        status, _, body = rt.metrics.respond(None)
        assert status == 200
        out = {}
        for family in text_string_to_metric_families(body.decode()):
            if family.name == names.HEALTH_STATUS:
                assert family.type == "gauge"
                for s in family.samples:
                    out[(s.labels[names.CHECK], s.labels[names.CRITICAL])] = s.value
        return out

    try:
        yield samples
    finally:
        REGISTRY.clear()
        REGISTRY.ttl = 5.0


def test_each_check_is_a_series_named_as_the_alert_rules_expect(scrape: object) -> None:
    """``msatrace_health_check_status{check, critical}``: 1 pass, 0 fail, 0 for a warn."""
    state = {"db": True}

    def database() -> None:
        if not state["db"]:
            raise ConnectionError("refused")

    def cache() -> None:
        raise ConnectionError("cache down")

    assert scrape() == {}  # type: ignore[operator]  # no check: no family
    health.add_check("database", database)
    health.add_check("cache", cache, critical=False)

    assert scrape() == {  # type: ignore[operator]
        ("database:responseTime", names.CRITICAL_TRUE): 1.0,
        ("cache:responseTime", "false"): 0.0,
    }
    state["db"] = False
    assert scrape()[("database:responseTime", names.CRITICAL_TRUE)] == 0.0  # type: ignore[operator]
    state["db"] = True
    assert scrape()[("database:responseTime", names.CRITICAL_TRUE)] == 1.0  # type: ignore[operator]


def test_a_scrape_reaches_a_dependency_once_per_ttl(scrape: object) -> None:
    """Scrapes read the check cache: within the TTL, the probe is not run again."""
    calls = []
    health.add_check("database", lambda: calls.append(1))
    REGISTRY.ttl = 3600.0

    for _ in range(20):
        scrape()  # type: ignore[operator]

    assert len(calls) == 1


def test_a_gauge_that_fails_to_read_leaves_the_scrape_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scrape-time gauge whose read raises is left out; the other families are written."""
    reported = []
    monkeypatch.setattr(
        "msatrace._core.metrics.exposition.failed", lambda site, exc: reported.append(site)
    )

    def broken() -> list[tuple[tuple[str, ...], float]]:
        raise RuntimeError("registry gone")

    gauges = (
        ScrapeGauge("broken.gauge", "1", ("a",), "Broken.", broken),
        ScrapeGauge("fine.gauge", "1", ("a",), "Fine.", lambda: [(("x",), 2.0)]),
    )
    status, _, body = Exposition(Snapshot, None, gauges).respond(None)

    assert status == 200
    assert b'fine_gauge{a="x"} 2.0' in body
    assert b"broken_gauge" not in body
    assert reported == ["metrics.scrape_gauge"]
