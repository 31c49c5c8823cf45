"""``python -m agentqueue.operator.cleanup``: delete a release's AgentQueues before the
operator goes (the chart's ``pre-delete`` hook).

kopf's timers put a finalizer on every AgentQueue; only a running operator removes it. On
``helm uninstall`` Helm deletes everything at once, so the operator may be gone before it
releases its queues, and they — and their namespace — hang in Terminating. This hook runs
first: it deletes the release's AgentQueues while the operator still runs, waits until they
are gone (their worker Deployments follow through owner references), and only if that
takes longer than ``--timeout`` strips the finalizers itself and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Any

import httpx
import kopf

log = logging.getLogger("agentqueue.operator.cleanup")

GROUP_PATH = "/apis/agentqueue.io/v1alpha1"


def connection() -> kopf.ConnectionInfo:
    """In-cluster service account, else the kubeconfig (as kopf logs in)."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        raise SystemExit("no Kubernetes credentials (service account or kubeconfig)")
    return info


class AgentQueues:
    def __init__(self, client: httpx.AsyncClient, namespace: str) -> None:
        self._http = client
        self._base = f"{GROUP_PATH}/namespaces/{namespace}/agentqueues"

    async def names(self, selector: str) -> list[str]:
        """Names of the AgentQueues matching ``selector`` (``key=value,…``). The server
        filters; the match is checked again here, so a server that ignores selectors
        (an emulator) cannot make this delete another release's queues."""
        response = await self._http.get(self._base, params={"labelSelector": selector})
        response.raise_for_status()
        wanted = dict(term.split("=", 1) for term in selector.split(",") if "=" in term)
        items: list[dict[str, Any]] = response.json().get("items", [])
        return [
            item["metadata"]["name"]
            for item in items
            if all((item["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]

    async def delete(self, name: str) -> None:
        response = await self._http.delete(f"{self._base}/{name}")
        if response.status_code not in (200, 202, 404):
            response.raise_for_status()

    async def release_finalizers(self, name: str) -> None:
        response = await self._http.patch(
            f"{self._base}/{name}",
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response.status_code != 404:
            response.raise_for_status()


async def clean(
    client: httpx.AsyncClient, namespace: str, selector: str, timeout: float, poll: float = 1.0
) -> list[str]:
    """Delete the selected AgentQueues; the names whose finalizers had to be stripped."""
    queues = AgentQueues(client, namespace)
    names = await queues.names(selector)
    for name in names:
        await queues.delete(name)
    log.info("deleting %d AgentQueue(s) in %s: %s", len(names), namespace, ", ".join(names))
    deadline = time.monotonic() + timeout
    left = names
    while left and time.monotonic() < deadline:
        await asyncio.sleep(poll)
        left = await queues.names(selector)
    for name in left:
        log.warning("%s still there after %.0fs: removing its finalizers", name, timeout)
        await queues.release_finalizers(name)
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", required=True)
    parser.add_argument(
        "--selector", required=True, help="the release's AgentQueues, as key=value[,key=value]"
    )
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    info = connection()

    async def run() -> list[str]:
        async with httpx.AsyncClient(
            base_url=info.server,
            headers=info.as_http_headers(),
            verify=info.as_ssl_context(),
            timeout=10,
        ) as client:
            return await clean(client, args.namespace, args.selector, args.timeout)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
