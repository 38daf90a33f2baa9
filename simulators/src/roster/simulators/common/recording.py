"""The request log's ASGI layer every IdP simulator shares.

`RequestRecorder` calls `record(scope, status)` once per API request (never for `/_sim/`),
with `status` None when the fault injector dropped the connection. A dropped connection must
look dropped to the client: uvicorn answers 500 to an app that fails before it starts a
response, but closes the socket when it fails after, so a response is started that can
never complete.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roster.simulators.common.faults import DroppedConnectionError

_TRUNCATED_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
}


class RequestRecorder:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self._app(scope, receive, send)
            return
        status: list[int] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_wrapper)
        except DroppedConnectionError:
            self.record(scope, None)
            if not status:
                await send(_TRUNCATED_START)
            raise
        self.record(scope, status[0] if status else None)

    def record(self, scope: Scope, status: int | None) -> None:
        """Add the log entry; each simulator decides what an entry holds."""
        raise NotImplementedError
