use super::*;
use crate::time::Duration;

fn heartbeat() -> Envelope {
    Envelope::new(
        NodeId::new("worker-7").unwrap(),
        Body::Heartbeat(Heartbeat {
            sequence: 3,
            sent_at: Instant::from_secs(12),
            metrics: HealthMetrics { response_time: Duration::from_millis(20), ..HealthMetrics::default() },
            ..Heartbeat::default()
        }),
    )
}

#[test]
#[cfg(feature = "alloc")]
fn the_heartbeat_fast_path_decodes_as_body_decode_does() {
    use crate::workers::TaskRole;
    let mut held = heapless::Vec::new();
    let task = crate::id::TaskId::new("t").unwrap();
    held.push(HeldRole { task: task.clone(), term: 2, role: TaskRole::Primary }).unwrap();
    let bodies = [
        heartbeat().body,
        Body::Heartbeat(Heartbeat { held, leading: 4, ..Heartbeat::default() }),
        Body::LeaderNotice(LeaderNotice { term: 3 }),
        Body::TaskRelease(TaskRelease { task }),
    ];
    let mut checked = 0;
    for body in bodies {
        let bytes = body.to_vec().unwrap();
        // The bytes, every truncation, every byte replaced by a few values.
        let mut cases = std::vec![bytes.clone()];
        cases.extend((0..bytes.len()).map(|n| bytes[..n].to_vec()));
        for i in 0..bytes.len() {
            for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                cases.push(b);
            }
        }
        for b in cases {
            let fast = Body::decode_heartbeat(&b);
            match (b.first(), Body::decode(&b)) {
                (_, Ok(Body::Heartbeat(hb))) => assert_eq!(fast, Ok(Some(hb)), "{b:?}"),
                (Some(0), Err(e)) => assert_eq!(fast, Err(e), "{b:?}"),
                (Some(0), Ok(other)) => panic!("tag 0 decoded as {other:?}"),
                (_, _) => assert_eq!(fast, Ok(None), "{b:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked} cases");
}

#[test]
fn round_trips() {
    let env = heartbeat();
    let mut buf = [0u8; 128];
    let n = env.encode(&mut buf).unwrap();
    assert_eq!(env.encoded_len(), Ok(n));
    assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
}

#[test]
fn rejects_bad_input() {
    let env = heartbeat();
    let mut buf = [0u8; 128];
    let n = env.encode(&mut buf).unwrap();
    assert_eq!(Envelope::decode(&[]), Err(WireError::Empty));
    let mut v2 = buf;
    v2[0] = 2;
    assert_eq!(Envelope::decode(&v2[..n]), Err(WireError::UnknownVersion(2)));
    assert_eq!(Envelope::decode(&buf[..n - 1]), Err(WireError::Truncated));
    assert_eq!(Envelope::decode(&buf[..n + 1]), Err(WireError::TrailingBytes { count: 1 }));
    let mut bad_body = buf;
    bad_body[1 + 1 + 8] = 0x7f; // the body's variant index, after version, id length and "worker-7"
    assert_eq!(Envelope::decode(&bad_body[..n]), Err(WireError::UnknownBody));
    let mut small = [0u8; 4];
    assert_eq!(env.encode(&mut small), Err(WireError::BufferTooSmall));
}

#[test]
fn task_messages_round_trip_and_reject_bad_ids() {
    let env = Envelope::new(
        NodeId::new("sup-1").unwrap(),
        Body::TaskAssignment(TaskAssignment {
            term: 1,
            task: TaskId::new("t-9").unwrap(),
            task_type: TaskType::new("train").unwrap(),
            role: TaskRole::Primary,
            checkpoint: Some(Checkpoint { sequence: 7, digest: [3; 32] }),
        }),
    );
    let mut buf = [0u8; 256];
    let n = env.encode(&mut buf).unwrap();
    assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
    // An empty task id inside the body is malformed.
    let release = Envelope::new(
        NodeId::new("sup-1").unwrap(),
        Body::TaskRelease(TaskRelease { task: TaskId::new("t").unwrap() }),
    );
    let n = release.encode(&mut buf).unwrap();
    assert_eq!(buf[n - 2], 1, "task id length");
    buf[n - 2] = 0;
    assert_eq!(Envelope::decode(&buf[..n - 1]), Err(WireError::Malformed));
    let mut unknown = [0u8; 16];
    let n = release.encode(&mut unknown).unwrap();
    unknown[1 + 1 + 5] = Body::KINDS as u8; // first unknown kind, after version and "sup-1"
    assert_eq!(Envelope::decode(&unknown[..n]), Err(WireError::UnknownBody));
}

#[test]
fn rejects_out_of_range_metrics() {
    let mut env = heartbeat();
    let Body::Heartbeat(hb) = &mut env.body else { panic!("not a heartbeat") };
    hb.metrics.cpu_usage = 2.0;
    let mut buf = [0u8; 128];
    let n = env.encode(&mut buf).unwrap();
    assert!(matches!(Envelope::decode(&buf[..n]), Err(WireError::InvalidMetric(_))));
}

fn link_state(neighbors: &[&str]) -> Envelope {
    let mut links = heapless::Vec::new();
    for (i, n) in neighbors.iter().enumerate() {
        let advert =
            LinkAdvert { neighbor: NodeId::new(n).unwrap(), latency: Duration::from_millis(i as u64), up: true };
        links.push(advert).unwrap();
    }
    Envelope::new(NodeId::new("a").unwrap(), Body::LinkState(LinkState { sequence: 9, links }))
}

#[test]
fn link_state_round_trips_and_rejects_duplicates_and_overflow() {
    let mut buf = [0u8; 256];
    let env = link_state(&["b", "c"]);
    let n = env.encode(&mut buf).unwrap();
    assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
    let dup = link_state(&["b", "c", "b"]);
    let n = dup.encode(&mut buf).unwrap();
    assert_eq!(Envelope::decode(&buf[..n]), Err(WireError::Malformed));
    // A full advert, then one more link: the count varint (after version, sender "a",
    // body tag and sequence 9) goes from 64 to 65.
    let names: std::vec::Vec<std::string::String> = (0..MAX_ADVERT_LINKS).map(|i| std::format!("n{i}")).collect();
    let full = link_state(&names.iter().map(|s| s.as_str()).collect::<std::vec::Vec<_>>());
    let mut bytes = full.to_vec().unwrap();
    assert_eq!(Envelope::decode(&bytes), Ok(full));
    assert_eq!(bytes[5], 64);
    bytes[5] = 65;
    bytes.extend_from_slice(&[1, b'z', 0, 1]);
    assert_eq!(Envelope::decode(&bytes), Err(WireError::Malformed));
}

#[test]
fn election_messages_round_trip_and_reject_term_zero() {
    let bodies = [
        Body::PreVote(VoteRequest { term: 3, progress: Some(9) }),
        Body::PreVoteResponse(VoteResponse { term: 3, granted: true }),
        Body::RequestVote(VoteRequest { term: 3, progress: None }),
        Body::VoteResponse(VoteResponse { term: 2, granted: false }),
        Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }),
        Body::HeartbeatResponse(HeartbeatResponse { term: 4 }),
    ];
    let mut buf = [0u8; 128];
    for body in bodies {
        let env = Envelope::new(NodeId::new("s1").unwrap(), body.clone());
        let n = env.encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
        let zero = match body {
            Body::PreVote(r) => Body::PreVote(VoteRequest { term: 0, ..r }),
            Body::PreVoteResponse(r) => Body::PreVoteResponse(VoteResponse { term: 0, ..r }),
            Body::RequestVote(r) => Body::RequestVote(VoteRequest { term: 0, ..r }),
            Body::VoteResponse(r) => Body::VoteResponse(VoteResponse { term: 0, ..r }),
            Body::LeaderHeartbeat(_) => Body::LeaderHeartbeat(LeaderHeartbeat { term: 0 }),
            Body::HeartbeatResponse(_) => Body::HeartbeatResponse(HeartbeatResponse { term: 0 }),
            other => panic!("{other:?} has no term"),
        };
        let n = Envelope::new(NodeId::new("s1").unwrap(), zero).encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&buf[..n]), Err(WireError::ZeroTerm));
    }
}

#[test]
fn coordinator_messages_round_trip_and_reject_bad_fields() {
    let tt = |s: &str| TaskType::new(s).unwrap();
    let certificate = heapless::Vec::from_slice(&[1, 2, 3]).unwrap();
    let membership = Membership { joining: true, certificate };
    let entry = TaskEntry {
        task: TaskId::new("t-1").unwrap(),
        task_type: tt("train"),
        required: 1,
        backups: 1,
        checkpoint: Some(Checkpoint { sequence: 4, digest: [1; 32] }),
        proof: Some(CheckpointProof {
            primary: NodeId::new("w").unwrap(),
            signature: SignatureBytes { r: [2; 32], s: [3; 32] },
        }),
    };
    let mut entries = heapless::Vec::new();
    entries.push(entry.clone()).unwrap();
    let good = [
        Body::Membership(membership.clone()),
        Body::LeaderNotice(LeaderNotice { term: 5 }),
        Body::TaskTable(TaskTable { term: 5, entries: entries.clone() }),
        Body::TableReport(TableReport { term: 5, part: 1, parts: 2, entries: entries.clone() }),
    ];
    for body in good {
        let env = Envelope::new(NodeId::new("s1").unwrap(), body);
        assert_eq!(Envelope::decode(&env.to_vec().unwrap()), Ok(env.clone()));
        // A v2 envelope carries the body alone.
        let bytes = env.body.to_vec().unwrap();
        assert_eq!(Body::decode(&bytes), Ok(env.body));
        // A body alone is refused as an envelope is: a byte too many, a
        // kind past the known ones, nothing at all.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Body::decode(&longer), Err(WireError::TrailingBytes { count: 1 }));
        let mut unknown = bytes.clone();
        unknown[0] = Body::KINDS as u8;
        assert_eq!(Body::decode(&unknown), Err(WireError::UnknownBody));
        assert_eq!(Body::decode(&[]), Err(WireError::Empty));
    }
    let mut dup_entries = entries.clone();
    dup_entries.push(entry.clone()).unwrap();
    let mut zero_required = heapless::Vec::new();
    zero_required.push(TaskEntry { required: 0, ..entry.clone() }).unwrap();
    let mut unproved = heapless::Vec::new();
    unproved.push(TaskEntry { proof: None, ..entry.clone() }).unwrap();
    let mut proof_alone = heapless::Vec::new();
    proof_alone.push(TaskEntry { checkpoint: None, ..entry }).unwrap();
    let report = |term, part, parts, entries: &heapless::Vec<TaskEntry, MAX_TABLE_ENTRIES>| {
        Body::TableReport(TableReport { term, part, parts, entries: entries.clone() })
    };
    let bad = [
        (report(0, 0, 1, &entries), WireError::ZeroTerm),
        (report(1, 0, 0, &entries), WireError::Malformed),
        (report(1, 2, 2, &entries), WireError::Malformed),
        (report(1, 0, MAX_REPORT_PARTS + 1, &entries), WireError::Malformed),
        (report(1, 0, 1, &dup_entries), WireError::Malformed),
        (report(1, 0, 1, &unproved), WireError::Malformed),
        (Body::LeaderNotice(LeaderNotice { term: 0 }), WireError::ZeroTerm),
        (Body::TaskTable(TaskTable { term: 0, entries }), WireError::ZeroTerm),
        (Body::TaskTable(TaskTable { term: 1, entries: dup_entries }), WireError::Malformed),
        (Body::TaskTable(TaskTable { term: 1, entries: unproved }), WireError::Malformed),
        (Body::TaskTable(TaskTable { term: 1, entries: proof_alone }), WireError::Malformed),
        (Body::TaskTable(TaskTable { term: 1, entries: zero_required }), WireError::Malformed),
    ];
    for (body, err) in bad {
        let bytes = Envelope::new(NodeId::new("s1").unwrap(), body).to_vec().unwrap();
        assert_eq!(Envelope::decode(&bytes), Err(err));
    }
}

#[test]
fn rejects_oversized_sender() {
    // version 1, then a 65-byte string length.
    let mut bytes = [b'a'; 80];
    bytes[0] = 1;
    bytes[1] = 65;
    assert_eq!(Envelope::decode(&bytes), Err(WireError::Malformed));
}
