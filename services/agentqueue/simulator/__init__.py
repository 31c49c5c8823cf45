"""The provider simulator: Anthropic, OpenAI and Gemini wire protocols, with real-looking
rate limits, latency and faults. The default provider when no API key is configured, and
what the tests and benchmarks run against."""
