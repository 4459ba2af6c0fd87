"""OpenTelemetry semantic-convention names msatrace writes: attribute keys, values, span names.

One place for every key msatrace puts on a span or a resource, so the lifecycles, the span
producers and the next capabilities (metrics, error capture) spell them the same way. Stable
names only, as the OpenTelemetry semantic conventions define them: HTTP spans (http-spans.md),
messaging spans (messaging-spans.md), exceptions (exceptions-spans.md), the resource
(service, deployment, telemetry). Plain constants, not imports from
``opentelemetry-semantic-conventions``: msatrace does not declare it, and it moves names between
its stable and incubating modules from one release to the next.

Imports: nothing (the bottom layer of ``_core``).
"""

from __future__ import annotations

# --- HTTP server and client spans (semconv http-spans.md) ---
HTTP_REQUEST_METHOD = "http.request.method"
HTTP_REQUEST_METHOD_ORIGINAL = "http.request.method_original"
HTTP_REQUEST_RESEND_COUNT = "http.request.resend_count"
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
HTTP_ROUTE = "http.route"
URL_FULL = "url.full"
URL_PATH = "url.path"
URL_SCHEME = "url.scheme"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
CLIENT_ADDRESS = "client.address"
USER_AGENT_ORIGINAL = "user_agent.original"
NETWORK_PROTOCOL_NAME = "network.protocol.name"
NETWORK_PROTOCOL_VERSION = "network.protocol.version"
ERROR_TYPE = "error.type"

# http.request.method is one of the known methods, otherwise "_OTHER" with the original in
# http.request.method_original (http-spans.md, "Setting http.request.method").
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)
HTTP_METHOD_OTHER = "_OTHER"
# The span name for a method outside KNOWN_METHODS (http-spans.md, "Name").
HTTP_SPAN_NAME_OTHER = "HTTP"

# --- messaging spans (semconv messaging-spans.md) ---
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_MESSAGE_ID = "messaging.message.id"
MESSAGING_DESTINATION_NAME = "messaging.destination.name"
# messaging.operation.type: "send" for publishing (PRODUCER), "process" for handling (CONSUMER).
MESSAGING_OPERATION_SEND = "send"
MESSAGING_OPERATION_PROCESS = "process"

# --- code, user ---
CODE_FUNCTION_NAME = "code.function.name"
USER_ID = "user.id"

# --- exception events (semconv exceptions-spans.md), as the SDK's record_exception writes them ---
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"
EXCEPTION_ESCAPED = "exception.escaped"

# --- resource ---
SERVICE_NAME = "service.name"
SERVICE_VERSION = "service.version"
DEPLOYMENT_ENVIRONMENT_NAME = "deployment.environment.name"
# The name before semconv 1.27, still read from OTEL_RESOURCE_ATTRIBUTES.
DEPLOYMENT_ENVIRONMENT = "deployment.environment"
TELEMETRY_DISTRO_NAME = "telemetry.distro.name"
TELEMETRY_DISTRO_VERSION = "telemetry.distro.version"

# --- metrics (semconv http-metrics.md, messaging-metrics.md) ---
# Names and units as the semantic conventions write them; the Prometheus names follow from them
# as OpenTelemetry's Prometheus exporter translates them (see _core/metrics/exposition.py).
METRIC_HTTP_SERVER_DURATION = "http.server.request.duration"
METRIC_HTTP_SERVER_ACTIVE = "http.server.active_requests"
METRIC_HTTP_CLIENT_DURATION = "http.client.request.duration"
# messaging-metrics.md: the publish side is a client operation, the consumer side "process".
METRIC_MESSAGING_CLIENT_DURATION = "messaging.client.operation.duration"
METRIC_MESSAGING_PROCESS_DURATION = "messaging.process.duration"
# msatrace's own names (no semconv for an in-process task; kept out of the otel namespaces).
METRIC_TASK_DURATION = "msatrace.task.duration"
METRIC_OVERFLOW = "msatrace.metrics.overflow"
MSATRACE_TASK_NAME = "msatrace.task.name"
MSATRACE_TASK_OUTCOME = "msatrace.task.outcome"
MSATRACE_METRIC_NAME = "msatrace.metric.name"
# Each health check's last state, 1 pass and 0 fail or warn, labelled with the check's key and
# whether it is critical; read at scrape time (the alert generator pages on it by this name).
METRIC_HEALTH_CHECK_STATUS = "msatrace.health.check.status"
MSATRACE_HEALTH_CHECK = "check"
MSATRACE_HEALTH_CRITICAL = "critical"
# The attribute of the one series past the cardinality limit, as the OpenTelemetry SDK names it.
OTEL_METRIC_OVERFLOW = "otel.metric.overflow"
UNIT_SECONDS = "s"
UNIT_REQUEST = "{request}"
UNIT_MEASUREMENT = "{measurement}"
# http-metrics.md, http.server.request.duration: the recommended explicit bucket boundaries
# (also those of http.client.request.duration and the messaging durations).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
