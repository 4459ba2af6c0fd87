"""Options: who the service is (name, version, environment) and how it logs.

Imports: the standard library, ``_core.semconv`` and this package's ``parsers``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from msatrace._core.config import parsers as parse
from msatrace._core.config.options.option import Option, const
from msatrace._core.config.parsers import LOG_FORMATS
from msatrace._core.semconv import (
    DEPLOYMENT_ENVIRONMENT,
    DEPLOYMENT_ENVIRONMENT_NAME,
    SERVICE_NAME,
    SERVICE_VERSION,
)


def resource_attrs(env: Mapping[str, str]) -> dict[str, str]:
    """The pairs of ``OTEL_RESOURCE_ATTRIBUTES``, parsed (a bad pair is a ``ConfigError``)."""
    raw = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return parse.pairs(raw, "OTEL_RESOURCE_ATTRIBUTES") if raw else {}


def _program_name(env: Mapping[str, str]) -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        name = str(spec.name).removesuffix(".__main__")
    else:
        name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        name = name.removesuffix(".py")
    if name in ("", "-c", "python", "python3"):
        name = "python"
    return name


def _environment_default(env: Mapping[str, str]) -> str:
    attrs = resource_attrs(env)
    for key in (DEPLOYMENT_ENVIRONMENT_NAME, DEPLOYMENT_ENVIRONMENT):
        if attrs.get(key):
            return parse.environment(attrs[key], f"OTEL_RESOURCE_ATTRIBUTES[{key}]")
    return "production"


def _service_default(env: Mapping[str, str]) -> str:
    return resource_attrs(env).get(SERVICE_NAME) or _program_name(env)


def _version_default(env: Mapping[str, str]) -> str:
    return resource_attrs(env).get(SERVICE_VERSION) or "0.0.0"


OPTIONS: tuple[Option, ...] = (
    Option(
        "service_name",
        ("MSATRACE_SERVICE_NAME", "OTEL_SERVICE_NAME"),
        parse.text,
        _service_default,
        "Name of this service: `service.name` on spans, `service` in logs.",
        "`service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else the running program's name",
    ),
    Option(
        "service_version",
        ("MSATRACE_SERVICE_VERSION",),
        parse.text,
        _version_default,
        "Version of this service: `service.version` on spans, `version` in logs.",
        "`service.version` from `OTEL_RESOURCE_ATTRIBUTES`, else `0.0.0`",
    ),
    Option(
        "environment",
        ("MSATRACE_ENVIRONMENT",),
        parse.environment,
        _environment_default,
        "Deployment environment (`deployment.environment.name`), any name your team uses: "
        "`production`, `staging`, `qa`, `dev-eu`, ... `development`, `dev` and `local` get the "
        "development defaults (console logs, `DEBUG`); every other name the production ones "
        "(JSON logs, `INFO`).",
        "`deployment.environment.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `production`",
    ),
    Option(
        "log_level",
        ("MSATRACE_LOG_LEVEL",),
        parse.level,
        const(None),
        "Lowest level logged: a name (`DEBUG`, `INFO`, `WARNING` or `WARN`, `ERROR`, "
        "`CRITICAL`, any case) or a number (`logging.DEBUG`).",
        "`DEBUG` in development, `INFO` otherwise",
    ),
    Option(
        "log_levels",
        ("MSATRACE_LOG_LEVELS",),
        parse.log_levels,
        const({}),
        "Per-logger levels, e.g. `uvicorn=WARNING,myapp.db=DEBUG` (or a dict, whose values may "
        "be `logging.DEBUG` and the like).",
        "none",
    ),
    Option(
        "log_format",
        ("MSATRACE_LOG_FORMAT",),
        parse.choice(LOG_FORMATS),
        const(None),
        "`json` (one line per event) or `console` (coloured, aligned).",
        "`console` in development, `json` otherwise",
    ),
)
