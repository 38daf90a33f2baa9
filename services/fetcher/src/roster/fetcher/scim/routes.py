"""The SCIM HTTP face: `/scim/v2/...` (the bearer token picks the directory) and
`/scim/v2/{directory_id}/...`, plus `GET /api/v1/directories/{id}/scim/history`.

Tokens compared with `hmac.compare_digest` (no early exit); endpoint names case-insensitive;
integer paging; `application/scim+json` and the SCIM Error body on every 4xx; one history
entry per authenticated request. Bad input is never a 5xx.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from roster.fetcher.scim.discovery import resource_types, schema_documents, service_provider_config
from roster.fetcher.scim.errors import ScimError, invalid_syntax, invalid_value, not_found
from roster.fetcher.scim.history import Outcome, ScimHistory
from roster.fetcher.scim.resources import project
from roster.fetcher.scim.schemas import KINDS, LIST_RESPONSE, Json, ResourceKind
from roster.fetcher.scim.service import ScimService
from roster.shared.errors import ConfigurationError, RosterError
from roster.shared.settings.scim import ScimSettings

log = structlog.get_logger()
MEDIA = "application/scim+json"
MAX_BODY = 4 * 1024 * 1024
PREFIX = "/scim/v2"


class ScimResponse(JSONResponse):
    media_type = MEDIA

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Tenant:
    """One `scim` directory as the HTTP face sees it."""

    directory: str
    settings: ScimSettings
    tokens: list[tuple[str, bytes]]
    """(label for the history, token bytes)."""
    service: ScimService
    history: ScimHistory


@dataclass
class ScimApi:
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def add(self, tenant: Tenant) -> None:
        mine = {t for _, t in tenant.tokens}
        for other in self.tenants.values():
            if mine & {t for _, t in other.tokens}:
                raise ConfigurationError(
                    f"directories.{tenant.directory}.scim.tokens: a token is also valid for "
                    f"directory '{other.directory}'; tokens must be unique across directories"
                )
        self.tenants[tenant.directory] = tenant

    def authenticate(self, request: Request, directory: str | None) -> tuple[Tenant, str] | None:
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        given = presented.strip().encode()
        found: tuple[Tenant, str] | None = None
        pool = [self.tenants[directory]] if directory is not None else self.tenants.values()
        for tenant in pool:
            for label, token in tenant.tokens:
                if hmac.compare_digest(given, token) and found is None:
                    found = (tenant, label)
        return found

    def router(self) -> APIRouter:
        router = APIRouter()
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

        @router.api_route(PREFIX, methods=methods, include_in_schema=False)
        @router.api_route(PREFIX + "/{rest:path}", methods=methods, include_in_schema=False)
        async def scim(request: Request, rest: str = "") -> Response:
            return await self.handle(request, rest)

        @router.get("/api/v1/directories/{directory_id}/scim/history")
        async def history(directory_id: str, hours: int = 24, limit: int = 100) -> JSONResponse:
            """SCIM request outcomes of one directory, per hour window, newest first."""
            tenant = self.tenants.get(directory_id)
            if tenant is None:
                error = f"directory '{directory_id}' is not a SCIM directory of this fetcher"
                return JSONResponse({"error": error}, status_code=404)
            hours = max(1, min(hours, tenant.settings.history_days * 24))
            limit = max(0, min(limit, tenant.settings.history_per_hour))
            windows = await tenant.history.read(hours=hours, limit=limit)
            return JSONResponse({"directory": directory_id, "windows": windows})

        return router

    async def handle(self, request: Request, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        directory = None
        if parts and parts[0] in self.tenants:
            directory = parts.pop(0)
        auth = self.authenticate(request, directory)
        if auth is None:
            error = ScimError(401, "a valid bearer token is required")
            return ScimResponse(
                error.body(), status_code=401, headers={"WWW-Authenticate": 'Bearer realm="scim"'}
            )
        tenant, who = auth
        outcome = Outcome(who=who, method=request.method, resource="/".join(parts[:1]), status=0)
        try:
            response, outcome = await self._dispatch(request, tenant, parts, outcome, directory)
        except ScimError as exc:
            response = ScimResponse(exc.body(), status_code=exc.status)
            outcome = _with(outcome, status=exc.status, scim_type=exc.scim_type, detail=exc.detail)
        except RosterError as exc:  # Redis unavailable and the like: retry later
            log.warning("scim request failed", directory=tenant.directory, error=str(exc))
            error = ScimError(503, "storage unavailable, retry later")
            response = ScimResponse(error.body(), status_code=503)
            outcome = _with(outcome, status=503, detail=str(exc))
        tenant.history.record(outcome)
        return response

    async def _dispatch(
        self,
        request: Request,
        tenant: Tenant,
        parts: list[str],
        outcome: Outcome,
        directory: str | None,
    ) -> tuple[Response, Outcome]:
        base = str(request.base_url).rstrip("/") + PREFIX + (f"/{directory}" if directory else "")
        method = request.method
        if not parts:
            raise not_found("unknown SCIM endpoint")
        if parts == [".search"]:
            _only(method, "POST")
            return await self._search_all(request, directory, tenant, outcome)
        head = parts[0].lower()
        if head == "serviceproviderconfig" and len(parts) == 1:
            _only(method, "GET")
            body = service_provider_config(base, tenant.settings.max_count)
            return ScimResponse(body), _with(outcome, status=200)
        if head == "resourcetypes":
            _only(method, "GET")
            types = resource_types(base)
            if len(parts) == 2:
                hit = [t for t in types if t["id"].lower() == parts[1].lower()]
                if not hit:
                    raise not_found(f"resource type {parts[1]!r} not found")
                return ScimResponse(hit[0]), _with(outcome, status=200)
            if len(parts) > 2:
                raise not_found("unknown SCIM endpoint")
            return ScimResponse(_list(types, len(types), 1)), _with(outcome, status=200)
        if head == "schemas":
            _only(method, "GET")
            docs = schema_documents(base)
            if len(parts) >= 2:
                urn = "/".join(parts[1:])
                hit = [d for d in docs if d["id"].lower() == urn.lower()]
                if not hit:
                    raise not_found(f"schema {urn!r} not found")
                return ScimResponse(hit[0]), _with(outcome, status=200)
            return ScimResponse(_list(docs, len(docs), 1)), _with(outcome, status=200)
        kind = next((k for n, k in KINDS.items() if n.lower() == head), None)
        if kind is None or len(parts) > 2:
            raise not_found("unknown SCIM endpoint")
        outcome = _with(outcome, resource=kind.endpoint.strip("/"))
        service = tenant.service
        query = request.query_params
        if len(parts) == 2 and parts[1] == ".search":
            _only(method, "POST")
            body = await _search_body(request)
            params = {k: v for k, v in body.items() if isinstance(v, str | int)}
            return await self._list(request, directory, tenant, kind, params, body, outcome)
        if len(parts) == 1:
            if method == "GET":
                return await self._list(
                    request, directory, tenant, kind, dict(query), None, outcome
                )
            _only(method, "POST")
            resource = _locate(kind, await service.create(kind, await _json(request)), base)
            shown = _project(kind, resource, query)
            outcome = _with(outcome, status=201, target=resource["id"], name=resource[kind.unique])
            headers = {"Location": resource["meta"]["location"]}
            return ScimResponse(shown, status_code=201, headers=headers), outcome
        resource_id = parts[1]
        outcome = _with(outcome, target=resource_id)
        if method == "GET":
            resource = await service.get(kind, resource_id)
        elif method == "PUT":
            resource = await service.replace(kind, resource_id, await _json(request))
        elif method == "PATCH":
            resource = await service.patch(kind, resource_id, await _json(request))
            if kind.name == "Group" and not query.get("attributes"):
                outcome = _with(outcome, status=204, name=resource.get(kind.unique))
                return Response(status_code=204), outcome  # Entra: don't echo member lists
        elif method == "DELETE":
            await service.delete(kind, resource_id)
            return Response(status_code=204), _with(outcome, status=204)
        else:
            raise ScimError(405, f"{method} is not supported here")
        outcome = _with(outcome, status=200, name=resource.get(kind.unique))
        resource = _locate(kind, resource, base)
        return ScimResponse(_project(kind, resource, query)), outcome

    async def _search_all(
        self, request: Request, directory: str | None, tenant: Tenant, outcome: Outcome
    ) -> tuple[Response, Outcome]:
        """`POST /.search` at the root: Users and Groups in one ListResponse."""
        body = await _search_body(request)
        lowered = {k.lower(): v for k, v in body.items() if isinstance(k, str)}
        start = max(1, _int(lowered.get("startindex"), 1, "startIndex"))
        count = _int(lowered.get("count"), tenant.settings.default_count, "count")
        count = max(0, min(count, tenant.settings.max_count))
        flt = lowered.get("filter")
        if flt is not None and not isinstance(flt, str):
            raise invalid_value("filter must be a string")
        base = str(request.base_url).rstrip("/") + PREFIX + (f"/{directory}" if directory else "")
        shown: list[Json] = []
        total = 0
        for kind in KINDS.values():
            page = await tenant.service.search(kind, flt, 1, tenant.settings.max_count)
            total += page.total
            attrs = _names(None, body, "attributes")
            excluded = _names(None, body, "excludedAttributes")
            shown.extend(
                project(kind, _locate(kind, r, base), attrs, excluded) for r in page.resources
            )
        window = shown[start - 1 : start - 1 + count]
        return ScimResponse(_list(window, total, start)), _with(outcome, status=200)

    async def _list(
        self,
        request: Request,
        directory: str | None,
        tenant: Tenant,
        kind: ResourceKind,
        params: dict[str, Any],
        body: Json | None,
        outcome: Outcome,
    ) -> tuple[Response, Outcome]:
        lowered = {k.lower(): v for k, v in params.items()}
        start = max(1, _int(lowered.get("startindex"), 1, "startIndex"))
        count = _int(lowered.get("count"), tenant.settings.default_count, "count")
        count = max(0, min(count, tenant.settings.max_count))
        page = await tenant.service.search(kind, lowered.get("filter"), start, count)
        base = str(request.base_url).rstrip("/") + PREFIX + (f"/{directory}" if directory else "")
        attrs = _names(lowered.get("attributes"), body, "attributes")
        excluded = _names(lowered.get("excludedattributes"), body, "excludedAttributes")
        shown = [project(kind, _locate(kind, r, base), attrs, excluded) for r in page.resources]
        return ScimResponse(_list(shown, page.total, start)), _with(outcome, status=200)


async def _search_body(request: Request) -> Json:
    body = await _json(request)
    if not isinstance(body, dict):
        raise invalid_syntax("a search body must be a JSON object")
    return body


def _locate(kind: ResourceKind, resource: Json, base: str) -> Json:
    meta = {**(resource.get("meta") or {}), "location": f"{base}{kind.endpoint}/{resource['id']}"}
    return {**resource, "meta": meta}


def _with(outcome: Outcome, **changes: Any) -> Outcome:
    return Outcome(**{**outcome.__dict__, **changes})


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise ScimError(405, f"{method} is not supported here; use {allowed}")


def _list(resources: list[Json], total: int, start: int) -> Json:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _int(value: Any, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid_value(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be an integer, got {value!r}") from None


def _names(value: Any, body: Json | None, key: str) -> list[str]:
    if body is not None and isinstance(body.get(key), list):
        return [str(v).strip() for v in body[key] if str(v).strip()]
    if not isinstance(value, str):
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def _project(kind: ResourceKind, resource: Json, query: Any) -> Json:
    return project(
        kind,
        resource,
        _names(query.get("attributes"), None, "attributes"),
        _names(query.get("excludedAttributes"), None, "excludedAttributes"),
    )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ScimError(413, f"the body is larger than {MAX_BODY} bytes", "tooMany")
    if not raw.strip():
        raise invalid_syntax("the request body is empty")
    try:
        body = json.loads(raw)
        json.dumps(body, ensure_ascii=False).encode()  # lone surrogates cannot be stored
    except UnicodeEncodeError:
        raise invalid_value("the request body holds characters that are not valid UTF-8") from None
    except (ValueError, RecursionError):
        raise invalid_syntax("the request body is not valid JSON") from None
    return body
