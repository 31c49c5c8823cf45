"""Sessions: conversations that outlive one call, kept under the model's window.

``models`` the record, items and compaction log; ``store`` their keys in Redis;
``context`` the tiered compaction (pure but for its summariser); ``metrics`` their
Prometheus series. The worker's ``session_step`` agent runs one step; the gateway's
``/v1/sessions`` routes create sessions, add turns and queue steps.
"""

from agentqueue.core.sessions.context import ContextLimit, ContextPolicy, fit, render
from agentqueue.core.sessions.models import (
    Compaction,
    Item,
    ItemKind,
    SessionRecord,
    SessionState,
)
from agentqueue.core.sessions.store import SessionStore, check_pairs

__all__ = [
    "Compaction",
    "ContextLimit",
    "ContextPolicy",
    "Item",
    "ItemKind",
    "SessionRecord",
    "SessionState",
    "SessionStore",
    "check_pairs",
    "fit",
    "render",
]
