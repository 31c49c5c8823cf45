"""The worker Deployment an AgentQueue owns, as the manifest the operator applies.

Built from the spec alone (pure), so that tests and the chart's reviewers can read what
the operator will create without running it. The operator owns ``spec.replicas``; every
other field follows the AgentQueue: a hash of the desired template is kept in an
annotation, and a different hash means the template is patched (a rolling update).

Shutdown is consistent end to end: the worker gets ``shutdownTimeoutSeconds`` to finish
running tasks after SIGTERM (``AGENTQUEUE_SHUTDOWN_TIMEOUT``), and Kubernetes waits five
seconds more before SIGKILL, so a scale-down never kills a task that could have finished.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agentqueue.operator.spec import AgentQueueSpec

#: Port of the worker's Prometheus endpoint (``AGENTQUEUE_METRICS_PORT``).
METRICS_PORT = 9100
#: Seconds Kubernetes waits beyond the worker's own shutdown timeout before SIGKILL.
GRACE_MARGIN_SECONDS = 5
TEMPLATE_HASH = "agentqueue.io/template-hash"
WORKER_UID = 10001


def deployment_name(queue_name: str) -> str:
    return f"{queue_name}-worker"


def selector_labels(queue_name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "agentqueue",
        "app.kubernetes.io/component": "worker",
        "agentqueue.io/queue": queue_name,
    }


def _env(spec: AgentQueueSpec) -> list[dict[str, Any]]:
    ours = {
        "AGENTQUEUE_QUEUE": spec.queue.value,
        "AGENTQUEUE_THREADS": str(spec.worker.concurrency),
        "AGENTQUEUE_SHUTDOWN_TIMEOUT": str(spec.worker.shutdown_timeout_seconds),
        "AGENTQUEUE_METRICS_PORT": str(METRICS_PORT),
        # the worker binds 127.0.0.1 by default: in a pod, Prometheus and the readiness
        # probe reach it on the pod's address
        "AGENTQUEUE_METRICS_HOST": "0.0.0.0",
    }
    if spec.batch_api:  # the batch path (core/batches)
        ours["AGENTQUEUE_BATCH_API"] = "true"
    extra = [e for e in spec.worker.env if e.get("name") not in ours]
    return [{"name": k, "value": v} for k, v in ours.items()] + extra


def pod_template(queue_name: str, spec: AgentQueueSpec) -> dict[str, Any]:
    worker = spec.worker
    container: dict[str, Any] = {
        "name": "worker",
        "image": worker.image,
        "imagePullPolicy": worker.image_pull_policy,
        "command": ["python", "-m", "agentqueue.worker"],
        "env": _env(spec),
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
        # The metrics endpoint opens once the SDK clients are built: "ready to consume".
        "readinessProbe": {"tcpSocket": {"port": "metrics"}, "periodSeconds": 5},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKER_UID,
            "runAsGroup": WORKER_UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 (a private emptyDir)
            *worker.volume_mounts,
        ],
    }
    if worker.env_from:
        container["envFrom"] = list(worker.env_from)
    if worker.resources:
        container["resources"] = dict(worker.resources)
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": worker.shutdown_timeout_seconds + GRACE_MARGIN_SECONDS,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKER_UID,
            "fsGroup": WORKER_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}, *worker.volumes],
    }
    if worker.service_account_name:
        pod_spec["serviceAccountName"] = worker.service_account_name
    return {
        "metadata": {
            "labels": selector_labels(queue_name),
            "annotations": {
                **worker.pod_annotations,
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(METRICS_PORT),
            },
        },
        "spec": pod_spec,
    }


def template_hash(template: dict[str, Any]) -> str:
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def worker_deployment(queue_name: str, spec: AgentQueueSpec, replicas: int) -> dict[str, Any]:
    """The Deployment for AgentQueue ``queue_name`` (owner reference added by the caller)."""
    template = pod_template(queue_name, spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": deployment_name(queue_name),
            "labels": selector_labels(queue_name),
            "annotations": {TEMPLATE_HASH: template_hash(template)},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(queue_name)},
            "template": template,
        },
    }
