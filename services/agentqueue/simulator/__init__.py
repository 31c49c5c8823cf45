"""The provider simulator: Anthropic, OpenAI and Gemini wire protocols, with real-looking
rate limits, latency and faults, answering tool offers with valid calls and JSON requests
with valid JSON (:mod:`agentqueue.simulator.tool_turns`). The default provider when no API
key is configured, and what the tests and benchmarks run against."""
