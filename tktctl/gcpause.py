"""Pausing Python's cyclic garbage collector around work that makes many objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic collector for the block; with ``freeze``, exempt what it made from later scans.

    The collector runs whenever allocations outnumber frees by a threshold, and scans every
    tracked object again each time. Work that builds many long-lived, acyclic objects (an
    import's checked records, the database layer's modules) pays for scans that free nothing.
    The collector's enabled state is given back as it was, also when the block fails.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
