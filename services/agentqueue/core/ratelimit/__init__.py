"""The global rate limiter's core: budgets in Redis, leases, priority floors.

Every process that calls a provider draws from the same budget per provider and model,
decided atomically in Redis (``limiter.lua``) by the Redis server's clock.
"""
