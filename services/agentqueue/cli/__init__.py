"""The ``agentqueue`` command line: local stack, demo, operations."""
