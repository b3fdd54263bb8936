"""``VPNMeshTopologyManager``: the old API's class over the core's VPN mesh.

The core allocates overlay addresses (lowest free in the CIDR), records tunnels
and their health from reported handshakes, routes over up links by latency
(Dijkstra with hysteresis) and renders WireGuard configurations. It moves no
packets. The old API's container attributes are live views read on each
access: ``mesh_nodes[n] = info`` joins ``n`` and ``del mesh_nodes[n]`` makes it
leave; the others are read-only (``TypeError`` with the reason).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _native
from ._live import LiveMap

__all__ = ["VPNMeshTopologyManager"]

logger = logging.getLogger("pouw_netops.mesh")

_TunnelTuple = Tuple[str, str, str, str, Optional[float], Optional[float], int, int, int]


class VPNMeshTopologyManager:
    """One node's view of the encrypted worker mesh (up to 4096 nodes and 32,768 links).

    Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
    """

    def __init__(self, node_id: str, network_cidr: str = "10.0.0.0/16") -> None:
        self.node_id = node_id
        self.network_cidr = network_cidr
        self._core = _native.MeshCore(node_id, network_cidr)
        # The old API's security settings: ``preferred_protocol`` is the default
        # of :meth:`establish_tunnel`; the others are informational.
        self.encryption_enabled = True
        self.tunnel_protocols = ["wireguard", "openvpn", "ipsec"]
        self.preferred_protocol = "wireguard"
        # Whether this node was put in the mesh implicitly by establish_tunnel.
        self._implicit_self = False

    def _details(self, t: _TunnelTuple) -> Tuple[str, Dict[str, Any]]:
        a, b, protocol, state, handshake, latency, rx, tx, bandwidth = t
        remote = b if a == self.node_id else a
        return remote, {
            "endpoints": (a, b),
            "protocol": protocol,
            "status": state,
            "healthy": state == "up",
            "last_handshake": handshake,
            "latency": latency,
            "rx_bytes": rx,
            "tx_bytes": tx,
            "bandwidth": bandwidth,
        }

    # --- the old API -------------------------------------------------------

    def join_mesh(self, node_info: Dict[str, Any], *, now: Optional[float] = None) -> str:
        """Adds a node; returns its overlay address.

        ``node_info`` has ``node_id`` and optionally ``public_key`` (base64
        WireGuard key; a deterministic placeholder otherwise), ``endpoint``
        (``host:port``), ``capabilities`` (up to 8 names) and ``virtual_ip`` (a
        requested address). Raises ``InvalidArgumentError`` (a ``ValueError``)
        for a node already in the mesh or a bad field and ``CapacityError`` when
        the mesh or its addresses are full.

        This node joining after :meth:`establish_tunnel` put it in the mesh
        implicitly takes its place with the given details (its tunnels are
        re-established, to be confirmed by handshakes again).
        """
        node_id = node_info["node_id"]
        tunnels: List[Tuple[str, str]] = []
        if node_id == self.node_id and self._implicit_self:
            tunnels = [(remote, d["protocol"]) for remote, d in self.tunnels.items()]
            self._core.leave(node_id, now)
            self._implicit_self = False
        ip = self._core.join(
            node_id,
            node_info.get("public_key"),
            node_info.get("endpoint"),
            list(node_info.get("capabilities", ())),
            node_info.get("virtual_ip"),
            now,
        )
        for remote, protocol in tunnels:
            self._core.establish(remote, protocol, now)
        # Not logged: joins come by the thousand and a disabled log call costs
        # as much as the join itself.
        return ip

    def leave_mesh(self, node_id: str, *, now: Optional[float] = None) -> bool:
        """Removes a node, its address and its tunnels; ``False`` if it was not in the mesh."""
        left = self._core.leave(node_id, now)
        if left and node_id == self.node_id:
            self._implicit_self = False
        return left

    def establish_tunnel(
        self, remote_node_id: str, protocol: Optional[str] = None, *, now: Optional[float] = None
    ) -> bool:
        """Records a tunnel to ``remote_node_id`` (:attr:`preferred_protocol`,
        ``"wireguard"``, by default; ``"openvpn"``, ``"ipsec"``); ``False`` if
        the remote node is not in the mesh. As in the old API this node is part
        of its own mesh without joining: if it has not joined, it joins here
        (lowest free address, placeholder key). The tunnel is up once a
        handshake is reported (:meth:`record_handshake`)."""
        if remote_node_id == self.node_id or remote_node_id not in self._core:
            logger.error("%s: cannot establish a tunnel to unknown node %s", self.node_id, remote_node_id)
            return False
        if self.node_id not in self._core:
            self._core.join(self.node_id, None, None, [], None, now)
            self._implicit_self = True
        self._core.establish(remote_node_id, protocol or self.preferred_protocol, now)
        return True

    def monitor_tunnel_health(self, *, now: Optional[float] = None) -> Dict[str, Any]:
        """Re-evaluates every tunnel; ``total_tunnels, healthy_tunnels`` (up) and
        ``tunnel_details`` (remote node → details)."""
        r = self._core.monitor(now)
        return {
            "total_tunnels": r["tunnels"],
            "healthy_tunnels": r["up"],
            "tunnel_details": dict(self._details(t) for t in self._core.tunnels()),
        }

    def get_mesh_topology(self, *, now: Optional[float] = None) -> Dict[str, Any]:
        """``node_id, virtual_ip, mesh_nodes`` (count), ``active_tunnels`` (up),
        ``routing_table`` (destination → next hop) and ``network_health``
        (reachability and latencies)."""
        topo = self._core.topology(now)
        return {
            "node_id": self.node_id,
            "virtual_ip": self.virtual_ips.get(self.node_id),
            "mesh_nodes": topo["nodes"],
            "active_tunnels": topo["tunnels_up"],
            "routing_table": self._routing_table(now),
            "network_health": {
                "connectivity_ratio": topo["connectivity_ratio"],
                "reachable": topo["reachable"],
                "unreachable": topo["unreachable"],
                "average_route_latency": topo["average_route_latency"],
                "average_tunnel_latency": topo["average_tunnel_latency"],
                "total_bandwidth": topo["total_bandwidth"],
            },
        }

    @property
    def mesh_nodes(self) -> Mapping[str, Dict[str, Any]]:
        """Node → ``node_id, virtual_ip, public_key, endpoint, capabilities, joined_at``,
        live: ``mesh_nodes[n] = info`` is :meth:`join_mesh` of ``info`` as node
        ``n`` (``InvalidArgumentError`` if ``n`` is in the mesh already), ``del
        mesh_nodes[n]`` is :meth:`leave_mesh`. Each value read is a copy."""
        return LiveMap(self._nodes, _NODES_WHY, self._store_node, self.leave_mesh)

    def _nodes(self) -> Dict[str, Dict[str, Any]]:
        return {
            n: {"node_id": n, "virtual_ip": ip, "public_key": key, "endpoint": ep, "capabilities": caps, "joined_at": at}
            for n, ip, key, ep, caps, at in self._core.nodes()
        }

    def _store_node(self, node_id: str, info: Dict[str, Any]) -> None:
        self.join_mesh({**info, "node_id": node_id})

    @property
    def virtual_ips(self) -> Mapping[str, str]:
        """Node → overlay address, live and read-only."""
        return LiveMap(lambda: {n: ip for n, ip, *_ in self._core.nodes()}, _IPS_WHY)

    @property
    def routing_table(self) -> Mapping[str, Optional[str]]:
        """Destination → next hop (``None``: unreachable), routes recomputed if
        needed; live and read-only."""
        return LiveMap(lambda: self._routing_table(None), _ROUTES_WHY)

    def _routing_table(self, now: Optional[float]) -> Dict[str, Optional[str]]:
        return {dest: hop for dest, hop, _, _ in self._core.routes(now)}

    @property
    def tunnels(self) -> Mapping[str, Dict[str, Any]]:
        """Remote node → tunnel details, live and read-only; each value read is a copy."""
        return LiveMap(lambda: dict(self._details(t) for t in self._core.tunnels()), _TUNNELS_WHY)

    # --- beyond the old API ------------------------------------------------

    def record_link(self, a: str, b: str, latency_seconds: float, *, up: bool = True, now: Optional[float] = None) -> None:
        """A link between ``a`` and ``b`` with ``latency_seconds`` one-way cost, known without a tunnel record."""
        self._core.record_link(a, b, latency_seconds, up, now)

    def record_handshake(self, peer: str, *, now: Optional[float] = None) -> str:
        """A successful handshake on the tunnel to ``peer``; the tunnel's state
        (``"connecting"``, ``"up"``, ``"stale"``, ``"down"``)."""
        return self._core.record_handshake(peer, now)

    def record_latest_handshakes(self, text: str, unix_now: int, *, now: Optional[float] = None) -> Dict[str, int]:
        """Applies what ``wg show <if> latest-handshakes`` printed, given the host's UNIX
        time in seconds: newer handshakes are recorded at their real time and tunnel
        health follows them. Returns counts: ``recorded``, ``unchanged``, ``never``,
        ``unknown_peers``, ``malformed``, ``changed``."""
        return self._core.record_latest_handshakes(text, unix_now, now)

    def to_dot(self, *, now: Optional[float] = None) -> str:
        """The topology as Graphviz DOT: nodes, links with latencies and tunnel states,
        this node's next hops highlighted."""
        return self._core.render_dot(now)

    def record_latency(self, peer: str, rtt_seconds: float, *, now: Optional[float] = None) -> float:
        """A measured round trip on the tunnel to ``peer``; the smoothed RTT in seconds."""
        return self._core.record_latency(peer, rtt_seconds, now)

    def route(self, dest: str, *, now: Optional[float] = None) -> Optional[List[str]]:
        """The shortest path from this node to ``dest`` (both included), or ``None``."""
        return self._core.path(dest, now)

    def next_hop(self, dest: str, *, now: Optional[float] = None) -> Optional[str]:
        """The neighbour traffic to ``dest`` goes to, or ``None`` if unreachable."""
        r = self._core.next_hop(dest, now)
        return None if r is None else r[0]

    def route_cost(self, dest: str, *, now: Optional[float] = None) -> Optional[float]:
        """The latency of the route in use to ``dest`` in seconds, or ``None`` if unreachable."""
        r = self._core.next_hop(dest, now)
        return None if r is None else r[1]

    def render_wireguard(
        self,
        private_key: Optional[str] = None,
        listen_port: Optional[int] = 51820,
        format: str = "wg-quick",
        placeholder_keys: bool = False,
    ) -> str:
        """This node's WireGuard configuration (``format`` ``"wg-quick"`` or ``"setconf"``);
        peers' ``AllowedIPs`` follow the routes. A peer without a real public key is an
        ``InvalidStateError`` unless ``placeholder_keys`` (then written under a warning)."""
        return self._core.render_wireguard(private_key, listen_port, format=format, placeholder_keys=placeholder_keys)

    def __len__(self) -> int:
        return len(self._core)

    def __repr__(self) -> str:
        return f"VPNMeshTopologyManager(node_id={self.node_id!r}, network_cidr={self.network_cidr!r}, nodes={len(self)})"


_NODES_WHY = "mesh_nodes changes only by item assignment (join_mesh) and del (leave_mesh)"
_IPS_WHY = (
    "virtual_ips is read-only: the core allocates each address once in network_cidr; "
    "ask for one with join_mesh's virtual_ip"
)
_ROUTES_WHY = "routing_table is read-only: routes are computed from the tunnels and links (record_link, record_latency)"
_TUNNELS_WHY = (
    "tunnels is read-only: use establish_tunnel, record_handshake and leave_mesh, "
    "so the core's tunnel states and routes stay consistent"
)
