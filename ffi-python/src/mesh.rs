//! The VPN mesh (`preset::large`: 4096 nodes, 32,768 links, built in place on
//! the heap), with float-second times and string addresses.
//!
//! `pouw_netops/mesh.py` wraps this class in the old API's
//! `VPNMeshTopologyManager`. Routing queries recompute the routes first when
//! something they depend on changed; route computation and rendering release the GIL.

use crate::errors::{core_error, field_error, id_error, invalid};
use crate::time::{duration, instant};
use pouw_netops::mesh::{Capability, WireGuardFormat, WireGuardOptions};
use pouw_netops::preset::large;
use pouw_netops::{
    Cidr, Duration, Endpoint, MeshConfig, MeshNode, NodeId, TunnelError, TunnelProtocol, TunnelState, WgKey,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The endpoint of a node that announced none: unknown address, WireGuard's port.
const DEFAULT_ENDPOINT: &str = "0.0.0.0:51820";

fn node_id(s: &str, what: &str) -> PyResult<NodeId> {
    NodeId::new(s).map_err(|e| id_error(what, e))
}

fn protocol(s: &str) -> PyResult<TunnelProtocol> {
    s.parse().map_err(|e| invalid(format!("{e}, not {s:?}")))
}

/// One node as `(node_id, virtual_ip, public_key, endpoint, capabilities, joined_at)`.
type NodeTuple = (String, String, String, String, Vec<String>, f64);

/// One tunnel as `(a, b, protocol, state, last_handshake, latency, rx_bytes, tx_bytes, bandwidth)`.
type TunnelTuple = (String, String, &'static str, &'static str, Option<f64>, Option<f64>, u64, u64, u64);

/// One route as `(destination, next_hop, cost_seconds, hops)`.
type RouteTuple = (String, Option<String>, Option<f64>, u32);

/// The core's `VPNMeshTopologyManager` (large preset) for one local node.
#[pyclass(name = "MeshCore", module = "pouw_netops._native")]
pub struct PyMeshCore {
    inner: Box<large::VPNMeshTopologyManager>,
}

impl PyMeshCore {
    fn refresh(&mut self, py: Python<'_>, now: Option<f64>) -> PyResult<()> {
        if self.inner.routes_outdated() {
            let now = instant(now)?;
            let inner = &mut self.inner;
            py.detach(|| inner.recompute_routes(now));
        }
        Ok(())
    }
}

#[pymethods]
impl PyMeshCore {
    /// The mesh as seen by `node_id`, over the overlay network `cidr`.
    #[new]
    #[pyo3(signature = (node_id, cidr = "10.0.0.0/16"))]
    fn new(node_id: &str, cidr: &str) -> PyResult<Self> {
        let local = self::node_id(node_id, "node_id")?;
        let cidr = Cidr::parse(cidr).map_err(|e| field_error("network_cidr", e))?;
        let config = MeshConfig { cidr, ..MeshConfig::new(local) };
        let inner = large::VPNMeshTopologyManager::new_boxed(config).map_err(crate::errors::config_error)?;
        Ok(PyMeshCore { inner })
    }

    /// Adds a node; returns its overlay address. `public_key` is base64
    /// (a deterministic placeholder when absent), `endpoint` is `host:port`.
    #[pyo3(signature = (node_id, public_key = None, endpoint = None, capabilities = Vec::new(), virtual_ip = None, now = None))]
    fn join(
        &mut self,
        node_id: &str,
        public_key: Option<&str>,
        endpoint: Option<&str>,
        capabilities: Vec<String>,
        virtual_ip: Option<&str>,
        now: Option<f64>,
    ) -> PyResult<String> {
        let now = instant(now)?;
        let id = self::node_id(node_id, "node_id")?;
        let key = match public_key {
            Some(k) => WgKey::from_base64(k).map_err(|e| field_error("public_key", e))?,
            None => WgKey::placeholder(&id),
        };
        let endpoint = Endpoint::parse(endpoint.unwrap_or(DEFAULT_ENDPOINT)).map_err(|e| field_error("endpoint", e))?;
        let mut node = MeshNode::new(id, key, endpoint);
        for c in &capabilities {
            let cap = Capability::try_from(c.as_str()).map_err(|_| invalid(format!("capability {c:?} is too long")))?;
            node.capabilities.push(cap).map_err(|_| invalid("too many capabilities"))?;
        }
        if let Some(ip) = virtual_ip {
            let addr = ip.parse().map_err(|_| invalid(format!("virtual_ip {ip:?} is not an IP address")))?;
            node.requested_address = Some(addr);
        }
        self.inner.join_mesh(now, node).map(|a| a.to_string()).map_err(core_error)
    }

    /// Removes a node and its tunnels; `False` if it was not in the mesh.
    #[pyo3(signature = (node_id, now = None))]
    fn leave(&mut self, node_id: &str, now: Option<f64>) -> PyResult<bool> {
        let now = instant(now)?;
        let id = self::node_id(node_id, "node_id")?;
        match self.inner.leave_mesh(now, &id) {
            Ok(_) => Ok(true),
            Err(TunnelError::UnknownNode(_)) => Ok(false),
            Err(e) => Err(core_error(e)),
        }
    }

    /// Records a tunnel from the local node to `remote` (kept if one of the same
    /// protocol exists); returns its state. `NotFoundError` for a node not in the mesh.
    #[pyo3(signature = (remote, protocol = "wireguard", now = None))]
    fn establish(&mut self, remote: &str, protocol: &str, now: Option<f64>) -> PyResult<&'static str> {
        let now = instant(now)?;
        let remote = node_id(remote, "remote_node_id")?;
        let protocol = self::protocol(protocol)?;
        let local = self.inner.config().local.clone();
        self.inner.establish_tunnel(now, &local, &remote, protocol).map(TunnelState::as_str).map_err(core_error)
    }

    /// A successful handshake with `peer` on the local node's tunnel; the tunnel's state.
    #[pyo3(signature = (peer, now = None))]
    fn record_handshake(&mut self, peer: &str, now: Option<f64>) -> PyResult<&'static str> {
        let now = instant(now)?;
        let peer = node_id(peer, "peer")?;
        self.inner.record_handshake(now, &peer).map(TunnelState::as_str).map_err(core_error)
    }

    /// Applies what `wg show <if> latest-handshakes` printed (`text`), with the
    /// host's UNIX time `unix_now` in seconds; a dict of counts (`recorded`,
    /// `unchanged`, `never`, `unknown_peers`, `malformed`, `changed`).
    #[pyo3(signature = (text, unix_now, now = None))]
    fn record_latest_handshakes<'py>(
        &mut self,
        py: Python<'py>,
        text: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] unix_now: u64,
        now: Option<f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant(now)?;
        handshake_report(py, &self.inner.record_latest_handshakes(now, unix_now, text))
    }

    /// The topology as Graphviz DOT (routes recomputed first).
    #[pyo3(signature = (now = None))]
    fn render_dot(&mut self, py: Python<'_>, now: Option<f64>) -> PyResult<String> {
        self.refresh(py, now)?;
        let mut out = String::new();
        self.inner.write_dot(&mut out).map_err(|_| invalid("the DOT writer failed"))?;
        Ok(out)
    }

    /// A measured round trip on the local node's tunnel to `peer`; the smoothed RTT in seconds.
    #[pyo3(signature = (peer, rtt, now = None))]
    fn record_latency(&mut self, peer: &str, rtt: f64, now: Option<f64>) -> PyResult<f64> {
        let now = instant(now)?;
        let peer = node_id(peer, "peer")?;
        let local = self.inner.config().local.clone();
        let rtt = duration(rtt, "rtt")?;
        self.inner.record_latency(now, &local, &peer, rtt).map(Duration::as_secs_f64).map_err(core_error)
    }

    /// A link between `a` and `b` with `latency` seconds (known without a tunnel record).
    #[pyo3(signature = (a, b, latency, up = true, now = None))]
    fn record_link(&mut self, a: &str, b: &str, latency: f64, up: bool, now: Option<f64>) -> PyResult<()> {
        let now = instant(now)?;
        let (a, b) = (node_id(a, "a")?, node_id(b, "b")?);
        let latency = duration(latency, "latency_seconds")?;
        self.inner.record_link(now, &a, &b, latency, up).map_err(core_error)
    }

    /// Re-evaluates every tunnel at `now` (recomputing routes if needed, with
    /// the GIL released); the counts as a dict.
    #[pyo3(signature = (now = None))]
    fn monitor<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let now = instant(now)?;
        let inner = &mut self.inner;
        let r = py.detach(|| inner.monitor_tunnel_health(now));
        while self.inner.poll_reestablish().is_some() {}
        while self.inner.poll_route_change().is_some() {}
        Ok(fields_dict!(py, r; tunnels, connecting, up, stale, down, changed, rekey_due))
    }

    /// Whether `node_id` is in the mesh (`False` for a malformed id).
    fn __contains__(&self, node_id: &str) -> bool {
        NodeId::new(node_id).is_ok_and(|id| self.inner.node(&id).is_some())
    }

    /// Every node in table order as `(node_id, virtual_ip, public_key, endpoint, capabilities, joined_at)`.
    fn nodes(&self) -> Vec<NodeTuple> {
        self.inner
            .nodes()
            .map(|n| {
                (
                    n.id.as_str().to_owned(),
                    n.address.to_string(),
                    n.public_key.to_string(),
                    n.endpoint.to_string(),
                    n.capabilities.iter().map(|c| c.as_str().to_owned()).collect(),
                    n.joined_at.as_secs_f64(),
                )
            })
            .collect()
    }

    /// Every tunnel in record order as `(a, b, protocol, state, last_handshake,
    /// latency, rx_bytes, tx_bytes, bandwidth)`; `a` is the lower id.
    fn tunnels(&self) -> Vec<TunnelTuple> {
        self.inner
            .tunnels()
            .map(|t| {
                (
                    t.a.as_str().to_owned(),
                    t.b.as_str().to_owned(),
                    t.protocol.as_str(),
                    t.state.as_str(),
                    t.last_handshake.map(|h| h.as_secs_f64()),
                    t.latency.map(Duration::as_secs_f64),
                    t.rx_bytes,
                    t.tx_bytes,
                    t.bandwidth,
                )
            })
            .collect()
    }

    /// The routing table, every other node in table order, as `(destination,
    /// next_hop, cost_seconds, hops)`; an unreachable node has `(None, None, 0)`.
    #[pyo3(signature = (now = None))]
    fn routes(&mut self, py: Python<'_>, now: Option<f64>) -> PyResult<Vec<RouteTuple>> {
        self.refresh(py, now)?;
        Ok(self
            .inner
            .routes()
            .map(|r| {
                let hop = r.next_hop.map(|h| h.as_str().to_owned());
                let cost = hop.as_ref().map(|_| r.cost.as_secs_f64());
                (r.destination.as_str().to_owned(), hop, cost, r.hops)
            })
            .collect())
    }

    /// The shortest path from the local node to `dest`, local node first;
    /// `None` if unreachable or unknown.
    #[pyo3(signature = (dest, now = None))]
    fn path(&mut self, py: Python<'_>, dest: &str, now: Option<f64>) -> PyResult<Option<Vec<String>>> {
        self.refresh(py, now)?;
        let dest = node_id(dest, "dest")?;
        Ok(self.inner.shortest_path(&dest).map(|p| {
            let mut v: Vec<String> = p.map(|n| n.as_str().to_owned()).collect();
            v.reverse();
            v
        }))
    }

    /// The next hop towards `dest` and the route's cost in seconds; `None` if unreachable.
    #[pyo3(signature = (dest, now = None))]
    fn next_hop(&mut self, py: Python<'_>, dest: &str, now: Option<f64>) -> PyResult<Option<(String, f64)>> {
        self.refresh(py, now)?;
        let dest = node_id(dest, "dest")?;
        Ok(self.inner.route(&dest).and_then(|r| r.next_hop.map(|h| (h.as_str().to_owned(), r.cost.as_secs_f64()))))
    }

    /// The local node's WireGuard configuration, `format` `"wg-quick"` or
    /// `"setconf"` (routes recomputed first; the GIL is released). The private
    /// key is used for this call only (its copy is wiped). A peer with a
    /// placeholder public key is an `InvalidStateError` unless
    /// `placeholder_keys` (then it is written under a `# WARNING` comment).
    /// `InvalidArgumentError` if the local node has not joined.
    #[pyo3(signature = (private_key = None, listen_port = 51820, now = None, format = "wg-quick", placeholder_keys = false))]
    fn render_wireguard(
        &mut self,
        py: Python<'_>,
        private_key: Option<&str>,
        #[pyo3(from_py_with = crate::args::opt_u16_arg)] listen_port: Option<u16>,
        now: Option<f64>,
        format: &str,
        placeholder_keys: bool,
    ) -> PyResult<String> {
        let format = match format {
            "wg-quick" => WireGuardFormat::WgQuick,
            "setconf" => WireGuardFormat::SetConf,
            _ => return Err(invalid("format: \"wg-quick\" or \"setconf\"")),
        };
        self.refresh(py, now)?;
        let mut key =
            private_key.map(|k| WgKey::from_base64(k).map_err(|e| field_error("private_key", e))).transpose()?;
        let options = WireGuardOptions {
            format,
            listen_port,
            private_key: key.as_ref(),
            placeholder_keys,
            ..WireGuardOptions::default()
        };
        let inner = &self.inner;
        let out = py.detach(|| {
            let mut out = String::new();
            inner.write_wireguard(&options, &mut out).map(|()| out)
        });
        if let Some(k) = key.as_mut() {
            k.wipe();
        }
        out.map_err(core_error)
    }

    /// A summary: nodes, tunnels, reachability and latencies, as a dict.
    #[pyo3(signature = (now = None))]
    fn topology<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        self.refresh(py, now)?;
        let r = self.inner.topology_report();
        Ok(fields_dict!(py, r;
            nodes, tunnels, tunnels_up, links, reachable, unreachable, connectivity_ratio;
            "average_route_latency" => r.average_route_latency.map(Duration::as_secs_f64),
            "average_tunnel_latency" => r.average_tunnel_latency.map(Duration::as_secs_f64),
            "total_bandwidth" => r.total_bandwidth,
        ))
    }

    /// The local node.
    #[getter]
    fn node_id(&self) -> String {
        self.inner.config().local.as_str().to_owned()
    }

    /// The overlay network.
    #[getter]
    fn cidr(&self) -> String {
        self.inner.cidr().to_string()
    }

    /// Nodes in the mesh.
    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMeshCore>()
}

/// What a `wg show latest-handshakes` report held, as a dict (shared by the
/// mesh manager and the node).
pub(crate) fn handshake_report<'py>(
    py: Python<'py>,
    r: &pouw_netops::mesh::HandshakeReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("recorded", r.recorded)?;
    d.set_item("unchanged", r.unchanged)?;
    d.set_item("never", r.never)?;
    d.set_item("unknown_peers", r.unknown_peers)?;
    d.set_item("malformed", r.malformed)?;
    d.set_item("changed", r.changed)?;
    Ok(d)
}
