"""Redaction: what one 13-field log event costs with msatrace's redaction and with the peers.

    python benchmarks/bench_redact.py            # about 3 minutes on a 2-core machine
    python benchmarks/bench_redact.py --quick    # about 1 minute

Two events of 13 fields each, as msatrace's event builder makes them (timestamp, level, logger,
event, service, environment, version, trace_id, span_id, request_id and three of the call's
fields): ``clean`` holds no personal data, ``pii`` holds an e-mail and a card number in its
message, a Korean mobile number, a password field and a Bearer header. Each variant is timed in
batches, all variants interleaved in a shuffled order per round; the figure is the median over
rounds of (variant - no redaction) per event, in microseconds. "Caught" counts the personal values
of the ``pii`` event absent from the variant's output.

Variants:

- ``msatrace``: ``Redactor().event(event)`` (default rules; returns a copy, never mutates).
- ``logfire``: Logfire's scrubber, ``Scrubber(None).scrub_value(("attributes",), event)``.
- ``sentry``: sentry-sdk's ``EventScrubber(recursive=True).scrub_dict`` on a ``deepcopy`` (it
  edits in place; the copy is part of the cost a log pipeline pays).
- ``scrubadub``: ``Scrubber().clean()`` on each string field.
- ``presidio``: ``AnalyzerEngine`` (pattern recognisers, a blank spaCy English pipeline saved to
  disk, so that it runs offline) analysing the event's string fields joined into one text: one
  call per event, a lower bound of what a per-field processor would pay; the spans it finds are
  replaced by string slicing (presidio-anonymizer is not used).

A peer that cannot be imported here is skipped and named in the report.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from msatrace._core.redact.engine import Redactor

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = {
    "timestamp": "2026-12-04T17:23:28.123Z",
    "level": "info",
    "logger": "app.orders",
    "service": "orders",
    "environment": "production",
    "version": "1.4.2",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "request_id": "9b2c1e0d-4f5a-4c3b-8e7d-1a2b3c4d5e6f",
}
CLEAN = {**SCHEMA, "event": "order created", "order_id": "ORD-1042", "items": 3, "total": 129.5}
PII_VALUES = ("kim.minsu@example.com", "4111 1111 1111 1111", "010-1234-5678", "hunter2pw!",
              "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz")  # fmt: skip
PII = {
    **SCHEMA,
    "event": "payment by kim.minsu@example.com with card 4111 1111 1111 1111 failed",
    "phone": "010-1234-5678",
    "password": "hunter2pw!",
    "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz",
}
assert len(CLEAN) == len(PII) == 13

Variant = Callable[[dict[str, Any]], Any]


def variants() -> tuple[dict[str, Variant], dict[str, str]]:
    out: dict[str, Variant] = {"none": lambda ev: ev}
    skipped: dict[str, str] = {}
    redactor = Redactor()
    out["msatrace"] = redactor.event
    try:
        from logfire._internal.scrubbing import Scrubber as LogfireScrubber

        logfire = LogfireScrubber(None)
        out["logfire"] = lambda ev: logfire.scrub_value(("attributes",), ev)[0]
    except Exception as exc:
        skipped["logfire"] = f"{type(exc).__name__}: {exc}"
    try:
        from sentry_sdk.scrubber import EventScrubber

        sentry = EventScrubber(recursive=True)

        def sentry_scrub(ev: dict[str, Any]) -> Any:
            copied = copy.deepcopy(ev)
            sentry.scrub_dict(copied)
            return copied

        out["sentry"] = sentry_scrub
    except Exception as exc:
        skipped["sentry"] = f"{type(exc).__name__}: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import scrubadub

        scrubber = scrubadub.Scrubber()
        out["scrubadub"] = lambda ev: {
            k: scrubber.clean(v) if type(v) is str and k not in SCHEMA else v for k, v in ev.items()
        }
    except Exception as exc:
        skipped["scrubadub"] = f"{type(exc).__name__}: {exc}"
    try:
        out["presidio"] = _presidio()
    except Exception as exc:
        skipped["presidio"] = f"{type(exc).__name__}: {exc}"
    return out, skipped


def _presidio() -> Variant:
    import logging

    import spacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    path = os.path.join(tempfile.gettempdir(), "msatrace-bench-spacy-blank-en")
    if not os.path.isdir(path):
        spacy.blank("en").to_disk(path)
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": path}]}
    engine = AnalyzerEngine(
        nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(),
        supported_languages=["en"],
    )
    # The URL recogniser fetches the public-suffix list at first use (tldextract); offline it
    # fails and falls back. Warm it up once here, outside the timing.
    engine.analyze("see https://example.com", language="en")

    def analyse(ev: dict[str, Any]) -> Any:
        text = "\n".join(v for k, v in ev.items() if type(v) is str and k not in SCHEMA)
        # what was found, replaced (so that "caught" can be counted; costs next to nothing)
        for hit in sorted(engine.analyze(text, language="en"), key=lambda h: -h.start):
            text = f"{text[: hit.start]}<{hit.entity_type}>{text[hit.end :]}"
        return text

    return analyse


def _batch(fn: Variant, event: dict[str, Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(event)
    return (time.perf_counter() - start) / n * 1e6


def measure(rounds: int, budget: float) -> dict[str, dict[str, float]]:
    found, _ = variants()
    sizes = {}
    for name, fn in found.items():
        per = max(_batch(fn, PII, 3), 0.05)
        sizes[name] = max(3, min(20000, int(budget * 1e6 / per)))
    samples: dict[tuple[str, str], list[float]] = {}
    rng = random.Random(18)
    for _ in range(rounds):
        for label, event in (("clean", CLEAN), ("pii", PII)):
            base = _batch(found["none"], event, sizes["none"])
            order = [n for n in found if n != "none"]
            rng.shuffle(order)
            for name in order:
                added = _batch(found[name], event, sizes[name]) - base
                samples.setdefault((name, label), []).append(added)
    out: dict[str, dict[str, float]] = {}
    for (name, label), values in samples.items():
        out.setdefault(name, {})[label] = statistics.median(values)
    return out


def caught(fn: Variant) -> int:
    text = json.dumps(fn(dict(PII)), default=repr, ensure_ascii=False)
    return sum(v not in text for v in PII_VALUES)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join(HERE, "RESULTS-redact.md"))
    args = parser.parse_args()
    rounds, budget = (5, 0.02) if args.quick else (15, 0.05)
    found, skipped = variants()
    hits = {name: caught(fn) for name, fn in found.items() if name != "none"}
    results = measure(rounds, budget)
    lines = [
        "# Redaction benchmark",
        "",
        f"`python benchmarks/bench_redact.py{' --quick' if args.quick else ''}`, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}. Method: see the docstring of `bench_redact.py` ({rounds} "
        "interleaved rounds; median of per-round differences to no redaction).",
        "",
        "Microseconds added per 13-field event (targets for msatrace: clean <= 2, PII <= 20).",
        "",
        "| variant | clean event | event with PII | PII values removed |",
        "|---|---:|---:|---:|",
    ]
    for name in ("msatrace", "logfire", "sentry", "scrubadub", "presidio"):
        if name in results:
            r = results[name]
            lines.append(
                f"| {name} | {r['clean']:.2f} | {r['pii']:.2f} | {hits[name]}/{len(PII_VALUES)} |"
            )
    for name, why in skipped.items():
        lines.append(f"| {name} | skipped: {why} | | |")
    lines.append("")
    report = "\n".join(lines)
    print(report)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(report)


if __name__ == "__main__":
    main()
