"""The providers the simulator plays, by name.

A leaf module: the settings (validating scheduled outages), the outage windows and the
run-time behaviours all need the names, and none of them may need another for it.
"""

from __future__ import annotations

#: The simulated providers; ``all`` in a config patch or an outage means every one.
PROVIDERS = ("anthropic", "openai", "google")
