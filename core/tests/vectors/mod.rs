//! What the golden-vector tests share: the committed hex files under the
//! repository's `tests/vectors/`, read and (under `UPDATE_GOLDEN=1`) rewritten.
#![allow(dead_code)] // each test crate uses the helpers it needs

use pouw_netops::auth::{Certificate, IdentityKey, Role};
use pouw_netops::health::HealthMetrics;
use pouw_netops::wire::{Body, Heartbeat};
use pouw_netops::{Duration, Endpoint, Instant, NodeId, TaskType, WgKey};
use std::path::PathBuf;

/// The path of the committed vector `name`.
pub fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(format!("{name}.hex"))
}

/// Lowercase hex, two digits a byte.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex text (surrounding white space ignored).
pub fn from_hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The committed vector `name`, as bytes.
pub fn read(name: &str) -> Vec<u8> {
    let path = vector_path(name);
    from_hex(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Compares `bytes` with the committed vector `name` (rewritten first under
/// `UPDATE_GOLDEN=1`) and returns the committed bytes.
pub fn check(name: &str, bytes: &[u8]) -> Vec<u8> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(vector_path(name), format!("{}\n", to_hex(bytes))).unwrap();
    }
    let committed = read(name);
    assert_eq!(to_hex(bytes), to_hex(&committed), "{name} differs from the committed vector");
    committed
}

/// The heartbeat of the `heartbeat` vector, which the authenticated envelope
/// vectors also carry (and `tests/c/test_wire.c` builds in C).
pub fn heartbeat() -> Body {
    Body::Heartbeat(Heartbeat {
        sequence: 42,
        sent_at: Instant::from_micros(1_700_000_000_123_456),
        metrics: HealthMetrics {
            response_time: Duration::from_millis(35),
            success_rate: 0.97,
            task_completion_rate: 0.9,
            bandwidth_utilization: 0.25,
            cpu_usage: 0.5,
            memory_usage: 0.625,
        },
        leading: 0,
        held: heapless::Vec::new(),
        echo: None,
    })
}

/// The cluster authority's key of the authentication vectors and seeds.
pub fn authority() -> IdentityKey {
    IdentityKey::from_seed(&[0xa0; 32])
}

/// The identity key of `worker-7`, the worker of the authentication vectors and seeds.
pub fn worker() -> IdentityKey {
    IdentityKey::from_seed(&[0x77; 32])
}

/// `worker-7`'s certificate (identity [`worker`], WireGuard key `0x42..`, 4
/// slots, serial 3, valid from 1_700_000_000 to 1_731_536_000) with
/// `endpoints` and `pools`.
pub fn worker_certificate(endpoints: &[&str], pools: &[&str]) -> Certificate {
    let mut e = heapless::Vec::new();
    for s in endpoints {
        e.push(Endpoint::parse(s).unwrap()).unwrap();
    }
    let mut p = heapless::Vec::new();
    for s in pools {
        p.push(TaskType::new(s).unwrap()).unwrap();
    }
    Certificate {
        node: NodeId::new("worker-7").unwrap(),
        role: Role::Worker,
        identity: worker().public(),
        wg_key: WgKey::from_bytes([0x42; 32]),
        endpoints: e,
        slots: 4,
        pools: p,
        serial: 3,
        not_before: 1_700_000_000,
        not_after: 1_731_536_000,
    }
}
