"""Drop-in compatibility: every old-API class used the way the old
``pouw.network.operations`` documented and callers used it — mutating the
managers' containers, assigning their configuration attributes, relying on
their errors. Written from the old API's behaviour (its docstrings, and what
its methods did), not from this package's code; where the package differs on
purpose, ``docs/python-migration.md`` says so and the test names the difference.
"""

from __future__ import annotations

import asyncio
import dataclasses
import zlib

import pytest

from helpers import ELECTION_STATUS_KEYS, HEALTH_FIELDS, NETWORK_STATUS_KEYS, beat, healthy_metrics
from reference import healthy

from pouw_netops import (
    CompressedMessageBatch,
    CrashRecoveryEvent,
    CrashRecoveryManager,
    InsufficientWorkersError,
    InvalidStateError,
    LeaderElectionManager,
    LeaderElectionState,
    LeaderElectionVote,
    MessageHistoryCompressor,
    NetworkMessage,
    NetworkOperationsManager,
    NodeHealthMetrics,
    NodeStatus,
    VPNMeshTopologyManager,
    WorkerReplacementManager,
)

T0 = 1_700_000_000.0


def metrics(node: str, **kw: float) -> NodeHealthMetrics:
    return healthy_metrics(node, **{"last_heartbeat": T0, **kw})


# --- enums and data classes -------------------------------------------------


def test_enums_and_data_classes_have_the_old_names_fields_and_defaults():
    assert {s.name: s.value for s in NodeStatus} == {
        "ONLINE": "online",
        "OFFLINE": "offline",
        "SUSPECTED": "suspected",
        "RECOVERING": "recovering",
        "FAILED": "failed",
    }
    assert {s.name: s.value for s in LeaderElectionState} == {
        "FOLLOWER": "follower",
        "CANDIDATE": "candidate",
        "LEADER": "leader",
    }
    m = NodeHealthMetrics("n", T0, 0.1, 0.9, 0.9, 0.1, 0.1, 0.1)
    assert m.status is NodeStatus.ONLINE
    assert [f.name for f in dataclasses.fields(NodeHealthMetrics)] == HEALTH_FIELDS
    e = CrashRecoveryEvent("n", "crash_detected", T0)
    assert e.metadata == {}
    assert LeaderElectionVote("a", "b", 3, T0).term == 3
    b = CompressedMessageBatch("id", T0, T0 + 1, 2, b"x", 0.5)
    assert (b.batch_id, b.message_count, b.compression_ratio) == ("id", 2, 0.5)
    msg = NetworkMessage("gradient_update", "w1", data={"k": 1})
    assert msg.data == {"k": 1} and msg.timestamp > 0


@pytest.mark.parametrize(
    "kw",
    [{}, {"success_rate": 0.8}, {"response_time": 5.0}, {"cpu_usage": 0.9}, {"memory_usage": 0.95}],
)
@pytest.mark.parametrize("age", [0.0, 29.0, 30.0, 31.0])
def test_is_healthy_uses_the_old_thresholds(kw, age):
    m = metrics("n", **kw)
    want = healthy(T0 + age, m.last_heartbeat, m.response_time, m.success_rate, m.cpu_usage, m.memory_usage)
    assert m.is_healthy(now=T0 + age) is want


# --- CrashRecoveryManager -----------------------------------------------------


def test_failed_nodes_add_then_initiate_recovery_returns_true():
    """The issue's example: the old sets were plain mutable attributes."""
    m = CrashRecoveryManager("me")
    beat(m, "a", T0, 5)
    assert m.initiate_recovery("a", now=T0 + 5) is False, "online: nothing to recover"
    m.failed_nodes.add("a")
    assert "a" in m.failed_nodes and m.failed_nodes == {"a"}
    assert m.initiate_recovery("a", now=T0 + 5) is True
    assert "a" in m.recovering_nodes
    assert m.recovery_events[-1].event_type == "recovery_started"


def test_a_node_only_marked_failed_can_be_recovered():
    """The old API took any id into its sets, tracked or not."""
    m = CrashRecoveryManager("me")
    m.failed_nodes.add("ghost")
    assert "ghost" in m.failed_nodes
    assert m.initiate_recovery("ghost", "restart") is True
    assert m.recovering_nodes == {"ghost"}
    assert m.get_network_health_summary()["recovering_nodes"] == 1


def test_suspected_nodes_add_makes_a_node_recoverable_and_discard_clears_it():
    m = CrashRecoveryManager("me")
    beat(m, "a", T0, 5)
    m.suspected_nodes.add("a")
    assert m.suspected_nodes == {"a"}
    assert m.node_metrics["a"].status is NodeStatus.SUSPECTED
    m.suspected_nodes.discard("a")
    assert m.suspected_nodes == set()
    assert m.initiate_recovery("a", now=T0 + 5) is False
    m.suspected_nodes.add("a")
    assert m.initiate_recovery("a", now=T0 + 5) is True


def test_set_operations_write_through():
    m = CrashRecoveryManager("me")
    for n in ("a", "b", "c"):
        beat(m, n, T0, 3)
    m.failed_nodes |= {"a", "b"}
    assert m.failed_nodes == {"a", "b"}
    m.failed_nodes.remove("a")
    assert m.failed_nodes == {"b"}
    with pytest.raises(KeyError):
        m.failed_nodes.remove("a")
    m.recovering_nodes.add("c")
    assert m.recovering_nodes == {"c"}
    m.recovering_nodes.clear()
    assert m.recovering_nodes == set() and m.node_metrics["c"].status is NodeStatus.ONLINE
    # Assigning a whole set replaces the members.
    m.failed_nodes = {"a"}
    assert m.failed_nodes == {"a"}
    assert m.get_network_health_summary()["failed_nodes"] == 1
    assert len(m.failed_nodes) == 1 and sorted(m.failed_nodes) == ["a"]


def test_node_metrics_assignment_records_a_report_and_del_forgets():
    m = CrashRecoveryManager("me")
    m.node_metrics["a"] = metrics("a", cpu_usage=0.25)
    assert "a" in m.node_metrics and m.node_metrics["a"].cpu_usage == 0.25
    del m.node_metrics["a"]
    assert "a" not in m.node_metrics
    with pytest.raises(KeyError):
        del m.node_metrics["a"]
    with pytest.raises(KeyError):
        m.node_metrics["a"]


def test_phi_threshold_assignment_changes_crash_detection():
    def silent_after(threshold: float | None) -> list[str]:
        m = CrashRecoveryManager("me")
        last = beat(m, "a", T0, 30)
        if threshold is not None:
            m.phi_threshold = threshold
            assert m.phi_threshold == threshold == m.failure_detector_threshold
        return m.detect_crashes(now=last + 1.3)

    assert silent_after(None) == [], "phi 10 is not reached 1.3 s into a steady 1 s rhythm"
    assert silent_after(1.0) == ["a"]


def test_heartbeat_timeout_assignment_tolerates_longer_silence():
    m = CrashRecoveryManager("me")
    last = beat(m, "a", T0, 30)
    assert m.heartbeat_timeout == 0.0, "no pause by default: the phi rhythm alone decides"
    m.heartbeat_timeout = 15.0
    assert m.heartbeat_timeout == 15.0
    assert m.detect_crashes(now=last + 14.0) == []
    assert m.detect_crashes(now=last + 17.0) == ["a"]


def test_detector_attributes_round_trip_and_refuse_bad_values():
    m = CrashRecoveryManager("me")
    m.heartbeat_interval = 0.2
    m.sampling_window = 50
    assert (m.heartbeat_interval, m.sampling_window) == (0.2, 50)
    with pytest.raises(ValueError):
        m.phi_threshold = 0.0
    assert m.phi_threshold == 10.0


def test_detect_crashes_and_summary_shapes():
    m = CrashRecoveryManager("me")
    last = beat(m, "a", T0, 10)
    beat(m, "b", T0, 10)
    m.update_node_health("b", metrics("b"), now=last + 100)
    assert m.detect_crashes(now=last + 100) == ["a"]
    assert m.detect_crashes(now=last + 101) == [], "each crash is reported once"
    assert m.failed_nodes == {"a"}
    s = m.get_network_health_summary(now=last + 101)
    assert s == {
        "total_nodes": 2,
        "online_nodes": 1,
        "suspected_nodes": 0,
        "failed_nodes": 1,
        "recovering_nodes": 0,
        "network_health_ratio": 0.5,
        "recent_crashes": 1,
    }
    assert any(e.event_type == "crash_detected" and e.node_id == "a" for e in m.recovery_events)


# --- LeaderElectionManager ----------------------------------------------------


def test_election_follows_the_old_call_sequence():
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    assert (e.state, e.current_term, e.voted_for, e.leader_id) == (LeaderElectionState.FOLLOWER, 0, None, None)
    assert e.start_election(now=T0 + 1) is True
    assert (e.state, e.current_term, e.voted_for) == (LeaderElectionState.CANDIDATE, 1, "s1")
    assert e.received_votes == {"s1"}
    assert e.receive_vote_response("s3", False, now=T0 + 1) is False
    assert e.receive_vote_response("s2", True, now=T0 + 1) is True, "2 of 3 is a majority"
    assert (e.state, e.leader_id, e.is_leader_active) == (LeaderElectionState.LEADER, "s1", True)
    assert e.start_election(now=T0 + 2) is False, "already leader"
    e.step_down(now=T0 + 2)
    assert e.state is LeaderElectionState.FOLLOWER and e.leader_id is None and not e.is_leader_active
    s = e.get_election_status(now=T0 + 2)
    assert set(s) == set(ELECTION_STATUS_KEYS)


def test_request_vote_rules():
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    assert e.request_vote("s2", 2, now=T0) is True
    assert (e.current_term, e.voted_for) == (2, "s2")
    assert e.request_vote("s2", 2, now=T0) is True, "the same candidate again"
    assert e.request_vote("s3", 2, now=T0) is False, "one vote per term"
    assert e.request_vote("s3", 1, now=T0) is False, "an older term"
    assert e.request_vote("s3", 3, now=T0) is True, "a newer term resets the vote"
    # Every grant is recorded, a repeated one too (as the old API appended it).
    assert [(v.voter_id, v.candidate_id, v.term) for v in e.vote_history] == [
        ("s1", "s2", 2),
        ("s1", "s2", 2),
        ("s1", "s3", 3),
    ]


def test_receive_heartbeat_rules():
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    e.start_election(now=T0)
    assert e.receive_heartbeat("s2", 0, now=T0) is False, "an older term"
    assert e.receive_heartbeat("s2", 1, now=T0) is True
    assert (e.state, e.leader_id, e.current_term) == (LeaderElectionState.FOLLOWER, "s2", 1)
    assert e.receive_heartbeat("s3", 4, now=T0) is True
    assert (e.leader_id, e.current_term) == ("s3", 4)


def test_election_timeout_assignment_takes_effect():
    e = LeaderElectionManager("s1", ["s1", "s2", "s3"], now=T0)
    assert e.check_election_timeout(now=T0 + 4.9) is False, "default 5 s"
    e.election_timeout = 0.5
    # Not above the 1 s heartbeat interval: the interval follows at the old 5:1 ratio.
    assert (e.election_timeout, e.heartbeat_interval) == (0.5, 0.1)
    assert e.check_election_timeout(now=T0 + 5.0) is True
    assert e.state is LeaderElectionState.FOLLOWER and e.current_term == 0, "a check changes nothing"
    # The old loop's pattern: check, then start the election: one term up, not two.
    assert e.start_election(now=T0 + 5.0) is True
    assert e.state is LeaderElectionState.CANDIDATE and e.current_term == 1
    e.heartbeat_interval = 0.2
    assert e.heartbeat_interval == 0.2
    with pytest.raises(ValueError):
        e.heartbeat_interval = 0.5  # not below the election timeout
    with pytest.raises(ValueError):
        e.election_timeout = -1.0
    assert (e.election_timeout, e.heartbeat_interval) == (0.5, 0.2)


# --- WorkerReplacementManager -------------------------------------------------


def test_too_few_workers_raise_the_old_value_error_and_assign_nothing():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2", "w3"])
    with pytest.raises(ValueError, match=r"^Insufficient workers available\. Required: 4, Available: 3$") as info:
        m.assign_workers_to_task("t1", "train", 2)  # 2 + the default 2 backups
    assert isinstance(info.value, InsufficientWorkersError)
    assert m.worker_assignments == {} and m.backup_workers == {}
    assert m.get_worker_utilization_stats()["assigned_workers"] == 0
    assert m.assign_workers_to_task("t1", "train", 2, 1) == (["w1", "w2"], ["w3"])
    with pytest.raises(ValueError, match=r"^Insufficient workers available\. Required: 1, Available: 0$"):
        m.assign_workers_to_task("t2", "train", 1, 0)
    with pytest.raises(ValueError, match=r"^No worker pool found for task type: infer$"):
        m.assign_workers_to_task("t3", "infer", 1, 0)


def test_worker_replacement_sequence():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2", "w3", "w4"])
    primaries, backups = m.assign_workers_to_task("t1", "train", 2, 2, now=T0)
    assert (primaries, backups) == (["w1", "w2"], ["w3", "w4"])
    assert m.replace_failed_worker("w1", "t1", now=T0 + 1) == "w3"
    assert m.worker_assignments == {"w3": "t1", "w2": "t1"}
    assert m.replacement_history[-1]["replacement_worker"] == "w3"
    m.release_task_workers("t1")
    assert m.worker_assignments == {} and m.backup_workers == {}
    assert m.replace_failed_worker("w2", "t1") is None


def test_worker_pools_write_through_as_the_old_dict_of_lists_did():
    # The old class kept ``worker_pools`` as a plain dict of lists and picked
    # from it on every assignment, so callers edited it in place.
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1"])
    pool = m.worker_pools["train"]
    pool.append("w2")
    pool.extend(["w3"])
    assert pool == ["w1", "w2", "w3"] and m.worker_pools == {"train": ["w1", "w2", "w3"]}
    assert m.assign_workers_to_task("t1", "train", 2, 1) == (["w1", "w2"], ["w3"])
    m.worker_pools["infer"] = ["i1", "i2"]  # as register_worker_pool
    assert "infer" in m.worker_pools and list(m.worker_pools) == ["train", "infer"]
    m.worker_pools["infer"].remove("i1")
    with pytest.raises(ValueError):
        m.worker_pools["infer"].remove("i1")  # as list.remove of a missing item
    assert m.assign_workers_to_task("t2", "infer", 1, 0) == (["i2"], [])
    m.release_task_workers("t2")
    del m.worker_pools["infer"]
    assert "infer" not in m.worker_pools and len(m.worker_pools) == 1
    with pytest.raises(ValueError, match=r"^No worker pool found for task type: infer$"):
        m.assign_workers_to_task("t3", "infer", 1, 0)
    with pytest.raises(KeyError):
        del m.worker_pools["infer"]
    with pytest.raises(InvalidStateError):
        del m.worker_pools["train"]  # t1 runs on it: its failover draws on the pool
    del m.worker_pools["train"][0]  # w1 leaves the pool; its role in t1 stays
    assert m.worker_pools["train"] == ["w2", "w3"] and m.worker_assignments["w1"] == "t1"
    m.worker_pools = {"train": ["w3", "w4"], "eval": ["e1"]}
    assert m.worker_pools == {"train": ["w3", "w4"], "eval": ["e1"]}


def test_worker_containers_are_live_and_refuse_edits_with_the_reason():
    m = WorkerReplacementManager("sup")
    m.register_worker_pool("train", ["w1", "w2", "w3"])
    assignments, backups, history = m.worker_assignments, m.backup_workers, m.replacement_history
    m.assign_workers_to_task("t1", "train", 1, 1, now=T0)
    assert dict(assignments) == {"w1": "t1"} and backups["t1"] == ["w2"]
    assert "w1" in assignments and "w2" not in assignments and "" not in assignments
    m.replace_failed_worker("w1", "t1", now=T0 + 1)
    assert dict(assignments) == {"w2": "t1"} and len(history) == 1
    assert history[0]["failed_worker"] == "w1" and history == list(m.replacement_history)
    for edit in (
        lambda: assignments.__setitem__("w3", "t1"),
        lambda: assignments.__delitem__("w2"),
        lambda: assignments.pop("w2"),
        lambda: backups.__setitem__("t1", []),
        lambda: history.append({}),
        lambda: history.__setitem__(0, {}),
        lambda: history.__delitem__(0),
        lambda: history.clear(),
        lambda: setattr(m, "worker_assignments", {}),
        lambda: setattr(m, "backup_workers", {}),
        lambda: setattr(m, "replacement_history", []),
    ):
        with pytest.raises(TypeError, match="read-only: "):
            edit()
    assert dict(assignments) == {"w2": "t1"} and dict(backups) == {"t1": ["w3"]} and len(history) == 1
    removed_view = m.worker_pools["train"]
    m.release_task_workers("t1")
    del m.worker_pools["train"]
    assert removed_view == [] and m.worker_assignments == {} and m.backup_workers == {}
    with pytest.raises(KeyError):
        removed_view.append("w9")  # a removed pool is not brought back by a stale view
    assert "train" not in m.worker_pools


# --- MessageHistoryCompressor -------------------------------------------------


def test_history_compresses_at_the_threshold_and_searches_sorted():
    h = MessageHistoryCompressor("me", compression_threshold=3)
    for i in (2, 0, 1, 3):
        h.add_message(NetworkMessage("m", f"s{i}", T0 + i, {"i": i}), now=T0)
    assert len(h.compressed_batches) == 1 and len(h.message_buffer) == 1
    batch = h.compressed_batches[0]
    assert batch.message_count == 3 and zlib.decompress(batch.compressed_data)
    assert [m["data"]["i"] for m in h.decompress_batch(batch)] == [2, 0, 1]
    found = h.search_messages(T0, T0 + 10)
    assert [m["timestamp"] for m in found] == sorted(m["timestamp"] for m in found)
    assert len(h.search_messages(T0, T0 + 10, sender_id="s3")) == 1
    stats = h.get_compression_stats()
    assert stats["total_messages"] == 4 and stats["total_compressed"] == 3 and stats["current_buffer_size"] == 1


def test_compression_threshold_assignment_takes_effect():
    h = MessageHistoryCompressor("me")
    h.compression_threshold = 5
    assert h.compression_threshold == 5
    for i in range(5):
        h.add_message(NetworkMessage("m", "s", T0 + i, {}), now=T0)
    assert len(h.compressed_batches) == 1 and h.message_buffer == []
    h.max_batch_size = 2
    assert h.max_batch_size == 2
    for i in range(2):
        h.add_message(NetworkMessage("m", "s", T0 + 10 + i, {}), now=T0)
    assert len(h.compressed_batches) == 2
    with pytest.raises(ValueError):
        h.compression_threshold = 0
    assert h.compression_threshold == 5


# --- VPNMeshTopologyManager ---------------------------------------------------


def test_establish_tunnel_needs_no_join_of_the_own_node():
    """The old API: a manager's own node is implicitly part of its mesh."""
    v = VPNMeshTopologyManager("me")
    assert v.establish_tunnel("a") is False, "unknown remote"
    v.join_mesh({"node_id": "a"})
    assert v.establish_tunnel("a") is True
    assert v.establish_tunnel("a") is True, "an existing tunnel"
    report = v.monitor_tunnel_health()
    assert report["total_tunnels"] == 1 and "a" in report["tunnel_details"]
    assert v.tunnels["a"]["protocol"] == "wireguard"
    # Joining the own node later keeps the tunnel.
    v.join_mesh({"node_id": "me", "endpoint": "127.0.0.1:51820"})
    assert v.mesh_nodes["me"]["endpoint"] == "127.0.0.1:51820"
    assert set(v.tunnels) == {"a"}
    v.preferred_protocol = "ipsec"
    v.join_mesh({"node_id": "b"})
    assert v.establish_tunnel("b") is True and v.tunnels["b"]["protocol"] == "ipsec"


def test_mesh_join_leave_and_topology_shape():
    v = VPNMeshTopologyManager("me")
    ip = v.join_mesh({"node_id": "a"})
    assert v.virtual_ips["a"] == ip
    assert v.leave_mesh("a") is True and v.leave_mesh("a") is False
    topo = v.get_mesh_topology()
    assert {"node_id", "virtual_ip", "mesh_nodes", "active_tunnels", "routing_table", "network_health"} <= set(topo)


def test_mesh_containers_are_live_and_mesh_nodes_writes_through():
    # The old class kept mesh_nodes as a plain dict that join_mesh and
    # leave_mesh filled and emptied; callers edited it the same way.
    v = VPNMeshTopologyManager("me")
    nodes, ips, tunnels, routes = v.mesh_nodes, v.virtual_ips, v.tunnels, v.routing_table
    v.join_mesh({"node_id": "a"})
    assert "a" in nodes and ips["a"] == nodes["a"]["virtual_ip"] and len(nodes) == 1
    nodes["b"] = {"endpoint": "10.1.1.1:51820"}  # as join_mesh of node b
    assert v.mesh_nodes["b"]["endpoint"] == "10.1.1.1:51820" and set(ips) == {"a", "b"}
    assert v.establish_tunnel("b") is True and set(tunnels) == {"b"} and "b" in routes
    with pytest.raises(ValueError):
        nodes["b"] = {}  # already in the mesh, as join_mesh refuses
    del nodes["b"]  # as leave_mesh: its address and tunnels go too
    assert "b" not in v.mesh_nodes and "b" not in ips and tunnels == {}
    with pytest.raises(KeyError):
        del nodes["b"]
    for edit in (
        lambda: ips.__setitem__("a", "10.0.0.9"),
        lambda: ips.pop("a"),
        lambda: tunnels.__delitem__("a"),
        lambda: routes.clear(),
    ):
        with pytest.raises(TypeError, match="read-only: "):
            edit()
    assert set(v.mesh_nodes) == {"me", "a"}


def test_history_containers_are_live_and_append_adds_a_message():
    h = MessageHistoryCompressor("me", compression_threshold=2)
    buffer, batches = h.message_buffer, h.compressed_batches
    buffer.append(NetworkMessage("m", "s", T0, {"i": 0}))  # as add_message
    assert len(buffer) == 1 and buffer[0]["data"] == {"i": 0} and batches == []
    buffer.append(NetworkMessage("m", "s", T0 + 1, {"i": 1}))  # reaches the threshold: sealed
    assert buffer == [] and len(batches) == 1 and batches[0].message_count == 2
    for edit in (
        lambda: buffer.clear(),
        lambda: buffer.__delitem__(0),
        lambda: batches.append(batches[0]),
        lambda: batches.pop(),
    ):
        with pytest.raises(TypeError, match="Merkle log"):
            edit()
    assert len(h.compressed_batches) == 1


# --- NetworkOperationsManager -------------------------------------------------


def test_operations_manager_owns_the_managers_and_reports():
    ops = NetworkOperationsManager("s1", "supervisor", ["s1", "s2", "s3"])
    assert isinstance(ops.crash_recovery, CrashRecoveryManager)
    assert isinstance(ops.worker_replacement, WorkerReplacementManager)
    assert isinstance(ops.message_compressor, MessageHistoryCompressor)
    assert isinstance(ops.vpn_mesh, VPNMeshTopologyManager)
    assert isinstance(ops.leader_election, LeaderElectionManager)
    assert NetworkOperationsManager("w1", "worker").leader_election is None
    assert NetworkOperationsManager("s1", "supervisor").leader_election is None, "no supervisor list"
    # The containers of its managers are live through it too.
    ops.crash_recovery.failed_nodes.add("w9")
    assert ops.crash_recovery.initiate_recovery("w9") is True
    status = ops.get_network_status()
    assert set(status) == NETWORK_STATUS_KEYS

    async def run() -> None:
        await ops.start_operations()
        assert ops.is_running
        await asyncio.sleep(0)
        await ops.stop_operations()
        assert not ops.is_running

    asyncio.run(run())


# --- the native data classes behave as the old dataclasses --------------------


def test_native_data_classes_behave_as_dataclasses():
    import copy
    import pickle

    m = NodeHealthMetrics("n", T0, 0.1, 0.9, 0.8, 0.2, 0.3, 0.4)
    assert dataclasses.is_dataclass(m)
    assert dataclasses.asdict(m) == {
        "node_id": "n",
        "last_heartbeat": T0,
        "response_time": 0.1,
        "success_rate": 0.9,
        "task_completion_rate": 0.8,
        "bandwidth_utilization": 0.2,
        "cpu_usage": 0.3,
        "memory_usage": 0.4,
        "status": NodeStatus.ONLINE,
    }
    assert repr(m) == (
        "NodeHealthMetrics(node_id='n', last_heartbeat=1700000000.0, response_time=0.1, success_rate=0.9, "
        "task_completion_rate=0.8, bandwidth_utilization=0.2, cpu_usage=0.3, memory_usage=0.4, "
        "status=<NodeStatus.ONLINE: 'online'>)"
    )
    r = dataclasses.replace(m, cpu_usage=0.95, status=NodeStatus.SUSPECTED)
    assert type(r) is NodeHealthMetrics and r.cpu_usage == 0.95 and r.status is NodeStatus.SUSPECTED
    assert m != r and m == copy.copy(m) == pickle.loads(pickle.dumps(m))
    m.cpu_usage = 0.95
    m.status = NodeStatus.SUSPECTED
    assert m == r
    with pytest.raises(TypeError):
        hash(m)  # as a mutable dataclass: unhashable
    msg = NetworkMessage("t", "s", T0, {"a": [1, 2]})
    assert dataclasses.astuple(msg) == ("t", "s", T0, {"a": [1, 2]})
    assert repr(msg) == "NetworkMessage(msg_type='t', sender_id='s', timestamp=1700000000.0, data={'a': [1, 2]})"
    assert pickle.loads(pickle.dumps(msg)) == msg
    assert NetworkMessage("t", "s").data is not NetworkMessage("t", "s").data, "a new dict each time"
    assert isinstance(NetworkMessage("t", "s").timestamp, int)


def test_the_data_classes_are_the_native_classes_and_subclassable():
    """No Python layer between the old names and the native classes (they are
    built on hot paths); subclasses still behave as dataclass subclasses."""
    from pouw_netops import _native

    assert NodeHealthMetrics is _native.NodeHealthMetrics and NetworkMessage is _native.NetworkMessage
    assert NodeHealthMetrics.__module__ == NetworkMessage.__module__ == "pouw_netops"
    assert NodeHealthMetrics.__match_args__ == tuple(f.name for f in dataclasses.fields(NodeHealthMetrics))
    assert NetworkMessage.__match_args__ == ("msg_type", "sender_id", "timestamp", "data")

    class Tagged(NodeHealthMetrics):
        pass

    t = Tagged("n", T0, 0.1, 0.9, 0.8, 0.2, 0.3, 0.4)
    r = dataclasses.replace(t, cpu_usage=0.5)
    assert type(r) is Tagged and r.cpu_usage == 0.5 and r != t
    m = CrashRecoveryManager("me")
    m.update_node_health("n", t, now=T0)
    assert m.node_metrics["n"].cpu_usage == 0.3
    match NetworkMessage("t", "s", T0, {}):
        case NetworkMessage(kind, sender, at, data):
            assert (kind, sender, at, data) == ("t", "s", T0, {})


def test_duck_typed_records_and_overriding_subclasses_still_work():
    # A plain data class with the old fields but no status.
    MyMetrics = dataclasses.make_dataclass("MyMetrics", HEALTH_FIELDS[:-1])

    m = CrashRecoveryManager("me")
    m.update_node_health("a", MyMetrics("a", T0, 0.1, 0.9, 0.9, 0.1, 0.25, 0.1), now=T0)  # type: ignore[arg-type]
    assert m.node_metrics["a"].cpu_usage == 0.25
    with pytest.raises(ValueError):
        m.update_node_health("a", metrics("a", cpu_usage=1.5), now=T0 + 1)

    calls = []

    class Counting(CrashRecoveryManager):
        def update_node_health(self, node_id, metrics, *, now=None):  # type: ignore[no-untyped-def]
            calls.append(node_id)
            super().update_node_health(node_id, metrics, now=now)

    c = Counting("me")
    c.update_node_health("b", metrics("b"), now=T0)
    assert calls == ["b"] and "b" in c.node_metrics, "the override is called, and reaches the core"

    @dataclasses.dataclass
    class MyMessage:
        msg_type: str
        sender_id: str
        timestamp: float
        data: dict  # type: ignore[type-arg]

    h = MessageHistoryCompressor("me")
    h.add_message(MyMessage("t", "s", T0, {"x": 1}), now=T0)  # type: ignore[arg-type]
    assert h.search_messages(T0, T0) == [{"msg_type": "t", "sender_id": "s", "timestamp": T0, "data": {"x": 1}}]
    with pytest.raises(ValueError):
        h.add_message(NetworkMessage("t", 5, T0, {}), now=T0)  # type: ignore[arg-type]


def test_operations_tick_handles_a_crash_as_the_old_loop_did():
    """The old monitoring loop: a crashed node is put in recovery, its tasks go
    to their backups, and it leaves the mesh."""
    ops = NetworkOperationsManager("s1", "supervisor", ["s1"])
    ops.worker_replacement.register_worker_pool("train", ["w1", "w2", "w3"])
    assert ops.worker_replacement.assign_workers_to_task("t1", "train", 1, 1, now=T0) == (["w1"], ["w2"])
    ops.vpn_mesh.join_mesh({"node_id": "w1"}, now=T0)
    for w in ("w1", "w2", "w3"):
        beat(ops.crash_recovery, w, T0, 10)
    for w in ("w2", "w3"):
        ops.crash_recovery.update_node_health(w, metrics(w), now=T0 + 60)
    ops.tick(now=T0 + 60)
    assert "w1" in ops.crash_recovery.recovering_nodes
    assert ops.worker_replacement.worker_assignments == {"w2": "t1"}
    assert "w1" not in ops.vpn_mesh.mesh_nodes
    assert ops.ticks == 1
    # The election part of the old loop: on timeout, one election (alone, it wins at once).
    ops.tick(now=T0 + 80)
    assert ops.leader_election is not None
    assert ops.leader_election.is_leader_active and ops.leader_election.current_term == 1
