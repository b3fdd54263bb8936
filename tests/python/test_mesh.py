"""``VPNMeshTopologyManager``: address allocation, tunnels and their health, and
routes checked against a reference Dijkstra."""

from __future__ import annotations

import heapq
import ipaddress
import random
from typing import Dict, List, Optional, Tuple

import pytest

from pouw_netops import (
    CapacityError,
    InvalidArgumentError,
    InvalidStateError,
    NotFoundError,
    VPNMeshTopologyManager,
)

T0 = 1_700_000_000.0
KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
OTHER_KEY = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="


def test_join_allocates_the_lowest_free_address_and_leave_frees_it():
    m = VPNMeshTopologyManager("me", "10.9.0.0/24")
    ips = [m.join_mesh({"node_id": n}, now=T0) for n in ["me", "a", "b", "c"]]
    assert ips == ["10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5"], "10.9.0.1 is kept for a gateway"
    assert m.leave_mesh("a", now=T0) and not m.leave_mesh("a", now=T0)
    assert m.join_mesh({"node_id": "d"}, now=T0) == "10.9.0.3"
    assert m.join_mesh({"node_id": "e", "virtual_ip": "10.9.0.200"}) == "10.9.0.200"
    assert m.virtual_ips == {"me": "10.9.0.2", "d": "10.9.0.3", "b": "10.9.0.4", "c": "10.9.0.5", "e": "10.9.0.200"}
    node = m.mesh_nodes["me"]
    assert set(node) == {"node_id", "virtual_ip", "public_key", "endpoint", "capabilities", "joined_at"}


def test_join_with_full_info_and_errors():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me", "public_key": KEY, "endpoint": "192.0.2.7:51820", "capabilities": ["gpu", "cpu"]})
    assert m.mesh_nodes["me"]["public_key"] == KEY and m.mesh_nodes["me"]["capabilities"] == ["gpu", "cpu"]
    for bad in [
        {"node_id": "me"},  # already joined
        {"node_id": "x", "public_key": "not-base64"},
        {"node_id": "x", "endpoint": "nowhere"},
        {"node_id": "x", "virtual_ip": "192.168.1.1"},  # outside the CIDR
        {"node_id": "x", "virtual_ip": "10.0.0.2"},  # taken
        {"node_id": "x", "capabilities": ["c"] * 9},
    ]:
        with pytest.raises(ValueError):
            m.join_mesh(bad)
    assert list(m.virtual_ips) == ["me"], "a refused join stores nothing"
    small = VPNMeshTopologyManager("me", "10.0.0.0/30")  # one assignable address after the gateway
    small.join_mesh({"node_id": "me"})
    with pytest.raises(CapacityError):
        small.join_mesh({"node_id": "x"})
    with pytest.raises(InvalidArgumentError):
        VPNMeshTopologyManager("me", "10.0.0.0/99")


def test_tunnel_lifecycle_and_health_report():
    m = VPNMeshTopologyManager("me")
    for n in ["me", "a", "b"]:
        m.join_mesh({"node_id": n}, now=T0)
    assert m.establish_tunnel("a", now=T0) and m.establish_tunnel("b", "openvpn", now=T0)
    assert not m.establish_tunnel("ghost", now=T0)
    with pytest.raises(InvalidArgumentError):
        m.establish_tunnel("a", "carrier-pigeon")
    report = m.monitor_tunnel_health(now=T0 + 1)
    assert (report["total_tunnels"], report["healthy_tunnels"]) == (2, 0)
    assert m.record_handshake("a", now=T0 + 2) == "up"
    report = m.monitor_tunnel_health(now=T0 + 3)
    assert report["healthy_tunnels"] == 1
    details = report["tunnel_details"]
    assert details["a"]["status"] == "up" and details["b"]["protocol"] == "openvpn"
    # WireGuard's REJECT_AFTER_TIME: stale after 180 s without a handshake.
    assert m.monitor_tunnel_health(now=T0 + 2 + 181)["tunnel_details"]["a"]["status"] == "stale"
    with pytest.raises(NotFoundError):
        m.record_handshake("ghost")


def reference_costs(links: Dict[Tuple[str, str], float], source: str) -> Dict[str, float]:
    graph: Dict[str, List[Tuple[str, float]]] = {}
    for (a, b), w in links.items():
        graph.setdefault(a, []).append((b, w))
        graph.setdefault(b, []).append((a, w))
    dist = {source: 0.0}
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for v, w in graph.get(u, []):
            if d + w < dist.get(v, float("inf")):
                dist[v] = d + w
                heapq.heappush(heap, (d + w, v))
    return dist


@pytest.mark.parametrize("seed", range(10))
def test_routes_follow_shortest_latency_paths(seed):
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(rng.randint(4, 14))]
    m = VPNMeshTopologyManager("n0")
    for n in names:
        m.join_mesh({"node_id": n}, now=T0)
    links: Dict[Tuple[str, str], float] = {}
    # The local node's links are tunnels (up after a handshake, weighted by measured RTT).
    for n in rng.sample(names[1:], k=min(2, len(names) - 1)):
        m.establish_tunnel(n, now=T0)
        m.record_handshake(n, now=T0 + 1)
        rtt = rng.randint(1, 50) / 1000
        m.record_latency(n, rtt, now=T0 + 1)
        links[("n0", n)] = rtt
    for _ in range(len(names) * 2):
        a, b = rng.sample(names[1:], 2)
        latency = rng.randint(1, 50) / 1000
        m.record_link(a, b, latency, now=T0 + 1)
        links[tuple(sorted((a, b)))] = latency  # type: ignore[index]
    dist = reference_costs(links, "n0")
    table = m.routing_table
    for dest in names[1:]:
        want = dist.get(dest)
        cost = m.route_cost(dest, now=T0 + 2)
        path: Optional[List[str]] = m.route(dest, now=T0 + 2)
        if want is None:
            assert cost is None and path is None and table[dest] is None
            continue
        assert cost == pytest.approx(want, abs=1e-6)
        assert path is not None and path[0] == "n0" and path[-1] == dest
        hops = list(zip(path, path[1:]))
        assert sum(links[tuple(sorted(h))] for h in hops) == pytest.approx(want, abs=1e-6)  # type: ignore[index]
        assert m.next_hop(dest) == path[1] == table[dest]


def test_wireguard_config_lists_routed_prefixes_under_next_hops():
    m = VPNMeshTopologyManager("me")
    for n, key in [("me", KEY), ("a", KEY), ("b", KEY)]:
        m.join_mesh({"node_id": n, "public_key": key, "endpoint": "192.0.2.1:51820"}, now=T0)
    m.establish_tunnel("a", now=T0)
    m.record_handshake("a", now=T0)
    m.record_link("a", "b", 0.01, now=T0)
    conf = m.render_wireguard(listen_port=51999)
    assert "[Interface]" in conf and "ListenPort = 51999" in conf and "Address = 10.0.0.2/16" in conf
    assert conf.count("[Peer]") == 1
    assert "AllowedIPs = 10.0.0.3/32, 10.0.0.4/32" in conf
    assert "PrivateKey" not in conf and f"PrivateKey = {KEY}" in m.render_wireguard(private_key=KEY)
    with pytest.raises(InvalidArgumentError):
        VPNMeshTopologyManager("lonely").render_wireguard()


def test_topology_shape():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me"})
    m.join_mesh({"node_id": "a"})
    topo = m.get_mesh_topology()
    assert list(topo) == ["node_id", "virtual_ip", "mesh_nodes", "active_tunnels", "routing_table", "network_health"]
    assert (topo["node_id"], topo["mesh_nodes"], topo["routing_table"]) == ("me", 2, {"a": None})
    assert ipaddress.ip_address(topo["virtual_ip"]) in ipaddress.ip_network("10.0.0.0/16")
    assert topo["network_health"]["connectivity_ratio"] == 0.0


def test_wireguard_setconf_and_placeholder_keys():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me", "public_key": KEY, "endpoint": "192.0.2.1:51820"}, now=T0)
    m.join_mesh({"node_id": "a", "public_key": KEY, "endpoint": "192.0.2.2:51820"}, now=T0)
    m.establish_tunnel("a", now=T0)
    setconf = m.render_wireguard(private_key=KEY, format="setconf")
    assert "Address" not in setconf and f"PrivateKey = {KEY}" in setconf
    # Connecting, unreachable: the peer still carries its own address.
    assert "AllowedIPs = 10.0.0.3/32" in setconf
    with pytest.raises(InvalidArgumentError):
        m.render_wireguard(format="wg")
    m.join_mesh({"node_id": "nokey", "endpoint": "192.0.2.3:51820"}, now=T0)
    m.establish_tunnel("nokey", now=T0)
    with pytest.raises(InvalidStateError):
        m.render_wireguard()
    assert "# WARNING: nokey announced no public key" in m.render_wireguard(placeholder_keys=True)


def test_latest_handshakes_and_dot():
    m = VPNMeshTopologyManager("me")
    m.join_mesh({"node_id": "me", "public_key": KEY, "endpoint": "192.0.2.1:51820"}, now=T0)
    m.join_mesh({"node_id": "a", "public_key": OTHER_KEY, "endpoint": "192.0.2.2:51820"}, now=T0)
    m.establish_tunnel("a", now=T0)
    report = m.record_latest_handshakes(f"{OTHER_KEY}\t999990\nbad line here\n", 1_000_000, now=T0 + 20)
    assert report == {"recorded": 1, "unchanged": 0, "never": 0, "unknown_peers": 0, "malformed": 1, "changed": 1}
    dot = m.to_dot(now=T0 + 20)
    assert dot.startswith("graph mesh {\n") and dot.endswith("}\n")
    assert '"a" -- "me"' in dot and "next hop for 1" in dot and "color=blue" in dot
