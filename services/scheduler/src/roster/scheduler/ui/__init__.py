"""The scheduler's admin web UI: `mount_ui` adds the `/ui` pages, their CSS and the
redirect of session-less requests to the login page (see routes.py, docs/ui.md)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from roster.scheduler.ui.routes import (
    LoginRequired,
    login_redirect,
    static_files,
    ui_router,
)


def mount_ui(app: FastAPI, *args: Any, **kwargs: Any) -> None:
    """`ui_router(*args, **kwargs)` under `/ui`, its static files under `/ui/static`."""
    app.include_router(ui_router(*args, **kwargs))
    app.mount("/ui/static", static_files(), name="ui-static")
    app.add_exception_handler(LoginRequired, login_redirect)


__all__ = ["mount_ui", "ui_router"]
