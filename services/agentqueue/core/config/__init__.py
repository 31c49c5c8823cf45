"""The configuration file: deployments, models, budgets, tenants, routing, cache, webhooks.

One YAML file (``AGENTQUEUE_CONFIG``) describes what environment variables cannot say
well: several deployments of a model, each with its own kind, region, credentials and
budget. :mod:`.schema` is its shape (pydantic models that refuse unknown fields);
:mod:`.secrets` resolves secrets given by reference, never inline.
"""
