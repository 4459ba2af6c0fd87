"""How users call the log-level API, checked by mypy --strict; never executed."""

from __future__ import annotations

import logging

import msatrace


def change_levels() -> None:
    """Levels by name or by the standard library's number, globally or per logger."""
    msatrace.set_log_level("DEBUG")
    msatrace.set_log_level(logging.WARNING, "urllib3")
    msatrace.set_log_level("info", logger="myapp.db")


def signed_headers(secret: str, trace_id: str) -> dict[str, str]:
    """The debug-on-demand header value is a str."""
    token: str = msatrace.debug_header(secret, trace_id, ttl=120)
    return {"X-Msatrace-Debug": token}


def init_with_debug_settings() -> msatrace.Settings:
    """The debug settings are keyword arguments of init()."""
    return msatrace.init(
        debug_on_error=True,
        debug_buffer_lines=500,
        debug_buffer_bytes=1 << 17,
        debug_secret="from-the-secret-store",
        debug_header_name="X-Debug",
        debug_sample_rate=0.01,
    )
