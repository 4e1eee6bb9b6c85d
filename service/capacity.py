"""Free handler slots, shared by the pollers so none receives more than can start at once.

A message received without a free thread would sit invisible in a local buffer while another
task could have run it; reserving slots before ReceiveMessage prevents that.
"""

from __future__ import annotations

import threading


class Capacity:
    def __init__(self, size: int) -> None:
        self._size = size
        self._free = size
        self._changed = threading.Condition()

    def reserve(self, wanted: int, timeout: float, gather: float = 0.0) -> int:
        """Wait up to `timeout` s for a free slot, then up to `gather` s more for `wanted` of
        them; take what is free, at most `wanted`. 0 if none came free.

        Gathering trades a few milliseconds for fuller receives: right after a poll, the
        messages it fetched still hold their slots and free them one by one."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._free > 0, timeout=timeout):
                return 0
            target = min(wanted, self._size)
            if gather > 0 and self._free < target:
                self._changed.wait_for(lambda: self._free >= target, timeout=gather)
            taken = min(wanted, self._free)
            self._free -= taken
            return taken

    def release(self, count: int = 1) -> None:
        if count <= 0:
            return
        with self._changed:
            self._free = min(self._size, self._free + count)
            self._changed.notify_all()

    @property
    def free(self) -> int:
        with self._changed:
            return self._free
