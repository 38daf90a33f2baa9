"""Query-string parsing with JAX-RS semantics, as Keycloak's resources see their parameters.

A value that is not a Java int makes JAX-RS answer 404 (the resource "does not match"); a
boolean is true only for "true" in any case, everything else is false (`Boolean.valueOf`).
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from roster.simulators.keycloak.errors import not_found

_INT = re.compile(r"^[+-]?\d{1,10}$")


class Params:
    def __init__(self, query: QueryParams) -> None:
        self._query = query

    def text(self, name: str) -> str | None:
        return self._query.get(name)

    def values(self, name: str) -> list[str]:
        return self._query.getlist(name)

    def integer(self, name: str, default: int | None = None) -> int | None:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        if not _INT.match(raw) or not -(2**31) <= int(raw) < 2**31:
            raise not_found()
        return int(raw)

    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        raw = self._query.get(name)
        if raw is None or raw == "":
            return default
        return raw.lower() == "true"

    def flag(self, name: str, default: bool) -> bool:
        value = self.boolean(name, default)
        return default if value is None else value
