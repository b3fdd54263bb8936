"""``VPNMeshTopologyManager``: the old API's class over the core's VPN mesh.

The core allocates overlay addresses (lowest free in the CIDR), records tunnels
and their health from reported handshakes, routes over up links by latency
(Dijkstra with hysteresis) and renders WireGuard configurations. It moves no
packets. The old API's container attributes are live views read on each
access: ``mesh_nodes[n] = info`` joins ``n`` and ``del mesh_nodes[n]`` makes it
leave; the others are read-only (``TypeError`` with the reason). What takes no
``now`` (those writes, reading ``routing_table``, which may recompute the
routes, and ``render_wireguard``) happens at the manager's own time: the latest
``now`` it was given, or ``time.time()`` if it was never given one.

The class is native (``ffi-python/src/mesh.rs``); the live views of its
containers are made by the helpers below on each access. It logs through
``logging.getLogger("pouw_netops.mesh")``. Subclassable.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from . import _native
from ._live import LiveMap, own_time
from ._native import VPNMeshTopologyManager

__all__ = ["VPNMeshTopologyManager"]

_TunnelTuple = Tuple[str, str, str, str, Optional[float], Optional[float], int, int, int]


def _details(node_id: object, t: _TunnelTuple) -> Tuple[str, Dict[str, Any]]:
    """A tunnel of the core as ``(remote node, details)``, seen from ``node_id``."""
    a, b, protocol, state, handshake, latency, rx, tx, bandwidth = t
    remote = b if a == node_id else a
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


def _tunnel_details(node_id: object, core: _native.MeshCore) -> Dict[str, Dict[str, Any]]:
    """Remote node → tunnel details, for ``tunnels`` and ``monitor_tunnel_health``."""
    return dict(_details(node_id, t) for t in core.tunnels())


def _nodes(core: _native.MeshCore) -> Dict[str, Dict[str, Any]]:
    return {
        n: {"node_id": n, "virtual_ip": ip, "public_key": key, "endpoint": ep, "capabilities": caps, "joined_at": at}
        for n, ip, key, ep, caps, at in core.nodes()
    }


def _mesh_nodes_view(m: VPNMeshTopologyManager) -> LiveMap[str, Dict[str, Any]]:
    """``VPNMeshTopologyManager.mesh_nodes``: assigning joins, ``del`` leaves (at the manager's own time)."""
    core = m._core

    def store(node_id: str, info: Dict[str, Any]) -> None:
        m.join_mesh({**info, "node_id": node_id}, **own_time(core))

    def delete(node_id: str) -> None:
        m.leave_mesh(node_id, **own_time(core))

    return LiveMap(lambda: _nodes(core), _NODES_WHY, store, delete)


def _virtual_ips_view(core: _native.MeshCore) -> LiveMap[str, str]:
    """``VPNMeshTopologyManager.virtual_ips``: read-only."""
    return LiveMap(lambda: {n: ip for n, ip, *_ in core.nodes()}, _IPS_WHY)


def _routing_table_view(core: _native.MeshCore) -> LiveMap[str, Optional[str]]:
    """``VPNMeshTopologyManager.routing_table``: read-only, routes recomputed if
    needed (at the manager's own time)."""
    return LiveMap(lambda: {dest: hop for dest, hop, _, _ in core.routes(core.own_now)}, _ROUTES_WHY)


def _tunnels_view(m: VPNMeshTopologyManager) -> LiveMap[str, Dict[str, Any]]:
    """``VPNMeshTopologyManager.tunnels``: read-only, seen from the manager's ``node_id``."""
    core = m._core
    return LiveMap(lambda: _tunnel_details(m.node_id, core), _TUNNELS_WHY)


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
