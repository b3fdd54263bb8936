"""``NetworkOperationsManager``: the old API's coordinator of the five managers.

As in the old API it owns one instance of each Layer 1 manager and, between
:meth:`start_operations` and :meth:`stop_operations`, runs a periodic loop on
the running asyncio loop (crash detection, election timeout, tunnel health,
history compression). It sends nothing: for real networking use :class:`pouw_netops.Node`.

The class is native (``ffi-python/src/operations.rs``); its two coroutine
methods, which need the running event loop, are the functions below,
attached to it. It logs through ``logging.getLogger("pouw_netops.ops")``.
Subclassable.
"""

from __future__ import annotations

import asyncio
import logging

from ._native import NetworkOperationsManager

__all__ = ["NetworkOperationsManager"]

logger = logging.getLogger("pouw_netops.ops")


async def _run(self: NetworkOperationsManager) -> None:
    while self.is_running:
        self.tick()
        await asyncio.sleep(self.tick_interval)


async def start_operations(self: NetworkOperationsManager) -> None:
    """Starts the loop as a task on the running asyncio loop (no-op when already running)."""
    if self.is_running:
        return
    self.is_running = True
    self._task = asyncio.get_running_loop().create_task(self._run())
    logger.info("%s: network operations started", self.node_id)


async def stop_operations(self: NetworkOperationsManager) -> None:
    """Stops the loop and waits for it to end."""
    self.is_running = False
    task, self._task = self._task, None
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    logger.info("%s: network operations stopped", self.node_id)


for _f in (_run, start_operations, stop_operations):
    _f.__qualname__ = f"NetworkOperationsManager.{_f.__name__}"
    setattr(NetworkOperationsManager, _f.__name__, _f)
del _f, _run, start_operations, stop_operations
