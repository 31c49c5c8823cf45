"""The limiter service: one budget per provider and model for every replica.

It owns the budgets' configuration (from its settings, changeable at run time), answers
acquire/settle/feedback over HTTP for clients that do not reach Redis themselves, and
publishes each budget's headroom — what is available now and what it sustains — for the
operator to scale on. Workers in the same cluster may also decide directly in Redis
with the same Lua script (``core.ratelimit.redis_budgets``): both paths share one state.
"""
