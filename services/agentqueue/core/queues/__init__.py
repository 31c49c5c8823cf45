"""The Dramatiq broker and what the operator reads of its queues (depth, usage)."""
