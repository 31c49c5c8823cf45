"""The few Kubernetes API calls the operator makes itself: Deployments, and the status of
its AgentQueues.

kopf watches the AgentQueues, but has no client for other objects, and its own status
patch is not one a failure may touch (see :mod:`.report`). Rather than pull in a full
Kubernetes client library for a handful of calls, this one speaks HTTP with httpx, using
the very credentials kopf logged in with (``kopf.ConnectionInfo``: in-cluster service
account or kubeconfig), so there is one source of authentication.

Every refusal leaves here as :class:`KubeApiError`, whose text names the verb, the object
and what the API server said (code, reason, message): that text is what the AgentQueue's
Ready condition and Warning Event show, so it must say why without the operator's log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import kopf

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class KubeApiError(Exception):
    """The API server refused or could not be reached; worth retrying later."""

    def __init__(self, verb: str, target: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"{verb} {target}: {detail}")
        self.verb = verb
        self.target = target
        self.status = status


def refusal(response: httpx.Response) -> str:
    """What the API server said: ``403 Forbidden: <message>`` from its ``Status`` body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        reason = body.get("reason") or response.reason_phrase
        return f"{response.status_code} {reason}: {body.get('message') or ''}".rstrip(": ")
    text = response.text.strip()[:300]
    return f"{response.status_code} {response.reason_phrase}: {text}".rstrip(": ")


class Resource:
    """One namespaced resource of the API (``deployments.apps``), read and written over HTTP."""

    def __init__(self, http: httpx.AsyncClient, group: str, version: str, plural: str) -> None:
        self._http = http
        self._base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        self.plural = plural
        #: How kubectl and the API's own messages name it: ``deployments.apps``.
        self.name = f"{plural}.{group}" if group else plural

    def _path(self, namespace: str, name: str | None = None, sub: str | None = None) -> str:
        path = f"{self._base}/namespaces/{namespace}/{self.plural}"
        return "/".join(p for p in (path, name, sub) if p)

    async def _call(
        self, verb: str, namespace: str, name: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        target = f"{self.name} {namespace}/{name}"
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise KubeApiError(verb, target, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise KubeApiError(verb, target, refusal(response), response.status_code)
        if response.status_code == 404 and verb != "get":
            raise KubeApiError(verb, target, refusal(response), 404)
        return response

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None if there is none."""
        response = await self._call("get", namespace, name, "GET", self._path(namespace, name))
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("metadata", {}).get("name") or "")
        response = await self._call(
            "create", namespace, name, "POST", self._path(namespace), json=body
        )
        created: dict[str, Any] = response.json()
        return created

    async def patch(
        self, namespace: str, name: str, patch: dict[str, Any] | list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A merge patch (a dict) or a JSON patch (a list of operations)."""
        response = await self._call(
            "patch",
            namespace,
            name,
            "PATCH",
            self._path(namespace, name),
            json=patch,
            headers={"Content-Type": JSON_PATCH if isinstance(patch, list) else MERGE_PATCH},
        )
        patched: dict[str, Any] = response.json()
        return patched

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """A merge patch of the ``status`` subresource (``None`` values remove their keys)."""
        await self._call(
            "patch status of",
            namespace,
            name,
            "PATCH",
            self._path(namespace, name, "status"),
            json={"status": dict(status)},
            headers={"Content-Type": MERGE_PATCH},
        )


class KubeClient:
    """One HTTP connection pool on kopf's credentials, shared by every :class:`Resource`."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def connect(cls, info: kopf.ConnectionInfo, *, timeout: float = 10.0) -> KubeClient:
        client = httpx.AsyncClient(
            base_url=info.server,
            headers=info.as_http_headers(),
            verify=info.as_ssl_context(),
            timeout=timeout,
        )
        return cls(client)

    def resource(self, group: str, version: str, plural: str) -> Resource:
        return Resource(self._http, group, version, plural)

    async def aclose(self) -> None:
        await self._http.aclose()
