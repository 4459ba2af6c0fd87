"""Log levels changed at run time, without a restart: ``msatrace.set_log_level``.

Imports: ``msatrace._core`` (config.parsers, logs.configure).
"""

from __future__ import annotations

from msatrace._core.config.parsers import level as parse_level
from msatrace._core.logs import configure


def set_log_level(level: str | int, logger: str | None = None) -> None:
    """Change a log level now, without a restart: the global one, or one logger's.

    Applies to structlog loggers (``msatrace.get_logger``) and standard-library loggers alike,
    from the next line on, in every thread. ``logger`` names a logger and its children, as the
    ``log_levels`` setting does; ``None`` is the global level (``log_level``). Lasts until the
    next ``init()`` or ``shutdown()``.

    Args:
        level: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL`` (any case), or the
            standard library's number for one of them.
        logger: the logger's name; ``None`` for the global level.

    Raises:
        ConfigError: ``level`` is none of those.
    """
    number = configure.LEVEL_NUM[parse_level(level, "set_log_level(level)")]
    if logger is None:
        configure.set_levels(number, {})
    else:
        configure.set_levels(None, {logger: number})
