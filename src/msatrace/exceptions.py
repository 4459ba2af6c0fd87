"""Public exceptions.

Hierarchy::

    MsatraceError
    └── ConfigError   a wrong setting, raised by ``msatrace.init()`` only
"""

from __future__ import annotations


class MsatraceError(Exception):
    """Base class of every exception msatrace raises on purpose."""


class ConfigError(MsatraceError, ValueError):
    """A setting has a value msatrace cannot accept.

    The message names the keyword argument or environment variable, the value seen and what is
    accepted, e.g. ``MSATRACE_LOG_FORMAT='jsno': expected 'json' or 'console'``.
    """
