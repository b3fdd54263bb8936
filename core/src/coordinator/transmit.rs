//! Outputs: events, archived history batches and the next timeout; the
//! hard state before anything is sent, then each queued item
//! built into a message, expanded into one transmit per recipient and sealed
//! for it (with the leader's certificate attached in the Byzantine fault model).

use super::*;

crate::for_every_coordinator! { impl {
    /// The election's hard state to persist before sending anything (supervisors).
    pub fn poll_hard_state(&mut self) -> Option<HardState> {
        let Room::Supervisor(s) = &mut self.room else { return None };
        let hs = s.poll_hard_state()?;
        self.hard_state = hs.clone();
        Some(hs)
    }

    /// The next message to send: election messages first (once the hard state is
    /// drained), then the coordinator's own in the order they were queued.
    pub fn poll_transmit(&mut self) -> Option<OpsTransmit> {
        self.out.staged.take().or_else(|| self.next_transmit())
    }

    /// The message `poll_transmit` returns next, without taking it (encoded once,
    /// then kept): lets a host check its buffer size before taking the message.
    pub fn peek_transmit(&mut self) -> Option<&OpsTransmit> {
        if self.out.staged.is_none() {
            self.out.staged = self.next_transmit();
        }
        self.out.staged.as_ref()
    }

    fn next_transmit(&mut self) -> Option<OpsTransmit> {
        loop {
            let Self { fanout, gate, out, mesh, clock, .. } = &mut *self;
            if let Some(f) = fanout.as_mut() {
                if let Some(to) = f.recipients.get(f.next).cloned() {
                    f.next = f.next.saturating_add(1);
                    // A heartbeat MAC'd for `to` echoes its last one.
                    let echoed = match &mut f.heartbeat {
                        Some(hb) if gate.macs_for(&to, f.how) => {
                            hb.echo = mesh.echo_for(clock.latest(), &to);
                            hb.echo.and_then(|_| Body::Heartbeat((**hb).clone()).to_vec().ok())
                        }
                        _ => None,
                    };
                    match gate.seal(echoed.as_deref().unwrap_or(&f.body), &to, f.how, &mut f.signed) {
                        Some(bytes) => {
                            let counters = &mut out.counters;
                            counters.messages_sent.bump();
                            counters.bytes_sent = counters.bytes_sent.saturating_add(bytes.len() as u64);
                            return Some(OpsTransmit { to, bytes });
                        }
                        None => out.counters.dropped_transmits.bump(),
                    }
                    continue;
                }
                *fanout = None;
            }
            let election = match &mut self.room {
                Room::Supervisor(s) => s.poll_election_transmit(),
                Room::Worker(_) => None,
            };
            // A message is MAC'd for each recipient that holds a pairwise key
            // with this node and signed (once for all) for the others.
            // Byzantine mode: a signed vote or certificate follows the body
            // (under the same tag).
            let mut attachment = Vec::new();
            let (to, body, how) = if let Some((t, a)) = election {
                attachment = a;
                (t.to.map_or(Destination::Supervisors, Destination::Node), t.envelope.body, Sealing::Mac)
            } else {
                let out = self.out.pop()?;
                // A join is signed: any recipient may have to admit this node
                // from it. The periodic announcement is signed for the peers
                // that have not shown, in their current boot, that they hold
                // this node's certificate (one that restarted since has lost
                // it and must be able to admit this node again), MAC'd for
                // the others (a signature would tell them nothing new, and
                // costs each of them an Ed25519 verification).
                let how = match out {
                    Out::MembershipTo { .. } | Out::Membership { joining: true } => Sealing::Sign,
                    Out::Reannounce => Sealing::Announce { heard_since: self.announce_proof_since() },
                    _ => Sealing::Mac,
                };
                match self.build(out) {
                    Some((to, body)) => (to, body, how),
                    None => continue,
                }
            };
            if matches!(body, Body::LeaderNotice(_) | Body::TaskAssignment(_))
                && let Room::Supervisor(s) = &self.room
                && let Some(qc) = s.leader_certificate()
            {
                // The leader's certificate, kept once, rides with every
                // notice and assignment (workers check it once per term).
                attachment = alloc::vec![crate::election::ATTACH_CERTIFICATE; 1 + qc.encoded_len()];
                match attachment.get_mut(1..).map(|buf| qc.encode(buf)) {
                    Some(Ok(n)) => attachment.truncate(1 + n),
                    _ => attachment.clear(),
                }
            }
            match body.to_vec() {
                Ok(mut bytes) => {
                    bytes.extend_from_slice(&attachment);
                    let mut recipients = self.expand(&to);
                    if let Body::SignedLinkState(a) = &body {
                        // Flooded on: not back to its origin, nor to who sent
                        // it here, nor to a node the origin sent it to itself:
                        // one the advert shows an up tunnel with, or whose own
                        // advert (as this node holds it) shows one with the
                        // origin ([`hears`]).
                        let except = self.flood_except.take();
                        if a.origin != self.id {
                            let mesh = &self.mesh;
                            recipients.retain(|n| {
                                *n != a.origin
                                    && Some(n) != except.as_ref()
                                    && !hears(a, n)
                                    && !mesh.advert(n).is_some_and(|r| hears(r, &a.origin))
                            });
                        }
                    }
                    let heartbeat = match body {
                        Body::Heartbeat(hb) => {
                            self.space_heartbeat(&mut recipients, hb.sequence);
                            Some(Box::new(hb))
                        }
                        _ => None,
                    };
                    self.fanout = Some(Fanout { body: bytes, how, recipients, next: 0, signed: None, heartbeat });
                }
                Err(_) => self.out.counters.dropped_transmits.bump(),
            }
        }
    }

    /// The oldest MAC'd message from a peer that still shows it holds this
    /// node's certificate, for the periodic announcement: three heartbeats
    /// back (every peer that receives announcements also sends this node
    /// heartbeats, MAC'd once it holds the certificate), at the spaced rate
    /// where heartbeats are spaced ([`OpsConfig::follower_heartbeat_every`]).
    fn announce_proof_since(&self) -> Instant {
        let every = u64::from(self.config.follower_heartbeat_every.max(1));
        let back = self.config.heartbeat_interval.total_micros().saturating_mul(3 * every);
        Instant::from_micros(self.clock.latest().total_micros().saturating_sub(back))
    }

    /// Between the intervals a spaced pair heartbeats in
    /// ([`OpsConfig::follower_heartbeat_every`]), heartbeat `sequence` goes
    /// only to the full-rate peers among `recipients`, and to the spaced ones
    /// whose tunnel latency has not settled: the echoes of full-rate
    /// heartbeats measure a new tunnel as fast as ever, so routes do not rest
    /// on a few noisy samples for longer than at the full rate (a receiver
    /// expects no more than the spaced rate: more is harmless).
    ///
    /// For [`SPACING_GRACE`] heartbeats after the leader changed in this
    /// node's view, it sends every one: its peers may still see the old
    /// leader, and expect the full rate from this node.
    fn space_heartbeat(&mut self, recipients: &mut Vec<NodeId>, sequence: u64) {
        let every = self.config.follower_heartbeat_every;
        if every <= 1 {
            return;
        }
        let Self { room, id, spacing_leader, spacing_from, supervisors, mesh, .. } = self;
        let view = room.spacing_view();
        let leader = match view {
            SpacingView::Leading => Some(&*id),
            SpacingView::Following(l) | SpacingView::Worker(l) => l,
        };
        if leader != spacing_leader.as_ref() {
            *spacing_leader = leader.cloned();
            *spacing_from = sequence.saturating_add(SPACING_GRACE);
        }
        if sequence < *spacing_from || sequence.is_multiple_of(u64::from(every)) {
            return;
        }
        recipients.retain(|n| {
            heartbeat_spacing(every, view, SpacingSide::Send, n, supervisors.contains(n)) == 1
                || !mesh.latency_settled(n)
        });
    }

    /// The nodes a message to `to` goes to, never this node: one node, the
    /// configured supervisors, or the cluster (the supervisors, then every
    /// admitted member).
    fn expand(&self, to: &Destination) -> Vec<NodeId> {
        let mut list: Vec<NodeId> = match to {
            Destination::Node(n) => alloc::vec![n.clone()],
            Destination::Supervisors => self.supervisors.clone(),
            Destination::Cluster => {
                let mut l = self.supervisors.clone();
                l.extend(self.gate.peer_ids().filter(|n| !self.supervisors.contains(n)).cloned());
                l
            }
        };
        list.retain(|n| *n != self.id);
        list
    }

    /// Builds an outbox item into a body; `None` if it no longer applies.
    fn build(&mut self, out: Out) -> Option<(Destination, Body)> {
        Some(match out {
            Out::Heartbeat => {
                let held = match &self.room {
                    Room::Worker(w) => w.report(),
                    Room::Supervisor(_) => heapless::Vec::new(),
                };
                let leading = self.leading().unwrap_or(0);
                let (sequence, sent_at, metrics) = (self.heartbeat_seq, self.clock.latest(), self.metrics);
                let hb = Heartbeat { sequence, sent_at, metrics, leading, held, echo: None };
                (self.broadcast(), Body::Heartbeat(hb))
            }
            Out::Membership { joining } => (self.broadcast(), Body::Membership(self.gate.membership(joining))),
            Out::MembershipTo { to } => (Destination::Node(to), Body::Membership(self.gate.membership(true))),
            Out::Reannounce => (self.broadcast(), Body::Membership(self.gate.membership(true))),
            Out::VoucherTo { to, of } => (Destination::Node(to), Body::Voucher(self.gate.voucher(&of)?)),
            Out::Assign { to, term, task, task_type, role, checkpoint } => (
                Destination::Node(to),
                Body::TaskAssignment(TaskAssignment { term, task, task_type, role, checkpoint }),
            ),
            Out::Release { to, task } => (Destination::Node(to), Body::TaskRelease(TaskRelease { task })),
            Out::Checkpoint { task, checkpoint } => {
                // Only the leader takes reports (followers learn checkpoints
                // from its table): to the leader if one is known.
                let to = match &self.room {
                    Room::Worker(w) => w.report_to().cloned().map_or(Destination::Supervisors, Destination::Node),
                    Room::Supervisor(_) => Destination::Supervisors,
                };
                let signature = self.gate.sign_checkpoint(&task, &checkpoint);
                (to, Body::CheckpointReport(CheckpointReport { task, checkpoint, signature }))
            }
            Out::LeaderNotice { term } => (Destination::Cluster, Body::LeaderNotice(LeaderNotice { term })),
            Out::TaskTable => match &mut self.room {
                Room::Supervisor(s) => (Destination::Supervisors, s.next_table_slice()?),
                Room::Worker(_) => return None,
            },
            Out::TableEntry { task } => match &self.room {
                Room::Supervisor(s) => (Destination::Supervisors, s.table_entry(&task)?),
                Room::Worker(_) => return None,
            },
            Out::TableReport { part } => match &self.room {
                Room::Supervisor(s) => {
                    let (leader, body) = s.table_report(part)?;
                    (Destination::Node(leader), body)
                }
                Room::Worker(_) => return None,
            },
            Out::Flood { origin, except } => {
                // This node's own is signed as it leaves (only its links are kept).
                let advert = if origin == self.id {
                    self.gate.sign_link_state(self.mesh.own_advert()?)?
                } else {
                    self.mesh.advert(&origin)?.clone()
                };
                // A supervisor's advert goes to the cluster, a worker's to the
                // supervisors (only they hold workers' certificates).
                let to =
                    if self.supervisors.contains(&origin) { Destination::Cluster } else { Destination::Supervisors };
                let to = if origin == self.id { self.broadcast() } else { to };
                self.flood_except = except;
                (to, Body::SignedLinkState(advert))
            }
            Out::Endpoint => (self.broadcast(), Body::EndpointRecord((*self.own_endpoint.clone()?).clone())),
        })
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<OpsEvent> {
        self.out.poll_event()
    }

    /// The oldest history batch moved out of memory; the host stores it (or drops it).
    pub fn poll_archived(&mut self) -> Option<Batch> {
        self.history.poll_archived()
    }

    /// The batch [`NetworkOperationsManager::poll_archived`] would return next,
    /// without taking it (so a host can size its buffer first).
    pub fn peek_archived(&self) -> Option<&Batch> {
        self.history.peek_archived()
    }

    /// When `tick` must next be called (`Instant::MAX` when stopped): the
    /// earliest deadline of the timer table and the election.
    pub fn poll_timeout(&self) -> Instant {
        if !self.running {
            return Instant::MAX;
        }
        let election = match &self.room {
            Room::Supervisor(s) => s.election().map_or(Instant::MAX, |e| e.poll_timeout()),
            Room::Worker(_) => Instant::MAX,
        };
        self.clock.to_host(self.timers.next().min(election))
    }
} }

/// Whether `advert` shows an up tunnel between its origin and `node`: the
/// origin sent its advert to `node` itself. A node sends its own advert to
/// every node it broadcasts to (a worker: the supervisors; a supervisor: the
/// cluster), and each node it has a tunnel with is one of those; an up
/// tunnel means the origin hears the node (or, with host-reported
/// handshakes, the data plane works). Flooding it there again would only
/// repeat it: one such copy lost is replaced by the next advert (at the
/// latest the refresh, well within the age limit), as the relays' copies
/// would have. A relay asks it of the origin's advert and of the
/// recipient's own (as the relay holds it): an advert lists at most 64
/// tunnels, so a supervisor's, with a tunnel to every worker, leaves most out,
/// while each worker's lists its few, the supervisors among them. A node
/// whose tunnel with the origin is down, or listed in neither advert, is one
/// the origin may not reach: the flood still brings it the advert.
fn hears(advert: &SignedLinkState, node: &NodeId) -> bool {
    advert.state.links.iter().any(|l| l.up && l.neighbor == *node)
}
