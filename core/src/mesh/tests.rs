#![allow(clippy::needless_range_loop)] // index-based loops mirror the Floyd–Warshall reference

use super::*;
use crate::preset::small;
use proptest::prelude::*;
use std::boxed::Box;
use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::string::{String, ToString};
use std::vec::Vec as StdVec;

type Mesh = small::VPNMeshTopologyManager;

use crate::test_support::id;

fn t(secs: f64) -> Instant {
    Instant::from_secs_f64(secs)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn node(name: &str, i: u8) -> MeshNode {
    let mut key = [0u8; 32];
    key[0] = i;
    key[31] = 0xa5;
    MeshNode::new(id(name), WgKey::from_bytes(key), Endpoint::parse(&format!("192.0.2.{i}:51820")).unwrap())
}

fn config(cidr: &str, gateway: bool) -> MeshConfig {
    MeshConfig { cidr: Cidr::parse(cidr).unwrap(), reserve_gateway: gateway, ..MeshConfig::new(id("n0")) }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A mesh with nodes `n0` (local) .. `n{k-1}` joined in order.
fn mesh(k: usize) -> Mesh {
    let mut m = Mesh::new(MeshConfig::new(id("n0"))).unwrap();
    for i in 0..k {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i as u8)).unwrap();
    }
    m
}

/// [`mesh`]`(2)` with a `protocol` tunnel from `n0` to `n1` established at 0 s, and the two ids.
fn with_tunnel(protocol: TunnelProtocol) -> (Mesh, NodeId, NodeId) {
    let mut m = mesh(2);
    let (l, p) = (id("n0"), id("n1"));
    m.establish_tunnel(t(0.0), &l, &p, protocol).unwrap();
    (m, l, p)
}

/// The ids `n0` .. `n{k-1}` of [`mesh`]`(k)`.
fn names(k: usize) -> StdVec<NodeId> {
    (0..k).map(|i| id(&format!("n{i}"))).collect()
}

/// Records each `(from, to, latency in ms, up)` link at `at`, then recomputes the routes.
fn relink(m: &mut Mesh, at: f64, links: &[(&NodeId, &NodeId, u64, bool)]) {
    for &(a, b, w, up) in links {
        m.record_link(t(at), a, b, ms(w), up).unwrap();
    }
    m.recompute_routes(t(at));
}

// ---------------------------------------------------------------- allocation

#[test]
fn default_overlay_reserves_the_gateway_and_allocates_lowest_first() {
    let mut m = mesh(0);
    assert_eq!(m.cidr().to_string(), "10.0.0.0/16");
    assert_eq!(m.join_mesh(t(0.0), node("a", 1)), Ok(ip("10.0.0.2")));
    assert_eq!(m.join_mesh(t(0.0), node("b", 2)), Ok(ip("10.0.0.3")));
    assert_eq!(m.address_capacity(), 65_534 - 1);
    assert_eq!(m.leave_mesh(t(1.0), &id("a")), Ok(ip("10.0.0.2")));
    assert_eq!(m.join_mesh(t(2.0), node("c", 3)), Ok(ip("10.0.0.2")), "released address is reused");
    assert_eq!(m.node_by_address(ip("10.0.0.2")), Some(&id("c")));
}

fn fill(cidr: &str, gateway: bool) -> (usize, StdVec<IpAddr>) {
    let mut m = Mesh::new(config(cidr, gateway)).unwrap();
    let mut got = StdVec::new();
    for i in 0..small::MESH_NODES {
        match m.join_mesh(t(0.0), node(&format!("x{i}"), i as u8)) {
            Ok(a) => got.push(a),
            Err(JoinError::AddressesExhausted) => break,
            Err(e) => panic!("{e}"),
        }
    }
    (got.len(), got)
}

#[test]
fn exact_capacities_of_small_prefixes() {
    assert_eq!(fill("10.0.0.0/30", false), (2, std::vec![ip("10.0.0.1"), ip("10.0.0.2")]));
    assert_eq!(fill("10.0.0.0/30", true), (1, std::vec![ip("10.0.0.2")]));
    assert_eq!(fill("10.0.0.0/29", false).0, 6);
    assert_eq!(fill("10.0.0.0/29", true).0, 5);
    assert_eq!(fill("10.0.0.0/31", true), (2, std::vec![ip("10.0.0.0"), ip("10.0.0.1")]));
    assert_eq!(fill("10.0.0.9/32", true), (1, std::vec![ip("10.0.0.9")]));
    assert_eq!(fill("fd00::/127", true), (2, std::vec![ip("fd00::"), ip("fd00::1")]));
    assert_eq!(fill("fd00::7/128", true), (1, std::vec![ip("fd00::7")]));
    // IPv6 has no broadcast: a /126 offers offsets 1, 2 and 3 (0 is the subnet-router anycast).
    assert_eq!(fill("fd00::/126", false), (3, std::vec![ip("fd00::1"), ip("fd00::2"), ip("fd00::3")]));
    let m = Mesh::new(config("10.0.0.0/24", false)).unwrap();
    assert_eq!(m.address_capacity(), 254);
    let m = Mesh::new(config("10.0.0.0/24", true)).unwrap();
    assert_eq!(m.address_capacity(), 253);
}

#[test]
fn slash_24_holds_254_minus_reserved() {
    // The small preset holds 16 nodes, so count with a bigger table.
    let mut m = VPNMeshTopologyManager::<256, 16, 4>::new(config("10.0.0.0/24", true)).unwrap();
    let mut n = 0;
    while m.join_mesh(t(0.0), node(&format!("x{n}"), n as u8)).is_ok() {
        n += 1;
    }
    assert_eq!(n, 253);
    assert_eq!(m.join_mesh(t(0.0), node("late", 1)), Err(JoinError::AddressesExhausted));
    assert_eq!(m.len(), 253);
}

#[test]
fn explicit_requests_are_validated_and_then_skipped() {
    let mut cfg = config("10.0.0.0/24", true);
    cfg.reserved.push(ip("10.0.0.3")).unwrap();
    let mut m = Mesh::new(cfg).unwrap();
    let ask = |name: &str, a: &str| MeshNode { requested_address: Some(ip(a)), ..node(name, 9) };
    assert_eq!(m.join_mesh(t(0.0), ask("a", "10.0.1.5")), Err(JoinError::OutsideCidr(ip("10.0.1.5"))));
    assert_eq!(m.join_mesh(t(0.0), ask("a", "fd00::5")), Err(JoinError::OutsideCidr(ip("fd00::5"))));
    for bad in ["10.0.0.0", "10.0.0.255", "10.0.0.1", "10.0.0.3"] {
        assert_eq!(m.join_mesh(t(0.0), ask("a", bad)), Err(JoinError::NotAssignable(ip(bad))));
    }
    assert!(m.is_empty(), "rejected joins store nothing");
    assert_eq!(m.join_mesh(t(0.0), ask("a", "10.0.0.4")), Ok(ip("10.0.0.4")));
    assert_eq!(m.join_mesh(t(0.0), ask("b", "10.0.0.4")), Err(JoinError::AddressTaken(ip("10.0.0.4"))));
    assert_eq!(m.join_mesh(t(0.0), node("c", 3)), Ok(ip("10.0.0.2")));
    assert_eq!(m.join_mesh(t(0.0), node("d", 4)), Ok(ip("10.0.0.5")), "skips reserved .3 and requested .4");
    assert!(matches!(m.join_mesh(t(0.0), node("a", 1)), Err(JoinError::AlreadyJoined(_))));
    assert_eq!(m.len(), 3);
}

#[test]
fn full_table_rejects_and_consumes_nothing() {
    let mut m = mesh(small::MESH_NODES);
    let err = m.join_mesh(t(0.0), node("extra", 200)).unwrap_err();
    assert!(matches!(&err, JoinError::TableFull(e) if e.rejected == id("extra") && e.capacity == small::MESH_NODES));
    m.leave_mesh(t(0.0), &id("n15")).unwrap();
    // n15 held 10.0.0.17; the next join gets exactly that back.
    assert_eq!(m.join_mesh(t(0.0), node("extra", 200)), Ok(ip("10.0.0.17")));
}

#[test]
fn ipv6_overlay_allocates_without_enumerating() {
    let mut m = Mesh::new(config("fd00:1::/64", true)).unwrap();
    assert_eq!(m.join_mesh(t(0.0), node("a", 1)), Ok(ip("fd00:1::2")));
    let top = MeshNode { requested_address: Some(ip("fd00:1::ffff:ffff:ffff:ffff")), ..node("b", 2) };
    assert_eq!(m.join_mesh(t(0.0), top), Ok(ip("fd00:1::ffff:ffff:ffff:ffff")));
    assert_eq!(m.join_mesh(t(0.0), node("c", 3)), Ok(ip("fd00:1::3")));
    assert_eq!(m.address_capacity(), u128::from(u64::MAX) - 1);
}

#[test]
fn config_is_validated() {
    let mut cfg = config("10.0.0.0/24", true);
    cfg.reserved.push(ip("10.0.1.1")).unwrap();
    assert!(Mesh::new(cfg).is_err());
    let cfg = MeshConfig { reestablish_backoff: Duration::ZERO, ..MeshConfig::new(id("n0")) };
    assert!(Mesh::new(cfg).is_err());
    let mut cfg = MeshConfig::new(id("n0"));
    cfg.wireguard.failures_to_down = 0;
    assert!(Mesh::new(cfg).is_err());
}

#[derive(Clone, Debug)]
enum AllocOp {
    Join { request: Option<u8> },
    Leave { pick: usize },
}

fn alloc_op() -> impl Strategy<Value = AllocOp> {
    prop_oneof![
        3 => proptest::option::weighted(0.3, any::<u8>()).prop_map(|request| AllocOp::Join { request }),
        2 => any::<usize>().prop_map(|pick| AllocOp::Leave { pick }),
    ]
}

proptest! {
    /// Against a reference model of a /26 with the gateway and one extra address reserved:
    /// automatic joins take the lowest free assignable address, explicit requests are
    /// accepted exactly when assignable and free, addresses are unique, and a rejected
    /// join changes nothing.
    #[test]
    fn allocation_matches_reference(ops in proptest::collection::vec(alloc_op(), 1..120)) {
        let mut cfg = config("10.9.0.64/26", true);
        cfg.reserved.push(ip("10.9.0.70")).unwrap();
        let mut m = Mesh::new(cfg).unwrap();
        let reserved: BTreeSet<u32> = [1u32, 6].into_iter().collect();
        let mut model: BTreeMap<String, u32> = BTreeMap::new(); // node -> offset
        let mut next_name = 0;
        for op in ops {
            match op {
                AllocOp::Join { request } => {
                    let name = format!("j{next_name}");
                    next_name += 1;
                    let taken: BTreeSet<u32> = model.values().copied().collect();
                    let free = |o: u32| (1..=62).contains(&o) && !reserved.contains(&o) && !taken.contains(&o);
                    let mut n = node(&name, 1);
                    let expected = match request {
                        Some(r) => {
                            let o = u32::from(r) & 127; // half of these fall outside the /26
                            n.requested_address = Some(IpAddr::V4(core::net::Ipv4Addr::from(0x0a09_0040u32 + o)));
                            if o >= 64 { Err("outside") } else if !(1..=62).contains(&o) || reserved.contains(&o) { Err("reserved") }
                            else if taken.contains(&o) { Err("taken") } else { Ok(o) }
                        }
                        None => (1..=62).find(|o| free(*o)).ok_or("exhausted"),
                    };
                    let expected = if model.len() >= small::MESH_NODES { Err("full") } else { expected };
                    let before: StdVec<(String, IpAddr)> = m.nodes().map(|v| (v.id.to_string(), v.address)).collect();
                    match (m.join_mesh(t(0.0), n), expected) {
                        (Ok(a), Ok(o)) => {
                            prop_assert_eq!(a, IpAddr::V4(core::net::Ipv4Addr::from(0x0a09_0040u32 + o)));
                            model.insert(name, o);
                        }
                        (Err(JoinError::OutsideCidr(_)), Err("outside"))
                        | (Err(JoinError::NotAssignable(_)), Err("reserved"))
                        | (Err(JoinError::AddressTaken(_)), Err("taken"))
                        | (Err(JoinError::AddressesExhausted), Err("exhausted"))
                        | (Err(JoinError::TableFull(_)), Err("full")) => {
                            let after: StdVec<(String, IpAddr)> = m.nodes().map(|v| (v.id.to_string(), v.address)).collect();
                            prop_assert_eq!(before, after);
                        }
                        (got, want) => prop_assert!(false, "got {:?}, expected {:?}", got, want),
                    }
                }
                AllocOp::Leave { pick } => {
                    if model.is_empty() { continue; }
                    let name = model.keys().nth(pick % model.len()).unwrap().clone();
                    let o = model.remove(&name).unwrap();
                    prop_assert_eq!(m.leave_mesh(t(0.0), &id(&name)), Ok(IpAddr::V4(core::net::Ipv4Addr::from(0x0a09_0040u32 + o))));
                }
            }
            let addrs: BTreeSet<IpAddr> = m.nodes().map(|v| v.address).collect();
            prop_assert_eq!(addrs.len(), m.len());
            prop_assert_eq!(m.len(), model.len());
            for v in m.nodes() {
                prop_assert!(m.cidr().contains(v.address));
                prop_assert_eq!(v.address, IpAddr::V4(core::net::Ipv4Addr::from(0x0a09_0040u32 + model[v.id.as_str()])));
            }
        }
    }

    /// Joining and leaving forever in a /29 (5 usable with the gateway) never runs out
    /// as long as at most 5 nodes are in at once.
    #[test]
    fn churn_never_exhausts(picks in proptest::collection::vec(any::<u8>(), 1..300)) {
        let mut m = Mesh::new(config("10.0.0.8/29", true)).unwrap();
        let mut members: StdVec<String> = StdVec::new();
        for (i, p) in picks.into_iter().enumerate() {
            if members.len() == 5 || (p % 2 == 0 && !members.is_empty()) {
                let name = members.remove(usize::from(p) % members.len());
                m.leave_mesh(t(0.0), &id(&name)).unwrap();
            } else {
                let name = format!("c{i}");
                let a = m.join_mesh(t(0.0), node(&name, 1)).unwrap();
                prop_assert!(m.cidr().contains(a) && a != ip("10.0.0.8") && a != ip("10.0.0.9") && a != ip("10.0.0.15"));
                members.push(name);
            }
        }
    }
}

// ---------------------------------------------------------------- tunnels

#[test]
fn one_tunnel_record_per_unordered_pair() {
    let mut m = mesh(3);
    let (a, b) = (id("n1"), id("n2"));
    assert_eq!(m.establish_tunnel(t(0.0), &a, &b, TunnelProtocol::default()), Ok(TunnelState::Connecting));
    assert_eq!(m.establish_tunnel(t(1.0), &b, &a, TunnelProtocol::WireGuard), Ok(TunnelState::Connecting));
    assert_eq!(m.tunnels().count(), 1);
    let v = m.tunnel(&b, &a).unwrap();
    assert_eq!((v.a, v.b, v.protocol), (&a, &b, TunnelProtocol::WireGuard));
    assert_eq!(m.establish_tunnel(t(0.0), &a, &a, TunnelProtocol::Ipsec), Err(TunnelError::SelfLink));
    assert!(matches!(
        m.establish_tunnel(t(0.0), &a, &id("zz"), TunnelProtocol::Ipsec),
        Err(TunnelError::UnknownNode(_))
    ));
    assert_eq!(m.record_latency(t(0.0), &a, &id("n0"), ms(1)), Err(TunnelError::UnknownTunnel));
}

#[test]
fn wireguard_timers_drive_stale_and_down_with_hysteresis() {
    let (mut m, l, p) = with_tunnel(TunnelProtocol::WireGuard);
    assert_eq!(m.monitor_tunnel_health(t(100.0)).connecting, 1);
    assert_eq!(m.record_handshake(t(100.0), &p), Ok(TunnelState::Up));
    let r = m.monitor_tunnel_health(t(220.0));
    assert_eq!((r.up, r.rekey_due), (1, 1), "rekey is due 120 s after the handshake");
    assert_eq!(m.monitor_tunnel_health(t(280.0)).up, 1, "180 s old is not yet stale");
    assert_eq!(m.monitor_tunnel_health(t(280.5)).stale, 1);
    // failures: 1 at >180 s, one more per 5 s: the third at 190 s after the handshake.
    assert_eq!(m.monitor_tunnel_health(t(289.9)).stale, 1);
    let r = m.monitor_tunnel_health(t(290.0));
    assert_eq!((r.down, r.changed, r.reestablish_requests), (1, 1, 1));
    let req = m.poll_reestablish().unwrap();
    assert_eq!((req.a, req.b, req.attempt, req.at), (l.clone(), p.clone(), 1, t(290.0)));
    // One handshake is not enough to come back (m = 2) ...
    assert_eq!(m.record_handshake(t(291.0), &p), Ok(TunnelState::Down));
    assert_eq!(m.record_handshake(t(292.0), &p), Ok(TunnelState::Up));
    // ... and explicit failures take it down again after k = 3.
    for (i, want) in [TunnelState::Up, TunnelState::Up, TunnelState::Down].into_iter().enumerate() {
        assert_eq!(m.record_handshake_failure(t(293.0 + i as f64), &l, &p), Ok(want));
    }
    // Going down outside a health check still yields a first request at the next one.
    let r = m.monitor_tunnel_health(t(295.5));
    assert_eq!((r.down, r.reestablish_requests), (1, 1));
    assert_eq!(m.poll_reestablish().map(|r| (r.attempt, r.at)), Some((1, t(295.5))));
    // A handshake between failures resets the count.
    m.record_handshake(t(300.0), &p).unwrap();
    assert_eq!(m.record_handshake(t(301.0), &p), Ok(TunnelState::Up));
    m.record_handshake_failure(t(302.0), &l, &p).unwrap();
    m.record_handshake_failure(t(303.0), &l, &p).unwrap();
    m.record_handshake(t(304.0), &p).unwrap();
    assert_eq!(m.record_handshake_failure(t(305.0), &l, &p), Ok(TunnelState::Up));
}

/// A host that sleeps until `poll_timeout` and checks health only then sees
/// every change exactly when a host polling all the time would: stale just
/// past 180 s, down at the third failure (190 s), requests with backoff.
#[test]
fn poll_timeout_wakes_the_host_exactly_when_tunnel_health_changes() {
    let mut m = mesh(2);
    let (l, p) = (id("n0"), id("n1"));
    assert_eq!(m.poll_timeout(), Instant::MAX, "no tunnel, nothing to wait for");
    m.establish_tunnel(t(0.0), &l, &p, TunnelProtocol::WireGuard).unwrap();
    m.record_handshake(t(100.0), &p).unwrap();
    let mut seen = StdVec::new();
    let mut state = TunnelState::Up;
    for _ in 0..6 {
        let wake = m.poll_timeout();
        // Nothing changes a microsecond before the wake-up ...
        let before = m.monitor_tunnel_health(wake - Duration::from_micros(1));
        assert_eq!((before.changed, before.reestablish_requests), (0, 0), "nothing due before {wake:?}");
        // ... and the state, failures or requests move at it.
        m.monitor_tunnel_health(wake);
        let now = m.tunnel(&l, &p).unwrap().state;
        if now != state {
            seen.push((wake, now));
            state = now;
        }
        while let Some(MeshEvent::Reestablish(r)) = m.poll_event() {
            seen.push((r.at, TunnelState::Down));
        }
    }
    let want = [
        (t(280.0) + Duration::from_micros(1), TunnelState::Stale),
        (t(290.0), TunnelState::Down),
        (t(290.0), TunnelState::Down),
        (t(295.0), TunnelState::Down),
        (t(305.0), TunnelState::Down),
    ];
    assert_eq!(seen[..want.len()], want);
}

#[test]
fn never_handshaked_tunnel_goes_down_and_reestablish_backs_off() {
    let (mut m, _, _) = with_tunnel(TunnelProtocol::WireGuard);
    assert_eq!(m.monitor_tunnel_health(t(189.0)).connecting, 1);
    assert_eq!(m.monitor_tunnel_health(t(190.0)).down, 1);
    // Requests at 190, then after 5, 10, 20, 40, ... s, capped at 300 s.
    let mut at = StdVec::new();
    let mut now = 190.0;
    while now <= 190.0 + 1600.0 {
        m.monitor_tunnel_health(t(now));
        while let Some(r) = m.poll_reestablish() {
            at.push((r.attempt, r.at.total_micros() / 1_000_000));
        }
        now += 1.0;
    }
    let want: StdVec<(u32, u64)> = [
        (1, 190),
        (2, 195),
        (3, 205),
        (4, 225),
        (5, 265),
        (6, 345),
        (7, 505),
        (8, 805),
        (9, 1105),
        (10, 1405),
        (11, 1705),
    ]
    .into_iter()
    .collect();
    assert_eq!(at, want);
}

/// The failure count derived from time saturates: with the finest accepted timers
/// (stale at once, a failure every microsecond) and the latest instant, counting
/// `1 + elapsed / interval` failures must neither overflow nor wrap to zero.
#[test]
fn failure_count_from_time_saturates_at_the_end_of_time() {
    let fine = TunnelTimers {
        stale_after: Duration::ZERO,
        failure_interval: Duration::from_micros(1),
        ..TunnelTimers::WIREGUARD
    };
    let mut m = Mesh::new(MeshConfig { wireguard: fine, ..MeshConfig::new(id("n0")) }).unwrap();
    m.join_mesh(Instant::ZERO, node("n0", 0)).unwrap();
    m.join_mesh(Instant::ZERO, node("n1", 1)).unwrap();
    m.establish_tunnel(Instant::ZERO, &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    assert_eq!(m.monitor_tunnel_health(Instant::MAX).down, 1);
}

#[test]
fn protocol_timers_differ() {
    let (mut m, l, p) = with_tunnel(TunnelProtocol::OpenVpn);
    m.record_handshake(t(0.0), &p).unwrap();
    assert_eq!(m.monitor_tunnel_health(t(61.0)).stale, 1, "OpenVPN's ping-restart is 60 s");
    // Changing the protocol starts a fresh record.
    assert_eq!(m.establish_tunnel(t(62.0), &l, &p, TunnelProtocol::Ipsec), Ok(TunnelState::Connecting));
    assert_eq!(m.tunnel(&l, &p).unwrap().protocol, TunnelProtocol::Ipsec);
}

#[test]
fn latency_is_smoothed_and_traffic_gives_bandwidth() {
    let (mut m, l, p) = with_tunnel(TunnelProtocol::WireGuard);
    assert_eq!(m.record_latency(t(1.0), &l, &p, ms(100)), Ok(ms(100)));
    assert_eq!(m.record_latency(t(2.0), &p, &l, ms(200)), Ok(Duration::from_micros(112_500)));
    assert_eq!(m.record_traffic(t(10.0), &l, &p, 1000, 0), Ok(0));
    assert_eq!(m.record_traffic(t(12.0), &l, &p, 5000, 2000), Ok(3000));
    assert_eq!(m.record_traffic(t(13.0), &l, &p, 10, 10), Ok(0), "counter reset starts a new baseline");
    assert_eq!(m.topology_report().total_bandwidth, 0);
    assert_eq!(m.record_traffic(t(14.0), &l, &p, 1010, 10), Ok(1000));
    let r = m.topology_report();
    assert_eq!((r.total_bandwidth, r.average_tunnel_latency), (1000, Some(Duration::from_micros(112_500))));
}

#[test]
fn leaving_removes_tunnels_links_and_routes() {
    let mut m = mesh(3);
    let (l, a, b) = (id("n0"), id("n1"), id("n2"));
    m.record_link(t(0.0), &l, &a, ms(1), true).unwrap();
    m.establish_tunnel(t(0.0), &a, &b, TunnelProtocol::WireGuard).unwrap();
    m.record_link(t(0.0), &a, &b, ms(1), true).unwrap();
    m.record_link(t(0.0), &l, &b, ms(10), true).unwrap();
    m.recompute_routes(t(0.0));
    assert_eq!(m.route(&b).unwrap().next_hop, Some(&b), "the a-b tunnel is not up, its link is unused");
    m.record_tunnel_handshake(t(1.0), &a, &b).unwrap();
    m.recompute_routes(t(1.0));
    assert_eq!(m.route(&b).unwrap().next_hop, Some(&a));
    while m.poll_route_change().is_some() {}
    m.leave_mesh(t(2.0), &a).unwrap();
    assert_eq!(m.tunnels().count(), 0);
    assert_eq!(m.topology_report().links, 1);
    assert!(m.route(&a).is_none());
    let r = m.route(&b).unwrap();
    assert_eq!((r.next_hop, r.cost), (Some(&b), ms(10)));
    let change = m.poll_route_change().unwrap();
    assert_eq!((change.destination, change.old_next_hop, change.new_next_hop), (b.clone(), Some(a.clone()), Some(b)));
}

// ---------------------------------------------------------------- routing

#[test]
fn dijkstra_prefers_latency_then_hops_then_lowest_id() {
    let mut m = mesh(5);
    let n = names(5);
    // n0-n1-n4 costs 10+10, n0-n2-n4 costs 5+15, n0-n3-n4 costs 20+0, n0-n4 direct costs 20.
    let l = |a: usize, b: usize, w| (&n[a], &n[b], w, true);
    relink(&mut m, 0.0, &[l(0, 1, 10), l(1, 4, 10), l(0, 2, 5), l(2, 4, 15), l(0, 3, 20), l(3, 4, 0), l(0, 4, 20)]);
    let r = m.route(&n[4]).unwrap();
    assert_eq!((r.next_hop, r.cost, r.hops, r.held), (Some(&n[4]), ms(20), 1, false), "fewest hops wins the tie");
    relink(&mut m, 1.0, &[(&n[0], &n[4], 30, true)]);
    // Now three two-hop paths of 20 ms: the lowest predecessor id (n1) wins.
    let r = m.route(&n[4]).unwrap();
    assert_eq!((r.next_hop, r.hops), (Some(&n[1]), 2));
    let path: StdVec<&NodeId> = m.shortest_path(&n[4]).unwrap().collect();
    assert_eq!(path, [&n[4], &n[1], &n[0]]);
    relink(&mut m, 2.0, &[(&n[1], &n[4], 10, false), (&n[3], &n[4], 0, false)]);
    let r = m.route(&n[4]).unwrap();
    assert_eq!(r.next_hop, Some(&n[2]), "down links are never used");
}

#[test]
fn unreachable_destinations_are_reported() {
    let mut m = mesh(3);
    m.record_link(t(0.0), &id("n0"), &id("n1"), ms(3), true).unwrap();
    m.recompute_routes(t(0.0));
    let r = m.route(&id("n2")).unwrap();
    assert_eq!((r.next_hop, r.cost), (None, Duration::MAX));
    assert!(m.shortest_path(&id("n2")).is_none());
    let rep = m.topology_report();
    assert_eq!((rep.nodes, rep.reachable, rep.unreachable), (3, 1, 1));
    assert_eq!(rep.connectivity_ratio, 0.5);
    assert_eq!(rep.average_route_latency, Some(ms(3)));
}

#[test]
fn hysteresis_keeps_a_next_hop_until_clearly_beaten() {
    let mut m = mesh(4);
    let n = names(4);
    // Route to n3 via n1: 10 + 90 = 100 ms.
    let l = |a: usize, b: usize, w| (&n[a], &n[b], w, true);
    relink(&mut m, 0.0, &[l(0, 1, 10), l(1, 3, 90), l(0, 2, 10), l(2, 3, 200)]);
    assert_eq!(m.route(&n[3]).unwrap().next_hop, Some(&n[1]));
    // Via n2 becomes 95 ms: 5 % better, under the 10 % margin: keep n1.
    relink(&mut m, 1.0, &[l(2, 3, 85)]);
    let r = m.route(&n[3]).unwrap();
    assert_eq!((r.next_hop, r.cost, r.held), (Some(&n[1]), ms(100), true));
    // 80 ms: 20 % and 20 ms better: switch.
    relink(&mut m, 2.0, &[l(2, 3, 70)]);
    let r = m.route(&n[3]).unwrap();
    assert_eq!((r.next_hop, r.cost, r.held), (Some(&n[2]), ms(80), false));
    // Back to 78 ms via n1 vs 80 via n2: keep n2. Then n2's link to n0 goes down: leave at once.
    relink(&mut m, 3.0, &[l(1, 3, 68)]);
    assert_eq!(m.route(&n[3]).unwrap().next_hop, Some(&n[2]));
    relink(&mut m, 4.0, &[(&n[0], &n[2], 10, false)]);
    let r = m.route(&n[3]).unwrap();
    assert_eq!((r.next_hop, r.cost, r.held), (Some(&n[1]), ms(78), false));
    let changes: StdVec<RouteChange> = core::iter::from_fn(|| m.poll_route_change()).collect();
    let to_n3: StdVec<(Option<NodeId>, Option<NodeId>)> =
        changes.into_iter().filter(|c| c.destination == n[3]).map(|c| (c.old_next_hop, c.new_next_hop)).collect();
    assert_eq!(
        to_n3,
        [
            (None, Some(n[1].clone())),
            (Some(n[1].clone()), Some(n[2].clone())),
            (Some(n[2].clone()), Some(n[1].clone()))
        ]
    );
}

#[test]
fn hysteresis_never_keeps_a_next_hop_that_is_not_closer() {
    let mut m = mesh(3);
    let n = names(3);
    relink(&mut m, 0.0, &[(&n[0], &n[1], 10, true), (&n[1], &n[2], 10, true)]);
    assert_eq!(m.route(&n[2]).unwrap().next_hop, Some(&n[1]));
    // A direct link of 19 ms: within the margin, but now n1's best way to n2 is 10 ms,
    // still closer than our 19: keep. When n1-n2 goes down, n1 is only reachable back
    // through us, so it is not closer: switch.
    relink(&mut m, 1.0, &[(&n[0], &n[2], 19, true)]);
    assert_eq!(m.route(&n[2]).unwrap().next_hop, Some(&n[1]));
    relink(&mut m, 2.0, &[(&n[1], &n[2], 10, false)]);
    assert_eq!(m.route(&n[2]).unwrap().next_hop, Some(&n[2]));
}

#[test]
fn link_state_adverts_replace_and_stale_ones_are_ignored() {
    let mut m = mesh(4);
    let n = names(4);
    let advert = |seq: u64, links: &[(&NodeId, u64, bool)]| {
        let mut v = heapless::Vec::new();
        for (nb, l, up) in links {
            v.push(LinkAdvert { neighbor: (*nb).clone(), latency: ms(*l), up: *up }).unwrap();
        }
        LinkState { sequence: seq, links: v }
    };
    m.record_link(t(0.0), &n[0], &n[1], ms(1), true).unwrap();
    let a = advert(5, &[(&n[2], 4, true), (&n[3], 9, true), (&id("ghost"), 1, true), (&n[1], 1, true)]);
    assert_eq!(m.handle_link_state(t(0.0), &n[1], &a), Ok(LinkStateOutcome::Applied { ignored: 2 }));
    m.recompute_routes(t(0.0));
    assert_eq!(m.route(&n[3]).unwrap().cost, ms(10));
    // An older or repeated sequence number changes nothing.
    let old = advert(5, &[(&n[3], 1, true)]);
    assert_eq!(m.handle_link_state(t(1.0), &n[1], &old), Ok(LinkStateOutcome::Stale));
    assert!(!m.routes_outdated());
    // A newer advert replaces the sender's links: n1-n3 disappears.
    let newer = advert(6, &[(&n[2], 4, true)]);
    assert_eq!(m.handle_link_state(t(2.0), &n[1], &newer), Ok(LinkStateOutcome::Applied { ignored: 0 }));
    m.recompute_routes(t(2.0));
    assert_eq!(m.route(&n[3]).unwrap().next_hop, None);
    assert_eq!(m.topology_report().links, 2);
    assert!(matches!(m.handle_link_state(t(2.0), &id("ghost"), &newer), Err(LinkStateError::UnknownSender(_))));
}

#[test]
fn link_table_overflow_rejects_the_whole_advert() {
    let mut m = VPNMeshTopologyManager::<8, 4, 4>::new(MeshConfig::new(id("n0"))).unwrap();
    for i in 0..6 {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i)).unwrap();
    }
    m.record_link(t(0.0), &id("n0"), &id("n1"), ms(1), true).unwrap();
    m.record_link(t(0.0), &id("n0"), &id("n2"), ms(1), true).unwrap();
    let mut links = heapless::Vec::new();
    for i in 1..6 {
        links.push(LinkAdvert { neighbor: id(&format!("n{i}")), latency: ms(1), up: true }).unwrap();
    }
    let big = LinkState { sequence: 1, links };
    assert_eq!(m.handle_link_state(t(0.0), &id("n3"), &big), Err(LinkStateError::TableFull { capacity: 4 }));
    assert_eq!(m.topology_report().links, 2);
    // A retry with a fitting advert is not considered stale.
    let mut links = heapless::Vec::new();
    links.push(LinkAdvert { neighbor: id("n4"), latency: ms(1), up: true }).unwrap();
    assert_eq!(
        m.handle_link_state(t(0.0), &id("n3"), &LinkState { sequence: 1, links }),
        Ok(LinkStateOutcome::Applied { ignored: 0 })
    );
    assert_eq!(m.record_link(t(0.0), &id("n4"), &id("n5"), ms(1), true), Ok(()));
    assert_eq!(m.record_link(t(0.0), &id("n1"), &id("n5"), ms(1), true), Err(TunnelError::TableFull { capacity: 4 }));
}

#[test]
fn capacities_need_not_be_powers_of_two() {
    let mut m = VPNMeshTopologyManager::<6, 3, 4>::new(MeshConfig::new(id("n0"))).unwrap();
    for i in 0..6 {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i)).unwrap();
    }
    let err = m.join_mesh(t(0.0), node("n6", 6)).unwrap_err();
    assert!(matches!(err, JoinError::TableFull(e) if e.capacity == 6));
    for i in 1..4 {
        m.record_link(t(0.0), &id("n0"), &id(&format!("n{i}")), ms(1), true).unwrap();
    }
    assert_eq!(m.record_link(t(0.0), &id("n0"), &id("n4"), ms(1), true), Err(TunnelError::TableFull { capacity: 3 }));
    assert_eq!(m.topology_report().links, 3);
}

#[test]
fn local_advert_lists_own_tunnels() {
    let mut m = mesh(3);
    assert!(mesh(0).local_link_state().is_none());
    m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    m.establish_tunnel(t(0.0), &id("n1"), &id("n2"), TunnelProtocol::WireGuard).unwrap();
    m.record_handshake(t(0.0), &id("n1")).unwrap();
    m.record_latency(t(0.0), &id("n0"), &id("n1"), ms(7)).unwrap();
    let a = m.local_link_state().unwrap();
    let b = m.local_link_state().unwrap();
    assert_eq!((a.sequence, b.sequence), (1, 2));
    assert_eq!(a.links.as_slice(), &[LinkAdvert { neighbor: id("n1"), latency: ms(7), up: true }]);
}

#[test]
fn route_change_queue_overflow_is_counted() {
    let mut m = VPNMeshTopologyManager::<16, 32, 2>::new(MeshConfig::new(id("n0"))).unwrap();
    for i in 0..5 {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i)).unwrap();
        if i > 0 {
            m.record_link(t(0.0), &id("n0"), &id(&format!("n{i}")), ms(1), true).unwrap();
        }
    }
    m.recompute_routes(t(0.0));
    assert_eq!(core::iter::from_fn(|| m.poll_route_change()).count(), 2);
    assert_eq!(m.topology_report().dropped_route_changes, 2);
}

/// A random undirected graph on `n` nodes: (a, b, latency ms, up).
fn graph() -> impl Strategy<Value = (usize, StdVec<(usize, usize, u64, bool)>)> {
    (2usize..12).prop_flat_map(|n| {
        let edge = (0..n, 0..n, 0u64..40, proptest::bool::weighted(0.85));
        (Just(n), proptest::collection::vec(edge, 0..36))
    })
}

type Key = Option<(u64, u32)>;

/// Floyd–Warshall over `(latency, hops)` pairs, compared lexicographically.
fn floyd_warshall(n: usize, edges: &BTreeMap<(usize, usize), (u64, bool)>) -> StdVec<StdVec<Key>> {
    let mut d = std::vec![std::vec![None; n]; n];
    for (i, row) in d.iter_mut().enumerate() {
        row[i] = Some((0, 0));
    }
    for (&(a, b), &(w, up)) in edges {
        if up {
            let k = Some((w, 1));
            d[a][b] = d[a][b].min(k).or(k);
            d[b][a] = d[a][b];
        }
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if let (Some(x), Some(y)) = (d[i][k], d[k][j]) {
                    let via = (x.0 + y.0, x.1 + y.1);
                    if d[i][j].is_none_or(|cur| via < cur) {
                        d[i][j] = Some(via);
                    }
                }
            }
        }
    }
    d
}

fn apply_graph(m: &mut Mesh, at: f64, edges: &BTreeMap<(usize, usize), (u64, bool)>) {
    for (&(a, b), &(w, up)) in edges {
        m.record_link(t(at), &id(&format!("n{a}")), &id(&format!("n{b}")), ms(w), up).unwrap();
    }
}

fn dedup(n: usize, raw: &[(usize, usize, u64, bool)]) -> BTreeMap<(usize, usize), (u64, bool)> {
    let mut edges = BTreeMap::new();
    for &(a, b, w, up) in raw {
        if a != b && a < n && b < n {
            edges.insert((a.min(b), a.max(b)), (w, up));
        }
    }
    edges
}

fn ms_key(k: (u64, u32)) -> (u64, u32) {
    (k.0 * 1000, k.1)
}

proptest! {
    /// Route costs and hop counts equal Floyd–Warshall's, unreachable nodes are exactly
    /// those FW cannot reach, every next hop is an up neighbour on a shortest path and
    /// strictly closer to the destination, and the result does not depend on the order
    /// links were learnt.
    #[test]
    fn routes_match_floyd_warshall((n, raw) in graph()) {
        let edges = dedup(n, &raw);
        let fw = floyd_warshall(n, &edges);
        let mut m = mesh(n);
        apply_graph(&mut m, 0.0, &edges);
        m.recompute_routes(t(0.0));
        let mut reversed = mesh(n);
        for (&(a, b), &(w, up)) in edges.iter().rev() {
            reversed.record_link(t(0.0), &id(&format!("n{b}")), &id(&format!("n{a}")), ms(w), up).unwrap();
        }
        reversed.recompute_routes(t(0.0));
        for v in 1..n {
            let r = m.route(&id(&format!("n{v}"))).unwrap();
            let r2 = reversed.route(&id(&format!("n{v}"))).unwrap();
            prop_assert_eq!((r.next_hop, r.cost, r.hops), (r2.next_hop, r2.cost, r2.hops));
            match fw[0][v] {
                None => prop_assert_eq!(r.next_hop, None),
                Some(k) => {
                    prop_assert_eq!((r.cost.total_micros(), r.hops), ms_key(k));
                    let nh: usize = r.next_hop.unwrap().as_str()[1..].parse().unwrap();
                    let &(w, up) = edges.get(&(0, nh)).unwrap();
                    prop_assert!(up);
                    let via = fw[nh][v].unwrap();
                    prop_assert_eq!((w + via.0, via.1 + 1), k, "next hop lies on a shortest path");
                    prop_assert!(via < k, "next hop strictly closer");
                    let path: StdVec<String> = m.shortest_path(&id(&format!("n{v}"))).unwrap().map(|x| x.to_string()).collect();
                    prop_assert_eq!(path.len() as u32, k.1 + 1);
                    prop_assert_eq!(path.last().map(String::as_str), Some("n0"));
                }
            }
        }
    }

    /// Under random latency changes and link failures, hysteresis never keeps a route
    /// over a down link, every next hop stays strictly closer to its destination, and a
    /// held route is never worse than the best by both margins.
    #[test]
    fn hysteresis_stays_loop_free((n, raw) in graph(), changes in proptest::collection::vec((any::<usize>(), 0u64..40, proptest::bool::weighted(0.8)), 1..30)) {
        let mut edges = dedup(n, &raw);
        let mut m = mesh(n);
        apply_graph(&mut m, 0.0, &edges);
        m.recompute_routes(t(0.0));
        let keys: StdVec<(usize, usize)> = edges.keys().copied().collect();
        for (step, (pick, w, up)) in changes.into_iter().enumerate() {
            if keys.is_empty() { break; }
            let k = keys[pick % keys.len()];
            edges.insert(k, (w, up));
            m.record_link(t(step as f64), &id(&format!("n{}", k.0)), &id(&format!("n{}", k.1)), ms(w), up).unwrap();
            m.recompute_routes(t(step as f64));
            let fw = floyd_warshall(n, &edges);
            for v in 1..n {
                let r = m.route(&id(&format!("n{v}"))).unwrap();
                let Some(best) = fw[0][v] else {
                    prop_assert_eq!(r.next_hop, None);
                    continue;
                };
                let nh: usize = r.next_hop.unwrap().as_str()[1..].parse().unwrap();
                let &(lw, lup) = edges.get(&(0, nh)).unwrap();
                prop_assert!(lup, "next hop over a down link");
                let via = fw[nh][v].unwrap();
                prop_assert!(via < best, "next hop not strictly closer");
                let cost = (lw + via.0) * 1000;
                prop_assert_eq!(r.cost.total_micros(), cost);
                let best_us = best.0 * 1000;
                prop_assert!(cost < best_us + 5000 || cost * 1000 < best_us * 1100, "held a clearly worse route");
                if !r.held {
                    prop_assert_eq!((lw + via.0, via.1 + 1), best, "an unheld route is a shortest one");
                }
            }
        }
    }
}

type Wide = VPNMeshTopologyManager<40, 256, 8>;

fn wide(n: usize, reference: bool, margin: Duration, permille: u32) -> Box<Wide> {
    let config = MeshConfig { switch_margin: margin, switch_margin_permille: permille, ..MeshConfig::new(id("n0")) };
    let mut m = Wide::new_boxed(config).unwrap();
    m.reference_hysteresis = reference;
    for i in 0..n {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i as u8)).unwrap();
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The bounded hysteresis searches decide exactly as unbounded per-neighbour
    /// Dijkstras (the previous implementation, kept as the reference): same next
    /// hop, cost, hops and `held` for every destination after every change, on
    /// random graphs of up to 40 nodes with ties (latencies from a small set)
    /// and margins that detours hit exactly.
    #[test]
    fn bounded_hysteresis_matches_reference(
        n in 2usize..40,
        raw in proptest::collection::vec((any::<u16>(), any::<u16>(), 0u64..12, proptest::bool::weighted(0.9)), 1..160),
        changes in proptest::collection::vec((any::<u16>(), any::<u16>(), 0u64..12, proptest::bool::weighted(0.85)), 1..40),
        unit in prop_oneof![Just(1u64), Just(997u64), Just(5_000u64)],
        margin in 0u64..4,
        permille in prop_oneof![Just(0u32), Just(100), Just(250), Just(1000)],
    ) {
        // Margins in multiples of the latency unit, so detours land exactly on them.
        let margin = Duration::from_micros(margin * unit);
        let (mut fast, mut slow) = (wide(n, false, margin, permille), wide(n, true, margin, permille));
        let apply = |m: &mut Wide, at: u64, (a, b, w, up): (u16, u16, u64, bool)| {
            let (a, b) = (a as usize % n, b as usize % n);
            if a != b {
                let _ = m.record_link(Instant::from_micros(at), &id(&format!("n{a}")), &id(&format!("n{b}")), Duration::from_micros(w * unit), up);
            }
        };
        for &e in &raw {
            apply(&mut fast, 0, e);
            apply(&mut slow, 0, e);
        }
        for (step, &c) in core::iter::once(&(0, 0, 0, true)).chain(changes.iter()).enumerate() {
            if step > 0 {
                apply(&mut fast, step as u64, c);
                apply(&mut slow, step as u64, c);
            }
            fast.recompute_routes(Instant::from_micros(step as u64));
            slow.recompute_routes(Instant::from_micros(step as u64));
            for (f, s) in fast.routes().zip(slow.routes()) {
                prop_assert_eq!(f.destination, s.destination);
                prop_assert_eq!((f.next_hop, f.cost, f.hops, f.held), (s.next_hop, s.cost, s.hops, s.held), "step {}", step);
            }
            prop_assert_eq!(fast.routes().count(), n - 1);
        }
    }
}

/// Dijkstra by scanning for the closest unsettled node, over `(latency, hops)`
/// with sums saturating at `MAX_COST`: `(dist, hops, pred)` per node, the
/// predecessor the lowest-numbered among those on a best path.
fn scan_dijkstra(n: usize, edges: &[(u32, u32, u64)], src: usize) -> StdVec<Option<(u64, u32, u32)>> {
    let mut key: StdVec<Option<(u64, u32)>> = std::vec![None; n];
    let mut done = std::vec![false; n];
    key[src] = Some((0, 0));
    let adj = |u: usize| {
        edges.iter().filter_map(move |&(a, b, w)| match (a as usize == u, b as usize == u) {
            (true, _) => Some((b as usize, w)),
            (_, true) => Some((a as usize, w)),
            _ => None,
        })
    };
    while let Some(u) = (0..n).filter(|&v| !done[v] && key[v].is_some()).min_by_key(|&v| key[v]) {
        done[u] = true;
        let (d, h) = key[u].unwrap();
        for (v, w) in adj(u) {
            let cand = ((d.saturating_add(w)).min(routing::MAX_COST), h + 1);
            if key[v].is_none_or(|k| cand < k) {
                key[v] = Some(cand);
            }
        }
    }
    (0..n)
        .map(|v| {
            let (d, h) = key[v]?;
            let pred = adj(v)
                .filter(|&(u, w)| {
                    key[u].is_some_and(|(du, hu)| (du.saturating_add(w).min(routing::MAX_COST), hu + 1) == (d, h))
                })
                .map(|(u, _)| u as u32)
                .min()
                .unwrap_or(routing::NONE);
            Some((d, h, pred))
        })
        .collect()
}

/// A random graph for the shortest-path tests: `(nodes, links)`, latencies
/// from a small set (ties, zeros) or a wide range, some near `u64::MAX`.
fn sp_graph() -> impl Strategy<Value = (usize, StdVec<(u32, u32, u64)>)> {
    (1usize..40).prop_flat_map(|n| {
        let weight = prop_oneof![
            4 => 0u64..4,
            4 => 0u64..100_000,
            1 => (u64::MAX / 4)..u64::MAX,
        ];
        let link = (0..n as u32, 0..n as u32, weight);
        (
            Just(n),
            proptest::collection::vec(link, 0..160).prop_map(|links| {
                let mut seen = BTreeSet::new();
                links.into_iter().filter(|&(a, b, _)| a != b && seen.insert((a.min(b), a.max(b)))).collect()
            }),
        )
    })
}

proptest! {
    /// Over more than 64 nodes (the rebuild sorts by groups of nodes first),
    /// the adjacency holds each link both ways, each under the node it leaves.
    #[test]
    fn adjacency_holds_each_link_both_ways(
        n in 1usize..600,
        raw in proptest::collection::vec((any::<u32>(), any::<u32>(), 0u64..1_000), 0..1_200),
    ) {
        let mut seen = BTreeSet::new();
        let links: StdVec<(u32, u32, u64)> = raw
            .into_iter()
            .map(|(a, b, w)| (a % n as u32, b % n as u32, w))
            .filter(|&(a, b, _)| a != b && seen.insert((a.min(b), a.max(b))))
            .collect();
        let mut csr: Box<routing::Csr<600, 1_200>> = Box::new(routing::Csr::new());
        csr.rebuild(n, || links.iter().copied());
        adjacency_is(&csr, n, &links)?;
    }
}

/// Checks that `csr` holds each of the `n` nodes' `links` both ways, and nothing else.
fn adjacency_is<const N: usize, const E: usize>(
    csr: &routing::Csr<N, E>,
    n: usize,
    links: &[(u32, u32, u64)],
) -> Result<(), TestCaseError> {
    let mut got: StdVec<(u32, u32, u64)> =
        (0..n as u32).flat_map(|v| csr.neighbours(v).map(move |h| (v, h.to, h.weight))).collect();
    let mut want: StdVec<(u32, u32, u64)> = links.iter().flat_map(|&(a, b, w)| [(a, b, w), (b, a, w)]).collect();
    got.sort_unstable();
    want.sort_unstable();
    prop_assert_eq!(got, want);
    Ok(())
}

proptest! {
    /// The adjacency holds each link both ways, and the radix-queue Dijkstra
    /// finds every node's `(dist, hops)` and lowest-numbered predecessor as a
    /// scanning Dijkstra does (sums saturating alike), and first hops that
    /// follow the predecessors; a detour-bounded run settles each node exactly
    /// or leaves it unreachable, and settles every target below the stop.
    #[test]
    fn radix_queue_dijkstra_matches_a_scanning_one((n, links) in sp_graph(), src in any::<u32>(), stop in 0u64..200_000) {
        let src = src % n as u32;
        let mut csr: routing::Csr<40, 160> = routing::Csr::new();
        csr.rebuild(n, || links.iter().copied());
        adjacency_is(&csr, n, &links)?;

        let reference = scan_dijkstra(n, &links, src as usize);
        let mut sp: routing::ShortestPaths<40> = routing::ShortestPaths::new();
        sp.run(&csr, src, routing::Bound::Unbounded, |a, b| a < b);
        for v in 0..n {
            match reference[v] {
                None => prop_assert_eq!(sp.key(v as u32).0, routing::INF),
                Some((d, h, pred)) => {
                    prop_assert_eq!(sp.key(v as u32), (d, h), "node {}", v);
                    if v as u32 != src {
                        prop_assert_eq!(sp.pred[v], pred, "node {}", v);
                        let first = if pred == src { v as u32 } else { sp.first_hop[pred as usize] };
                        prop_assert_eq!(sp.first_hop[v], first);
                    }
                }
            }
        }

        // A detour-bounded run from a neighbour of `src` (potential: `src`'s distances).
        let Some(h) = csr.neighbours(src).next() else { return Ok(()) };
        let potential = sp.dist.clone();
        let from_nb = scan_dijkstra(n, &links, h.to as usize);
        let target: StdVec<bool> = (0..n).map(|v| v % 3 == 0).collect();
        let targets = target.iter().filter(|&&t| t).count();
        let mut alt: routing::ShortestPaths<40> = routing::ShortestPaths::new();
        let bound = routing::Bound::Detour { potential: &potential, offset: h.weight, stop, target: &target, targets };
        alt.run(&csr, h.to, bound, |a, b| a < b);
        // Only where no sum saturates are detours monotone and the search exact.
        if links.iter().any(|l| l.2 >= u64::MAX / 4) {
            return Ok(());
        }
        for v in 0..n {
            let (d, hops) = alt.key(v as u32);
            let exact = from_nb[v].map(|(d, h, _)| (d, h));
            if d != routing::INF {
                prop_assert_eq!(Some((d, hops)), exact, "node {}", v);
            }
            let detour = exact.map(|(d, _)| h.weight + d - potential[v]);
            if target[v] && detour.is_some_and(|x| x < stop) {
                prop_assert_eq!(Some((d, hops)), exact, "target {} below the stop", v);
            }
        }
    }
}

// ---------------------------------------------------------------- WireGuard output

fn render(m: &Mesh, options: &WireGuardOptions<'_>) -> String {
    let mut buf = [0u8; 8192];
    let n = m.render_wireguard(options, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn renders_wg_quick_exactly() {
    let mut m = mesh(4);
    let n = names(4);
    // n0 has tunnels to n2 and n1 (established in that order); n3 sits behind n1.
    for p in [&n[2], &n[1]] {
        m.establish_tunnel(t(0.0), &n[0], p, TunnelProtocol::WireGuard).unwrap();
        m.record_handshake(t(1.0), p).unwrap();
    }
    m.record_link(t(1.0), &n[1], &n[3], ms(5), true).unwrap();
    m.recompute_routes(t(1.0));
    let key = WgKey::from_bytes([7; 32]);
    let text = render(&m, &WireGuardOptions { private_key: Some(&key), ..WireGuardOptions::default() });
    let k1 = WgKey::from_bytes({
        let mut k = [0u8; 32];
        k[0] = 1;
        k[31] = 0xa5;
        k
    });
    let k2 = WgKey::from_bytes({
        let mut k = [0u8; 32];
        k[0] = 2;
        k[31] = 0xa5;
        k
    });
    let want = format!(
        "[Interface]\nAddress = 10.0.0.2/16\nListenPort = 51820\nPrivateKey = {key}\n\
         \n[Peer]\nPublicKey = {k1}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 10.0.0.3/32, 10.0.0.5/32\nPersistentKeepalive = 25\n\
         \n[Peer]\nPublicKey = {k2}\nEndpoint = 192.0.2.2:51820\nAllowedIPs = 10.0.0.4/32\nPersistentKeepalive = 25\n"
    );
    assert_eq!(text, want);
    let setconf = render(
        &m,
        &WireGuardOptions { format: WireGuardFormat::SetConf, listen_port: Some(7), ..WireGuardOptions::default() },
    );
    assert!(setconf.starts_with("[Interface]\nListenPort = 7\n\n[Peer]\n"));
    assert!(!setconf.contains("Address") && !setconf.contains("PrivateKey"));
}

#[test]
fn render_reports_needed_length() {
    let mut m = mesh(2);
    m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    let full = render(&m, &WireGuardOptions::default());
    let mut small_buf = [0u8; 16];
    assert_eq!(
        m.render_wireguard(&WireGuardOptions::default(), &mut small_buf),
        Err(RenderError::BufferTooSmall { needed: full.len() })
    );
    let mut exact = std::vec![0u8; full.len()];
    assert_eq!(m.render_wireguard(&WireGuardOptions::default(), &mut exact), Ok(full.len()));
    // Unreachable yet, the connecting peer carries its own address: that is what
    // lets the first handshake carry traffic.
    assert!(full.contains("AllowedIPs = 10.0.0.3/32\n"), "{full}");
    assert_eq!(m.config_peer(&id("n1")), Some(&id("n1")));
    assert_eq!(m.route(&id("n1")).unwrap().next_hop, None);
    assert_eq!(mesh(0).render_wireguard(&WireGuardOptions::default(), &mut exact), Err(RenderError::NotJoined));
}

/// A minimal wg-quick parser: sections of `Key = Value` lines.
fn parse_config(text: &str) -> (BTreeMap<String, String>, StdVec<BTreeMap<String, String>>) {
    let mut iface = BTreeMap::new();
    let mut peers: StdVec<BTreeMap<String, String>> = StdVec::new();
    let mut in_peer = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line {
            "[Interface]" => in_peer = false,
            "[Peer]" => {
                in_peer = true;
                peers.push(BTreeMap::new());
            }
            _ => {
                let (k, v) = line.split_once(" = ").expect("key = value");
                let section = if in_peer { peers.last_mut().unwrap() } else { &mut iface };
                assert!(section.insert(k.to_string(), v.to_string()).is_none(), "duplicate key {k}");
            }
        }
    }
    (iface, peers)
}

proptest! {
    /// Routes and config agree: rendered configs parse back to one
    /// peer per tunnel neighbour or next hop (sorted by id, with their keys and
    /// endpoints); every route's next hop has a `[Peer]` carrying the
    /// destination's /32; a tunnel neighbour no route reaches carries its own;
    /// nothing else is listed; no prefix is under two peers; and
    /// [`VPNMeshTopologyManager::config_peer`] says the same.
    #[test]
    fn routes_and_config_agree((n, raw) in graph(), tunnels in proptest::collection::vec((1usize..12, 0u8..4), 0..8)) {
        let edges = dedup(n, &raw);
        let mut m = mesh(n);
        apply_graph(&mut m, 0.0, &edges);
        for &(p, state) in &tunnels {
            if p < n {
                let peer = id(&format!("n{p}"));
                m.establish_tunnel(t(0.0), &id("n0"), &peer, TunnelProtocol::WireGuard).unwrap();
                // 0: connecting, 1: up, 2: down (explicit failures), 3: stale (old handshake).
                match state {
                    1 => { m.record_handshake(t(0.0), &peer).unwrap(); }
                    2 => for _ in 0..3 { m.record_handshake_failure(t(0.0), &id("n0"), &peer).unwrap(); },
                    3 => { m.record_handshake(t(0.0), &peer).unwrap(); }
                    _ => {}
                }
            }
        }
        let at = if tunnels.iter().any(|&(_, s)| s == 3) { 190.0 } else { 0.0 };
        m.monitor_tunnel_health(t(at));
        m.recompute_routes(t(at));
        let text = render(&m, &WireGuardOptions::default());
        let (iface, peers) = parse_config(&text);
        prop_assert_eq!(iface.get("Address").map(String::as_str), Some("10.0.0.2/16"));
        let by_key: BTreeMap<String, NodeId> = m.nodes().map(|v| (v.public_key.to_string(), v.id.clone())).collect();
        let tunnel_nbs: BTreeSet<NodeId> = m.tunnels().map(|t| if t.a.as_str() == "n0" { t.b.clone() } else { t.a.clone() }).collect();
        let mut want: BTreeSet<NodeId> = tunnel_nbs.clone();
        want.extend(m.routes().filter_map(|r| r.next_hop.cloned()));
        let got: StdVec<NodeId> = peers.iter().map(|p| by_key[&p["PublicKey"]].clone()).collect();
        prop_assert_eq!(&got, &want.iter().cloned().collect::<StdVec<_>>(), "peers sorted by id: tunnel neighbours and next hops");
        let mut under: BTreeMap<NodeId, NodeId> = BTreeMap::new();
        for (peer, nb) in peers.iter().zip(&got) {
            let view = m.node(nb).unwrap();
            prop_assert_eq!(&peer["Endpoint"], &view.endpoint.to_string());
            prop_assert_eq!(peer.get("PersistentKeepalive").map(String::as_str), Some("25"));
            let prefixes: StdVec<&str> = peer.get("AllowedIPs").map(|s| s.split(", ").collect()).unwrap_or_default();
            let mut sorted = prefixes.clone();
            sorted.sort_by_key(|p| p.split('/').next().unwrap().parse::<IpAddr>().unwrap());
            prop_assert_eq!(&sorted, &prefixes);
            for p in prefixes {
                let (a, len) = p.split_once('/').unwrap();
                prop_assert_eq!(len, "32");
                let dest = m.node_by_address(a.parse().unwrap()).unwrap().clone();
                prop_assert!(under.insert(dest, nb.clone()).is_none(), "prefix {} under two peers", p);
            }
        }
        for v in 1..n {
            let dest = id(&format!("n{v}"));
            let r = m.route(&dest).unwrap();
            let expected = match r.next_hop {
                Some(h) => Some(h.clone()),
                None if tunnel_nbs.contains(&dest) => Some(dest.clone()),
                None => None,
            };
            prop_assert_eq!(under.get(&dest), expected.as_ref(), "{} in the config", &dest);
            prop_assert_eq!(m.config_peer(&dest), expected.as_ref());
        }
    }
}

#[test]
fn a_route_over_a_link_without_tunnel_gets_its_peer() {
    // The mesh design's example: a line n0–n1–n2–n3 recorded at n0, no tunnel. The
    // table says "next hop n1"; the config has n1's [Peer] with all three.
    let mut m = mesh(4);
    for (a, b) in [(0, 1), (1, 2), (2, 3)] {
        m.record_link(t(0.0), &id(&format!("n{a}")), &id(&format!("n{b}")), ms(5), true).unwrap();
    }
    m.recompute_routes(t(0.0));
    assert_eq!(m.route(&id("n3")).unwrap().next_hop, Some(&id("n1")));
    let text = render(&m, &WireGuardOptions::default());
    let (_, peers) = parse_config(&text);
    assert_eq!(peers.len(), 1, "{text}");
    assert_eq!(peers[0]["PublicKey"], m.node(&id("n1")).unwrap().public_key.to_string());
    assert_eq!(peers[0]["AllowedIPs"], "10.0.0.3/32, 10.0.0.4/32, 10.0.0.5/32");
}

#[test]
fn placeholder_keys_are_refused_unless_asked_for() {
    let mut m = mesh(2);
    let stand_in =
        MeshNode::new(id("nokey"), WgKey::placeholder(&id("nokey")), Endpoint::parse("192.0.2.9:1").unwrap());
    m.join_mesh(t(0.0), stand_in).unwrap();
    let zeros = MeshNode::new(id("zeros"), WgKey::from_bytes([0; 32]), Endpoint::parse("192.0.2.10:1").unwrap());
    m.join_mesh(t(0.0), zeros).unwrap();
    m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    assert!(!render(&m, &WireGuardOptions::default()).contains("WARNING"));
    for bad in ["nokey", "zeros"] {
        m.establish_tunnel(t(0.0), &id("n0"), &id(bad), TunnelProtocol::WireGuard).unwrap();
        let mut buf = [0u8; 4096];
        assert_eq!(m.render_wireguard(&WireGuardOptions::default(), &mut buf), Err(RenderError::PlaceholderKey));
        let text = render(&m, &WireGuardOptions { placeholder_keys: true, ..WireGuardOptions::default() });
        assert!(text.contains(&format!("# WARNING: {bad} announced no public key")), "{text}");
        m.remove_tunnel(t(0.0), &id("n0"), &id(bad)).unwrap();
    }
    // Nodes without keys that are not peers do not matter.
    assert!(render(&m, &WireGuardOptions::default()).contains("[Peer]"));
}

/// A local node with more tunnels than an advert can carry advertises the first
/// `MAX_ADVERT_LINKS` and counts the rest, so the truncation is visible.
#[test]
fn links_left_out_of_the_local_advert_are_counted() {
    let extra = 3;
    let peers = crate::wire::MAX_ADVERT_LINKS + extra;
    let mut m: Box<VPNMeshTopologyManager<128, 256, 8>> =
        VPNMeshTopologyManager::new_boxed(MeshConfig::new(id("n0"))).unwrap();
    for i in 0..=peers {
        m.join_mesh(t(0.0), node(&format!("n{i}"), i as u8)).unwrap();
    }
    for i in 1..=peers {
        m.establish_tunnel(t(0.0), &id("n0"), &id(&format!("n{i}")), TunnelProtocol::WireGuard).unwrap();
    }
    assert_eq!(m.topology_report().dropped_advert_links, 0);
    let advert = m.local_link_state().unwrap();
    assert_eq!(advert.links.len(), crate::wire::MAX_ADVERT_LINKS);
    assert_eq!(m.topology_report().dropped_advert_links, extra as u64);
    m.local_link_state().unwrap();
    assert_eq!(m.topology_report().dropped_advert_links, 2 * extra as u64);
}

// ---------------------------------------------------------------- scale

#[test]
fn large_preset_builds_in_place_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            use crate::preset::large;
            let mut m = large::VPNMeshTopologyManager::new_boxed(MeshConfig::new(id("w0"))).unwrap();
            for i in 0..large::MESH_NODES {
                m.join_mesh(t(0.0), node(&format!("w{i}"), (i % 250) as u8)).unwrap();
            }
            assert!(matches!(m.join_mesh(t(0.0), node("one-too-many", 1)), Err(JoinError::TableFull(_))));
            // A ring: every node reaches every other.
            for i in 0..large::MESH_NODES {
                let j = (i + 1) % large::MESH_NODES;
                m.record_link(t(0.0), &id(&format!("w{i}")), &id(&format!("w{j}")), ms(1), true).unwrap();
            }
            m.recompute_routes(t(0.0));
            let r = m.topology_report();
            (r.nodes, r.reachable, m.route(&id("w2048")).unwrap().hops)
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), (crate::preset::large::MESH_NODES, crate::preset::large::MESH_NODES - 1, 2048));
}

// ---------------------------------------------------------------- wg show latest-handshakes

#[test]
fn latest_handshakes_drive_tunnel_health() {
    let mut m = mesh(4);
    for p in ["n1", "n2"] {
        m.establish_tunnel(t(0.0), &id("n0"), &id(p), TunnelProtocol::WireGuard).unwrap();
    }
    let key = |i: &str| m.node(&id(i)).unwrap().public_key.to_string();
    let (k1, k2, k3) = (key("n1"), key("n2"), key("n3"));
    // UNIX time 1_000_000 at t = 100 s; n1 shook hands 10 s ago, n2 never; n3 has no tunnel.
    let text = format!("{k1}\t999990\n{k2}\t0\n\n{k3}\t999999\nnot-a-key\t5\n{k1} 1 2\n{k1}\tsoon\n");
    let r = m.record_latest_handshakes(t(100.0), 1_000_000, &text);
    assert_eq!(r, HandshakeReport { recorded: 1, unchanged: 0, never: 1, unknown_peers: 1, malformed: 3, changed: 1 });
    let n1 = m.tunnel(&id("n0"), &id("n1")).unwrap();
    assert_eq!((n1.state, n1.last_handshake), (TunnelState::Up, Some(t(90.0))));
    assert_eq!(m.tunnel(&id("n0"), &id("n2")).unwrap().state, TunnelState::Connecting);
    assert!(m.routes_outdated());
    // The same report later is the same handshake: not new, and its age grows.
    let same = format!("{k1}\t999990\n");
    let r = m.record_latest_handshakes(t(230.0), 1_000_130, &same);
    assert_eq!((r.recorded, r.unchanged), (0, 1));
    let h = m.monitor_tunnel_health(t(230.0));
    assert_eq!((h.up, h.rekey_due), (1, 1), "140 s old: rekey due at 120 s, still up");
    m.record_latest_handshakes(t(271.0), 1_000_171, &same);
    assert_eq!(m.monitor_tunnel_health(t(271.0)).stale, 1, "181 s old: stale past 180 s");
    // A new handshake brings it back up, timed by its report, not by the call.
    let r = m.record_latest_handshakes(t(272.0), 1_000_172, &format!("{k1}\t1000170\n"));
    assert_eq!((r.recorded, r.changed), (1, 1));
    assert_eq!(m.tunnel(&id("n0"), &id("n1")).unwrap().last_handshake, Some(t(270.0)));
    assert_eq!(m.tunnel(&id("n0"), &id("n1")).unwrap().state, TunnelState::Up);
}

#[test]
fn a_down_tunnel_needs_distinct_reported_handshakes() {
    let mut m = mesh(2);
    m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    for _ in 0..3 {
        m.record_handshake_failure(t(0.0), &id("n0"), &id("n1")).unwrap();
    }
    assert_eq!(m.tunnel(&id("n0"), &id("n1")).unwrap().state, TunnelState::Down);
    let k = m.node(&id("n1")).unwrap().public_key.to_string();
    m.record_latest_handshakes(t(10.0), 5_000, &format!("{k}\t4999\n"));
    m.record_latest_handshakes(t(11.0), 5_001, &format!("{k}\t4999\n"));
    assert_eq!(m.tunnel(&id("n0"), &id("n1")).unwrap().state, TunnelState::Down, "one handshake, reported twice");
    m.record_latest_handshakes(t(12.0), 5_002, &format!("{k}\t5002\n"));
    assert_eq!(m.tunnel(&id("n0"), &id("n1")).unwrap().state, TunnelState::Up, "m = 2 distinct handshakes");
}

proptest! {
    /// Any text is accepted: every non-blank line is counted exactly once.
    #[test]
    fn latest_handshakes_parser_is_total(text in "[A-Za-z0-9+/= \t\n]{0,400}") {
        let mut m = mesh(3);
        m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
        let r = m.record_latest_handshakes(t(1.0), 1_000, &text);
        let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
        prop_assert_eq!(r.recorded + r.unchanged + r.never + r.unknown_peers + r.malformed, lines);
    }
}

// ---------------------------------------------------------------- DOT

fn dot(m: &Mesh) -> String {
    let mut s = String::new();
    m.write_dot(&mut s).unwrap();
    s
}

#[test]
fn dot_export_exactly() {
    let mut m = mesh(4);
    m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
    m.record_handshake(t(0.0), &id("n1")).unwrap();
    m.record_latency(t(0.0), &id("n0"), &id("n1"), Duration::from_micros(12_345)).unwrap();
    m.establish_tunnel(t(0.0), &id("n0"), &id("n3"), TunnelProtocol::WireGuard).unwrap();
    m.record_link(t(0.0), &id("n1"), &id("n2"), ms(5), true).unwrap();
    m.recompute_routes(t(0.0));
    let want = "graph mesh {\n  node [shape=box, fontname=monospace];\n  edge [fontname=monospace];\n\
        \x20 \"n0\" [label=\"n0\\n10.0.0.2\", style=bold, penwidth=2];\n\
        \x20 \"n1\" [label=\"n1\\n10.0.0.3\"];\n\
        \x20 \"n2\" [label=\"n2\\n10.0.0.4\"];\n\
        \x20 \"n3\" [label=\"n3\\n10.0.0.5\"];\n\
        \x20 \"n0\" -- \"n1\" [label=\"12.345 ms, next hop for 2\", tooltip=\"tunnel up\", color=blue, penwidth=3];\n\
        \x20 \"n0\" -- \"n3\" [label=\"?\", tooltip=\"tunnel connecting\", style=dashed, color=grey];\n\
        \x20 \"n1\" -- \"n2\" [label=\"5.000 ms\", style=dashed];\n}\n";
    assert_eq!(dot(&m), want);
    let mut buf = [0u8; 16];
    assert_eq!(m.render_dot(&mut buf), Err(RenderError::BufferTooSmall { needed: want.len() }));
    let mut buf = [0u8; 1024];
    assert_eq!(m.render_dot(&mut buf), Ok(want.len()));
}

proptest! {
    /// On random graphs the DOT output has one statement per node and per link
    /// record, quotes balanced, and the highlighted next-hop edges carry exactly
    /// the reachable destinations; equal state renders identically.
    #[test]
    fn dot_export_structure((n, raw) in graph(), tunnels in proptest::collection::vec(1usize..12, 0..6)) {
        let edges = dedup(n, &raw);
        let mut m = mesh(n);
        apply_graph(&mut m, 0.0, &edges);
        for &p in &tunnels {
            if p < n {
                m.establish_tunnel(t(0.0), &id("n0"), &id(&format!("n{p}")), TunnelProtocol::WireGuard).unwrap();
                m.record_handshake(t(0.0), &id(&format!("n{p}"))).unwrap();
            }
        }
        m.recompute_routes(t(0.0));
        let text = dot(&m);
        prop_assert_eq!(&text, &dot(&m));
        let framed = text.starts_with("graph mesh {\n") && text.ends_with("}\n");
        prop_assert!(framed, "{}", text);
        let body: StdVec<&str> = text.lines().skip(3).filter(|l| *l != "}").collect();
        let records = m.tunnels().count() + m.topology_report().links;
        prop_assert_eq!(body.len(), n + records);
        let mut carried = 0;
        for line in &body {
            prop_assert!(line.starts_with("  \"") && line.ends_with("];"), "{}", line);
            prop_assert_eq!(line.matches('"').count() % 2, 0);
            if let Some(rest) = line.split("next hop for ").nth(1) {
                prop_assert!(line.starts_with("  \"n0\" -- ") && line.contains("color=blue"));
                carried += rest.split('"').next().unwrap().parse::<usize>().unwrap();
            }
        }
        prop_assert_eq!(carried, m.topology_report().reachable);
    }
}

// ---------------------------------------------------------------- precision against floats

/// Dijkstra over `f64` microseconds: `(cost, hops)` from node 0, `None` if unreachable.
fn float_dijkstra(n: usize, edges: &BTreeMap<(usize, usize), f64>) -> StdVec<Option<(f64, u32)>> {
    let mut dist: StdVec<Option<(f64, u32)>> = std::vec![None; n];
    let mut done = std::vec![false; n];
    dist[0] = Some((0.0, 0));
    for _ in 0..n {
        let Some(u) = (0..n)
            .filter(|&v| !done[v] && dist[v].is_some())
            .min_by(|&a, &b| dist[a].unwrap().0.partial_cmp(&dist[b].unwrap().0).unwrap())
        else {
            break;
        };
        done[u] = true;
        let (du, hu) = dist[u].unwrap();
        for (&(a, b), &w) in edges {
            let v = if a == u {
                b
            } else if b == u {
                a
            } else {
                continue;
            };
            if dist[v].is_none_or(|(dv, _)| du + w < dv) {
                dist[v] = Some((du + w, hu + 1));
            }
        }
    }
    dist
}

proptest! {
    /// Latencies given in fractional seconds become whole microseconds (each
    /// within 0.5 µs), and a route's cost is the exact integer sum over its
    /// links: so it is within 0.5 µs per hop of a float Dijkstra's optimum.
    #[test]
    fn route_costs_match_a_float_reference(
        n in 2usize..12,
        raw in proptest::collection::vec((0usize..12, 0usize..12, 1.0f64..100_000.0), 1..40),
    ) {
        let mut edges = BTreeMap::new();
        for &(a, b, us) in &raw {
            if a != b && a < n && b < n {
                edges.insert((a.min(b), a.max(b)), us);
            }
        }
        let mut m = mesh(n);
        for (&(a, b), &us) in &edges {
            let d = Duration::from_secs_f64(us / 1e6);
            prop_assert!((d.total_micros() as f64 - us).abs() <= 0.5 + 1e-6);
            m.record_link(t(0.0), &id(&format!("n{a}")), &id(&format!("n{b}")), d, true).unwrap();
        }
        m.recompute_routes(t(0.0));
        let reference = float_dijkstra(n, &edges);
        for v in 1..n {
            let r = m.route(&id(&format!("n{v}"))).unwrap();
            match reference[v] {
                None => prop_assert_eq!(r.next_hop, None),
                Some((cost, hops)) => {
                    let tolerance = 0.5 * f64::from(hops.max(r.hops)) + 1e-6;
                    let got = r.cost.total_micros() as f64;
                    prop_assert!((got - cost).abs() <= tolerance, "n{}: {} vs {} (±{})", v, got, cost, tolerance);
                }
            }
        }
    }

    /// The smoothed RTT stays within 0.5 µs + 8 ns of an `f64` RFC 6298 average
    /// of the same samples, however many samples (no drift from truncation).
    #[test]
    fn smoothed_rtt_matches_a_float_reference(samples in proptest::collection::vec(0u64..2_000_000, 1..300)) {
        let mut m = mesh(2);
        m.establish_tunnel(t(0.0), &id("n0"), &id("n1"), TunnelProtocol::WireGuard).unwrap();
        let mut reference: Option<f64> = None;
        for (i, &us) in samples.iter().enumerate() {
            let got = m.record_latency(t(i as f64), &id("n0"), &id("n1"), Duration::from_micros(us)).unwrap();
            let r = reference.map_or(us as f64, |s| s * 7.0 / 8.0 + us as f64 / 8.0);
            reference = Some(r);
            // Rounding to whole microseconds (0.5) plus the nanosecond truncations,
            // which the 7/8 decay bounds at 8 ns.
            prop_assert!((got.total_micros() as f64 - r).abs() <= 0.5 + 0.008 + 1e-6, "sample {}: {} vs {}", i, got.total_micros(), r);
        }
    }
}

/// The adjacency's half-links in order, node by node.
fn adjacency_of(m: &Wide) -> StdVec<(u32, u32, u64)> {
    (0..m.csr.nodes() as u32).flat_map(|v| m.csr.neighbours(v).map(move |h| (v, h.to, h.weight))).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// The adjacency kept between recomputes (latency changes patched in,
    /// anything else rebuilt at the next recompute) equals, half-link for
    /// half-link and in the same order, one rebuilt from scratch from the link
    /// table, after random sequences of link adds, removals and latency
    /// changes, tunnel establishment, handshakes, failures, RTT samples,
    /// removals and health checks, adverts, and nodes leaving and joining.
    #[test]
    fn kept_adjacency_equals_a_rebuild(
        n in 2usize..24,
        ops in proptest::collection::vec((0u8..12, any::<u16>(), any::<u16>(), 0u64..12, proptest::bool::weighted(0.8)), 1..200),
    ) {
        let mut m = wide(n, false, ms(5), 100);
        let name = |i: u16| format!("n{}", i as usize % n);
        let mut at = 0u64;
        for &(op, a, b, w, up) in &ops {
            at += 1 + w * 20_000_000;
            let now = Instant::from_micros(at);
            let (x, y) = (id(&name(a)), id(&name(b)));
            let latency = Duration::from_micros(w * 997);
            let _ = match op {
                0 | 1 => m.record_link(now, &x, &y, latency, up).map(|_| ()),
                2 => m.establish_tunnel(now, &x, &y, [TunnelProtocol::WireGuard, TunnelProtocol::OpenVpn][up as usize]).map(|_| ()),
                3 | 4 => m.record_tunnel_handshake(now, &x, &y).map(|_| ()),
                5 => m.record_latency(now, &x, &y, latency).map(|_| ()),
                6 => m.record_handshake_failure(now, &x, &y).map(|_| ()),
                7 => m.remove_tunnel(now, &x, &y).map(|_| ()),
                8 => {
                    m.monitor_tunnel_health(now);
                    Ok(())
                }
                9 => {
                    let mut links = heapless::Vec::new();
                    let _ = links.push(LinkAdvert { neighbor: y.clone(), latency, up });
                    let _ = m.handle_link_state(now, &x, &LinkState { sequence: at, links });
                    Ok(())
                }
                10 => {
                    if m.leave_mesh(now, &x).is_ok() && !up {
                        let _ = m.join_mesh(now, node(&name(a), (a as usize % n) as u8));
                    }
                    Ok(())
                }
                _ => {
                    m.recompute_routes(now);
                    Ok(())
                }
            };
            if !m.csr_stale {
                let kept = adjacency_of(&m);
                m.rebuild_adjacency();
                prop_assert_eq!(kept, adjacency_of(&m), "after op {} on {}-{}", op, x, y);
            }
        }
        // A recompute leaves it current (unless the local node is gone: then
        // nothing is routed and it stays marked for a rebuild).
        m.recompute_routes(Instant::from_micros(at + 1));
        prop_assert_eq!(m.csr_stale, m.route(&id("n0")).is_none());
        if !m.csr_stale {
            let kept = adjacency_of(&m);
            m.rebuild_adjacency();
            prop_assert_eq!(kept, adjacency_of(&m));
        }
    }
}

#[test]
fn a_latency_change_is_patched_not_rebuilt() {
    let mut m = wide(4, false, ms(5), 100);
    for (a, b) in [(0, 1), (1, 2), (2, 3), (3, 0)] {
        m.record_link(t(0.0), &id(&format!("n{a}")), &id(&format!("n{b}")), ms(10), true).unwrap();
    }
    m.recompute_routes(t(0.0));
    assert!(!m.csr_stale);
    m.record_link(t(1.0), &id("n1"), &id("n2"), ms(50), true).unwrap();
    assert!(!m.csr_stale, "a new latency on an up link is patched in place");
    assert!(m.csr.neighbours(1).any(|h| h.to == 2 && h.weight == 50_000));
    assert!(m.csr.neighbours(2).any(|h| h.to == 1 && h.weight == 50_000));
    m.recompute_routes(t(1.0));
    assert_eq!(m.route(&id("n2")).unwrap().next_hop, Some(&id("n3")));
    m.record_link(t(2.0), &id("n1"), &id("n2"), ms(50), false).unwrap();
    assert!(m.csr_stale, "a link going down is left to the rebuild");
    m.recompute_routes(t(2.0));
    assert!(!m.csr_stale);
    assert!(m.csr.neighbours(1).all(|h| h.to != 2));
}
