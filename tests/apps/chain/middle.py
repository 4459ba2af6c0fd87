"""The second service of the chain: Flask under gunicorn, calling the next with requests."""

from __future__ import annotations

import os
from typing import Any

import requests
from flask import Flask, request

import msatrace

msatrace.init()
log = msatrace.get_logger("chain.middle")
app = Flask(__name__)
NEXT_URL = os.environ["CHAIN_NEXT_URL"]


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/chain")
def chain() -> dict[str, Any]:
    log.info("calling backend")
    downstream = requests.get(NEXT_URL + "/chain", timeout=30).json()
    log.info("backend answered")
    return {"service": "middle", "trace_id": msatrace.current_trace_id(), "next": downstream}


@app.get("/debug_chain")
def debug_chain() -> dict[str, Any]:
    """The debug-on-demand test: a DEBUG line, then the next service (the INFO line last)."""
    label = request.args["label"]
    log.debug("middle debug", label=label)
    downstream = requests.get(NEXT_URL + "/debug_chain", params={"label": label}, timeout=30)
    log.info("debug chain", label=label)
    return {"service": "middle", "trace_id": msatrace.current_trace_id(), "next": downstream.json()}


msatrace.flask.instrument(app)
