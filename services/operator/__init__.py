"""The AgentQueue Kubernetes operator (kopf). Not built yet: it is the subject of issue 4."""
