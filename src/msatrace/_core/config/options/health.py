"""Options: the health endpoints answered in msatrace's middleware.

Imports: the standard library and this package's ``parsers``.
"""

from __future__ import annotations

from msatrace._core.config import parsers as parse
from msatrace._core.config.options.option import Option, const

OPTIONS: tuple[Option, ...] = (
    Option(
        "health",
        ("MSATRACE_HEALTH",),
        parse.boolean,
        const(True),
        "Answer the health probes (`health_live_path`, `health_ready_path`, `health_path`) in "
        "msatrace's middleware, before the application; `false` leaves those paths to the app.",
        "`true`",
    ),
    Option(
        "health_live_path",
        ("MSATRACE_HEALTH_LIVE_PATH",),
        parse.path,
        const("/livez"),
        "Liveness: 200 while the process answers; asks no dependency. `off` turns it off.",
        "`/livez`",
    ),
    Option(
        "health_ready_path",
        ("MSATRACE_HEALTH_READY_PATH",),
        parse.path,
        const("/readyz"),
        "Readiness: runs the checks registered with `msatrace.health.add_check`; 503 when a "
        "critical one fails. `off` turns it off.",
        "`/readyz`",
    ),
    Option(
        "health_path",
        ("MSATRACE_HEALTH_PATH",),
        parse.path,
        const("/healthz"),
        "An alias answering as liveness or readiness (`health_path_answers`). `off` turns it off.",
        "`/healthz`",
    ),
    Option(
        "health_path_answers",
        ("MSATRACE_HEALTH_PATH_ANSWERS",),
        parse.choice(("live", "ready")),
        const("live"),
        "What `health_path` answers: `live` (no dependency asked: safe for a liveness probe) "
        "or `ready`.",
        "`live`",
    ),
    Option(
        "health_cache_ttl",
        ("MSATRACE_HEALTH_CACHE_TTL",),
        parse.seconds,
        const(5.0),
        "Seconds a readiness result is reused, so frequent probes reach each dependency at most "
        "once per period.",
        "`5`",
    ),
    Option(
        "health_token",
        ("MSATRACE_HEALTH_TOKEN",),
        parse.text,
        const(None),
        "A secret: a probe sending `Authorization: Bearer <token>` sees each check's error "
        "text; others see only each check's status. Never logged.",
        "none (error text never shown)",
    ),
)
