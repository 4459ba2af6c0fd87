"""Redaction: personal data and secrets replaced before anything is written or exported.

One job: given a log event, a span's attributes, a URL or a piece of text, return a copy in which
every value a rule recognises is replaced by ``[REDACTED:<kind>]`` (or a keyed hash), without
mutating the caller's objects and without raising. ``rules`` holds the default rules (key names
and value patterns with their checksums), ``engine`` the :class:`~msatrace._core.redact.engine.
Redactor` that applies them to nested values, ``first`` the first look at an event (whether
anything in it needs the rules at all), ``scan`` the look at one string, ``encoded`` the
reading of percent-encoded text, ``spans`` the exporter wrapper that redacts every
span on a provider before it leaves the process.

Imports: the standard library, ``_core.config`` (the settings) and ``_core.safety``; ``spans``
alone also imports ``opentelemetry.sdk`` (the span types it copies). No NER, no third-party
pattern library: the rules must stay cheap enough for every log line. Never imports ``logs``,
``spans``, the lifecycles or ``runtime``: those call it (import-linter).
"""
