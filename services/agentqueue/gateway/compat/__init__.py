"""Provider-compatible interactive APIs: clients of OpenAI and Anthropic change a base URL.

Both run the same call pipeline as the workers (limiter at ``high`` priority, fallback,
breakers, cost, tenant quotas and usage) and differ only in their wire formats.
"""
