"""Logging's configuration: structlog, the standard-library bridge, levels, ``get_logger``.

``configure(settings)`` installs, once per ``init()``: the line pipeline of ``event`` (service
fields, renderer, output, event transforms), structlog's configuration (a bound logger whose
calls go straight to ``event.write``) and the bridge on the root logger (``stdlib.Bridge``),
which sends every standard-library record (uvicorn, gunicorn, Django, Celery, urllib3, ...) to
``event.write`` too; server loggers' own console handlers are taken out so that no line is
printed twice. The bridge, the gates of ``Logger``'s methods and the levels and switches they
read (``stdlib.state``) are ``stdlib``'s.
``unconfigure()`` gives back every handler and level it changed. Building, transforming and
rendering a line is ``event``'s and ``render``'s job, the access line ``access``'s.

With debug on error or on demand (``_core.debug``), lines below the level still reach ``_write``
and the bridge while a request has a debug mode, which keeps them in the request's buffer or
writes them; outside such a request they cost one ``ContextVar`` read (``benchmarks/``).

Imports: the standard library, structlog (at ``configure()``: ``import msatrace`` stays cheap)
and ``msatrace._core``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import weakref
from collections.abc import Iterable, Mapping, MutableMapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

from msatrace._core import patching
from msatrace._core.config import parsers as parse
from msatrace._core.config.settings import Settings
from msatrace._core.debug import buffer
from msatrace._core.logs import builder, console, render, stdlib, throttle
from msatrace._core.logs.stdlib import FRAMEWORK_LOGGERS, level_for

_LEVEL_NAMES = {"exception": "error", "warn": "warning", "fatal": "critical", "msg": "info"}
LEVEL_NUM = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
# A structlog method's or a line's level name -> its number (anything else counts as INFO).
_METHOD_NUM = {
    "debug": 10, "info": 20, "msg": 20, "warning": 30, "warn": 30,
    "error": 40, "exception": 40, "critical": 50, "fatal": 50,
}  # fmt: skip
# Third-party loggers whose DEBUG (or INFO) lines bury the application's in development: their
# level there unless ``log_levels`` names them (``logger_levels``). Production's INFO keeps most.
NOISY_LOGGERS = {
    "asyncio": "INFO", "httpcore": "INFO", "httpx": "INFO", "urllib3": "INFO",
    "hpack": "WARNING", "h2": "WARNING", "h11": "WARNING", "multipart": "WARNING",
    "python_multipart": "WARNING", "charset_normalizer": "WARNING", "chardet": "WARNING",
    "watchfiles": "WARNING", "botocore": "INFO", "boto3": "INFO", "s3transfer": "INFO",
    "kombu": "INFO", "amqp": "INFO", "PIL": "INFO", "filelock": "INFO", "parso": "INFO",
}  # fmt: skip


_state = stdlib.state  # shared with the bridge and the gates (stdlib)
_processors: list[Any] = []  # mutated in place so loggers cached by structlog follow re-init


# --- structlog processors ---


class _Sink:
    """The structlog "logger": carries the logger's name; ``_write`` writes the line."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def msg(self, message: Any) -> None:
        """Nothing to do: ``_emit`` wrote the line already."""

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _sink_factory(*args: Any) -> _Sink:
    return _Sink(str(args[0]) if args and args[0] else "app")


def _emit(logger: Any, method: str, ev: MutableMapping[str, Any]) -> str:
    """The one structlog processor: writes the line (``_proxy_to_logger`` calls ``_write``
    without it)."""
    if not _write(logger, method, ev):
        import structlog  # loaded by configure() already

        raise structlog.DropEvent
    return ""


def _write(logger: Any, method: str, ev: MutableMapping[str, Any]) -> bool:
    """Write one structlog event; False when a level drops it. Below the level, a request's
    debug mode keeps the line in its buffer or writes it (``_core.debug``)."""
    name = logger.name if isinstance(logger, _Sink) else "app"
    if _state.levels or _state.gated:
        level, explicit = level_for(name)
        if _METHOD_NUM.get(method, 20) < level:
            # A per-logger level silences its logger in every mode.
            mode = buffer.current() if _state.gated and not explicit else None
            if mode is None:
                return False
            if isinstance(mode, buffer.Buffer):
                builder.keep(mode, name, _LEVEL_NAMES.get(method, method), ev)
                return True
    builder.write(name, _LEVEL_NAMES.get(method, method), ev, time.time())
    return True


def _bound_logger_class(min_level: int, gated: bool = False) -> type[Any]:
    """structlog's filtering bound logger for ``min_level``, writing each call with ``_write``.

    ``gated`` (debug on error or on demand): the methods below ``min_level`` are not structlog's
    no-ops but a check of the request's debug mode, and go on only while there is one.
    """
    import structlog  # loaded by configure() already

    base = structlog.make_filtering_bound_logger(10 if gated else min_level)

    def _proxy_to_logger(
        self: Any, method_name: str, event: str | None = None, **event_kw: Any
    ) -> None:
        """Write the event directly, without structlog's processor chain (``benchmarks/``).

        msatrace's chain is only ever ``[_emit]``; structlog documents ``_proxy_to_logger`` as
        the method custom wrapper classes override. ``structlog.testing.capture_logs()`` swaps
        the chain in place (also after ``shutdown()``, when msatrace's configuration stays):
        structlog's own method then runs it.
        """
        chain = _processors
        if not chain or chain[0] is not _emit:
            super(type(self), self)._proxy_to_logger(method_name, event, **event_kw)
            return
        ev = structlog.get_context(self).copy()
        ev.update(event_kw)
        if event is not None:
            ev["event"] = event
        _write(self._logger, method_name, ev)

    methods: dict[str, Any] = {"_proxy_to_logger": _proxy_to_logger}
    if gated:
        for name in _GATED_METHODS:
            if _METHOD_NUM[name] < min_level:
                methods[name] = _gate(getattr(base, name), _LEVEL_NAMES.get(name, name))
                methods[f"a{name}"] = _agate(getattr(base, f"a{name}"))
    return type("BoundLogger", (base,), methods)


_GATED_METHODS = ("debug", "info", "msg", "warning", "warn")


def _gate(method: Any, level: str) -> Any:
    mode_of, kept = buffer.current, buffer.Buffer

    def gate(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        """Below the level: nothing outside a request with a debug mode; kept in the request's
        buffer straight away when nothing else can decide (the common case: ``benchmarks/``)."""
        mode = mode_of()
        if mode is None:
            return None
        if mode.__class__ is kept and not (args or _state.levels) and _processors[:1] == [_emit]:
            context = self._context
            kw["event"] = event
            builder.keep(mode, self._logger.name, level, {**context, **kw} if context else kw)
            return None
        return method(self, event, *args, **kw)

    return gate


def _agate(method: Any) -> Any:
    mode = buffer.current

    async def agate(self: Any, event: Any = None, *args: Any, **kw: Any) -> Any:
        if mode() is None:
            return None
        return await method(self, event, *args, **kw)

    return agate


def _below_logger_level(name: str, method: str) -> bool:
    # no per-logger match: the global level decides
    return _METHOD_NUM.get(method, 20) < level_for(name)[0]


def enabled(name: str, level: str) -> bool:
    """Whether a line msatrace writes itself (the access line) on logger ``name`` at ``level``
    passes the levels: the root logger's while the bridge is installed (an application may
    change it), the last ``init()``'s after ``shutdown()``, and the per-logger levels."""
    number = _METHOD_NUM.get(level, 20)
    if _state.bridge is not None:
        if number < logging.root.level:
            return False
    elif not builder.pipeline.configured or number < _state.level:
        return False
    return not (_state.levels and _below_logger_level(name, level))


def adopt_framework_loggers(names: Iterable[str] = FRAMEWORK_LOGGERS) -> None:
    """Route server and framework loggers through msatrace (call again after they reconfigure).

    Removes their plain stdout/stderr stream handlers and lets their records propagate to the
    root logger, where msatrace's bridge writes them. Other handlers (files, Sentry) stay.
    """
    if _state.bridge is None:
        return
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if stdlib.is_console_handler(handler):
                logger.removeHandler(handler)
                _state.removed.append((logger, handler))
        if not logger.propagate:
            _state.saved.append((logger, logger.level, logger.propagate))
            logger.propagate = True


def logger_levels(settings: Settings) -> dict[str, str]:
    """The per-logger levels ``configure`` installs: ``log_levels``, and in development the
    ``NOISY_LOGGERS`` defaults for the loggers it does not name (only those above the global
    level: a default never makes a logger more verbose than the rest)."""
    if not parse.is_development(settings.environment):
        return dict(settings.log_levels)
    floor = LEVEL_NUM[settings.log_level]
    quiet = {name: lvl for name, lvl in NOISY_LOGGERS.items() if LEVEL_NUM[lvl] > floor}
    return {**quiet, **settings.log_levels}


def configure(settings: Settings, stream: IO[bytes] | IO[str] | None = None) -> None:
    """Configure structlog and the stdlib bridge once; undone by :func:`unconfigure`."""
    import structlog  # not at module top: `import msatrace` stays cheap (issue #2)

    transforms = builder.transforms_for(settings)  # may raise: before anything changes
    unconfigure()
    lines = builder.pipeline
    lines.static = {
        "service": settings.service_name,
        "environment": settings.environment,
        "version": settings.service_version,
    }
    if settings.log_format == "json":
        lines.renderer = render.json_line
        lines.fallback = render.fallback_json
    else:
        target = stream if stream is not None else sys.stdout
        colors = console.use_colors(target, os.environ)
        lines.renderer = console.console_renderer(colors=colors, static=lines.static)
        lines.fallback = console.fallback_console
    lines.output = render.Output(stream=stream)
    lines.transforms = transforms
    levels = logger_levels(settings)
    _state.levels = {name: LEVEL_NUM[lvl] for name, lvl in levels.items()}
    _state.level = LEVEL_NUM[settings.log_level]
    _state.drop_access = settings.access_log
    _state.response_atoms = (
        f"{{{settings.trace_header.lower()}}}o",
        f"{{{settings.request_id_header.lower()}}}o",
    )
    buffer.configure(settings)
    _state.gated = buffer.config.active
    if _state.gated:
        patching.wrap_each((logging.Logger, name, hook) for name, hook in stdlib.STD_PATCHES)
    _processors[:] = [_emit]
    structlog.configure(
        processors=_processors,
        wrapper_class=_wrapper_class(),
        logger_factory=_sink_factory,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if stdlib.is_console_handler(handler):
            root.removeHandler(handler)
            _state.removed.append((root, handler))
    _state.saved.append((root, root.level, root.propagate))
    root.setLevel(settings.log_level)
    for name, lvl in levels.items():
        logger = logging.getLogger(name)
        _state.saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(lvl)
    _state.bridge = stdlib.Bridge()
    _state.bridge.addFilter(throttle.Repeats())
    root.addHandler(_state.bridge)
    adopt_framework_loggers()
    lines.configured = True


def unconfigure() -> None:
    """Remove the bridge and give back every handler and level msatrace changed.

    msatrace's own lines (its loggers, access and exception lines) keep being written as
    configured: see ``builder.Pipeline.configured``.
    """
    if _state.bridge is not None:
        logging.getLogger().removeHandler(_state.bridge)
        _state.bridge = None
    buffer.configure(None)
    _state.gated = False
    for logger, level, propagate in reversed(_state.saved):
        logger.setLevel(level)
        logger.propagate = propagate
    for logger, handler in _state.removed:
        if handler not in logger.handlers:
            logger.addHandler(handler)
    _state.saved.clear()
    _state.removed.clear()
    # structlog keeps msatrace's configuration (not its defaults): a line written after
    # shutdown(), by a request still in flight, keeps the format and the trace fields.
    for logger_ in list(_loggers):
        logger_.__dict__.clear()


def _wrapper_class() -> type[Any]:
    return _bound_logger_class(min([_state.level, *_state.levels.values()]), _state.gated)


def set_levels(level: int | None, levels: Mapping[str, int]) -> None:
    """Change the global level (``None``: as it is) and the per-logger ones at run time:
    structlog's bound logger class is rebuilt and every logger's cache emptied (``levels``)."""
    if level is not None:
        _state.level = level
        logging.getLogger().setLevel(level)
    for name, number in levels.items():
        logging.getLogger(name).setLevel(number)
    if levels:
        _state.levels = {**_state.levels, **levels}  # replaced whole: _write reads it unlocked
    if not builder.pipeline.configured:
        return
    import structlog

    structlog.configure(wrapper_class=_wrapper_class())
    for logger_ in list(_loggers):
        logger_.__dict__.clear()


class _Logger:
    """What :func:`get_logger` returns: structlog's logger ``name``, resolved once per ``init()``.

    structlog's own lazy proxy resolves the configured logger again on every call (most of the
    cost of a call below the level: ``benchmarks/``). This one keeps the resolved methods in its
    instance dict once msatrace has configured logging, and :func:`unconfigure` empties every
    cache, so a logger created at import time, before ``init()``, follows ``init()``.
    """

    __slots__ = ("__dict__", "__weakref__", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        _loggers.add(self)

    def __getattr__(self, attr: str) -> Any:
        import structlog

        value = getattr(structlog.get_logger(self._name).bind(), attr)
        if builder.pipeline.configured and attr[:1] != "_":  # stable until the next configure()
            self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<msatrace logger {self._name!r}>"


_loggers: weakref.WeakSet[_Logger] = weakref.WeakSet()


def get_logger(name: str | None = None) -> FilteringBoundLogger:
    """Return the structlog logger ``name``: one JSON line per event, with the trace fields.

    Works before ``init()`` (structlog's defaults apply until the first one); after
    ``shutdown()`` it keeps the format and fields of the last ``init()``.
    """
    return _Logger(name or "app")  # forwards every structlog method
