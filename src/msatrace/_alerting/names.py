"""Every metric and label name the generated rules and dashboard read, in one place.

The names are OpenTelemetry's metric names as its Prometheus exporter translates them (dots to
underscores, the unit appended: ``http.server.request.duration`` in ``s`` becomes
``http_server_request_duration_seconds``). When the metrics of msatrace change, this module is
the only one to edit; the tests then prove every expression against a real Prometheus.
"""

from __future__ import annotations

# --- HTTP server requests (semconv http-metrics.md, http.server.request.duration) ---
HTTP_SERVER_DURATION = "http_server_request_duration_seconds"
HTTP_SERVER_ACTIVE = "http_server_active_requests"
METHOD = "http_request_method"
ROUTE = "http_route"
STATUS = "http_response_status_code"
ERROR_TYPE = "error_type"
# A failed request: semconv sets error.type to the status code for a 5xx and to the exception's
# class when no response was sent, and never on success or on a server's 4xx.
ERROR_MATCHER = f'{ERROR_TYPE}!=""'

# The bucket boundaries semconv advises for http.server/client.request.duration (seconds); a
# latency objective's threshold must be one of them, as it is read from the bucket of that ``le``.
HTTP_BUCKETS = (
    "0.005",
    "0.01",
    "0.025",
    "0.05",
    "0.075",
    "0.1",
    "0.25",
    "0.5",
    "0.75",
    "1",
    "2.5",
    "5",
    "7.5",
    "10",
)

# --- HTTP client calls (http.client.request.duration) ---
HTTP_CLIENT_DURATION = "http_client_request_duration_seconds"
SERVER_ADDRESS = "server_address"

# --- background tasks (msatrace's own task histogram) ---
TASK_DURATION = "msatrace_task_duration_seconds"
TASK_NAME = "msatrace_task_name"
OUTCOME = "msatrace_task_outcome"
OUTCOME_FAILURE = "failure"
OUTCOME_SUCCESS = "success"

# --- Celery consumers (semconv messaging-metrics.md, messaging.process.duration) ---
MESSAGING_PROCESS_DURATION = "messaging_process_duration_seconds"
MESSAGING_OPERATION = "messaging_operation_name"

# --- health checks (1 pass, 0 fail) ---
HEALTH_STATUS = "msatrace_health_check_status"
CHECK = "check"
CRITICAL = "critical"
CRITICAL_TRUE = "true"

# --- Prometheus itself ---
UP = "up"
# Where the service's name comes from by default: one scrape job per service, the Prometheus
# convention. ``--service-label`` changes it (e.g. a relabelled ``service`` target label).
DEFAULT_SERVICE_LABEL = "job"
# The label every generated series and alert carries.
SERVICE = "service"
