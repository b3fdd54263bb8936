//! `pn_leader_election`: log-less Raft leader election among supervisors (PreVote,
//! CheckQuorum), over [`pouw_netops::LeaderElectionManager`] with the large preset
//! (4096 voters).
//!
//! Message level and sans-IO, like the core: feed `pn_leader_election_tick`,
//! `pn_leader_election_campaign` and `pn_leader_election_step` (received bytes),
//! then drain, in this order, `pn_leader_election_poll_hard_state` (persist it
//! before sending anything), `pn_leader_election_poll_transmit` (bytes into a
//! caller buffer) and `pn_leader_election_poll_timeout` (when to tick next).

use crate::boundary::{Handle, Out, bytes, guard, optional_out, set_opt, set_polled, slots};
use crate::convert::{node_id, node_ids, pn_node_id, pn_str};
use crate::election::{pn_hard_state, pn_leader_election_config};
use crate::result::pn_result;
use crate::boundary::encode_into;
use core::ffi::c_char;
use pouw_netops::preset::large;
use pouw_netops::{ElectionConfig, ElectionRole, Envelope, HardState, Instant};

/// Voters an election handle can hold (`large::VOTERS`).
pub const PN_ELECTION_VOTERS: usize = 4096;
/// Messages an election handle's outbox holds before it drops (`large::ELECTION_OUTBOX`).
pub const PN_ELECTION_OUTBOX: usize = 1024;
const _: () = assert!(PN_ELECTION_VOTERS == large::VOTERS && PN_ELECTION_OUTBOX == large::ELECTION_OUTBOX);

/// A node's role in the election.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_election_role {
    /// Follows a leader (or waits for one).
    PN_ROLE_FOLLOWER = 0,
    /// Runs a pre-vote round.
    PN_ROLE_PRE_CANDIDATE = 1,
    /// Runs an election.
    PN_ROLE_CANDIDATE = 2,
    /// Leads.
    PN_ROLE_LEADER = 3,
}

impl From<ElectionRole> for pn_election_role {
    fn from(r: ElectionRole) -> Self {
        match r {
            ElectionRole::Follower => pn_election_role::PN_ROLE_FOLLOWER,
            ElectionRole::PreCandidate => pn_election_role::PN_ROLE_PRE_CANDIDATE,
            ElectionRole::Candidate => pn_election_role::PN_ROLE_CANDIDATE,
            ElectionRole::Leader => pn_election_role::PN_ROLE_LEADER,
        }
    }
}

/// A snapshot of the node's election state.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_election_status {
    /// This node.
    pub node_id: pn_node_id,
    /// Its role.
    pub role: pn_election_role,
    /// Its current term.
    pub term: u64,
    /// Whether a leader is known in this term.
    pub has_leader: bool,
    /// The leader (length 0 if none).
    pub leader: pn_node_id,
    /// Whether it voted in this term.
    pub has_vote: bool,
    /// Whom it voted for (length 0 if nobody).
    pub voted_for: pn_node_id,
    /// Votes granted in the current (pre-)campaign, its own included; 0 outside campaigns.
    pub vote_count: usize,
    /// Whether it is a pre-candidate or candidate.
    pub election_in_progress: bool,
    /// Whether a leader heartbeat was ever received (or, as leader, sent).
    pub has_heartbeat: bool,
    /// Microseconds since that heartbeat (0 if none).
    pub since_last_heartbeat_us: u64,
    /// Messages waiting in the outbox.
    pub pending_transmits: usize,
}

/// Election counters since the handle was made.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_election_stats {
    /// Pre-vote rounds started.
    pub pre_votes_started: u64,
    /// Real elections started.
    pub elections_started: u64,
    /// Elections won.
    pub elections_won: u64,
    /// Elections lost.
    pub elections_lost: u64,
    /// Elections that timed out undecided.
    pub split_votes: u64,
    /// Pre-vote requests refused or ignored.
    pub pre_votes_rejected: u64,
    /// Times this node stopped being leader.
    pub step_downs: u64,
    /// Times the known leader changed.
    pub leader_changes: u64,
    /// Duration of the last decided election, microseconds (0 if none yet).
    pub last_election_duration_us: u64,
    /// Messages dropped because the outbox was full.
    pub dropped_transmits: u64,
    /// Vote records pushed out of the history ring.
    pub dropped_vote_records: u64,
}

/// An opaque leader-election handle (up to 4096 voters); create with
/// `pn_leader_election_new`, release with `pn_leader_election_free`.
pub struct pn_leader_election {
    _opaque: [u8; 0],
}

impl Handle for pn_leader_election {
    type Inner = large::LeaderElectionManager;
}

/// Writes the default election parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_leader_election_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_config_default(out: *mut pn_leader_election_config) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        let d = ElectionConfig::default();
        out.set(pn_leader_election_config {
            election_timeout_us: d.election_timeout.total_micros(),
            heartbeat_interval_us: d.heartbeat_interval.total_micros(),
            pre_vote: d.pre_vote,
            check_quorum: d.check_quorum,
            seed: d.seed,
            progress_check: false,
        });
        Ok(())
    })
}

/// Creates node `id` (UTF-8, `id_len` bytes) among `voter_count` voters (which
/// must include `id`; duplicates are ignored), as a follower whose election timer
/// starts at `now_us`, built in place on the heap. `restore` (NULL for a fresh
/// node at term 0) is the hard state persisted before a restart, so the node
/// never votes twice in a term. `PN_ERR_INVALID_CONFIG` for bad timeouts,
/// `PN_ERR_CAPACITY_EXCEEDED` for more than `PN_ELECTION_VOTERS` voters,
/// `PN_ERR_INVALID_ARGUMENT` if `id` is not a voter.
///
/// # Safety
/// `config` NULL or readable; `id` NULL or readable for `id_len` bytes;
/// `voters` NULL or readable for `voter_count` elements, each readable as described;
/// `restore` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_new(
    config: *const pn_leader_election_config,
    id: *const c_char,
    id_len: usize,
    voters: *const pn_str,
    voter_count: usize,
    restore: *const pn_hard_state,
    now_us: u64,
    out: *mut *mut pn_leader_election,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (config, id, voters, restore, out) = unsafe {
            (
                config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                node_id(id, id_len)?,
                node_ids(voters, voter_count)?,
                restore.as_ref(),
                Out::new(out)?,
            )
        };
        let hard_state = restore.map(HardState::try_from).transpose()?.unwrap_or_default();
        let m = large::LeaderElectionManager::restore_boxed(
            ElectionConfig::from(config),
            id,
            &voters,
            hard_state,
            Instant::from_micros(now_us),
        )?;
        out.set(pn_leader_election::into_raw(m));
        Ok(())
    })
}

/// Releases an election handle; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `election` must be NULL or a live handle from `pn_leader_election_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_free(election: *mut pn_leader_election) {
    // SAFETY: the caller's promise for `election`.
    crate::boundary::catch_or((), || unsafe { pn_leader_election::free(election) })
}

/// Advances timers to `now_us`: a follower whose timeout passed campaigns; a
/// leader checks its quorum and sends heartbeats when due. Drain the outputs after.
///
/// # Safety
/// `election` NULL or a live handle not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_tick(election: *mut pn_leader_election, now_us: u64) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `election`.
        let m = unsafe { pn_leader_election::borrow_mut(election) }?;
        m.tick(Instant::from_micros(now_us));
        Ok(())
    })
}

/// Starts a campaign now (a pre-vote round with PreVote on). On the leader it
/// does nothing and returns `PN_OK` (as etcd and raft-rs).
///
/// # Safety
/// As `pn_leader_election_tick`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_campaign(election: *mut pn_leader_election, now_us: u64) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `election`.
        let m = unsafe { pn_leader_election::borrow_mut(election) }?;
        Ok(m.campaign(Instant::from_micros(now_us))?)
    })
}

/// Gives up leadership (or a campaign) now; the node campaigns again after a fresh timeout.
///
/// # Safety
/// As `pn_leader_election_tick`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_step_down(election: *mut pn_leader_election, now_us: u64) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `election`.
        let m = unsafe { pn_leader_election::borrow_mut(election) }?;
        m.step_down(Instant::from_micros(now_us));
        Ok(())
    })
}

/// Handles one received message (`len` bytes, a complete wire envelope). Decode
/// errors give `PN_ERR_DECODE_*`; a message that is not an election message or
/// claims to come from this node gives `PN_ERR_INVALID_ARGUMENT`, one from a
/// non-voter `PN_ERR_NOT_FOUND`; in those cases nothing changes.
///
/// # Safety
/// As `pn_leader_election_tick`; `msg` NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_step(
    election: *mut pn_leader_election,
    now_us: u64,
    msg: *const u8,
    len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, input) = unsafe { (pn_leader_election::borrow_mut(election)?, bytes(msg, len)?) };
        let envelope = Envelope::decode(input)?;
        Ok(m.step(Instant::from_micros(now_us), &envelope)?)
    })
}

/// Takes the hard state to persist, if it changed since the last call:
/// `*out_available` says whether `*out_state` was written. Persist it before
/// sending anything; `pn_leader_election_poll_transmit` yields nothing until then.
///
/// # Safety
/// `election` as `pn_leader_election_tick`; `out_state` NULL or writable; `out_available` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_poll_hard_state(
    election: *mut pn_leader_election,
    out_state: *mut pn_hard_state,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, state, available) =
            unsafe { (pn_leader_election::borrow_mut(election)?, Out::new(out_state)?, Out::new(out_available)?) };
        set_polled(state, available, m.poll_hard_state().map(|h| pn_hard_state::from(&h)));
        Ok(())
    })
}

/// Takes the next message to send, oldest first, encoding it into `buf`
/// (`buf_len` bytes). `*out_available` says whether there was one. If so,
/// `*out_len` gets its length, `*out_broadcast` whether it goes to every other
/// voter, and otherwise `*out_to` its one destination (if `out_to` is not NULL).
/// A short buffer gives `PN_ERR_BUFFER_TOO_SMALL` with the needed length in
/// `*out_len` and leaves the message queued.
///
/// # Safety
/// `election` as `pn_leader_election_tick`; `buf` NULL or writable for
/// `buf_len` bytes; `out_to` NULL or writable; the other out-pointers writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_poll_transmit(
    election: *mut pn_leader_election,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_broadcast: *mut bool,
    out_to: *mut pn_node_id,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, buf, len, broadcast, to, available) = unsafe {
            (
                pn_leader_election::borrow_mut(election)?,
                slots(buf, buf_len)?,
                Out::new(out_len)?,
                Out::new(out_broadcast)?,
                optional_out(out_to),
                Out::new(out_available)?,
            )
        };
        let Some(t) = m.peek_transmit() else {
            available.set(false);
            return Ok(());
        };
        encode_into(&t.envelope, buf, len)?;
        let _ = m.poll_transmit();
        broadcast.set(t.to.is_none());
        set_opt(to, pn_node_id::from_opt(t.to.as_ref()));
        available.set(true);
        Ok(())
    })
}

/// Writes when `pn_leader_election_tick` must next be called, microseconds.
///
/// # Safety
/// `election` NULL or a live handle; `out_us` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_poll_timeout(
    election: *const pn_leader_election,
    out_us: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_leader_election::borrow(election)?, Out::new(out_us)?) };
        out.set(m.poll_timeout().total_micros());
        Ok(())
    })
}

/// Sets this node's progress (e.g. chain height), sent with its vote requests
/// and compared by the progress check; `has_progress` false clears it.
///
/// # Safety
/// As `pn_leader_election_tick`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_set_progress(
    election: *mut pn_leader_election,
    has_progress: bool,
    progress: u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `election`.
        let m = unsafe { pn_leader_election::borrow_mut(election) }?;
        m.set_progress(has_progress.then_some(progress));
        Ok(())
    })
}

/// Writes the current hard state (term and vote) without taking it.
///
/// # Safety
/// `election` NULL or a live handle; `out_state` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_hard_state(
    election: *const pn_leader_election,
    out_state: *mut pn_hard_state,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_leader_election::borrow(election)?, Out::new(out_state)?) };
        out.set(pn_hard_state::from(&m.hard_state()));
        Ok(())
    })
}

/// Writes a snapshot of the election state at `now_us` into `*out_status`.
///
/// # Safety
/// `election` NULL or a live handle; `out_status` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_status(
    election: *const pn_leader_election,
    now_us: u64,
    out_status: *mut pn_election_status,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_leader_election::borrow(election)?, Out::new(out_status)?) };
        let s = m.status(Instant::from_micros(now_us));
        out.set(pn_election_status {
            node_id: pn_node_id::from(&s.node_id),
            role: s.role.into(),
            term: s.term,
            has_leader: s.leader.is_some(),
            leader: pn_node_id::from_opt(s.leader.as_ref()),
            has_vote: s.voted_for.is_some(),
            voted_for: pn_node_id::from_opt(s.voted_for.as_ref()),
            vote_count: s.vote_count,
            election_in_progress: s.election_in_progress,
            has_heartbeat: s.time_since_last_heartbeat.is_some(),
            since_last_heartbeat_us: s.time_since_last_heartbeat.map_or(0, |d| d.total_micros()),
            pending_transmits: m.pending_transmits(),
        });
        Ok(())
    })
}

/// Writes the election counters into `*out_stats`.
///
/// # Safety
/// `election` NULL or a live handle; `out_stats` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_leader_election_stats(
    election: *const pn_leader_election,
    out_stats: *mut pn_election_stats,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_leader_election::borrow(election)?, Out::new(out_stats)?) };
        let s = m.stats();
        out.set(pn_election_stats {
            pre_votes_started: s.pre_votes_started,
            elections_started: s.elections_started,
            elections_won: s.elections_won,
            elections_lost: s.elections_lost,
            split_votes: s.split_votes,
            pre_votes_rejected: s.pre_votes_rejected,
            step_downs: s.step_downs,
            leader_changes: s.leader_changes,
            last_election_duration_us: s.last_election_duration.map_or(0, |d| d.total_micros()),
            dropped_transmits: s.dropped_transmits,
            dropped_vote_records: s.dropped_vote_records,
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};

    fn names() -> Vec<String> {
        (0..3).map(|i| format!("sup-{i}")).collect()
    }

    fn make(i: usize) -> *mut pn_leader_election {
        let names = names();
        let voters: Vec<pn_str> = names.iter().map(|n| pn_str { ptr: n.as_ptr().cast(), len: n.len() }).collect();
        let mut cfg = pn_leader_election_config {
            election_timeout_us: 0,
            heartbeat_interval_us: 0,
            pre_vote: false,
            check_quorum: false,
            seed: 0,
            progress_check: false,
        };
        let mut out = null_mut();
        // SAFETY: live locals with their true lengths.
        unsafe {
            assert_eq!(pn_leader_election_config_default(&mut cfg), pn_result::PN_OK);
            cfg.seed = i as u64;
            let id = &names[i];
            assert_eq!(
                pn_leader_election_new(&cfg, id.as_ptr().cast(), id.len(), voters.as_ptr(), 3, null(), 0, &mut out),
                pn_result::PN_OK
            );
        }
        out
    }

    /// Three handles exchanging bytes elect exactly one leader, whom every node
    /// then follows (the reference: Raft's single-leader-per-term rule).
    #[test]
    fn three_handles_elect_one_leader_through_bytes() {
        let nodes: Vec<_> = (0..3).map(make).collect();
        let names = names();
        let mut buf = vec![0u8; 256];
        // SAFETY: live handles and locals throughout.
        unsafe {
            assert_eq!(pn_leader_election_campaign(nodes[0], 0), pn_result::PN_OK);
            for round in 0..20u64 {
                let now = round * 10_000;
                for i in 0..3 {
                    let mut hs = pn_hard_state { term: 0, has_vote: false, voted_for: pn_node_id::EMPTY };
                    let mut avail = false;
                    assert_eq!(pn_leader_election_poll_hard_state(nodes[i], &mut hs, &mut avail), pn_result::PN_OK);
                    loop {
                        let (mut len, mut bc, mut to, mut avail) = (0usize, false, pn_node_id::EMPTY, false);
                        // A too-small buffer reports the length and keeps the message.
                        let r = pn_leader_election_poll_transmit(
                            nodes[i],
                            buf.as_mut_ptr(),
                            1,
                            &mut len,
                            &mut bc,
                            &mut to,
                            &mut avail,
                        );
                        if r == pn_result::PN_ERR_BUFFER_TOO_SMALL {
                            assert!(len > 1);
                        }
                        let r = pn_leader_election_poll_transmit(
                            nodes[i],
                            buf.as_mut_ptr(),
                            buf.len(),
                            &mut len,
                            &mut bc,
                            &mut to,
                            &mut avail,
                        );
                        assert_eq!(r, pn_result::PN_OK);
                        if !avail {
                            break;
                        }
                        for j in 0..3 {
                            let to_j = pn_node_id::from_text(&names[j]);
                            if j != i && (bc || to == to_j) {
                                assert_eq!(pn_leader_election_step(nodes[j], now, buf.as_ptr(), len), pn_result::PN_OK);
                            }
                        }
                    }
                }
            }
            let mut leaders = 0;
            for &n in &nodes {
                let mut s = core::mem::zeroed::<pn_election_status>();
                assert_eq!(pn_leader_election_status(n, 200_000, &mut s), pn_result::PN_OK);
                leaders += usize::from(s.role == pn_election_role::PN_ROLE_LEADER);
                assert!(s.has_leader && s.leader == pn_node_id::from_text("sup-0"));
            }
            assert_eq!(leaders, 1);
            assert_eq!(pn_leader_election_campaign(nodes[0], 300_000), pn_result::PN_OK, "a no-op on the leader");
            assert_eq!(pn_leader_election_step(nodes[1], 0, buf.as_ptr(), 0), pn_result::PN_ERR_DECODE_EMPTY);
            for n in nodes {
                pn_leader_election_free(n);
            }
            pn_leader_election_free(null_mut());
        }
    }
}
