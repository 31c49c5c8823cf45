"""The batch path's Redis keys, in one place (prefix ``aq:batch:``).

- ``aq:batch:groups``                 set of groups with pending requests; a group is
                                       ``provider|model|deployment``, one provider batch each;
- ``aq:batch:pending:{group}``        zset task id → when it was collected (oldest first);
- ``aq:batch:lines:{group}``          hash task id → ``"<tokens> <request JSON>"``;
- ``aq:batch:bytes:{group}``          the pending requests' bytes;
- ``aq:batch:open``                   zset batch id → when to poll it next;
- ``aq:batch:{id}``                   hash: group, provider batch id, state (``preparing``
                                       until the provider accepted it, then ``submitted``),
                                       order (JSON list of task ids: custom ids, and Gemini's
                                       answer order), created and submitted times, tokens,
                                       polls;
- ``aq:batch:{id}:lines``             hash task id → the request line (for resubmission);
- ``aq:batch:enqueued:{provider}``    tokens in the provider's open batches (the batch
                                       budget: the online budget is never charged);
- ``aq:batch:tries``                  hash task id → batch attempts that failed;
- ``aq:batch:lock``                   the flusher's and poller's lock;
- ``aq:batch:hold:{group}``           set for a while after a group's submission failed;
- ``aq:task:{id}:batch``              (``core/tasks/store.py``) who owns the task: ``pending``
                                       or the batch id; the reconciler leaves it alone.
"""

from __future__ import annotations

PREFIX = "aq:batch:"
GROUPS_KEY = f"{PREFIX}groups"
OPEN_KEY = f"{PREFIX}open"
TRIES_KEY = f"{PREFIX}tries"
LOCK_KEY = f"{PREFIX}lock"
PENDING = "pending"


def group_name(provider: str, model: str, deployment: str) -> str:
    return f"{provider}|{model}|{deployment}"


def split_group(group: str) -> tuple[str, str, str]:
    provider, model, deployment = group.split("|", 2)
    return provider, model, deployment


def pending_key(group: str) -> str:
    return f"{PREFIX}pending:{group}"


def lines_key(group: str) -> str:
    return f"{PREFIX}lines:{group}"


def bytes_key(group: str) -> str:
    return f"{PREFIX}bytes:{group}"


def batch_key(batch_id: str) -> str:
    return f"{PREFIX}{batch_id}"


def batch_lines_key(batch_id: str) -> str:
    return f"{PREFIX}{batch_id}:lines"


def enqueued_key(provider: str) -> str:
    return f"{PREFIX}enqueued:{provider}"
