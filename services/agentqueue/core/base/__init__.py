"""Shared ground every part of core stands on: errors, priorities, Redis, logs."""
