"""The gateway: the HTTP front door that accepts tasks and answers their status."""
