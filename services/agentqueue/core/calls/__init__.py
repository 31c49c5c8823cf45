"""How an LLM call is made: cache, then the shared budget, then the provider, with
fallback across deployments and providers. Builds on llm, cache and ratelimit."""
