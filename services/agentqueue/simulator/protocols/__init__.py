"""One router per provider wire protocol, all over the same :class:`Simulator`."""
