"""The gateway's HTTP API: routes, their dependencies and error mapping."""
