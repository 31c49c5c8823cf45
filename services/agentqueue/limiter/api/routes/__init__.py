"""One module per resource: leases (acquire, settle), budgets, health."""
