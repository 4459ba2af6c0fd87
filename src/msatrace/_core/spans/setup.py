"""What msatrace's TracerProvider is built from: the sampler, the exporter and the resource of
the settings; and the start-up line saying where spans go.

``spans.tracing.install`` calls these once per ``init()``.

Imports: the standard library, opentelemetry and ``msatrace._core`` (config, semconv).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import sampling
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from msatrace._core.config.settings import Settings
from msatrace._core.semconv import (
    DEPLOYMENT_ENVIRONMENT_NAME,
    SERVICE_NAME,
    SERVICE_VERSION,
    TELEMETRY_DISTRO_NAME,
    TELEMETRY_DISTRO_VERSION,
)
from msatrace._version import __version__

if TYPE_CHECKING:
    from msatrace._core.spans.tracing import Tracing


def sampler(settings: Settings) -> sampling.Sampler:
    name, arg = settings.sampler, settings.sampler_arg
    table: dict[str, sampling.Sampler] = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(arg),
        "parentbased_always_on": sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": sampling.ParentBased(sampling.TraceIdRatioBased(arg)),
    }
    return table[name]


def exporter(settings: Settings) -> SpanExporter | None:
    if settings.traces_exporter == "console":
        return ConsoleSpanExporter()
    if settings.traces_exporter != "otlp":
        return None
    from msatrace.exceptions import ConfigError

    if settings.otlp_protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]  # optional: msatrace[otlp-grpc]
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            raise ConfigError(
                "otlp_protocol='grpc' (or OTEL_EXPORTER_OTLP_PROTOCOL / "
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL): the OTLP/gRPC exporter is not installed; "
                "install 'msatrace[otlp-grpc]' (opentelemetry-exporter-otlp-proto-grpc), or use "
                "'http/protobuf'"
            ) from None
        endpoint = settings.otlp_traces_endpoint or ""
        return GrpcSpanExporter(  # type: ignore[no-any-return,unused-ignore]  # optional, maybe untyped
            endpoint=endpoint,
            insecure=endpoint.startswith("http://"),
            headers=dict(settings.otlp_headers),
            timeout=settings.otlp_timeout,
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigError(
            f"otlp_endpoint={settings.otlp_traces_endpoint!r}: the OTLP exporter is not "
            "installed; install 'msatrace[otlp]'"
        ) from None
    return OTLPSpanExporter(
        endpoint=settings.otlp_traces_endpoint,
        headers=dict(settings.otlp_headers),
        timeout=settings.otlp_timeout,
    )


def destination(settings: Settings, installed: Tracing) -> str:
    """One line saying where spans go, logged once by ``init()``."""
    if not settings.tracing:
        return "msatrace: tracing is off (tracing=false or OTEL_SDK_DISABLED=true): no spans"
    if not installed.owned:
        return "msatrace: spans go where the TracerProvider already installed sends them"
    if settings.traces_exporter == "console":
        return "msatrace: spans are printed to stdout (traces_exporter=console)"
    if settings.traces_exporter == "otlp":
        how = "OTLP/gRPC" if settings.otlp_protocol == "grpc" else "OTLP/HTTP"
        return f"msatrace: exporting spans over {how} to {_shown(settings.otlp_traces_endpoint)}"
    if settings.otlp_traces_endpoint:
        return "msatrace: spans are not exported (traces_exporter=none)"
    return (
        "msatrace: spans are not exported (no OTEL_EXPORTER_OTLP_ENDPOINT, "
        "MSATRACE_OTLP_ENDPOINT or traces_exporter set)"
    )


def _shown(url: str | None) -> str:
    """``url`` without a user name or password, which have no place in a log line."""
    parts = urllib.parse.urlsplit(url or "")
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def resource(settings: Settings) -> Resource:
    """The resource of every span: service name, version and deployment environment."""
    attrs: dict[str, str] = dict(settings.resource_attributes)
    attrs.update(
        {
            SERVICE_NAME: settings.service_name,
            SERVICE_VERSION: settings.service_version,
            DEPLOYMENT_ENVIRONMENT_NAME: settings.environment,
            TELEMETRY_DISTRO_NAME: "msatrace",
            TELEMETRY_DISTRO_VERSION: __version__,
        }
    )
    return Resource.create(attrs)
