"""Google Admin SDK representations → `IdpUser` / `IdpGroup`, and the Reports-API cursor.

Pure functions over decoded JSON (idp-apis.md §3.5, §6). A payload of the wrong shape raises
`PermanentError` naming what was wrong. The delta cursor is the time of the newest admin
activity read plus the ids of the activities inside the re-read overlap window, so activities
that the Reports API shows late, or twice, are applied once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from roster.fetcher.core.changes import CursorExpired
from roster.shared.errors import PermanentError
from roster.shared.messages.directory import IdpGroup, IdpUser

JsonObject = dict[str, Any]
THROTTLE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"})
"""403 reasons that mean "slow down" (retry with backoff), not "forbidden"."""


def listing(body: Any, key: str, *, what: str) -> tuple[list[JsonObject], str | None]:
    """Items and `nextPageToken` of a list response; Google leaves out an empty item array."""
    if not isinstance(body, dict):
        raise PermanentError(f"Google answered {what} with {type(body).__name__}, not an object")
    raw = body.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise PermanentError(f"Google answered {what} with '{key}' that is not a list of objects")
    token = body.get("nextPageToken")
    return raw, token if isinstance(token, str) and token else None


def error_reason(body: Any) -> str | None:
    """`error.errors[0].reason` of Google's error envelope (e.g. `userRateLimitExceeded`)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    errors = body["error"].get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return reason if isinstance(reason, str) else None
    return None


def error_message(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:200]
        if isinstance(err, str):  # OAuth token endpoint: {"error", "error_description"}
            return f"{err}: {body.get('error_description', '')}"[:200]
    return ""


def _text(rep: JsonObject, key: str, *, what: str) -> str:
    value = rep.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"Google {what} without '{key}': {sorted(rep)}")
    return value


def _opt(rep: Any, key: str) -> str | None:
    value = rep.get(key) if isinstance(rep, dict) else None
    return value if isinstance(value, str) and value else None


def _primary(entries: Any) -> JsonObject | None:
    if not isinstance(entries, list):
        return None
    dicts = [e for e in entries if isinstance(e, dict)]
    return next((e for e in dicts if e.get("primary")), dicts[0] if dicts else None)


def user_from_rep(rep: JsonObject, *, login_attribute: str = "primaryEmail") -> IdpUser:
    """Active unless suspended or archived; login is the primary e-mail (or its local part)."""
    email = _text(rep, "primaryEmail", what="user").lower()
    name = rep.get("name") if isinstance(rep.get("name"), dict) else {}
    given, family = _opt(name, "givenName"), _opt(name, "familyName")
    display = _opt(name, "fullName") or " ".join(p for p in (given, family) if p) or None
    attributes: dict[str, str | list[str]] = {}
    org = _primary(rep.get("organizations"))
    for key in ("department", "title", "costCenter"):
        if org is not None and _opt(org, key):
            attributes[key] = str(org[key])
    ext = rep.get("externalIds")
    if isinstance(ext, list):
        for entry in ext:
            if (
                isinstance(entry, dict)
                and entry.get("type") == "organization"
                and _opt(entry, "value")
            ):
                attributes["employeeNumber"] = str(entry["value"])
                break
    if _opt(rep, "orgUnitPath"):
        attributes["orgUnitPath"] = str(rep["orgUnitPath"])
    location = _primary(rep.get("locations"))
    if location is not None and _opt(location, "area"):
        attributes["location"] = str(location["area"])
    if rep.get("isAdmin") is True:
        attributes["isAdmin"] = "true"
    login = email.split("@", 1)[0] if login_attribute == "localPart" else email
    return IdpUser(
        subject=_text(rep, "id", what="user"),
        login=login,
        email=email,
        given_name=given,
        family_name=family,
        display_name=display,
        active=rep.get("suspended") is not True and rep.get("archived") is not True,
        attributes=attributes,
    )


def group_from_rep(rep: JsonObject) -> IdpGroup:
    """Google groups are flat (nesting is membership): the e-mail stands in as the path."""
    return IdpGroup(
        id=_text(rep, "id", what="group"),
        name=_text(rep, "name", what="group"),
        path=_opt(rep, "email"),
    )


def member_user(rep: JsonObject) -> str | None:
    """The user id of a member entry; None for groups, customers and external members."""
    if rep.get("type", "USER") != "USER":
        return None
    return _text(rep, "id", what="group member")


def member_group(rep: JsonObject) -> str | None:
    return _opt(rep, "id") if rep.get("type") == "GROUP" else None


# ---- Reports API activities and the delta cursor ------------------------------------------


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def format_time(epoch: float) -> str:
    """RFC 3339 in UTC with milliseconds, rounded down (a start time may only be earlier)."""
    ms = int(epoch * 1000 + 1e-3)  # 1e-3 ms: a float a hair below the millisecond
    whole = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class AdminEvent:
    time: float
    qualifier: str
    type: str
    name: str
    parameters: dict[str, str]


def admin_events(items: Iterable[JsonObject]) -> list[AdminEvent]:
    """Every event of every activity (an activity can hold several), as listed."""
    out: list[AdminEvent] = []
    for item in items:
        ident = item.get("id")
        if not isinstance(ident, dict) or not _opt(ident, "time"):
            raise PermanentError("Google activity without id.time")
        when = parse_time(str(ident["time"]))
        qualifier = str(ident.get("uniqueQualifier", ""))
        raw_events = item.get("events")
        events: list[Any] = raw_events if isinstance(raw_events, list) else []
        for index, event in enumerate(e for e in events if isinstance(e, dict)):
            params: dict[str, str] = {}
            for p in event.get("parameters") or []:
                if isinstance(p, dict) and isinstance(p.get("name"), str):
                    value = p.get("value", p.get("intValue", p.get("boolValue")))
                    if value is not None:
                        params[p["name"]] = str(value)
            out.append(
                AdminEvent(
                    time=when,
                    qualifier=f"{qualifier}/{index}",
                    type=str(event.get("type", "")),
                    name=str(event.get("name", "")),
                    parameters=params,
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class ReportCursor:
    watermark: float
    """Epoch seconds of the newest activity read (or of the start, when none yet)."""
    seen: tuple[tuple[str, float], ...] = ()
    """(qualifier, time) of activities read inside the overlap window before the watermark."""

    def encode(self) -> str:
        return json.dumps(
            {"v": 1, "t": round(self.watermark, 3), "seen": [list(s) for s in self.seen]},
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> ReportCursor:
        try:
            data = json.loads(text)
            if data.get("v") != 1:
                raise ValueError("version")
            seen = tuple((str(q), float(t)) for q, t in data.get("seen", []))
            return cls(watermark=float(data["t"]), seen=seen)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CursorExpired(f"not a Google delta cursor: {text[:80]!r}") from exc

    def start_time(self, overlap: float) -> float:
        return self.watermark - overlap


def unseen_in_order(events: list[AdminEvent], cursor: ReportCursor) -> list[AdminEvent]:
    """Events not applied before, oldest first (the Reports API lists newest first)."""
    seen = {q for q, _ in cursor.seen}
    fresh = [e for e in reversed(events) if e.qualifier not in seen]
    return sorted(fresh, key=lambda e: e.time)  # stable: same-time events stay oldest first


def advance(cursor: ReportCursor, events: list[AdminEvent], *, overlap: float) -> ReportCursor:
    """The cursor after applying `events`: newest time, and what the next overlap re-reads."""
    watermark = max([cursor.watermark, *(e.time for e in events)])
    keep = {q: t for q, t in cursor.seen}
    keep.update({e.qualifier: e.time for e in events})
    floor = watermark - overlap
    seen = tuple(sorted(((q, t) for q, t in keep.items() if t >= floor), key=lambda s: s[1]))
    return ReportCursor(watermark=watermark, seen=seen)
