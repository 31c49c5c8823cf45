"""Shared core: every service imports this, never another service."""
