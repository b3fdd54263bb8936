"""``LeaderElectionManager``: the old API's class over the core's Raft election.

The old API elected a leader by direct calls (``start_election``,
``request_vote``, …) and left sending to the caller; this class keeps that
shape. It runs the core without PreVote and CheckQuorum (the old behaviour: a
timeout starts a real election at once, a leader stays leader until it meets
a higher term or steps down) and discards the messages the core would send.
For real networking use the sans-IO :class:`pouw_netops.Election`.

The class is native (``ffi-python/src/election.rs``): every call is one
native call, with no Python frame. It logs through
``logging.getLogger("pouw_netops.election")``. Subclassable.
"""

from __future__ import annotations

from ._native import LeaderElectionManager

__all__ = ["LeaderElectionManager"]
