"""Ids read from the OS's random source in batches: each byte handed out once, across
threads and across a fork."""

from __future__ import annotations

import multiprocessing
import re
import threading
from multiprocessing.connection import Connection

from agentqueue.core.base import ids


def test_ids_are_32_hex_digits_and_uuids_their_text_form() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", ids.random_id())
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", ids.random_uuid()
    )


def test_no_id_is_handed_out_twice_across_threads_and_refills() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(out: list[str]) -> None:
        for _ in range(2_000):  # 16,000 ids in all: 62 refills of the 4 KiB buffer
            out.append(ids.random_id())

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in made for i in out]
    assert len(set(every)) == len(every) == 16_000


def _child(conn: Connection) -> None:
    conn.send([ids.random_id() for _ in range(4)])


def test_a_forked_child_never_hands_out_its_parents_next_ids() -> None:
    ids.random_id()  # the parent's buffer holds unread bytes now
    parent_end, child_end = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=_child, args=(child_end,))
    child.start()
    childs = parent_end.recv()
    child.join(10)
    parents = [ids.random_id() for _ in range(4)]
    assert not set(childs) & set(parents)
