"""LLM provider adapters behind one interface (``base.Provider``)."""
