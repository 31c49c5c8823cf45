"""Run the operator: kopf's settings, peering and probes from :class:`OperatorSettings`.

Peering: with ``AGENTQUEUE_OPERATOR_PEERING`` set (default ``agentqueue``), every replica
joins the same kopf peering object (a ``KopfPeering`` in the watched namespace, or a
``ClusterKopfPeering`` when watching all namespaces). The live peer with the highest
priority is active; the others pause their watches and timers until it goes silent.
So two replicas give fail-over without two autoscalers fighting over one Deployment.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, cast

import kopf

from agentqueue.operator.handlers import Runtime, build_registry, configure_kopf
from agentqueue.operator.settings import OperatorSettings


async def run_operator(
    settings: OperatorSettings,
    *,
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    tune: Callable[[kopf.OperatorSettings], None] | None = None,
    identity: str | None = None,
) -> None:
    """Run until ``stop_flag`` is set (or a signal arrives, when run as the main program).

    ``tune`` adjusts kopf's settings after ours (tests: no cluster scanning, shorter
    timeouts). ``identity`` names this replica among its peers (default: kopf's, from
    the pod's hostname; tests run several in one process).
    """
    kopf_settings = kopf.OperatorSettings()
    configure_kopf(kopf_settings)
    if tune is not None:
        tune(kopf_settings)
    scope: dict[str, Any] = (
        {"namespaces": [settings.operator_namespace]}
        if settings.operator_namespace
        else {"clusterwide": True}
    )
    peering: dict[str, Any] = (
        {"standalone": True}
        if settings.operator_standalone
        else {"peering_name": settings.operator_peering, "priority": settings.operator_priority}
    )
    await kopf.operator(
        registry=build_registry(settings),
        settings=kopf_settings,
        memo=kopf.Memo(runtime=Runtime(settings)),
        liveness_endpoint=settings.health_url,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
        identity=cast(Any, identity),  # kopf's Identity is a NewType of str, not exported
        **scope,
        **peering,
    )
