"""Options: debug on error and debug on demand.

Imports: the standard library and this package's ``parsers`` and ``redaction`` (the secret).
"""

from __future__ import annotations

from msatrace._core.config import parsers as parse
from msatrace._core.config import redaction
from msatrace._core.config.options.option import Option, const

OPTIONS: tuple[Option, ...] = (
    Option(
        "debug_on_error",
        ("MSATRACE_DEBUG_ON_ERROR",),
        parse.boolean,
        const(None),  # resolved by environment in resolve()
        "Lines below the log level written during a request or task are kept in a small "
        "buffer of that request, not written; if it ends in an error (a 5xx, an exception) or "
        'writes an ERROR line, they are written first, each with `"buffered": true`.',
        "`true`, `false` in a development environment (DEBUG is written there anyway)",
    ),
    Option(
        "debug_buffer_lines",
        ("MSATRACE_DEBUG_BUFFER_LINES",),
        parse.positive_number,
        const(200),
        "The most lines one request's debug-on-error buffer keeps; the oldest go first, counted.",
        "`200`",
    ),
    Option(
        "debug_buffer_bytes",
        ("MSATRACE_DEBUG_BUFFER_BYTES",),
        parse.positive_number,
        const(65536),
        "The most bytes (estimated from the messages and text fields) one request's buffer keeps.",
        "`65536`",
    ),
    Option(
        "debug_secret",
        ("MSATRACE_DEBUG_SECRET",),
        redaction.secret,
        const(None),
        "The shared secret of debug on demand (at least 16 characters): a request carrying a "
        "header signed with it (`msatrace.debug_header`) logs at DEBUG in every service of its "
        "trace. Without it the header is ignored.",
        "none",
    ),
    Option(
        "debug_header_name",
        ("MSATRACE_DEBUG_HEADER_NAME",),
        parse.header,
        const("X-Msatrace-Debug"),
        "The request header that carries a signed debug-on-demand token.",
        "`X-Msatrace-Debug`",
    ),
    Option(
        "debug_sample_rate",
        ("MSATRACE_DEBUG_SAMPLE_RATE",),
        parse.ratio,
        const(0.0),
        "The fraction of traces logged at DEBUG throughout, chosen from the trace ID so that "
        "every service chooses the same traces.",
        "`0`",
    ),
)
