"""The worker: consumes one priority queue and runs agent tasks through the LLM chain."""
