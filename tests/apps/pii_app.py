"""FastAPI app whose requests carry personal data, for the redaction tests (``pii_app:app``).

``/signup?email=&card=&phone=`` logs them as fields and in free text, records them on the
request's span, and with ``fail=1`` raises an exception whose message carries them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from opentelemetry import trace

import msatrace

msatrace.init()
log = msatrace.get_logger("signup")
app = FastAPI()
msatrace.fastapi.instrument(app)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/signup")
async def signup(
    request: Request, email: str, card: str, phone: str, fail: int = 0
) -> dict[str, str]:
    token = request.headers.get("authorization", "")
    log.info("signup", email=email, card=card, authorization=token, note=f"call {phone} now")
    trace.get_current_span().set_attribute("app.contact", f"{email} / {phone}")
    if fail:
        raise ValueError(f"card {card} declined for {email}")
    return {"trace_id": msatrace.current_trace_id() or ""}
