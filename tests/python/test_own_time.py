"""Writes that cannot take ``now`` happen at the manager's own time.

Property setters, live-container writes and calls a class makes on the user's
behalf take no ``now``. They happen at the latest ``now`` the manager was
given (by any method, the constructor's included), or at ``time.time()`` if it
was never given one: a manager driven on a simulated clock stays on it (the
core's clock only moves forward, so one wall-clock write would jump it about
1.8e9 s ahead).
"""

from __future__ import annotations

import struct
import time

import pytest

from pouw_netops import (
    CrashRecoveryManager,
    LeaderElectionManager,
    MessageHistoryCompressor,
    NetworkMessage,
    NetworkOperationsManager,
    NodeStatus,
    VPNMeshTopologyManager,
)

# Anything below this is simulated time; the wall clock is far above it.
SIMULATED = 1e6


def _simulated(timestamps):
    return all(t < SIMULATED for t in timestamps)


# --- CrashRecoveryManager ---------------------------------------------------


def test_a_recovery_started_by_a_container_write_fails_in_simulated_time():
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.recovering_nodes.add("x")  # recovery starts at 10, not at the wall clock
    assert m.detect_crashes(now=10.0 + 3600) == ["x"]
    assert m.status("x") is not NodeStatus.RECOVERING
    events = m.recovery_events
    assert [(e.event_type, e.timestamp) for e in events if e.event_type != "status_changed"] == [
        ("recovery_failed", 3610.0),
        ("crash_detected", 3610.0),
    ]
    assert [e.timestamp for e in events] == [10.0, 3610.0, 3610.0, 3610.0]


def test_a_recovery_started_by_a_container_write_passes_its_deadline_in_simulated_time():
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.detect_crashes(now=11.0)
    m.recovering_nodes.add("x")  # at 11, after the last heartbeat
    m.detect_crashes(now=11.0 + 299)
    assert m.status("x") is NodeStatus.RECOVERING
    m.detect_crashes(now=11.0 + 300)  # the attempt's deadline (300 s)
    assert m.status("x") is NodeStatus.FAILED
    failed = [e for e in m.recovery_events if e.event_type == "recovery_failed"]
    assert [(e.timestamp, e.metadata["reason"]) for e in failed] == [(311.0, "deadline_exceeded")]
    assert _simulated(e.timestamp for e in m.recovery_events)


def test_failed_nodes_add_marks_at_the_latest_now():
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.detect_crashes(now=12.0)
    m.failed_nodes.add("x")
    assert m.status("x") is NodeStatus.OFFLINE
    assert m.initiate_recovery("x", now=13.0)
    assert [e.timestamp for e in m.recovery_events] == [12.0, 13.0, 13.0]


def test_a_discard_brings_a_node_online_at_the_latest_now():
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.suspected_nodes.add("x")
    m.suspected_nodes.discard("x")
    assert m.status("x") is NodeStatus.ONLINE
    assert [e.timestamp for e in m.recovery_events] == [10.0, 10.0]
    m.heartbeat("x", now=11.0)
    assert m.last_heartbeats["x"] == 11.0


def test_a_read_with_now_sets_the_time_of_later_writes():
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.phi("x", now=15.0)
    m.failed_nodes.add("x")
    assert [e.timestamp for e in m.recovery_events] == [15.0]


def test_node_metrics_assignment_is_a_heartbeat_at_the_latest_now(metrics):
    m = CrashRecoveryManager("me")
    m.heartbeat("x", now=10.0)
    m.node_metrics["y"] = metrics(node_id="y")
    assert m.last_heartbeats == {"x": 10.0, "y": 10.0}
    m.heartbeat("x", now=11.0)
    assert m.last_heartbeats["x"] == 11.0


def test_a_crash_manager_never_given_now_writes_at_the_wall_clock(metrics):
    m = CrashRecoveryManager("me")
    before = time.time()
    m.failed_nodes.add("x")
    m.node_metrics["y"] = metrics(node_id="y")
    after = time.time()
    assert all(before - 1 <= e.timestamp <= after + 1 for e in m.recovery_events)
    assert before - 1 <= m.last_heartbeats["y"] <= after + 1


# --- LeaderElectionManager --------------------------------------------------


@pytest.mark.parametrize("attribute,value", [("election_timeout", 3.0), ("heartbeat_interval", 0.5)])
def test_a_timing_set_on_a_simulated_clock_fires_in_simulated_time(attribute, value):
    m = LeaderElectionManager("a", ["a", "b", "c"], now=0.0)
    m.step_down(now=100.0)
    setattr(m, attribute, value)
    e = m.election_timeout
    # The timer that runs from 100 got a timeout drawn from [E, 2E).
    assert not m.check_election_timeout(now=100.0 + e - 0.01)
    assert m.check_election_timeout(now=100.0 + 2 * e)
    # And the manager stays on the simulated clock.
    assert m.request_vote("b", 5, now=101.0)
    assert [v.timestamp for v in m.vote_history] == [101.0]
    assert m.receive_heartbeat("b", 5, now=102.0)
    assert m.get_election_status(now=103.0)["time_since_last_heartbeat"] == 1.0
    assert not m.check_election_timeout(now=102.0 + e - 0.01)
    assert m.check_election_timeout(now=102.0 + 2 * e)


def test_the_constructors_now_is_the_managers_time():
    m = LeaderElectionManager("a", ["a", "b", "c"], now=50.0)
    m.election_timeout = 2.0
    assert not m.check_election_timeout(now=51.99)
    assert m.check_election_timeout(now=54.0)
    assert m.request_vote("b", 1, now=55.0)
    assert [v.timestamp for v in m.vote_history] == [55.0]


def test_an_election_never_given_now_sets_its_timing_at_the_wall_clock():
    m = LeaderElectionManager("a", ["a", "b", "c"])
    m.election_timeout = 2.0
    now = time.time()
    assert not m.check_election_timeout(now=now + 1.9)
    assert m.check_election_timeout(now=now + 5.0)


# --- VPNMeshTopologyManager -------------------------------------------------


def _joined_at(m, node):
    return m.mesh_nodes[node]["joined_at"]


def test_mesh_nodes_assignment_joins_at_the_latest_now():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me"}, now=100.0)
    m.mesh_nodes["a"] = {"public_key": None}
    assert _joined_at(m, "a") == 100.0


def test_mesh_nodes_del_leaves_at_the_latest_now():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "a"}, now=100.0)
    del m.mesh_nodes["a"]
    m.join_mesh({"node_id": "b"}, now=101.0)
    assert _joined_at(m, "b") == 101.0


def test_reading_the_routing_table_recomputes_at_the_latest_now():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me"}, now=100.0)
    m.join_mesh({"node_id": "a"}, now=100.0)
    assert m.establish_tunnel("a", now=100.0)
    assert dict(m.routing_table) == {"a": None}
    m.join_mesh({"node_id": "b"}, now=101.0)
    assert _joined_at(m, "b") == 101.0


def test_render_wireguard_recomputes_at_the_latest_now():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me"}, now=100.0)
    m.join_mesh({"node_id": "a"}, now=100.0)
    assert "[Interface]" in m.render_wireguard(placeholder_keys=True)
    m.join_mesh({"node_id": "b"}, now=101.0)
    assert _joined_at(m, "b") == 101.0


def test_a_mesh_never_given_now_joins_at_the_wall_clock():
    m = VPNMeshTopologyManager("me")
    before = time.time()
    m.mesh_nodes["a"] = {}
    assert before - 1 <= _joined_at(m, "a") <= time.time() + 1


# --- MessageHistoryCompressor -----------------------------------------------


def _sealed_at(batch):
    # The header: magic, version, level, 2 reserved, id, count, first, last, sealed_at (µs).
    return struct.unpack_from("<Q", batch.header, 36)[0] / 1e6


def test_message_buffer_append_seals_at_the_latest_now():
    h = MessageHistoryCompressor("me", compression_threshold=2)
    h.add_message(NetworkMessage("s", "t", 5.0, {}), now=100.0)
    h.message_buffer.append(NetworkMessage("s", "t", 6.0, {}))
    (batch,) = h.compressed_batches
    assert _sealed_at(batch) == 100.0
    h.add_message(NetworkMessage("s", "t", 7.0, {}), now=101.0)
    assert _sealed_at(h.compress_message_batch(now=102.0)) == 102.0


def test_a_history_never_given_now_seals_at_the_wall_clock():
    h = MessageHistoryCompressor("me", compression_threshold=1)
    before = time.time()
    h.message_buffer.append(NetworkMessage("s", "t", 5.0, {}))
    (batch,) = h.compressed_batches
    assert before - 1 <= _sealed_at(batch) <= time.time() + 1


# --- NetworkOperationsManager -----------------------------------------------


def test_the_network_status_is_reported_at_each_managers_time():
    ops = NetworkOperationsManager("me", "supervisor", ["me", "b", "c"])
    for t in (10.0, 11.0, 12.0):
        ops.crash_recovery.heartbeat("x", now=t)
    ops.worker_replacement.register_worker_pool("train", ["w1", "w2", "w3"])
    primaries, _ = ops.worker_replacement.assign_workers_to_task("t1", "train", 1, 1, now=50.0)
    ops.worker_replacement.replace_failed_worker(primaries[0], "t1", now=50.0)
    ops.vpn_mesh.join_mesh({"node_id": "me"}, now=100.0)
    ops.vpn_mesh.join_mesh({"node_id": "a"}, now=100.0)
    ops.tick(now=100.0)
    assert ops.leader_election is not None
    ops.leader_election.receive_heartbeat("b", 1, now=100.0)
    status = ops.get_network_status()
    assert status["crash_recovery"]["recent_crashes"] == 1
    assert status["worker_replacement"]["recent_replacements"] == 1
    assert status["leader_election"]["time_since_last_heartbeat"] == 0.0
    # The mesh's routes were recomputed at its own time, not the wall clock.
    ops.vpn_mesh.join_mesh({"node_id": "b"}, now=101.0)
    assert _joined_at(ops.vpn_mesh, "b") == 101.0


def test_a_network_status_never_given_now_is_at_the_wall_clock():
    ops = NetworkOperationsManager("me", "supervisor", ["me", "b", "c"])
    assert ops.leader_election is not None
    ops.leader_election.receive_heartbeat("b", 1)
    status = ops.get_network_status()
    assert 0.0 <= status["leader_election"]["time_since_last_heartbeat"] < 5.0
