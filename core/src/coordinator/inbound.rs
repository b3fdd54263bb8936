//! Inputs: a datagram opened at the gate, authorised by what the sender's
//! role and term allow (certified in the Byzantine fault model), then routed
//! to the room and the components that own what it says.

use super::*;

crate::for_every_coordinator! { impl {
    /// Decodes one message and routes it to the components; follow-up work (a
    /// recovery, a reassignment, an answer) happens in this call.
    ///
    /// A message that claims to come from this node (a reflected datagram, or a
    /// forgery) is dropped without an error and counted in
    /// [`OpsCounters::self_addressed`]: what a peer sends is not the host's mistake.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError> {
        if !self.running {
            return Err(HandleError::NotRunning);
        }
        // A refused message changes nothing, not even the clock (only a counter).
        let mut clock = self.clock;
        let now = clock.observe(now);
        // Borrowed, not moved: a `Body` is several KiB (its largest variant),
        // and every move of it is a copy.
        // Matched by reference: moving the `Opened` out of the `Result` would
        // copy its heartbeat (most of a KiB) once more.
        let byzantine = self.config.election.fault_model.is_byzantine();
        let opened = self.gate.open(now, bytes, &self.supervisors, byzantine);
        let Opened { sender, body, body_at, attach_at, mac, introduce } = match &opened {
            Ok(opened) => opened,
            Err(RejectReason::FromSelf) => {
                // What a peer sends is not the host's mistake: dropped and counted.
                self.out.counters.self_addressed.bump();
                return Ok(());
            }
            Err(reason) => {
                self.out.counters.rejected.bump(*reason);
                return Err(HandleError::Rejected(*reason));
            }
        };
        // Authenticated; now its authority: refused before anything changes.
        if let Err(reason) = self.authorize(sender, body, *mac) {
            self.out.counters.rejected.bump(reason);
            return Err(HandleError::Rejected(reason));
        }
        // A voucher is checked in full before anything changes; what it
        // teaches is kept below.
        let learned = match body {
            Message::Other(b) => match &**b {
                Body::Voucher(v) => match self.gate.check_voucher(now, v, &self.supervisors) {
                    Ok(learned) => Some(learned),
                    Err(reason) => {
                        self.out.counters.rejected.bump(reason);
                        return Err(HandleError::Rejected(reason));
                    }
                },
                _ => None,
            },
            Message::Heartbeat(_) => None,
        };
        // Byzantine fault model: the proof a message needs for the term it
        // claims, checked before anything changes (an election message is
        // handed to the certified election here, which checks its vote or
        // certificate before the election sees it).
        let mut stepped = None;
        if byzantine {
            let attachment = bytes.get(attach_at.clone()).unwrap_or(&[]);
            match self.certify(now, sender, body, attachment) {
                Ok(s) => stepped = s,
                Err(reason) => {
                    self.out.counters.rejected.bump(reason);
                    return Err(HandleError::Rejected(reason));
                }
            }
        }
        self.clock = clock;
        self.out.counters.messages_received.bump();
        let is_heartbeat = matches!(body, Message::Heartbeat(_));
        if self.config.record_history && (self.config.record_heartbeats || !is_heartbeat) {
            self.record(now, sender.as_str(), body.kind(), bytes.get(body_at.clone()).unwrap_or(bytes));
        }
        if *introduce && self.gate.may_introduce(sender, now, self.config.heartbeat_interval) {
            // A new or restarted member, or one that has not shown it holds
            // this node's certificate, learns it in return.
            self.gate.introduced(sender, now);
            self.out.send(Out::MembershipTo { to: sender.clone() });
            // And the other voters' certificates, so that no single voter
            // can keep it from checking a leader certificate (`vouchers`).
            if byzantine && matches!(self.room, Room::Supervisor(_)) {
                for voter in self.gate.vouchers_for(sender) {
                    self.out.send(Out::VoucherTo { to: sender.clone(), of: voter.clone() });
                }
            }
        }
        let taken = match (stepped, learned, body) {
            (Some(taken), _, _) => taken,
            (None, Some(learned), _) => {
                let new = learned.is_some();
                if let Some(learned) = learned {
                    self.gate.learn_voucher(learned);
                }
                new
            }
            (None, None, Message::Heartbeat(hb)) => self.on_heartbeat(now, sender, hb),
            (None, None, Message::Other(body)) => self.dispatch(now, sender, body),
        };
        if !taken {
            self.out.counters.messages_ignored.bump();
        }
        self.coordinate(now);
        Ok(())
    }

    /// Whether authenticated member `sender` may send `body` (the crate's
    /// *Authority* rules, `docs/architecture.md`): election messages, leader
    /// notices, assignments, releases and task tables only from a supervisor
    /// (the configured voters, whose certificates say so), checkpoint reports
    /// only from a worker; and a leader message (a notice, an assignment, a
    /// task table, a leader heartbeat, a heartbeat naming the term its sender
    /// leads) never for a term this node knows another supervisor leads, or
    /// leads itself. What only a stale but genuine message would fail (an
    /// older term, a release of a role another supervisor gave) is no attack:
    /// it passes here and is ignored by the room, counted in
    /// [`OpsCounters::messages_ignored`].
    fn authorize(&self, sender: &NodeId, body: &Message, mac: bool) -> Result<(), RejectReason> {
        let from_supervisor = self.supervisors.contains(sender);
        let body = match body {
            Message::Heartbeat(h) if from_supervisor && h.leading > 0 => return self.may_lead(sender, h.leading),
            Message::Heartbeat(_) => return Ok(()),
            Message::Other(b) => &**b,
        };
        let leader_term = match body {
            b if !from_supervisor && b.is_election() => return Err(RejectReason::NotAuthorized),
            Body::LeaderNotice(_)
            | Body::TaskAssignment(_)
            | Body::TaskRelease(_)
            | Body::TaskTable(_)
            | Body::TableReport(_)
            | Body::Voucher(_)
                if !from_supervisor =>
            {
                return Err(RejectReason::NotAuthorized);
            }
            Body::CheckpointReport(_) if from_supervisor => return Err(RejectReason::NotAuthorized),
            // Signed by its origin, whoever relayed it; an older one than
            // held is a replay (the same one again is a flooded duplicate:
            // taken, ignored).
            Body::SignedLinkState(a) if a.origin == self.id => return Ok(()),
            Body::SignedLinkState(a) => {
                // Straight from its origin under a MAC: the origin's pairwise
                // key already vouches for every byte, so its signature (kept
                // for the nodes it is flooded on to, who check it) is not
                // checked here (one Ed25519 verification saved per advert).
                let direct = mac && a.origin == *sender;
                let verified = self.mesh.advert_digest(&a.origin, a.state.sequence);
                match self.gate.verify_link_state(a, verified, direct) {
                    // An origin this node has not admitted (yet) cannot be
                    // checked: an honest relay meets that while joins are on
                    // their way, so it is ignored (counted), not refused.
                    Err(RejectReason::UnknownSender) => return Ok(()),
                    other => other?,
                }
                return match self.mesh.advert_sequence(&a.origin) {
                    Some(held) if a.state.sequence < held => Err(RejectReason::Replayed),
                    _ => Ok(()),
                };
            }
            // Signed by its sender; not newer than the one held is a replay.
            Body::EndpointRecord(r) => {
                self.gate.verify_endpoint(sender, r)?;
                if crate::mesh::Endpoint::parse(&r.endpoint).is_err() {
                    return Err(RejectReason::Malformed);
                }
                return match self.mesh.endpoint_sequence(sender) {
                    Some(held) if r.sequence <= held => Err(RejectReason::Replayed),
                    _ => Ok(()),
                };
            }
            // Signed by its sender, so the leader's table can carry it on.
            Body::CheckpointReport(r) => {
                return self.gate.verify_checkpoint(sender, &r.task, &r.checkpoint, &r.signature);
            }
            Body::LeaderHeartbeat(h) => h.term,
            Body::LeaderNotice(n) => n.term,
            Body::TaskAssignment(a) => a.term,
            Body::TaskTable(t) => t.term,
            Body::Heartbeat(h) if from_supervisor && h.leading > 0 => h.leading,
            _ => return Ok(()),
        };
        self.may_lead(sender, leader_term)
    }

    /// (Byzantine fault model) whether `body` from `sender` carries the proof
    /// the term it claims needs: an election message goes to the certified
    /// election, which checks its signed vote or certificate first
    /// (`Ok(Some(taken))`: handled); a leader message (notice, assignment,
    /// task table, a heartbeat naming the term its sender leads) needs a
    /// verified leader certificate of its sender for that term (see
    /// [`Self::check_leader_claim`]). Nothing changes on `Err`.
    fn certify(
        &mut self,
        now: Instant,
        sender: &NodeId,
        body: &Message,
        attachment: &[u8],
    ) -> Result<Option<bool>, RejectReason> {
        if !self.supervisors.contains(sender) {
            return Ok(None);
        }
        let body = match body {
            Message::Heartbeat(h) if h.leading > 0 => {
                return self.check_leader_claim(sender, h.leading, &[]).map(|_| None);
            }
            Message::Heartbeat(_) => return Ok(None),
            Message::Other(b) => &**b,
        };
        let term = match body {
            b if b.is_election() => {
                let Room::Supervisor(s) = &mut self.room else { return Ok(None) };
                let Some(c) = s.certified_mut() else { return Ok(None) };
                // The voters' keys as admitted so far (a voter's signature
                // counts once its certificate is held).
                for (id, key) in self.gate.voter_keys(&self.supervisors).entries() {
                    let _ = c.set_voter_key(id, *key);
                }
                let env = Envelope::new(sender.clone(), body.clone());
                return match s.on_certified_message(now, &env, attachment) {
                    Ok(taken) => Ok(Some(taken)),
                    Err(_) => Err(RejectReason::Uncertified),
                };
            }
            Body::LeaderNotice(n) => n.term,
            Body::TaskAssignment(a) => a.term,
            Body::TaskTable(t) => t.term,
            _ => return Ok(None),
        };
        self.check_leader_claim(sender, term, attachment).map(|_| None)
    }

    /// (Byzantine fault model) `Ok` if this node holds a verified leader
    /// certificate of `sender` for `term` (a supervisor: its election's for
    /// the current term; a worker: the leader it recorded for the highest
    /// term heard of, recorded only from a verified certificate), if `term` is
    /// older than the term this node is at (a stale message, ignored later as
    /// in crash-only mode), or if `attachment` is a valid leader certificate
    /// of `sender` for `term`, verified from the datagram's bytes.
    fn check_leader_claim(&self, sender: &NodeId, term: u64, attachment: &[u8]) -> Result<(), RejectReason> {
        let (held, current) = match &self.room {
            Room::Supervisor(s) => (
                s.leader_certificate()
                    .is_some_and(|qc| qc.check_claim(crate::auth::VoteKind::Vote, term, sender).is_ok()),
                s.election().map_or(0, |e| e.term()),
            ),
            Room::Worker(w) => {
                let known = w.known();
                (known.is_some_and(|(l, t)| *t == term && l == sender), known.map_or(0, |(_, t)| *t))
            }
        };
        if held || term < current {
            return Ok(());
        }
        let quorum = self.config.election.fault_model.quorum(self.supervisors.len());
        self.gate.verify_leader_certificate(attachment, &self.supervisors, quorum, term, sender)
    }

    /// `Ok` if `sender` may speak as the leader of `term` here.
    fn may_lead(&self, sender: &NodeId, term: u64) -> Result<(), RejectReason> {
        let may = match &self.room {
            Room::Supervisor(s) => s.may_lead(sender, term),
            Room::Worker(w) => w.may_lead(sender, term),
        };
        if may { Ok(()) } else { Err(RejectReason::NotLeader) }
    }

    /// Routes a decoded envelope to the room or component it is for; `false`
    /// if nothing took it (wrong role, not from a supervisor, refused).
    fn dispatch(&mut self, now: Instant, sender: &NodeId, body: &Body) -> bool {
        match body {
            Body::Heartbeat(hb) => return self.on_heartbeat(now, sender, hb),
            Body::Membership(m) => {
                self.on_membership(now, sender, m);
                return true;
            }
            _ => {}
        }
        let from_supervisor = self.supervisors.contains(sender);
        let out = &mut self.out;
        match (body, &mut self.room) {
            (b, Room::Supervisor(s)) if b.is_election() => {
                s.on_election_message(now, &Envelope::new(sender.clone(), body.clone()))
            }
            (Body::LeaderNotice(LeaderNotice { term }), Room::Worker(w)) if from_supervisor => {
                w.on_leader_notice(now, sender, *term, self.config.lease_timeout, out);
                true
            }
            (Body::LeaderNotice(_), Room::Supervisor(_)) if from_supervisor => true,
            (Body::TaskAssignment(a), Room::Worker(w)) if from_supervisor => {
                w.on_assignment(now, sender, a, self.config.lease_timeout, out)
            }
            (Body::TaskRelease(TaskRelease { task }), Room::Worker(w)) if from_supervisor => {
                w.on_release(now, sender, task, out)
            }
            (Body::CheckpointReport(r), Room::Supervisor(s)) => s.on_checkpoint(now, sender, r, out),
            (Body::TaskTable(t), Room::Supervisor(s)) if from_supervisor => {
                let gate = &self.gate;
                let verify = |task: &TaskId, c: &Checkpoint, p: &crate::wire::CheckpointProof| {
                    gate.verify_checkpoint(&p.primary, task, c, &p.signature).is_ok()
                };
                s.on_task_table(sender, t, verify, out)
            }
            (Body::TableReport(r), Room::Supervisor(s)) if from_supervisor => {
                let gate = &self.gate;
                let verify = |task: &TaskId, c: &Checkpoint, p: &crate::wire::CheckpointProof| {
                    gate.verify_checkpoint(&p.primary, task, c, &p.signature).is_ok()
                };
                s.on_table_report(now, sender, r, &*self.crash, verify, out)
            }
            // Link-state adverts are authenticated as their origin's (an advert
            // names no origin but its sender, and is not relayed), but the
            // coordinator does no link-state routing yet: its routes come from
            // its own tunnel checks. Ignored, and counted.
            (Body::LinkState(_), _) => false,
            (Body::SignedLinkState(a), _) => self.on_advert(now, sender, a),
            (Body::EndpointRecord(r), _) => match crate::mesh::Endpoint::parse(&r.endpoint) {
                Ok(e) => self.mesh.roam(sender, r.sequence, e, out),
                Err(_) => false,
            },
            _ => false,
        }
    }

    /// A health heartbeat: supervisors track every sender, workers only
    /// supervisors. A leader's renews the leases it gave; on the leader, a
    /// worker's report of its roles is reconciled with the assignments.
    fn on_heartbeat(&mut self, now: Instant, sender: &NodeId, hb: &Heartbeat) -> bool {
        let from_supervisor = self.supervisors.contains(sender);
        match &mut self.room {
            Room::Worker(_) if !from_supervisor => return false,
            Room::Worker(w) if hb.leading > 0 => {
                w.renew(now, sender, hb.leading, self.config.lease_timeout);
                w.follow_again(now, sender, hb.leading, self.config.lease_timeout, &mut self.out);
            }
            Room::Supervisor(s) if !from_supervisor => s.reconcile(sender, &hb.held, &mut self.out),
            _ => {}
        }
        // Adverts come to a worker through the supervisors, to a supervisor
        // from every node: while none of them is heard, adverts do not age.
        if from_supervisor || matches!(self.room, Room::Supervisor(_)) {
            self.flood_heard = true;
        }
        // The status after the heartbeat comes with it (no second lookup). A
        // peer whose tunnel the reported handshakes kept `Up` through its
        // crash was lost by the control plane only: its first healthy
        // heartbeat brings it back (no flap guard).
        let vouched = self.host_handshakes && self.mesh.vouches(sender);
        let every = self.config.follower_heartbeat_every;
        let spacing =
            (every > 1).then(|| {
                heartbeat_spacing(every, self.room.spacing_view(), SpacingSide::Expect, sender, from_supervisor)
            });
        let status = match self.crash.update_node_health_status(now, sender, hb.metrics, vouched, spacing) {
            Ok(status) => Some(status),
            Err(_) => {
                self.out.counters.table_full.bump();
                self.crash.status(sender).ok()
            }
        };
        self.mesh.heard(now, sender, status, self.host_handshakes, &mut self.out);
        self.mesh.timestamps(now, sender, hb.sent_at, hb.echo, &mut self.out);
        true
    }

    fn on_membership(&mut self, now: Instant, sender: &NodeId, m: &Membership) {
        let from_supervisor = self.supervisors.contains(sender);
        if matches!(self.room, Room::Worker(_)) && !from_supervisor {
            return;
        }
        if m.joining {
            // What a member offers is its certificate's, never its own claim.
            let Some(cert) = self.gate.peer(sender) else { return };
            let (slots, pools) = (cert.slots, cert.pools.clone());
            self.mesh.set_peer(sender, *cert.wg_key.as_bytes(), cert.endpoints.first(), &mut self.out);
            if let Room::Supervisor(s) = &mut self.room
                && !from_supervisor
            {
                s.on_worker_join(now, sender, slots, &pools, &*self.crash, &mut self.out);
            }
        } else {
            self.out.emit(now, sender.clone(), OpsEventKind::NodeLeft);
            let _ = self.crash.remove_node(sender);
            self.forget_peer(now, sender, false);
            if let Room::Supervisor(s) = &mut self.room {
                s.on_worker_lost(now, sender, &*self.crash, &mut self.out);
            }
        }
    }

    /// An authenticated advert (its origin's signature verified, or its
    /// origin's MAC on the envelope that brought it straight here; not older
    /// than the one held): a newer one is kept, applied to the mesh and, on a
    /// supervisor, flooded on; this node's own, one of an origin not admitted
    /// (it could not be verified), or the held one again (a flooded
    /// duplicate), is ignored.
    fn on_advert(&mut self, now: Instant, sender: &NodeId, advert: &SignedLinkState) -> bool {
        if advert.origin == self.id || self.mesh.advert_sequence(&advert.origin) == Some(advert.state.sequence) {
            return false;
        }
        // `None` exactly when the origin is not admitted.
        let Some(digest) = self.gate.link_state_digest(advert) else { return false };
        let floods = matches!(self.room, Room::Supervisor(_));
        if !self.mesh.take_advert(now, advert, digest, floods, &mut self.out) {
            return false;
        }
        if floods {
            self.out.send(Out::Flood { origin: advert.origin.clone(), except: Some(sender.clone()) });
        }
        true
    }
} }
