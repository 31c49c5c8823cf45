"""Response caching: exact, semantic and single-flight, never serving a wrong answer.

See docs/cache.md. The pipeline (:mod:`agentqueue.core.calls.pipeline`) asks, in order: the
exact cache, the semantic cache (when on), an identical call already in flight; only
then a provider, whose answer it stores.
"""
