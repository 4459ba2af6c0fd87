"""A JSON Schema of the health response, written from draft-inadarei-api-health-check-06.

§3 (the root: ``status`` required, pass/fail/warn; optional version, releaseId, notes, output,
checks, links, serviceId, description) and §4 (``checks``: keys ``componentName:measurementName``,
each an array of objects with componentId, componentType, observedValue, observedUnit, status,
affectedEndpoints, time (a date-time), output, links).
"""

from __future__ import annotations

from typing import Any

STATUS: dict[str, Any] = {"enum": ["pass", "fail", "warn"]}

CHECK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "componentId": {"type": "string"},
        "componentType": {"type": "string"},
        "observedValue": {},
        "observedUnit": {"type": "string"},
        "status": STATUS,
        "affectedEndpoints": {"type": "array", "items": {"type": "string"}},
        "time": {"type": "string", "format": "date-time"},
        "output": {"type": "string"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": True,
}

HEALTH: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": STATUS,
        "version": {"type": "string"},
        "releaseId": {"type": "string"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "output": {"type": "string"},
        "serviceId": {"type": "string"},
        "description": {"type": "string"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
        "checks": {
            "type": "object",
            "propertyNames": {"pattern": "^[^:]+(:[^:]+)?$"},
            "additionalProperties": {"type": "array", "items": CHECK},
        },
    },
}
