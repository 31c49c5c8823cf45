"""What an LLM call is: the protocol-neutral messages, the providers' adapters, the
model catalog, token estimates, routing and usage. Nothing here waits on a budget or a cache."""
