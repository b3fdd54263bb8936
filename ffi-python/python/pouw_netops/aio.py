"""``pouw_netops.aio``: run a :class:`~pouw_netops.Node` over UDP on asyncio.

The sans-IO :class:`~pouw_netops.Node` never touches a socket or a clock; this
module is the host that does, in the shape of aioquic's asyncio layer:

* :class:`NodeProtocol` is the ``asyncio.DatagramProtocol`` of the node's
  socket: every datagram received goes to ``Node.handle_message``;
* the timer follows ``Node.poll_timeout`` on the monotonic clock
  (``time.monotonic``, which is also the node's ``now``);
* after every input the node is drained in the documented order: the hard
  state (term and vote) is **written atomically to a file before anything is
  sent**, then the datagrams go out, then events are queued for
  :meth:`NodeRunner.events` (an async iterator of typed
  :class:`~pouw_netops.NodeEvent`\\ s), then evicted history batches are
  written to a directory;
* :meth:`NodeRunner.close` stops the node gracefully (a leader steps down,
  peers are told) and ends the event iterator; :meth:`NodeRunner.abort` drops
  everything at once, as a crash would.

Where to send: ``poll_transmit`` names a node; its address comes from the
``peers`` mapping given to :func:`serve` (which the host may update at any
time), else from the first ``host:port`` endpoint of the node's verified
certificate. A transmit to a node with no address is dropped and counted in
:attr:`NodeRunner.unroutable`.

Example::

    runner = await aio.serve(node, ("0.0.0.0", 7000), peers, state_dir="/var/lib/pouw")
    async for event in runner.events():
        ...

Logging goes to ``logging.getLogger("pouw_netops.aio")``: leadership and
failover events at INFO, degraded tasks, expired leases and tunnels going down
at WARNING, refused datagrams and the rest at DEBUG.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pathlib
import tempfile
import time
from typing import AsyncIterator, Callable, Dict, Mapping, MutableMapping, Optional, Tuple, Union, cast

from ._errors import NetOpsError
from .node import (
    CrashDetected,
    LeaderElected,
    LeaseExpired,
    Node,
    NodeEvent,
    SteppedDown,
    TaskDegraded,
    TunnelDown,
    WorkerReplaced,
)

__all__ = [
    "NodeProtocol",
    "NodeRunner",
    "serve",
    "addresses",
    "agreed_leader",
    "next_epoch",
    "load_hard_state",
    "write_atomically",
]

logger = logging.getLogger("pouw_netops.aio")

Address = Tuple[str, int]
PathLike = Union[str, "os.PathLike[str]"]

#: Events kept for a slow consumer of :meth:`NodeRunner.events`; older ones are
#: dropped first (and counted) beyond this.
MAX_QUEUED_EVENTS = 4096

_STATE_FILE = "hard_state.json"
_EPOCH_FILE = "epoch"

_INFO_EVENTS = (LeaderElected, SteppedDown, WorkerReplaced, CrashDetected)
_WARNING_EVENTS = (TaskDegraded, LeaseExpired, TunnelDown)


def write_atomically(path: PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a crash leaves either the old file or
    the new one: a temporary file in the same directory, flushed to disk, then
    renamed over ``path`` (and the directory entry flushed)."""
    target = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def next_epoch(state_dir: PathLike) -> int:
    """The boot epoch for this start of the node whose state is in ``state_dir``:
    one more than the last, persisted before it is returned (so it is persisted
    before anything is sent). The first boot's epoch is 1."""
    d = pathlib.Path(state_dir)
    d.mkdir(parents=True, exist_ok=True)
    try:
        last = int((d / _EPOCH_FILE).read_text().strip() or "0")
    except FileNotFoundError:
        last = 0
    epoch = last + 1
    write_atomically(d / _EPOCH_FILE, f"{epoch}\n".encode())
    return epoch


def load_hard_state(state_dir: PathLike) -> Optional[Tuple[int, Optional[str]]]:
    """The ``(term, voted_for)`` persisted in ``state_dir``, or ``None`` if none was."""
    try:
        raw = (pathlib.Path(state_dir) / _STATE_FILE).read_bytes()
    except FileNotFoundError:
        return None
    state = json.loads(raw)
    term, voted_for = state["term"], state["voted_for"]
    if not isinstance(term, int) or not (voted_for is None or isinstance(voted_for, str)):
        raise ValueError(f"malformed hard state in {state_dir}: {state!r}")
    return term, voted_for


class NodeProtocol(asyncio.DatagramProtocol):
    """The node's socket: hands every datagram to its :class:`NodeRunner`."""

    def __init__(self, runner: NodeRunner) -> None:
        self._runner = runner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._runner._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self._runner._datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (a peer's port closed, …): UDP is best effort, the node's
        # timers retry; nothing to do but note it.
        logger.debug("%s: socket error: %s", self._runner.node.node_id, exc)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._runner._transport = None


class NodeRunner:
    """One :class:`~pouw_netops.Node` on one UDP socket; build it with :func:`serve`.

    ``peers`` maps node ids to ``(host, port)``; it is read on every send, so
    the host may change it. ``state_dir`` (if given) is where the hard state is
    persisted; ``archive_dir`` (if given) receives every history batch the node
    evicts from memory, one file per batch (``batch-<n>.bin``: header and zlib
    stream, as ``MessageHistoryCompressor.poll_archived`` gives them).
    ``clock`` is the node's clock (``time.monotonic``).
    """

    def __init__(
        self,
        node: Node,
        peers: Optional[MutableMapping[str, Address]] = None,
        *,
        state_dir: Optional[PathLike] = None,
        archive_dir: Optional[PathLike] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node = node
        self.peers: MutableMapping[str, Address] = {} if peers is None else peers
        self.clock = clock
        self._state_dir = None if state_dir is None else pathlib.Path(state_dir)
        self._archive_dir = None if archive_dir is None else pathlib.Path(archive_dir)
        if self._state_dir is not None:
            self._state_dir.mkdir(parents=True, exist_ok=True)
        if self._archive_dir is not None:
            self._archive_dir.mkdir(parents=True, exist_ok=True)
        self._transport: Optional[asyncio.DatagramTransport] = None
        self._loop = asyncio.get_running_loop()
        self._timer: Optional[asyncio.TimerHandle] = None
        self._timer_at: Optional[float] = None
        self._events: asyncio.Queue[Optional[NodeEvent]] = asyncio.Queue()
        self._closed = asyncio.Event()
        self._learned: Dict[str, Address] = {}
        self._archived = 0
        #: Datagrams refused by the node (forged, replayed, malformed, …).
        self.refused = 0
        #: Transmits dropped because their destination had no known address.
        self.unroutable = 0
        #: Events dropped because nobody read :meth:`events` in time.
        self.dropped_events = 0

    # --- lifecycle ---------------------------------------------------------

    def _start(self) -> None:
        if self._state_dir is not None:
            state = load_hard_state(self._state_dir)
            if state is not None:
                self.node.restore_hard_state(*state)
                logger.info("%s: restored term %d, vote %s", self.node.node_id, state[0], state[1])
        self.node.start(self.clock())
        logger.info("%s: started at %s", self.node.node_id, self.address)
        self._drain()

    @property
    def address(self) -> Address:
        """The ``(host, port)`` the socket is bound to."""
        if self._transport is None:
            raise RuntimeError("the runner is closed")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return host, port

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`abort` was called."""
        return self._closed.is_set()

    async def close(self) -> None:
        """Stops gracefully: the node says goodbye (a leader steps down) and the
        last datagrams go out before the socket closes; the event iterator ends."""
        if self.closed:
            return
        self.node.stop(self.clock())
        self._drain()
        self._shutdown()
        await asyncio.sleep(0)  # let the transport flush and close

    def abort(self) -> None:
        """Stops at once, as a crash would: nothing more is sent or handled."""
        if not self.closed:
            logger.info("%s: aborted", self.node.node_id)
            self._shutdown()

    def _shutdown(self) -> None:
        self._closed.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
        self._events.put_nowait(None)

    async def wait_closed(self) -> None:
        """Waits until the runner is closed or aborted."""
        await self._closed.wait()

    # --- events ------------------------------------------------------------

    async def events(self) -> AsyncIterator[NodeEvent]:
        """The node's events, oldest first, until the runner closes."""
        while True:
            event = await self._events.get()
            if event is None:
                self._events.put_nowait(None)  # for any other iterator
                return
            yield event

    # --- the node's inputs -------------------------------------------------

    def _datagram(self, data: bytes, addr: Address) -> None:
        if self.closed:
            return
        try:
            self.node.handle_message(self.clock(), data)
        except NetOpsError as e:
            # Refused: the node changed nothing and counted it by reason.
            self.refused += 1
            logger.debug("%s: refused a datagram from %s:%d: %s", self.node.node_id, addr[0], addr[1], e)
        self._drain()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.closed:
            return
        self.node.tick(self.clock())
        self._drain()

    # --- the node's outputs, in the documented order -------------------------

    def _drain(self) -> None:
        node = self.node
        state = None
        while (hs := node.poll_hard_state()) is not None:
            state = hs
        if state is not None:
            self._persist(state)
        transport = self._transport
        while (t := node.poll_transmit()) is not None:
            dest, data = t
            addr = self._route(dest)
            if addr is None or transport is None:
                self.unroutable += 1
                logger.debug("%s: no address for %s, datagram dropped", node.node_id, dest)
                continue
            transport.sendto(data, addr)
        while (e := node.poll_event()) is not None:
            self._log(e)
            if self._events.qsize() >= MAX_QUEUED_EVENTS:
                self._events.get_nowait()
                self.dropped_events += 1
            self._events.put_nowait(e)
        while (batch := node.poll_archived()) is not None:
            self._archive(batch)
        self._arm()

    def _persist(self, state: Tuple[int, Optional[str]]) -> None:
        term, voted_for = state
        if self._state_dir is not None:
            data = json.dumps({"term": term, "voted_for": voted_for}).encode()
            write_atomically(self._state_dir / _STATE_FILE, data)
        logger.debug("%s: hard state term %d, vote %s", self.node.node_id, term, voted_for)

    def _archive(self, batch: bytes) -> None:
        self._archived += 1
        if self._archive_dir is None:
            logger.debug("%s: history batch evicted (no archive directory)", self.node.node_id)
            return
        while (path := self._archive_dir / f"batch-{self._archived:010d}.bin").exists():
            self._archived += 1
        write_atomically(path, batch)

    def _route(self, dest: str) -> Optional[Address]:
        addr = self.peers.get(dest)
        if addr is not None:
            return addr
        addr = self._learned.get(dest)
        if addr is None:
            for cert in self.node.members():
                for endpoint in cert.endpoints:
                    host, _, port = endpoint.rpartition(":")
                    if host and port.isdigit():
                        self._learned[cert.node_id] = (host.strip("[]"), int(port))
                        break
            addr = self._learned.get(dest)
        return addr

    def _arm(self) -> None:
        if self.closed:
            return
        at = self.node.poll_timeout()
        if at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            self._timer = self._loop.call_later(max(0.0, at - self.clock()), self._on_timer)

    def _log(self, e: NodeEvent) -> None:
        if isinstance(e, _INFO_EVENTS):
            level = logging.INFO
        elif isinstance(e, _WARNING_EVENTS):
            level = logging.WARNING
        else:
            level = logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(level, "%s: %s of %s %s", self.node.node_id, e.kind, e.node, e.details)


async def serve(
    node: Node,
    local_addr: Address,
    peers: Optional[MutableMapping[str, Address]] = None,
    *,
    state_dir: Optional[PathLike] = None,
    archive_dir: Optional[PathLike] = None,
    clock: Callable[[], float] = time.monotonic,
) -> NodeRunner:
    """Binds a UDP socket at ``local_addr`` (port 0: any), restores the hard
    state persisted in ``state_dir`` if any, starts ``node`` and returns its
    running :class:`NodeRunner`. ``node`` must use ``clock`` as its ``now``
    (``Node``'s default ``unix_at_zero`` fits ``time.monotonic``)."""
    loop = asyncio.get_running_loop()
    runner = NodeRunner(node, peers, state_dir=state_dir, archive_dir=archive_dir, clock=clock)
    await loop.create_datagram_endpoint(lambda: NodeProtocol(runner), local_addr=local_addr)
    runner._start()
    return runner


def addresses(runners: Mapping[str, NodeRunner]) -> Dict[str, Address]:
    """Node id → bound address of each runner (for a local cluster's ``peers``)."""
    return {n: r.address for n, r in runners.items()}


def agreed_leader(runners: Mapping[str, NodeRunner]) -> Optional[str]:
    """The leader of a local cluster (node id → runner) once it is settled:
    the one open runner whose node leads, when every open runner's node
    follows it; ``None`` while there is no leader, more than one node leads,
    or a node still follows another. Closed runners are left out."""
    live = [n for n, r in runners.items() if not r.closed]
    leaders = [n for n in live if runners[n].node.is_leader]
    if len(leaders) == 1 and all(runners[n].node.leader_id == leaders[0] for n in live):
        return leaders[0]
    return None
