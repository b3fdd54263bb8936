use super::*;
use crate::convert::PN_MAX_ID_LEN;
use core::mem::MaybeUninit;
use core::ptr::{null, null_mut};
use pouw_netops::NodeId;
use pouw_netops::health::NodeStatus;

const S: u64 = 1_000_000;

/// A handle with the default config; freed on drop.
struct Manager(*mut pn_crash_recovery);

impl Manager {
    fn new() -> Self {
        Self::with(|_| {}).unwrap()
    }

    fn with(edit: impl FnOnce(&mut pn_crash_recovery_config)) -> Result<Self, pn_result> {
        let mut config = MaybeUninit::uninit();
        let mut h = null_mut();
        // SAFETY: live locals.
        unsafe {
            assert_eq!(pn_crash_recovery_config_default(config.as_mut_ptr()), pn_result::PN_OK);
            let mut config = config.assume_init();
            edit(&mut config);
            match pn_crash_recovery_new(&config, &mut h) {
                pn_result::PN_OK => Ok(Manager(h)),
                e => Err(e),
            }
        }
    }

    fn heartbeat(&self, t: u64, node: &str) -> pn_result {
        // SAFETY: a live handle and string.
        unsafe { pn_crash_recovery_heartbeat(self.0, t, node.as_ptr().cast(), node.len()) }
    }

    fn status(&self, node: &str) -> Result<pn_node_status, pn_result> {
        let mut s = MaybeUninit::uninit();
        // SAFETY: a live handle, string and local.
        match unsafe { pn_crash_recovery_status(self.0, node.as_ptr().cast(), node.len(), s.as_mut_ptr()) } {
            // SAFETY: written on success.
            pn_result::PN_OK => Ok(unsafe { s.assume_init() }),
            e => Err(e),
        }
    }

    fn detect(&self, t: u64, capacity: usize) -> (Vec<String>, usize) {
        let mut ids = vec![pn_node_id { len: 0, bytes: [0; PN_MAX_ID_LEN] }; capacity];
        let mut crashed = usize::MAX;
        // SAFETY: a live handle, an array of `capacity` ids and a local.
        let r = unsafe { pn_crash_recovery_detect_crashes(self.0, t, ids.as_mut_ptr(), capacity, &mut crashed) };
        assert_eq!(r, pn_result::PN_OK);
        (ids.iter().take(crashed.min(capacity)).map(id_string).collect(), crashed)
    }

    fn events(&self, since: u64, capacity: usize) -> (Vec<pn_recovery_event>, u64) {
        let mut events = Vec::with_capacity(capacity);
        let (mut written, mut next) = (usize::MAX, 0);
        // SAFETY: a live handle, spare capacity for `capacity` events, locals.
        unsafe {
            let r = pn_crash_recovery_events(
                self.0,
                since,
                events.as_mut_ptr(),
                capacity,
                &mut written,
                &mut next,
                null_mut(),
            );
            assert_eq!(r, pn_result::PN_OK);
            events.set_len(written);
        }
        (events, next)
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // SAFETY: the handle is freed exactly once.
        unsafe { pn_crash_recovery_free(self.0) }
    }
}

fn id_string(id: &pn_node_id) -> String {
    String::from_utf8(id.bytes[..id.len].to_vec()).unwrap()
}

fn reference() -> Box<large::CrashRecoveryManager> {
    large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()).unwrap()
}

#[test]
fn defaults_round_trip_to_the_core_defaults() {
    let mut c = MaybeUninit::uninit();
    // SAFETY: a live local.
    assert_eq!(unsafe { pn_crash_recovery_config_default(c.as_mut_ptr()) }, pn_result::PN_OK);
    // SAFETY: written on success.
    let c = unsafe { c.assume_init() };
    let core = CrashRecoveryConfig::default();
    let back = CrashRecoveryConfig::from(&c);
    assert_eq!(back.suspect_phi, None);
    assert_eq!(back.health, core.health);
    assert_eq!(back.recovery_deadline, core.recovery_deadline);
    assert_eq!((back.max_recovery_attempts, back.recovery_heartbeats), (3, 2));
    assert_eq!(back.phi.threshold, 8.0);
}

#[test]
fn invalid_config_is_rejected() {
    assert_eq!(Manager::with(|c| c.recovery_heartbeats = 0).err(), Some(pn_result::PN_ERR_INVALID_CONFIG));
    assert_eq!(Manager::with(|c| c.suspect_phi = 9.0).err(), Some(pn_result::PN_ERR_INVALID_CONFIG));
    assert_eq!(Manager::with(|c| c.suspect_phi = -1.0).err(), Some(pn_result::PN_ERR_INVALID_CONFIG));
    assert_eq!(Manager::with(|c| c.phi.min_std_deviation_us = 0).err(), Some(pn_result::PN_ERR_INVALID_CONFIG));
    assert!(Manager::with(|c| c.suspect_phi = 2.0).is_ok());
}

/// Drives the handle and a core manager through the same calls and checks that
/// every status, phi, crash list and event agrees.
#[test]
fn behaves_like_the_core_manager() {
    let m = Manager::new();
    let mut r = reference();
    let nodes = ["a", "b", "c"];
    for t in 0..=10 {
        for n in nodes {
            assert_eq!(m.heartbeat(t * S, n), pn_result::PN_OK);
            r.heartbeat(Instant::from_micros(t * S), &NodeId::new(n).unwrap()).unwrap();
        }
    }
    // "b" goes silent; "a" and "c" keep beating; sweep every 100 ms.
    let mut crashes = Vec::new();
    for tenth in 101..400u64 {
        let t = tenth * S / 10;
        if tenth % 10 == 0 {
            for n in ["a", "c"] {
                assert_eq!(m.heartbeat(t, n), pn_result::PN_OK);
                r.heartbeat(Instant::from_micros(t), &NodeId::new(n).unwrap()).unwrap();
            }
        }
        let (ids, count) = m.detect(t, 4);
        let expected: Vec<String> = r.detect_crashes(Instant::from_micros(t)).map(|i| i.to_string()).collect();
        assert_eq!(ids, expected);
        assert_eq!(count, expected.len());
        crashes.extend(ids);
    }
    assert_eq!(crashes, ["b"]);
    assert_eq!(m.status("b"), Ok(pn_node_status::PN_NODE_OFFLINE));
    for n in nodes {
        let mut phi = 0.0;
        // SAFETY: a live handle, string and local.
        let code = unsafe { pn_crash_recovery_phi(m.0, 40 * S, n.as_ptr().cast(), n.len(), &mut phi) };
        assert_eq!(code, pn_result::PN_OK);
        assert_eq!(phi.to_bits(), r.phi(Instant::from_micros(40 * S), &NodeId::new(n).unwrap()).unwrap().to_bits());
    }
    let (events, next) = m.events(0, 64);
    let expected: Vec<pn_recovery_event> = r.events().map(pn_recovery_event::from).collect();
    assert_eq!(events, expected);
    assert_eq!(next, r.next_event_seq());
    // The crash as C sees it: a status change to offline, then the crash with its silence.
    let crash = events.iter().find(|e| e.kind == pn_recovery_event_kind::PN_EVENT_CRASH_DETECTED).unwrap();
    assert_eq!(id_string(&crash.node), "b");
    assert!(crash.phi >= 8.0);
    assert!(crash.duration_us > 0 && crash.at_us == 10 * S + crash.duration_us);
}

#[test]
fn recovery_flow_and_its_errors() {
    let m = Manager::new();
    for t in 0..=5 {
        assert_eq!(m.heartbeat(t * S, "w"), pn_result::PN_OK);
    }
    let w = "w".as_ptr().cast();
    // SAFETY: a live handle and strings.
    unsafe {
        assert_eq!(pn_crash_recovery_initiate_recovery(m.0, 5 * S, w, 1, 1, 0), pn_result::PN_ERR_INVALID_STATE);
        assert_eq!(m.detect(60 * S, 0).1, 1);
        assert_eq!(pn_crash_recovery_initiate_recovery(m.0, 61 * S, w, 1, 4, 0), pn_result::PN_ERR_INVALID_ARGUMENT);
        assert_eq!(m.status("w"), Ok(pn_node_status::PN_NODE_OFFLINE), "a rejected call changes nothing");
        assert_eq!(pn_crash_recovery_initiate_recovery(m.0, 61 * S, w, 1, 3, 77), pn_result::PN_OK);
        assert_eq!(m.status("w"), Ok(pn_node_status::PN_NODE_RECOVERING));
        let unknown = "nobody";
        let code = pn_crash_recovery_initiate_recovery(m.0, 61 * S, unknown.as_ptr().cast(), unknown.len(), 1, 0);
        assert_eq!(code, pn_result::PN_ERR_NOT_FOUND);
    }
    let (events, _) = m.events(0, 16);
    let started = events.iter().find(|e| e.kind == pn_recovery_event_kind::PN_EVENT_RECOVERY_STARTED).unwrap();
    assert_eq!(
        (started.strategy, started.custom_strategy, started.attempt),
        (pn_recovery_strategy::PN_RECOVERY_CUSTOM, 77, 1)
    );
    // Two healthy heartbeats complete the recovery.
    assert_eq!(m.heartbeat(62 * S, "w"), pn_result::PN_OK);
    assert_eq!(m.heartbeat(63 * S, "w"), pn_result::PN_OK);
    assert_eq!(m.status("w"), Ok(pn_node_status::PN_NODE_ONLINE));
    let (tail, _) = m.events(started.seq + 1, 16);
    let done = tail.iter().find(|e| e.kind == pn_recovery_event_kind::PN_EVENT_RECOVERY_COMPLETED).unwrap();
    assert_eq!(done.duration_us, 2 * S);
}

#[test]
fn attempts_run_out() {
    let m = Manager::with(|c| c.max_recovery_attempts = 1).unwrap();
    let w = "w".as_ptr().cast();
    assert_eq!(m.heartbeat(0, "w"), pn_result::PN_OK);
    assert_eq!(m.detect(60 * S, 0).1, 1);
    // SAFETY: a live handle and string.
    unsafe {
        assert_eq!(pn_crash_recovery_initiate_recovery(m.0, 61 * S, w, 1, 1, 0), pn_result::PN_OK);
        // The deadline (300 s) passes: the attempt fails.
        let _ = m.detect(400 * S, 0);
        assert_eq!(m.status("w"), Ok(pn_node_status::PN_NODE_FAILED));
        assert_eq!(pn_crash_recovery_initiate_recovery(m.0, 401 * S, w, 1, 1, 0), pn_result::PN_ERR_ATTEMPTS_EXHAUSTED);
    }
    let (events, _) = m.events(0, 32);
    let failures: Vec<pn_recovery_failure> = events
        .iter()
        .filter(|e| e.kind == pn_recovery_event_kind::PN_EVENT_RECOVERY_FAILED)
        .map(|e| e.failure)
        .collect();
    assert_eq!(failures, [pn_recovery_failure::PN_FAILURE_DEADLINE_EXCEEDED]);
}

#[test]
fn short_arrays_page_without_losing_anything() {
    let m = Manager::new();
    let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
    for n in &names {
        assert_eq!(m.heartbeat(0, n), pn_result::PN_OK);
    }
    // Three crash slots for ten crashes: the count says ten, the events hold all.
    let (ids, count) = m.detect(60 * S, 3);
    assert_eq!((ids.as_slice(), count), (&names[..3], 10));
    let (events, next) = m.events(0, 1000);
    let crashed: Vec<String> = events
        .iter()
        .filter(|e| e.kind == pn_recovery_event_kind::PN_EVENT_CRASH_DETECTED)
        .map(|e| id_string(&e.node))
        .collect();
    assert_eq!(crashed, names);
    // Paging the events four at a time reads the same sequence.
    let (mut paged, mut since) = (Vec::new(), 0);
    loop {
        let (page, _) = m.events(since, 4);
        let Some(last) = page.last() else { break };
        since = last.seq + 1;
        paged.extend(page);
    }
    assert_eq!(paged, events);
    assert_eq!(since, next);
    // Paging the node list.
    let mut listed = Vec::new();
    let mut ids = vec![pn_node_id { len: 0, bytes: [0; PN_MAX_ID_LEN] }; 4];
    loop {
        let (mut written, mut total) = (0, 0);
        // SAFETY: a live handle, an array of 4 ids and locals.
        let r = unsafe { pn_crash_recovery_nodes(m.0, listed.len(), ids.as_mut_ptr(), 4, &mut written, &mut total) };
        assert_eq!((r, total), (pn_result::PN_OK, 10));
        if written == 0 {
            break;
        }
        listed.extend(ids[..written].iter().map(id_string));
    }
    assert_eq!(listed, names);
}

#[test]
fn queries_report_not_found_invalid_ids_and_nulls() {
    let m = Manager::new();
    assert_eq!(m.status("ghost"), Err(pn_result::PN_ERR_NOT_FOUND));
    assert_eq!(m.heartbeat(0, ""), pn_result::PN_ERR_INVALID_ID);
    assert_eq!(m.heartbeat(0, &"x".repeat(65)), pn_result::PN_ERR_INVALID_ID);
    assert_eq!(m.heartbeat(0, "ok"), pn_result::PN_OK);
    let bad = pn_health_metrics::from(&HealthMetrics { cpu_usage: f32::NAN, ..HealthMetrics::default() });
    let mut info = MaybeUninit::uninit();
    let mut summary = MaybeUninit::uninit();
    let mut score = 0u16;
    // SAFETY: a live handle, strings, locals; NULL where the API must detect it.
    unsafe {
        let ok = "ok".as_ptr().cast();
        assert_eq!(pn_crash_recovery_update_node_health(m.0, S, ok, 2, &bad), pn_result::PN_ERR_INVALID_METRIC);
        assert_eq!(pn_crash_recovery_update_node_health(m.0, S, ok, 2, null()), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(pn_crash_recovery_heartbeat(null_mut(), 0, ok, 2), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(pn_crash_recovery_heartbeat(m.0, 0, null(), 2), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(pn_crash_recovery_status(m.0, ok, 2, null_mut()), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(pn_crash_recovery_detect_crashes(m.0, 0, null_mut(), 1, null_mut()), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(pn_crash_recovery_node_info(m.0, ok, 2, info.as_mut_ptr()), pn_result::PN_OK);
        let info = info.assume_init();
        assert_eq!(
            (info.status, info.last_heartbeat_us, id_string(&info.node).as_str()),
            (pn_node_status::PN_NODE_ONLINE, 0, "ok")
        );
        assert_eq!(HealthMetrics::from(&info.metrics), HealthMetrics::default(), "invalid metrics changed nothing");
        assert_eq!(pn_crash_recovery_health_score(m.0, 0, ok, 2, &mut score), pn_result::PN_OK);
        assert!(score > 0);
        assert_eq!(pn_crash_recovery_summary(m.0, 0, summary.as_mut_ptr()), pn_result::PN_OK);
        let summary = summary.assume_init();
        assert_eq!((summary.total_nodes, summary.online_nodes, summary.network_health_ratio), (1, 1, 1.0));
        assert_eq!(pn_crash_recovery_remove_node(m.0, ok, 2), pn_result::PN_OK);
        assert_eq!(pn_crash_recovery_remove_node(m.0, ok, 2), pn_result::PN_ERR_NOT_FOUND);
    }
    assert_eq!(m.status("ok"), Err(pn_result::PN_ERR_NOT_FOUND));
    let _ = NodeStatus::Online;
}

#[test]
fn full_table_is_a_capacity_error_that_changes_nothing() {
    let m = Manager::new();
    for i in 0..PN_CRASH_RECOVERY_NODES {
        assert_eq!(m.heartbeat(0, &format!("n{i}")), pn_result::PN_OK);
    }
    assert_eq!(m.heartbeat(S, "one-too-many"), pn_result::PN_ERR_CAPACITY_EXCEEDED);
    assert_eq!(m.status("one-too-many"), Err(pn_result::PN_ERR_NOT_FOUND));
    let mut summary = MaybeUninit::uninit();
    // SAFETY: a live handle and local.
    assert_eq!(unsafe { pn_crash_recovery_summary(m.0, S, summary.as_mut_ptr()) }, pn_result::PN_OK);
    // SAFETY: written on success.
    assert_eq!(unsafe { summary.assume_init() }.total_nodes, PN_CRASH_RECOVERY_NODES);
}

#[test]
fn handle_is_built_in_place_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let m = Manager::new();
            assert_eq!(m.heartbeat(0, "a"), pn_result::PN_OK);
            assert_eq!(m.status("a"), Ok(pn_node_status::PN_NODE_ONLINE));
        })
        .unwrap()
        .join()
        .unwrap();
}
