"""Okta Event Hook endpoint (`/webhooks/okta/<directory>`, idp-apis.md §2.4).

The static secret header is checked in constant time on every request (401 missing, 403
wrong, nothing published); the GET echoes `X-Okta-Verification-Challenge`; a POST's new
event uuids (Redis SET NX) request a delta sync. Hooks never expire: no renewal task.
"""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from roster.fetcher.core.okta import EVENT_TYPES
from roster.fetcher.webhooks import Webhook, WebhookContext

log = structlog.get_logger()
CHALLENGE_HEADER = "X-Okta-Verification-Challenge"
ENVELOPE_TYPE = "com.okta.event_hook"
_WANTED = frozenset(EVENT_TYPES)


def okta_webhook(context: WebhookContext) -> Webhook:
    directory = context.directory
    router = APIRouter()
    okta = directory.okta
    if okta is None or okta.event_hook is None:
        return Webhook(router=router)  # no hook configured: the path does not exist
    hook = okta.event_hook
    path = f"/webhooks/okta/{directory.id}"

    def refused(request: Request) -> Response | None:
        given = request.headers.get(hook.header)
        if given is None:
            return JSONResponse({"error": f"missing {hook.header} header"}, status_code=401)
        expected = hook.authorization.reveal()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("okta event hook refused", directory=directory.id, reason="bad secret")
            return JSONResponse({"error": "not authorized"}, status_code=403)
        return None

    @router.get(path, include_in_schema=False)
    async def verify(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        challenge = request.headers.get(CHALLENGE_HEADER)
        if not challenge:
            return JSONResponse({"error": f"missing {CHALLENGE_HEADER} header"}, status_code=400)
        log.info("okta event hook verified", directory=directory.id)
        return JSONResponse({"verification": challenge}, headers={"Cache-Control": "no-store"})

    @router.post(path, include_in_schema=False)
    async def deliver(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        try:
            body: Any = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        events = _events(body)
        if events is None:
            return JSONResponse({"error": f"not a {ENVELOPE_TYPE} delivery"}, status_code=400)
        fresh = 0
        for event in events:
            if event.get("eventType") not in _WANTED or not event.get("uuid"):
                continue
            key = context.keys("fetcher", "okta", directory.id, "event", str(event["uuid"]))
            if await context.redis.set(key, "1", nx=True, ex=hook.dedupe_ttl_seconds):
                fresh += 1
        if fresh:
            run_id = await context.trigger.request_sync(
                directory.id, mode="delta", trigger="webhook"
            )
            log.info(
                "okta event hook delivery", directory=directory.id, events=fresh, run_id=run_id
            )
        return Response(status_code=204)

    return Webhook(router=router)


def _events(body: Any) -> list[dict[str, Any]] | None:
    if not isinstance(body, dict) or body.get("eventType") != ENVELOPE_TYPE:
        return None
    data = body.get("data")
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        return None
    return [e for e in events if isinstance(e, dict)]
