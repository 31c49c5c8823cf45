"""agentqueue: run LLM agent workloads at scale, within providers' rate limits."""

__version__ = "0.1.0"
