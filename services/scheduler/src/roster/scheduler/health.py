"""Connection checks of a directory: asks the fetcher that serves it to test its IdP.

The fetcher answers `GET /api/v1/directories/{id}/check` with `{"ok": bool, "error": ...}`
(fetcher/handlers.py). Where the fetcher is comes from `scheduler.fetcher_url`, in which
`{directory}` is replaced by the directory id (one fetcher per directory under Helm). A
fetcher that cannot be reached or answers nonsense is an answer too: `ok` false with why.
"""

from __future__ import annotations

from typing import Any

import httpx

from roster.shared.config import RosterConfig

TIMEOUT = 3.0


def fetcher_url(config: RosterConfig, directory: str) -> str:
    return config.scheduler.fetcher_url.replace("{directory}", directory).rstrip("/")


async def check(
    http: httpx.AsyncClient | None, config: RosterConfig, directory: str
) -> dict[str, Any]:
    """`{"ok": bool, "error": str | None, "reachable": bool}` of one directory's IdP
    connection; `reachable` is false when the fetcher itself did not answer sensibly.
    Without a client (routers mounted on their own, in tests) a one-off client asks."""
    if http is None:
        async with httpx.AsyncClient() as one:
            return await check(one, config, directory)
    url = f"{fetcher_url(config, directory)}/api/v1/directories/{directory}/check"
    try:
        response = await http.get(url, timeout=TIMEOUT)
        body = response.json()
    except httpx.HTTPError as exc:
        return _unreachable(f"fetcher not reachable at {url}: {type(exc).__name__}")
    except ValueError:
        return _unreachable(f"fetcher at {url} answered {response.status_code}, not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
        return _unreachable(f"fetcher at {url} answered without an 'ok' field")
    return {"ok": body["ok"], "error": body.get("error"), "reachable": True}


def _unreachable(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "reachable": False}


def state(result: dict[str, Any]) -> str:
    """healthy, unhealthy, or unknown (the fetcher did not answer), as the UI shows it."""
    if not result.get("reachable"):
        return "unknown"
    return "healthy" if result.get("ok") is True else "unhealthy"
