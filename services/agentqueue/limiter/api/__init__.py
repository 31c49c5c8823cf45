"""The limiter's HTTP API: request dependencies, error handlers, and one router per resource."""
