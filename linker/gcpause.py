"""Pausing the cyclic garbage collector for the length of a phase.

Links and compiles allocate hundreds of thousands of long-lived objects
(a link's index records, each in a cycle with its object file; a compile's
trees of frozen IR nodes) and leave almost no cyclic garbage, while every
collection walks the objects of the youngest generation: the whole growing
heap.  Discovery of 100,000 entities took about 1.7 s with collections and
0.8 s without (`benchmarks/store_discovery.py`); a 5 MB module's compile
spent 0.4 s of 6 s in them.  Reference counting still frees everything
acyclic.  One owner for the link driver and `irld compile`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector inside the block (unless it was paused already)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Everything allocated while paused is still in the youngest
            # generation, so the first collection after `enable` would walk
            # all of it (0.85 s of CPU after a 20,000-function link,
            # benchmarks/run.py).  Freezing then unfreezing moves every tracked
            # object to the oldest generation in O(1): cycles are still
            # collected, by the next full collection.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
