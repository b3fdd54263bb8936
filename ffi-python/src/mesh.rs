//! The VPN mesh (`preset::large`: 4096 nodes, 32,768 links, built in place on
//! the heap), with float-second times and string addresses.
//!
//! The old API's `VPNMeshTopologyManager` is the native class below (the
//! package's name binds it), over this core class. Routing queries recompute the routes first when
//! something they depend on changed; route computation and rendering release the GIL.

use crate::errors::{core_error, field_error, id_error, invalid};
use crate::py::{Given, Logger, cached, clear, given, not_initialized};
use crate::time::{OwnTime, duration};
use pouw_netops::mesh::{Capability, WireGuardFormat, WireGuardOptions};
use pouw_netops::preset::large;
use pouw_netops::{
    Cidr, Duration, Endpoint, MeshConfig, MeshNode, NodeId, TunnelError, TunnelProtocol, TunnelState, WgKey,
};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

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
    /// The latest `now` given: the time of the writes that cannot take one.
    own: OwnTime,
}

impl PyMeshCore {
    fn refresh(&mut self, py: Python<'_>, now: Option<f64>) -> PyResult<()> {
        let now = self.own.input(now)?;
        if self.inner.routes_outdated() {
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
        Ok(PyMeshCore { inner, own: OwnTime::default() })
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
        let now = self.own.input(now)?;
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
        let now = self.own.input(now)?;
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
        let now = self.own.input(now)?;
        let remote = node_id(remote, "remote_node_id")?;
        let protocol = self::protocol(protocol)?;
        let local = self.inner.config().local.clone();
        self.inner.establish_tunnel(now, &local, &remote, protocol).map(TunnelState::as_str).map_err(core_error)
    }

    /// A successful handshake with `peer` on the local node's tunnel; the tunnel's state.
    #[pyo3(signature = (peer, now = None))]
    fn record_handshake(&mut self, peer: &str, now: Option<f64>) -> PyResult<&'static str> {
        let now = self.own.input(now)?;
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
        let now = self.own.input(now)?;
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
        let now = self.own.input(now)?;
        let peer = node_id(peer, "peer")?;
        let local = self.inner.config().local.clone();
        let rtt = duration(rtt, "rtt")?;
        self.inner.record_latency(now, &local, &peer, rtt).map(Duration::as_secs_f64).map_err(core_error)
    }

    /// A link between `a` and `b` with `latency` seconds (known without a tunnel record).
    #[pyo3(signature = (a, b, latency, up = true, now = None))]
    fn record_link(&mut self, a: &str, b: &str, latency: f64, up: bool, now: Option<f64>) -> PyResult<()> {
        let now = self.own.input(now)?;
        let (a, b) = (node_id(a, "a")?, node_id(b, "b")?);
        let latency = duration(latency, "latency_seconds")?;
        self.inner.record_link(now, &a, &b, latency, up).map_err(core_error)
    }

    /// Re-evaluates every tunnel at `now` (recomputing routes if needed, with
    /// the GIL released); the counts as a dict.
    #[pyo3(signature = (now = None))]
    fn monitor<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let now = self.own.input(now)?;
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

    /// The manager's own time: the latest `now` given (by any method), or
    /// `None` if never (the wall clock). The live views pass it as the `now`
    /// of their writes and route recomputations, which cannot take one.
    #[getter]
    fn own_now(&self) -> Option<f64> {
        self.own.get()
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

static LOG: Logger = Logger::new("pouw_netops.mesh");

/// What `pouw_netops/mesh.py` provides the class: the live views of its
/// containers and the tunnel details they and `monitor_tunnel_health` show.
#[derive(Clone, Copy)]
enum Helper {
    MeshNodes,
    VirtualIps,
    RoutingTable,
    Tunnels,
    TunnelDetails,
}

impl Helper {
    fn get(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        static MESH_NODES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static VIRTUAL_IPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static ROUTING_TABLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static TUNNELS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static TUNNEL_DETAILS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let (cell, name) = match self {
            Helper::MeshNodes => (&MESH_NODES, "_mesh_nodes_view"),
            Helper::VirtualIps => (&VIRTUAL_IPS, "_virtual_ips_view"),
            Helper::RoutingTable => (&ROUTING_TABLE, "_routing_table_view"),
            Helper::Tunnels => (&TUNNELS, "_tunnels_view"),
            Helper::TunnelDetails => (&TUNNEL_DETAILS, "_tunnel_details"),
        };
        cached(py, cell, "pouw_netops.mesh", name)
    }
}

/// One node's view of the encrypted worker mesh (up to 4096 nodes and 32,768 links).
///
/// Every time-dependent method takes ``now`` in seconds (default ``time.time()``).
/// What cannot take ``now`` (``mesh_nodes[n] = info``, ``del mesh_nodes[n]``,
/// reading :attr:`routing_table`, :meth:`render_wireguard`) happens at the
/// manager's own time: the latest ``now`` it was given, or ``time.time()`` if
/// it was never given one.
//
// The old API's class, native (`pouw_netops.VPNMeshTopologyManager` is this
// class) over a `MeshCore`, whose methods it calls with the arguments as given
// (as the Python class did). The live views of its containers are made by the
// helpers of `pouw_netops/mesh.py` on each access, as before. The
// construction is in `__init__`, so a subclass's `__init__` with its own
// signature can call `super().__init__`, as with the old Python class.
#[pyclass(name = "VPNMeshTopologyManager", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyVPNMeshTopologyManager {
    /// `None` until `__init__` ran.
    core: Option<Py<PyMeshCore>>,
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
    #[pyo3(get, set)]
    network_cidr: Py<PyAny>,
    /// The old API's security settings: `preferred_protocol` is the default of
    /// `establish_tunnel`; the others are informational.
    #[pyo3(get, set)]
    encryption_enabled: Py<PyAny>,
    #[pyo3(get, set)]
    tunnel_protocols: Py<PyAny>,
    #[pyo3(get, set)]
    preferred_protocol: Py<PyAny>,
    /// Whether this node was put in the mesh implicitly by `establish_tunnel`.
    implicit_self: bool,
}

impl PyVPNMeshTopologyManager {
    fn core<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyMeshCore>> {
        self.core.as_ref().map(|c| c.bind(py)).ok_or_else(|| not_initialized("VPNMeshTopologyManager"))
    }

    /// The manager's own time (see `OwnTime`), for reports made on the user's behalf.
    pub(crate) fn own_now(&self, py: Python<'_>) -> Option<f64> {
        self.core(py).ok()?.try_borrow().ok()?.own.get()
    }

    /// `core.<name>(*args)`: the core's method with the arguments as given.
    fn call<'py, A>(&self, py: Python<'py>, name: &str, args: A) -> PyResult<Bound<'py, PyAny>>
    where
        A: pyo3::call::PyCallArgs<'py>,
    {
        self.core(py)?.call_method1(name, args)
    }

    /// The core's `next_hop(dest, now)`: `None`, or `(hop, cost)`.
    fn next_hop_entry<'py>(
        &self,
        dest: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        field: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = self.call(dest.py(), "next_hop", (dest, now))?;
        if r.is_none() { Ok(r) } else { r.get_item(field) }
    }
}

#[pymethods]
impl PyVPNMeshTopologyManager {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs), text_signature = "(node_id, network_cidr='10.0.0.0/16')")]
    fn new(py: Python<'_>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyVPNMeshTopologyManager {
            core: None,
            node_id: py.None(),
            network_cidr: py.None(),
            encryption_enabled: py.None(),
            tunnel_protocols: py.None(),
            preferred_protocol: py.None(),
            implicit_self: false,
        }
    }

    #[pyo3(signature = (node_id, network_cidr = Given::Missing))]
    fn __init__(
        &mut self,
        node_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = given)] network_cidr: Given,
    ) -> PyResult<()> {
        let py = node_id.py();
        let cidr = network_cidr.or(py, "10.0.0.0/16")?;
        self.node_id = node_id.clone().unbind();
        self.network_cidr = cidr.clone().unbind();
        let core = py.get_type::<PyMeshCore>().call1((node_id, &cidr))?.cast_into::<PyMeshCore>()?;
        self.core = Some(core.unbind());
        self.encryption_enabled = true.into_bound_py_any(py)?.unbind();
        self.tunnel_protocols = PyList::new(py, ["wireguard", "openvpn", "ipsec"])?.into_any().unbind();
        self.preferred_protocol = "wireguard".into_bound_py_any(py)?.unbind();
        self.implicit_self = false;
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.core)?;
        visit.call(&self.node_id)?;
        visit.call(&self.network_cidr)?;
        visit.call(&self.encryption_enabled)?;
        visit.call(&self.tunnel_protocols)?;
        visit.call(&self.preferred_protocol)
    }

    fn __clear__(&mut self) {
        self.core = None;
        clear(&mut self.node_id);
        clear(&mut self.network_cidr);
        clear(&mut self.encryption_enabled);
        clear(&mut self.tunnel_protocols);
        clear(&mut self.preferred_protocol);
    }

    // --- the old API -------------------------------------------------------

    /// Adds a node; returns its overlay address.
    ///
    /// ``node_info`` has ``node_id`` and optionally ``public_key`` (base64
    /// WireGuard key; a deterministic placeholder otherwise), ``endpoint``
    /// (``host:port``), ``capabilities`` (up to 8 names) and ``virtual_ip`` (a
    /// requested address). Raises ``InvalidArgumentError`` (a ``ValueError``)
    /// for a node already in the mesh or a bad field and ``CapacityError`` when
    /// the mesh or its addresses are full.
    ///
    /// This node joining after :meth:`establish_tunnel` put it in the mesh
    /// implicitly takes its place with the given details (its tunnels are
    /// re-established, to be confirmed by handshakes again).
    #[pyo3(signature = (node_info, *, now = None))]
    fn join_mesh<'py>(
        slf: &Bound<'py, Self>,
        node_info: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let node_id = node_info.get_item("node_id")?;
        let (core, me, implicit) = {
            let this = slf.try_borrow()?;
            (this.core(py)?.clone(), this.node_id.bind(py).clone(), this.implicit_self)
        };
        let mut tunnels: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = Vec::new();
        if node_id.eq(&me)? && implicit {
            for t in slf.getattr("tunnels")?.call_method0("items")?.try_iter()? {
                let (remote, details): (Bound<'py, PyAny>, Bound<'py, PyAny>) = t?.extract()?;
                tunnels.push((remote, details.get_item("protocol")?));
            }
            core.call_method1("leave", (&node_id, now))?;
            slf.try_borrow_mut()?.implicit_self = false;
        }
        let get = |key: &str| node_info.call_method1("get", (key,));
        let capabilities = node_info.call_method1("get", ("capabilities", PyTuple::empty(py)))?;
        let ip = core.call_method1(
            "join",
            (
                &node_id,
                get("public_key")?,
                get("endpoint")?,
                py.get_type::<PyList>().call1((capabilities,))?,
                get("virtual_ip")?,
                now,
            ),
        )?;
        for (remote, protocol) in tunnels {
            core.call_method1("establish", (remote, protocol, now))?;
        }
        // Not logged: joins come by the thousand and a disabled log call costs
        // as much as the join itself.
        Ok(ip)
    }

    /// Removes a node, its address and its tunnels; ``False`` if it was not in the mesh.
    #[pyo3(signature = (node_id, *, now = None))]
    fn leave_mesh<'py>(
        &mut self,
        node_id: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = node_id.py();
        let left = self.call(py, "leave", (node_id, now))?;
        if left.is_truthy()? && node_id.eq(self.node_id.bind(py))? {
            self.implicit_self = false;
        }
        Ok(left)
    }

    /// Records a tunnel to ``remote_node_id`` (:attr:`preferred_protocol`,
    /// ``"wireguard"``, by default; ``"openvpn"``, ``"ipsec"``); ``False`` if
    /// the remote node is not in the mesh. As in the old API this node is part
    /// of its own mesh without joining: if it has not joined, it joins here
    /// (lowest free address, placeholder key). The tunnel is up once a
    /// handshake is reported (:meth:`record_handshake`).
    #[pyo3(signature = (remote_node_id, protocol = None, *, now = None))]
    fn establish_tunnel<'py>(
        slf: &Bound<'py, Self>,
        remote_node_id: &Bound<'py, PyAny>,
        protocol: Option<&Bound<'py, PyAny>>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<bool> {
        let py = slf.py();
        // No borrow of `slf` is held across a call into Python (a log handler may read the manager).
        let (core, me) = {
            let this = slf.try_borrow()?;
            (this.core(py)?.clone(), this.node_id.bind(py).clone())
        };
        if remote_node_id.eq(&me)? || !core.contains(remote_node_id)? {
            LOG.log(py, "error", "%s: cannot establish a tunnel to unknown node %s", (&me, remote_node_id))?;
            return Ok(false);
        }
        if !core.contains(&me)? {
            core.call_method1("join", (&me, py.None(), py.None(), PyList::empty(py), py.None(), now))?;
            slf.try_borrow_mut()?.implicit_self = true;
        }
        let protocol = match protocol {
            Some(p) if p.is_truthy()? => p.clone(),
            _ => slf.try_borrow()?.preferred_protocol.bind(py).clone(),
        };
        core.call_method1("establish", (remote_node_id, protocol, now))?;
        Ok(true)
    }

    /// Re-evaluates every tunnel; ``total_tunnels, healthy_tunnels`` (up) and
    /// ``tunnel_details`` (remote node → details).
    #[pyo3(signature = (*, now = None))]
    fn monitor_tunnel_health<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let r = self.call(py, "monitor", (now,))?;
        let details = Helper::TunnelDetails.get(py)?.call1((&self.node_id, self.core(py)?))?;
        Ok(py_dict!(py;
            "total_tunnels" => r.get_item("tunnels")?,
            "healthy_tunnels" => r.get_item("up")?,
            "tunnel_details" => details,
        ))
    }

    /// ``node_id, virtual_ip, mesh_nodes`` (count), ``active_tunnels`` (up),
    /// ``routing_table`` (destination → next hop) and ``network_health``
    /// (reachability and latencies).
    #[pyo3(signature = (*, now = None))]
    fn get_mesh_topology<'py>(slf: &Bound<'py, Self>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let (topo, node_id) = {
            let this = slf.try_borrow()?;
            (this.call(py, "topology", (now,))?, this.node_id.bind(py).clone())
        };
        let virtual_ip = slf.getattr("virtual_ips")?.call_method1("get", (&node_id,))?;
        let routes = PyDict::new(py);
        for route in slf.try_borrow()?.call(py, "routes", (now,))?.try_iter()? {
            let route = route?;
            routes.set_item(route.get_item(0)?, route.get_item(1)?)?;
        }
        let t = |key: &str| topo.get_item(key);
        Ok(py_dict!(py;
            "node_id" => node_id,
            "virtual_ip" => virtual_ip,
            "mesh_nodes" => t("nodes")?,
            "active_tunnels" => t("tunnels_up")?,
            "routing_table" => routes,
            "network_health" => py_dict!(py;
                "connectivity_ratio" => t("connectivity_ratio")?,
                "reachable" => t("reachable")?,
                "unreachable" => t("unreachable")?,
                "average_route_latency" => t("average_route_latency")?,
                "average_tunnel_latency" => t("average_tunnel_latency")?,
                "total_bandwidth" => t("total_bandwidth")?,
            ),
        ))
    }

    /// Node → ``node_id, virtual_ip, public_key, endpoint, capabilities, joined_at``,
    /// live: ``mesh_nodes[n] = info`` is :meth:`join_mesh` of ``info`` as node
    /// ``n`` (``InvalidArgumentError`` if ``n`` is in the mesh already), ``del
    /// mesh_nodes[n]`` is :meth:`leave_mesh`. Each value read is a copy.
    #[getter]
    fn mesh_nodes<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Helper::MeshNodes.get(slf.py())?.call1((slf,))
    }

    /// Node → overlay address, live and read-only.
    #[getter]
    fn virtual_ips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Helper::VirtualIps.get(py)?.call1((self.core(py)?,))
    }

    /// Destination → next hop (``None``: unreachable), routes recomputed if
    /// needed; live and read-only.
    #[getter]
    fn routing_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Helper::RoutingTable.get(py)?.call1((self.core(py)?,))
    }

    /// Remote node → tunnel details, live and read-only; each value read is a copy.
    #[getter]
    fn tunnels<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Helper::Tunnels.get(slf.py())?.call1((slf,))
    }

    // --- beyond the old API ------------------------------------------------

    /// A link between ``a`` and ``b`` with ``latency_seconds`` one-way cost, known without a tunnel record.
    #[pyo3(
        signature = (a, b, latency_seconds, *, up = Given::Missing, now = None),
        text_signature = "($self, a, b, latency_seconds, *, up=True, now=None)"
    )]
    fn record_link<'py>(
        &self,
        a: &Bound<'py, PyAny>,
        b: &Bound<'py, PyAny>,
        latency_seconds: &Bound<'py, PyAny>,
        #[pyo3(from_py_with = given)] up: Given,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        let py = a.py();
        self.call(py, "record_link", (a, b, latency_seconds, up.or(py, true)?, now))?;
        Ok(())
    }

    /// A successful handshake on the tunnel to ``peer``; the tunnel's state
    /// (``"connecting"``, ``"up"``, ``"stale"``, ``"down"``).
    #[pyo3(signature = (peer, *, now = None))]
    fn record_handshake<'py>(
        &self,
        peer: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(peer.py(), "record_handshake", (peer, now))
    }

    /// Applies what ``wg show <if> latest-handshakes`` printed, given the host's UNIX
    /// time in seconds: newer handshakes are recorded at their real time and tunnel
    /// health follows them. Returns counts: ``recorded``, ``unchanged``, ``never``,
    /// ``unknown_peers``, ``malformed``, ``changed``.
    #[pyo3(signature = (text, unix_now, *, now = None))]
    fn record_latest_handshakes<'py>(
        &self,
        text: &Bound<'py, PyAny>,
        unix_now: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(text.py(), "record_latest_handshakes", (text, unix_now, now))
    }

    /// The topology as Graphviz DOT: nodes, links with latencies and tunnel states,
    /// this node's next hops highlighted.
    #[pyo3(signature = (*, now = None))]
    fn to_dot<'py>(&self, py: Python<'py>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        self.call(py, "render_dot", (now,))
    }

    /// A measured round trip on the tunnel to ``peer``; the smoothed RTT in seconds.
    #[pyo3(signature = (peer, rtt_seconds, *, now = None))]
    fn record_latency<'py>(
        &self,
        peer: &Bound<'py, PyAny>,
        rtt_seconds: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.call(peer.py(), "record_latency", (peer, rtt_seconds, now))
    }

    /// The shortest path from this node to ``dest`` (both included), or ``None``.
    #[pyo3(signature = (dest, *, now = None))]
    fn route<'py>(&self, dest: &Bound<'py, PyAny>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        self.call(dest.py(), "path", (dest, now))
    }

    /// The neighbour traffic to ``dest`` goes to, or ``None`` if unreachable.
    #[pyo3(signature = (dest, *, now = None))]
    fn next_hop<'py>(&self, dest: &Bound<'py, PyAny>, now: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        self.next_hop_entry(dest, now, 0)
    }

    /// The latency of the route in use to ``dest`` in seconds, or ``None`` if unreachable.
    #[pyo3(signature = (dest, *, now = None))]
    fn route_cost<'py>(
        &self,
        dest: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.next_hop_entry(dest, now, 1)
    }

    /// This node's WireGuard configuration (``format`` ``"wg-quick"`` or ``"setconf"``);
    /// peers' ``AllowedIPs`` follow the routes. A peer without a real public key is an
    /// ``InvalidStateError`` unless ``placeholder_keys`` (then written under a warning).
    #[pyo3(
        signature = (
            private_key = None, listen_port = Given::Missing, format = Given::Missing,
            placeholder_keys = Given::Missing,
        ),
        text_signature = "($self, private_key=None, listen_port=51820, format='wg-quick', placeholder_keys=False)"
    )]
    fn render_wireguard<'py>(
        &self,
        py: Python<'py>,
        private_key: Option<&Bound<'py, PyAny>>,
        #[pyo3(from_py_with = given)] listen_port: Given,
        #[pyo3(from_py_with = given)] format: Given,
        #[pyo3(from_py_with = given)] placeholder_keys: Given,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core(py)?;
        let kwargs = PyDict::new(py);
        // Routes are recomputed first: at the manager's own time, as this call takes no `now`.
        kwargs.set_item("now", core.try_borrow()?.own.get())?;
        kwargs.set_item("format", format.or(py, "wg-quick")?)?;
        kwargs.set_item("placeholder_keys", placeholder_keys.or(py, false)?)?;
        let args = (private_key, listen_port.or(py, 51820)?);
        core.call_method("render_wireguard", args, Some(&kwargs))
    }

    /// The core (for the live views in `pouw_netops/mesh.py`).
    #[getter]
    fn _core(&self, py: Python<'_>) -> PyResult<Py<PyMeshCore>> {
        Ok(self.core(py)?.clone().unbind())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.core(py)?.len()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "VPNMeshTopologyManager(node_id={}, network_cidr={}, nodes={})",
            slf.getattr("node_id")?.repr()?,
            slf.getattr("network_cidr")?.repr()?,
            slf.len()?,
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMeshCore>()?;
    m.add_class::<PyVPNMeshTopologyManager>()
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
