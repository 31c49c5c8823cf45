"""The web console (``/console``) and the offline API docs (``/docs``).

Server-driven on purpose: Jinja2 templates rendered by the gateway, htmx (vendored in
``static/vendor``) for the two-second refresh of the overview and for the buttons, and
charts drawn as inline SVG on the server (``charts.py``). No front-end build, no CDN:
every file a page loads is package data served by the gateway itself, so the console
and Swagger UI work on an air-gapped cluster. ``static/VENDORED.md`` lists the vendored
files, their versions and licenses.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from agentqueue.gateway.console.docs import router as docs_router
from agentqueue.gateway.console.routes import router as pages_router

STATIC_PATH = "/console/static"


def install(app: FastAPI) -> None:
    """Mount the console's pages, its static files and the offline ``/docs`` on ``app``
    (created with ``docs_url=None, redoc_url=None``, so that these replace FastAPI's
    CDN-loading pages)."""
    app.include_router(pages_router)
    app.include_router(docs_router)
    static = files("agentqueue.gateway.console") / "static"
    app.mount(STATIC_PATH, StaticFiles(directory=str(static)), name="console-static")


__all__ = ["STATIC_PATH", "install"]
