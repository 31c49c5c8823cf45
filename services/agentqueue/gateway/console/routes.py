"""The console's pages: server-rendered HTML, htmx for refreshes and buttons.

Every page resolves the session first (``session.py``): none, and a page redirects to
the login (an htmx request gets ``HX-Redirect``); a tenant's key on an admin page gets
403. Every POST checks the session's CSRF token. Keys travel only in a POST body (the
login form) and in the one response that shows a new key; they are never in a URL, a
cookie, a log line or Redis (sessions hold the key's digest). Pages are ``no-store``
and framed by nobody, under a Content-Security-Policy that loads nothing from elsewhere.

Forms are parsed here from ``application/x-www-form-urlencoded`` bodies (what browsers
and htmx send) with the standard library, rather than through Starlette's ``form()``,
which needs ``python-multipart``: one dependency fewer in the images.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from agentqueue import __version__
from agentqueue.core.apikeys import ApiKeys, Role
from agentqueue.core.base.errors import TaskNotFound
from agentqueue.core.base.priority import Priority
from agentqueue.core.tasks.dead_letters import DeadLetterConflict, DeadLetterNotFound
from agentqueue.core.tasks.listing import BadCursor
from agentqueue.core.tasks.model import TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.view import CallView
from agentqueue.gateway.api.admin.auth import Admin
from agentqueue.gateway.api.admin.common import audit
from agentqueue.gateway.console import charts, data, session
from agentqueue.gateway.console.session import ConsoleUser

router = APIRouter(prefix="/console", include_in_schema=False)

_env = Environment(
    loader=PackageLoader("agentqueue.gateway.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)

#: Headers of every console page: never cached (a new key is shown once), never framed,
#: nothing loaded from another origin, no referrer sent out.
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _ts(value: float | None) -> str:
    if value is None:
        return "—"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


_env.filters["ts"] = _ts
_env.filters["age"] = _age


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, user=user, version=__version__, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def _to_login(request: Request) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
    return RedirectResponse("/console/login", status_code=303)


async def _form(request: Request) -> dict[str, list[str]]:
    """The urlencoded form body ({} for any other content type)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    return parse_qs((await request.body()).decode(errors="replace"), keep_blank_values=True)


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0] if values else ""


def _forbidden(request: Request, user: ConsoleUser | None, message: str) -> HTMLResponse:
    return render(request, "error.html", user, status_code=403, message=message)


async def _page_user(request: Request, *, admin: bool = False) -> ConsoleUser | Response:
    """The session's user, or the response that refuses the request."""
    user = await session.current_user(request)
    if user is None:
        return _to_login(request)
    if admin and not user.admin:
        return _forbidden(request, user, "This page is for admins only.")
    return user


async def _post_user(
    request: Request, *, admin: bool = False
) -> tuple[ConsoleUser, dict[str, list[str]]] | Response:
    """:func:`_page_user` for a POST, with its form, once the CSRF token is checked."""
    user = await _page_user(request, admin=admin)
    if isinstance(user, Response):
        return user
    form = await _form(request)
    token = _one(form, session.CSRF_FIELD) or request.headers.get(session.CSRF_HEADER, "")
    if not session.csrf_ok(user, token):
        return _forbidden(request, user, "CSRF token missing or wrong: reload the page.")
    return user, form


def _store(request: Request) -> TaskStore:
    store: TaskStore = request.app.state.store
    return store


# -- login ------------------------------------------------------------------------------


@router.get("")
async def home() -> Response:
    return RedirectResponse("/console/overview", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    if await session.current_user(request) is not None:
        return RedirectResponse("/console/overview", status_code=303)
    token = session.login_token(request)
    response = render(request, "login.html", None, error="", csrf=token)
    session.set_login_token(request, response, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    if not session.login_csrf_ok(request, _one(form, session.CSRF_FIELD)):
        return _forbidden(request, None, "CSRF token missing or wrong: reload the login page.")
    response = RedirectResponse("/console/overview", status_code=303)
    if await session.login(request, response, _one(form, "key")):
        return response
    return render(
        request,
        "login.html",
        None,
        status_code=401,
        error="Unknown or revoked key.",
        csrf=_one(form, session.CSRF_FIELD),
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    checked = await _post_user(request)
    if isinstance(checked, Response):
        return checked
    response = RedirectResponse("/console/login", status_code=303)
    await session.logout(request, response)
    return response


# -- overview ---------------------------------------------------------------------------


def _reader(request: Request) -> data.OverviewReader:
    state = request.app.state
    reader: data.OverviewReader | None = getattr(state, "console_overview", None)
    if reader is None:
        reader = state.console_overview = data.OverviewReader(state.redis)
    return reader


async def _overview_context(request: Request, user: ConsoleUser) -> dict[str, Any]:
    overview = await _reader(request).read(user.tenant)
    return {
        "overview": overview,
        "spend_chart": charts.bars(
            dict(sorted(overview.spend.items(), key=lambda kv: -kv[1])), title="spend today"
        ),
    }


@router.get("/overview")
async def overview_page(request: Request) -> Response:
    user = await _page_user(request)
    if isinstance(user, Response):
        return user
    return render(request, "overview.html", user, **await _overview_context(request, user))


@router.get("/overview/panel")
async def overview_panel(request: Request) -> Response:
    """The overview's tables alone: what htmx swaps in every two seconds."""
    user = await _page_user(request)
    if isinstance(user, Response):
        return user
    context = await _overview_context(request, user)
    return render(request, "_overview_panel.html", user, **context)


# -- tasks ------------------------------------------------------------------------------


def _when(value: str) -> float | None:
    """A ``datetime-local`` input (read as UTC) or a date; None when empty or malformed."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


@router.get("/tasks")
async def tasks_page(request: Request) -> Response:
    user = await _page_user(request)
    if isinstance(user, Response):
        return user
    query = request.query_params
    wanted = data.TaskFilter(
        status=query.get("status") or None,
        priority=query.get("priority") or None,
        kind=query.get("kind") or None,
        since=_when(query.get("since", "")),
        until=_when(query.get("until", "")),
    )
    tenant = user.tenant if user.tenant is not None else (query.get("tenant") or None)
    try:
        found = await data.list_tasks(
            request.app.state.redis, tenant, wanted, cursor=query.get("cursor") or None
        )
    except BadCursor:
        found = data.TaskList([])
    more = dict(query) | {"cursor": found.next_cursor}
    return render(
        request,
        "tasks.html",
        user,
        tasks=found.tasks,
        next_page=urlencode(more) if found.next_cursor else "",
        query=query,
        states=[s.value for s in TaskState],
        priorities=[p.value for p in Priority],
        kinds=request.app.state.settings.task_kinds,
        limit=data.LIST_LIMIT,
    )


@router.get("/tasks/{task_id}")
async def task_page(request: Request, task_id: str) -> Response:
    user = await _page_user(request)
    if isinstance(user, Response):
        return user
    store = _store(request)
    try:
        record = await store.get(task_id, tenant=user.tenant)
    except TaskNotFound:
        return render(request, "error.html", user, status_code=404, message="No such task.")
    events = await data.task_events(store, task_id)
    return render(
        request,
        "task.html",
        user,
        task=record,
        events=events,
        calls=[CallView.of(c) for c in record.calls],
        cost=sum(float(c.cost_usd) for c in record.calls),
    )


# -- spend ------------------------------------------------------------------------------


@router.get("/spend")
async def spend_page(request: Request) -> Response:
    user = await _page_user(request)
    if isinstance(user, Response):
        return user
    try:
        days = max(1, min(90, int(request.query_params.get("days", "14"))))
    except ValueError:
        days = 14
    spend = await data.spend(request.app.state.quotas.ledger, user.tenant, days)
    return render(
        request,
        "spend.html",
        user,
        spend=spend,
        days=days,
        by_day=charts.bars(spend.by_day, title="spend by day"),
        by_model=charts.bars(spend.by_model, title="spend by model"),
        by_tenant=charts.bars(spend.by_tenant, title="spend by tenant"),
        by_key=charts.bars(spend.by_key, title="spend by key"),
        by_tag=charts.bars(spend.by_tag, title="spend by tag"),
    )


# -- keys (admin) -----------------------------------------------------------------------


def _keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


async def _keys_page(
    request: Request, user: ConsoleUser, *, created: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    records = await _keys(request).list()
    return render(
        request,
        "keys.html",
        user,
        status_code=status,
        keys=sorted(records, key=lambda r: -r.created_at),
        created=created,
        error=error,
        priorities=[p.value for p in Priority],
        roles=[r.value for r in Role],
    )


@router.get("/keys")
async def keys_page(request: Request) -> Response:
    user = await _page_user(request, admin=True)
    if isinstance(user, Response):
        return user
    return await _keys_page(request, user)


@router.post("/keys")
async def create_key(request: Request) -> Response:
    """Create a key and show it, once, in this response's body (never a redirect: the key
    would have to travel in a URL or be kept somewhere)."""
    checked = await _post_user(request, admin=True)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    try:
        priorities = [Priority(p) for p in form.get("priorities", []) if p]
        key, record = await _keys(request).create(
            _one(form, "tenant").strip(),
            name=_one(form, "name").strip()[:100],
            priorities=priorities,
            role=Role(_one(form, "role") or Role.TENANT),
        )
    except ValueError as exc:
        return await _keys_page(request, user, error=str(exc), status=400)
    await _audit(request, user, "key.create", record.key_id, tenant=record.tenant, role=record.role)
    return await _keys_page(request, user, created=key)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    checked = await _post_user(request, admin=True)
    if isinstance(checked, Response):
        return checked
    user, _ = checked
    if not await _keys(request).revoke(key_id):
        return await _keys_page(request, user, error=f"No active key {key_id}.", status=404)
    await _audit(request, user, "key.revoke", key_id)
    return RedirectResponse("/console/keys", status_code=303)


# -- dead letters (admin) ---------------------------------------------------------------


@router.get("/dead-letters")
async def dead_letters_page(request: Request) -> Response:
    user = await _page_user(request, admin=True)
    if isinstance(user, Response):
        return user
    letters = await data.dead_letter_rows(request.app.state)
    return render(request, "dead_letters.html", user, letters=letters)


@router.post("/dead-letters/{message_id}/{action}")
async def dead_letter_action(request: Request, message_id: str, action: str) -> Response:
    """Requeue or discard, with :class:`DeadLetters` as ``/admin/v1/dead-letters`` does
    (a requeue happens once however many click), audited the same way."""
    checked = await _post_user(request, admin=True)
    if isinstance(checked, Response):
        return checked
    user, _ = checked
    letters = data.dead_letters(request.app.state)
    try:
        if action == "requeue":
            letter = await letters.requeue(message_id)
        elif action == "discard":
            letter = await letters.discard(message_id)
        else:
            return render(request, "error.html", user, status_code=404, message="No such action.")
    except DeadLetterNotFound:
        return render(
            request, "error.html", user, status_code=404, message="No such dead letter any more."
        )
    except DeadLetterConflict as exc:
        return render(request, "error.html", user, status_code=409, message=str(exc))
    await _audit(request, user, f"dead_letter.{action}", message_id, task_id=letter.task_id)
    return RedirectResponse("/console/dead-letters", status_code=303)


async def _audit(
    request: Request, user: ConsoleUser, action: str, target: str, **details: Any
) -> None:
    """The admin action in the audit log, as the admin API records it (``via: console``)."""
    await audit(request, Admin(user.record.key_id), action, target, via="console", **details)
