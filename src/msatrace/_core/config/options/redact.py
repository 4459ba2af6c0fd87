"""Options: redaction of personal data and secrets.

Imports: the standard library and this package's ``parsers`` and ``redaction``.
"""

from __future__ import annotations

from msatrace._core.config import parsers as parse
from msatrace._core.config import redaction
from msatrace._core.config.options.option import Option, const

OPTIONS: tuple[Option, ...] = (
    Option(
        "redact",
        ("MSATRACE_REDACT",),
        parse.boolean,
        const(True),
        "Redact personal data and secrets from log lines and exported spans (see Privacy).",
        "`true`",
    ),
    Option(
        "redact_keys",
        ("MSATRACE_REDACT_KEYS",),
        parse.comma_list,
        const(()),
        "More key names whose values are always redacted (case and `-`/`_`/`.` ignored; a key "
        "ending in one of them counts too).",
        "none (the defaults are listed on the Privacy page)",
    ),
    Option(
        "redact_allow_keys",
        ("MSATRACE_REDACT_ALLOW_KEYS",),
        parse.comma_list,
        const(()),
        "Key names whose values are never redacted, neither by name nor by value.",
        "none",
    ),
    Option(
        "redact_patterns",
        ("MSATRACE_REDACT_PATTERNS",),
        redaction.patterns,
        const({}),
        "More value rules: `{kind: regex}` or a list of regexes; in the variable, a JSON object "
        "or array, or one regex. Matches become `[REDACTED:<kind>]`. A bad regex fails `init()`.",
        "none",
    ),
    Option(
        "redact_recognisers",
        (),
        redaction.recognisers,
        const(()),
        "Callables `text -> [(start, end) or (start, end, kind)]` run on every string; one that "
        "raises is reported once and its text redacted whole. Keyword only.",
        "none",
    ),
    Option(
        "redact_hash",
        ("MSATRACE_REDACT_HASH",),
        parse.boolean,
        const(False),
        "Append a keyed hash of the value to each replacement (`[REDACTED:email:1f0c2a9b3e4d]`, "
        "HMAC-SHA256 with `redact_hash_secret`), so one customer's lines can be followed.",
        "`false`",
    ),
    Option(
        "redact_hash_secret",
        ("MSATRACE_REDACT_HASH_SECRET",),
        redaction.secret,
        const(None),
        "The deployment secret of the keyed hash (at least 16 characters).",
        "none",
    ),
    Option(
        "redact_keep_last4",
        ("MSATRACE_REDACT_KEEP_LAST4",),
        parse.boolean,
        const(False),
        "Card numbers keep their last four digits: `[REDACTED:card:last4=1111]`.",
        "`false`",
    ),
    Option(
        "redact_ip",
        ("MSATRACE_REDACT_IP",),
        parse.choice(redaction.IP_MODES),
        const("off"),
        "IP addresses: `off` (kept), `redact`, or `hash` (keyed hash; needs the secret).",
        "`off`",
    ),
)
