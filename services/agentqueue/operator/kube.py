"""The few Kubernetes API calls the operator makes itself: read, create, patch Deployments.

kopf watches and patches the AgentQueues, but has no client for other objects. Rather
than pull in a full Kubernetes client library for three calls, this one speaks HTTP with
httpx, using the very credentials kopf logged in with (``kopf.ConnectionInfo``: in-cluster
service account or kubeconfig), so there is one source of authentication.
"""

from __future__ import annotations

from typing import Any

import httpx
import kopf

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class KubeApiError(Exception):
    """The API server refused or could not be reached; worth retrying later."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Deployments:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._http = client

    @classmethod
    def connect(cls, info: kopf.ConnectionInfo, *, timeout: float = 10.0) -> Deployments:
        client = httpx.AsyncClient(
            base_url=info.server,
            headers=info.as_http_headers(),
            verify=info.as_ssl_context(),
            timeout=timeout,
        )
        return cls(client)

    @staticmethod
    def _path(namespace: str, name: str | None = None) -> str:
        base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
        return f"{base}/{name}" if name else base

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise KubeApiError(f"{method} {path}: {exc}") from exc
        if response.status_code >= 400 and response.status_code != 404:
            raise KubeApiError(
                f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}",
                response.status_code,
            )
        return response

    async def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        response = await self._call("GET", self._path(namespace, name))
        if response.status_code == 404:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._call("POST", self._path(namespace), json=body)
        if response.status_code == 404:
            raise KubeApiError(f"namespace {namespace!r} or the Deployments API not found", 404)
        created: dict[str, Any] = response.json()
        return created

    async def patch(
        self, namespace: str, name: str, patch: dict[str, Any] | list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A merge patch (a dict) or a JSON patch (a list of operations)."""
        response = await self._call(
            "PATCH",
            self._path(namespace, name),
            json=patch,
            headers={"Content-Type": JSON_PATCH if isinstance(patch, list) else MERGE_PATCH},
        )
        if response.status_code == 404:
            raise KubeApiError(f"deployment {namespace}/{name} vanished", 404)
        patched: dict[str, Any] = response.json()
        return patched

    async def aclose(self) -> None:
        await self._http.aclose()
