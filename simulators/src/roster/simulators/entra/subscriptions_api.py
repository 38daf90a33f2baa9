"""Graph's `/v1.0/subscriptions` routes on the simulator: create (with the validation
handshake), list, renew (PATCH), reauthorize and delete; the logic is in `subscriptions`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roster.simulators.entra.graph_api import GraphError, guard
from roster.simulators.entra.state import SimState
from roster.simulators.entra.subscriptions import SubscriptionError


def subscription_routes(router: APIRouter, state: SimState) -> None:

    async def subscription_call(request: Request, action: Any, status: int = 200) -> Response:
        try:
            headers = guard(state, request)
            result = await action()
        except GraphError as error:
            return error.response()
        except SubscriptionError as error:
            return GraphError(error.status, error.code, str(error)).response()
        if result is None:
            return Response(status_code=204, headers=headers)
        return JSONResponse(result, status_code=status, headers=headers)

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise GraphError(400, "BadRequest", "Invalid JSON body.") from None
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Expected a JSON object.")
        return body

    @router.post("/subscriptions")
    async def create_subscription(request: Request) -> Response:
        async def action() -> dict[str, Any]:
            created = await state.subscriptions.create(await body_of(request))
            return created.resource_json()

        return await subscription_call(request, action, status=201)

    @router.get("/subscriptions")
    async def list_subscriptions(request: Request) -> Response:
        async def action() -> dict[str, Any]:
            return {"value": [s.resource_json() for s in state.subscriptions.active()]}

        return await subscription_call(request, action)

    @router.patch("/subscriptions/{subscription_id}")
    async def renew_subscription(subscription_id: str, request: Request) -> Response:
        async def action() -> dict[str, Any]:
            body = await body_of(request)
            return state.subscriptions.renew(subscription_id, body).resource_json()

        return await subscription_call(request, action)

    @router.post("/subscriptions/{subscription_id}/reauthorize")
    async def reauthorize(subscription_id: str, request: Request) -> Response:
        async def action() -> None:
            state.subscriptions.get(subscription_id)

        return await subscription_call(request, action)

    @router.delete("/subscriptions/{subscription_id}")
    async def delete_subscription(subscription_id: str, request: Request) -> Response:
        async def action() -> None:
            state.subscriptions.delete(subscription_id)

        return await subscription_call(request, action)
