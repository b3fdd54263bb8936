"""``Node`` under the Byzantine fault model (config key ``byzantine_f``).

Four supervisors tolerate one that lies (quorums of 3 of 4): they elect one
leader whose certificate every worker checks, and after that leader stops the
other three elect another. A configuration with fewer than 3f + 1 supervisors
and an unknown equivocation policy are refused when the node is built.
"""

from __future__ import annotations

from typing import List

import pytest

from credentials import credentials
from test_node import Cluster, agreed_leader

from pouw_netops import InvalidArgumentError, NetOpsError, Node
from pouw_netops.node import Equivocation, LeaderElected

SUPERVISORS = ["s1", "s2", "s3", "s4"]
WORKERS = ["w1", "w2"]


def test_four_supervisors_with_f_1_elect_and_reelect() -> None:
    c = Cluster(SUPERVISORS, WORKERS, byzantine_f=1, equivocation="ignore_forever")
    c.run_until(lambda: agreed_leader(c) is not None)
    leader = agreed_leader(c)
    assert leader is not None
    assert c.leaders() == [leader]
    # Workers follow the leader only from its verified certificate.
    assert all(c.nodes[w].leader_id == leader for w in WORKERS)
    elected = [e for e in c.events if isinstance(e, LeaderElected) and e.node == leader]
    assert elected
    term = elected[-1].term
    # Honest nodes never see double votes.
    assert not [e for e in c.events if isinstance(e, Equivocation)]

    c.kill(leader)
    c.run_until(lambda: agreed_leader(c) not in (None, leader))
    new_leader = agreed_leader(c)
    assert new_leader is not None and new_leader != leader
    assert c.hard_states[new_leader][0] > term
    # Refusals for a missing or bad certificate have their own reason.
    for nid in c.alive:
        rejected = c.nodes[nid].status(c.now)["counters"]["rejected"]
        assert isinstance(rejected["uncertified"], int)


def test_too_few_supervisors_for_f_is_refused() -> None:
    # 3f + 1 = 7 supervisors are needed for f = 2; four is a configuration error.
    with pytest.raises(NetOpsError):
        Node("s1", "supervisor", SUPERVISORS, **credentials("s1", "supervisor"), byzantine_f=2)


@pytest.mark.parametrize("value", ["ignore", "", "IgnoreForever"])
def test_unknown_equivocation_policy_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgumentError, match="equivocation policy"):
        Node("s1", "supervisor", SUPERVISORS, **credentials("s1", "supervisor"), equivocation=value)


def test_crash_only_is_f_0() -> None:
    names: List[str] = ["s1", "s2", "s3"]
    c = Cluster(names, WORKERS, byzantine_f=0)
    c.run_until(lambda: agreed_leader(c) is not None)
    assert agreed_leader(c) in names
