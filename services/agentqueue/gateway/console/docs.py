"""``/docs``: Swagger UI from the package's own copy, so the API docs need no network.

FastAPI's default page loads Swagger UI from a CDN; on an air-gapped cluster (or a
laptop on a train) it stays blank. The app is created with ``docs_url=None`` and
``redoc_url=None`` and this route serves the same page with the vendored
``swagger-ui-bundle.js`` and ``swagger-ui.css`` (``static/swagger-ui``, see
``static/VENDORED.md``). ReDoc is not offered: one renderer is enough, and vendoring a
second would double the weight for nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

ASSETS = "/console/static/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - API docs",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()
