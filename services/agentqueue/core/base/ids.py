"""Random ids for what is made per request or per call: 128 bits from the OS's random
source. Every id the services make comes from here (tasks, sessions, requests, messages,
limiter leases, calls, answers to compatible clients; the simulator, which plays the
providers, keeps its own).

A submission makes four ids on the gateway's hot path: the task's, the request's, its
Dramatiq message's and that message's Redis id. ``uuid.uuid4()`` and ``os.urandom``
each ask the kernel (``getrandom``) every time; on the virtual machines we measure on,
where a system call is dear, those four calls were 4-5% of the gateway's CPU per
submission (py-spy, ``bench/gateway_submit.py``). Here the bytes are read from the same
source 4 KiB at a time and handed out in order, each byte once:

- **As unpredictable as before.** Every id is 16 bytes of ``os.urandom`` output, never
  a pseudo-random generator's; only the reading is batched.
- **Never shared.** A lock hands out each slice once across threads (the worker's
  threads make ids too), and a forked child drops its parent's unread bytes
  (``os.register_at_fork``), so parent and child never hand out the same id.

None of these ids is read back as a UUID; :func:`random_uuid` gives the UUID text form
for the one that looks like one elsewhere (Dramatiq's message id).
"""

from __future__ import annotations

import os
import threading

#: Bytes read from the OS at a time: 256 ids.
CHUNK = 4096
ID_BYTES = 16


class _RandomBytes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._offset + count > len(self._buffer):
                self._buffer = os.urandom(max(CHUNK, count))
                self._offset = 0
            start = self._offset
            self._offset += count
            return self._buffer[start : self._offset]

    def forget(self) -> None:
        """In a forked child: the parent's unread bytes are the parent's."""
        self._lock = threading.Lock()  # a lock held at the fork stays held in the child
        self._buffer = b""
        self._offset = 0


_SOURCE = _RandomBytes()
os.register_at_fork(after_in_child=_SOURCE.forget)


def random_id() -> str:
    """32 lowercase hex digits."""
    return _SOURCE.take(ID_BYTES).hex()


def random_uuid() -> str:
    """The same 128 random bits in the UUID text form (8-4-4-4-12 hex digits)."""
    digits = random_id()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


__all__ = ["random_id", "random_uuid"]
