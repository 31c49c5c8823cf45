"""The AgentQueue Kubernetes operator (kopf).

For each AgentQueue it owns a worker Deployment and, every few seconds, sets its
replicas from the queue's depth in Redis and the budget headroom the limiter reports:
the scaling law is :mod:`.scaling`, the sequence of one pass :mod:`.reconcile`, the kopf
wiring :mod:`.handlers`. ``python -m agentqueue.operator`` runs it; docs/operator.md
explains the law, the settings and the contract with the Helm chart.
"""
