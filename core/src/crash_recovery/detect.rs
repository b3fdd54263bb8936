//! Heartbeats, health reports, the crash-detection sweep, recoveries and `poll_timeout`.

use super::*;

impl<const N: usize, const W: usize, const E: usize> CrashRecoveryManager<N, W, E> {
    /// Records a heartbeat from `node` at `now`, registering it if new.
    pub fn heartbeat(&mut self, now: Instant, node: &NodeId) -> Result<(), CrashRecoveryError> {
        self.ingest(now, node, None, false, None).map(|_| ())
    }

    /// Records a heartbeat carrying fresh `metrics` from `node` at `now`,
    /// registering it if new. Invalid metrics change nothing.
    pub fn update_node_health(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: HealthMetrics,
    ) -> Result<(), CrashRecoveryError> {
        self.update_node_health_status(now, node, metrics, false, None).map(|_| ())
    }

    /// [`CrashRecoveryManager::update_node_health`] for a heartbeat from a
    /// node that the caller knows was alive through its whole outage by
    /// another channel than its heartbeats (the coordinator: its WireGuard
    /// tunnel stayed `Up` by the handshakes its host reported, so only the
    /// control plane lost it). The flap guard ([`CrashRecoveryConfig::recovery_heartbeats`])
    /// is for nodes that were really unreachable; this one's silence was
    /// not its own, so if this heartbeat is healthy it completes the node's
    /// *automatic* recovery (the one a crash verdict or a returning node
    /// starts) at once. A recovery with another strategy (a restart, a
    /// replacement) still needs `recovery_heartbeats`; for a node not
    /// recovering this is [`CrashRecoveryManager::update_node_health`].
    pub fn update_node_health_vouched(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: HealthMetrics,
    ) -> Result<(), CrashRecoveryError> {
        self.update_node_health_status(now, node, metrics, true, None).map(|_| ())
    }

    /// [`CrashRecoveryManager::update_node_health`] (with `vouched`:
    /// [`CrashRecoveryManager::update_node_health_vouched`]), returning the
    /// node's status after it (one table lookup where a `status` call would add
    /// one): both public calls are this one, so they validate alike. With
    /// `spacing`, the node's spacing is set as [`CrashRecoveryManager::set_spacing`]
    /// would, in the same lookup.
    pub(crate) fn update_node_health_status(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: HealthMetrics,
        vouched: bool,
        spacing: Option<u8>,
    ) -> Result<NodeStatus, CrashRecoveryError> {
        metrics.validate().map_err(CrashRecoveryError::InvalidMetric)?;
        self.ingest(now, node, Some(metrics), vouched, spacing)
    }

    /// `node` heartbeats only every `every`-th interval from now on (0 is
    /// taken as 1, every interval): its acceptable heartbeat pause is `every`
    /// times the configured one ([`PhiParams::spaced`]), and its suspect and
    /// crash instants are recomputed at once, so a node that slows down on
    /// purpose is not taken for a crashed one. The window learns the longer
    /// interval from the heartbeats themselves. `UnknownNode` for a node
    /// never registered.
    pub fn set_spacing(&mut self, node: &NodeId, every: u8) -> Result<(), CrashRecoveryError> {
        let Some(record) = self.nodes.get_mut(node) else {
            return Err(CrashRecoveryError::UnknownNode(node.clone()));
        };
        Self::respace(record, &self.params, self.suspect, every);
        Ok(())
    }

    /// A new spacing for `record`: the intervals learnt at the old rate say
    /// nothing of the new one, so the window starts again from the new
    /// estimate (keeping the last heartbeat's time).
    fn respace(record: &mut NodeRecord<W>, params: &PhiParams, suspect: PhiLevel, every: u8) {
        let every = every.max(1);
        if record.spacing != every {
            record.spacing = every;
            let params = params.spaced(every);
            record.window.reseed(&params);
            record.suspect_at = record.window.crossing(&params, suspect);
        }
    }

    /// `node`'s record in `nodes`, registering the node (online, never heard
    /// from) if it is new; `TableFull`, and nothing changed, when there is no
    /// room. (Takes the table, not `self`, so that the caller can still read
    /// the configuration while it holds the record.)
    fn record_or_register<'a>(
        nodes: &'a mut IdTable<NodeId, NodeRecord<W>, N>,
        node: &NodeId,
    ) -> Result<&'a mut NodeRecord<W>, CrashRecoveryError> {
        let index = match nodes.index_of(node) {
            Some(index) => index,
            None => {
                let record = NodeRecord {
                    window: HeartbeatWindow::new(),
                    metrics: HealthMetrics::default(),
                    status: NodeStatus::Online,
                    suspect_at: Instant::MAX,
                    recovery: None,
                    attempts: 0,
                    crashed_in_sweep: 0,
                    spacing: 1,
                };
                if nodes.insert(node.clone(), record).is_err() {
                    return Err(CrashRecoveryError::TableFull(CapacityError::new(node.clone(), N)));
                }
                nodes.index_of(node).unwrap_or(usize::MAX)
            }
        };
        match nodes.get_index_mut(index) {
            Some((_, record)) => Ok(record),
            None => Err(CrashRecoveryError::UnknownNode(node.clone())),
        }
    }

    /// One heartbeat (with fresh `metrics`, if any); `vouched`: the node was
    /// alive through its outage by the caller's word, and its automatic
    /// recovery completes at its first healthy heartbeat.
    fn ingest(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: Option<HealthMetrics>,
        vouched: bool,
        spacing: Option<u8>,
    ) -> Result<NodeStatus, CrashRecoveryError> {
        let now = self.clock.observe(now);
        let record = Self::record_or_register(&mut self.nodes, node)?;
        if let Some(every) = spacing {
            Self::respace(record, &self.params, self.suspect, every);
        }
        let params = self.params.spaced(record.spacing);
        record.window.record(now, &params);
        record.suspect_at = record.window.crossing(&params, self.suspect);
        if let Some(m) = metrics {
            record.metrics = m;
        }
        let healthy = self.config.health.metrics_ok(&record.metrics);
        let mut pending: heapless::Vec<RecoveryEventKind, 2> = heapless::Vec::new();
        let from = record.status;
        match record.status {
            NodeStatus::Online | NodeStatus::Suspected => {
                let to = if healthy { NodeStatus::Online } else { NodeStatus::Suspected };
                record.status = to;
            }
            NodeStatus::Offline | NodeStatus::Failed => {
                // The node is back on its own: an automatic recovery begins.
                record.attempts = record.attempts.saturating_add(1);
                record.recovery = Some(Recovery {
                    strategy: RecoveryStrategy::Automatic,
                    started: now,
                    healthy_heartbeats: u32::from(healthy),
                });
                record.status = NodeStatus::Recovering;
                let _ = pending.push(RecoveryEventKind::RecoveryStarted {
                    strategy: RecoveryStrategy::Automatic,
                    attempt: record.attempts,
                });
            }
            NodeStatus::Recovering => {
                if let Some(r) = record.recovery.as_mut() {
                    r.healthy_heartbeats = if healthy { r.healthy_heartbeats.saturating_add(1) } else { 0 };
                }
            }
        }
        let needed = if vouched && record.recovery.is_some_and(|r| r.strategy == RecoveryStrategy::Automatic) {
            1
        } else {
            self.config.recovery_heartbeats
        };
        if let (NodeStatus::Recovering, Some(r)) = (record.status, record.recovery)
            && r.healthy_heartbeats >= needed
        {
            record.status = NodeStatus::Online;
            record.recovery = None;
            record.attempts = 0;
            let _ = pending.push(RecoveryEventKind::RecoveryCompleted {
                strategy: r.strategy,
                took: now.saturating_duration_since(r.started),
            });
        }
        let to = record.status;
        if from != to {
            let phi = record.window.phi(now, &self.params.spaced(record.spacing));
            self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to, phi });
        }
        for kind in pending {
            self.push_event(now, node, kind);
        }
        Ok(to)
    }

    /// Sweeps every node at `now`: moves nodes between statuses, fails overdue
    /// recoveries, and returns the nodes found crashed in this sweep (each crash
    /// is reported once). O(n) with one or two comparisons per quiet node.
    pub fn detect_crashes(&mut self, now: Instant) -> impl Iterator<Item = &NodeId> + '_ {
        let now = self.clock.observe(now);
        self.sweep = self.sweep.wrapping_add(1).max(1);
        let sweep = self.sweep;
        let max_age = self.config.health.max_heartbeat_age;
        let deadline = self.config.recovery_deadline;
        for i in 0..self.nodes.len() {
            let Some((id, record)) = self.nodes.get_index_mut(i) else {
                break;
            };
            let last = record.window.last_heartbeat().unwrap_or(now);
            let mut kinds: heapless::Vec<RecoveryEventKind, 3> = heapless::Vec::new();
            match record.status {
                NodeStatus::Online | NodeStatus::Suspected => {
                    if now >= record.window.available_until() {
                        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
                        let from = record.status;
                        record.status = NodeStatus::Offline;
                        record.crashed_in_sweep = sweep;
                        let _ = kinds.push(RecoveryEventKind::StatusChanged { from, to: NodeStatus::Offline, phi });
                        let _ = kinds.push(RecoveryEventKind::CrashDetected {
                            phi,
                            silence: now.saturating_duration_since(last),
                        });
                        self.crashes.record(now);
                    } else if record.status == NodeStatus::Online
                        && (now >= record.suspect_at
                            || now.saturating_duration_since(last) >= max_age
                            || !self.config.health.metrics_ok(&record.metrics))
                    {
                        record.status = NodeStatus::Suspected;
                        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
                        let _ = kinds.push(RecoveryEventKind::StatusChanged {
                            from: NodeStatus::Online,
                            to: NodeStatus::Suspected,
                            phi,
                        });
                    }
                }
                NodeStatus::Recovering => {
                    let heard_since_start = record.window.last_heartbeat().is_some_and(|t| t >= r_started(record));
                    if let Some(r) = record.recovery
                        && heard_since_start
                        && now >= record.window.available_until()
                    {
                        // Back, then silent again: a new crash, and this attempt failed.
                        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
                        record.status = NodeStatus::Offline;
                        record.recovery = None;
                        record.crashed_in_sweep = sweep;
                        recovery_failed(&mut kinds, NodeStatus::Offline, phi, r, RecoveryFailure::CrashedAgain);
                        let _ = kinds.push(RecoveryEventKind::CrashDetected {
                            phi,
                            silence: now.saturating_duration_since(last),
                        });
                        self.crashes.record(now);
                    } else if let Some(r) = record.recovery
                        && now.saturating_duration_since(r.started) >= deadline
                    {
                        record.status = NodeStatus::Failed;
                        record.recovery = None;
                        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
                        recovery_failed(&mut kinds, NodeStatus::Failed, phi, r, RecoveryFailure::DeadlineExceeded);
                    }
                }
                NodeStatus::Offline | NodeStatus::Failed => {}
            }
            if !kinds.is_empty() {
                let id = id.clone();
                for kind in kinds {
                    self.push_event(now, &id, kind);
                }
            }
        }
        self.nodes.iter().filter(move |(_, r)| r.crashed_in_sweep == sweep).map(|(id, _)| id)
    }

    /// Starts a recovery of `node` with `strategy`. Applies to suspected, offline
    /// and failed nodes; each call is one attempt, and a call past
    /// `max_recovery_attempts` marks the node `Failed` and returns an error.
    pub fn initiate_recovery(
        &mut self,
        now: Instant,
        node: &NodeId,
        strategy: RecoveryStrategy,
    ) -> Result<(), CrashRecoveryError> {
        let now = self.clock.observe(now);
        let max_attempts = self.config.max_recovery_attempts;
        let Some(record) = self.nodes.get_mut(node) else {
            return Err(CrashRecoveryError::UnknownNode(node.clone()));
        };
        let from = record.status;
        match from {
            NodeStatus::Online | NodeStatus::Recovering => {
                return Err(CrashRecoveryError::InvalidStatus { node: node.clone(), status: from });
            }
            NodeStatus::Suspected | NodeStatus::Offline | NodeStatus::Failed => {}
        }
        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
        if record.attempts >= max_attempts {
            record.status = NodeStatus::Failed;
            if from != NodeStatus::Failed {
                self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to: NodeStatus::Failed, phi });
                self.push_event(
                    now,
                    node,
                    RecoveryEventKind::RecoveryFailed { strategy, reason: RecoveryFailure::AttemptsExhausted },
                );
            }
            return Err(CrashRecoveryError::AttemptsExhausted(node.clone()));
        }
        record.attempts = record.attempts.saturating_add(1);
        let attempt = record.attempts;
        record.recovery = Some(Recovery { strategy, started: now, healthy_heartbeats: 0 });
        record.status = NodeStatus::Recovering;
        self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to: NodeStatus::Recovering, phi });
        self.push_event(now, node, RecoveryEventKind::RecoveryStarted { strategy, attempt });
        Ok(())
    }

    /// Sets `node`'s status by decision of the operator, registering the node
    /// (never heard from) if it is new: the old API's `failed_nodes.add(node)`
    /// and siblings. `Recovering` starts an automatic recovery that uses no
    /// attempt; `Online` ends any recovery and clears the attempts; the other
    /// statuses end any recovery. A change is recorded as a `StatusChanged`
    /// event; setting the status a node already has changes nothing.
    pub fn set_status(&mut self, now: Instant, node: &NodeId, status: NodeStatus) -> Result<(), CrashRecoveryError> {
        let now = self.clock.observe(now);
        let record = Self::record_or_register(&mut self.nodes, node)?;
        let from = record.status;
        if from == status {
            return Ok(());
        }
        record.status = status;
        record.recovery = match status {
            NodeStatus::Recovering => {
                Some(Recovery { strategy: RecoveryStrategy::Automatic, started: now, healthy_heartbeats: 0 })
            }
            _ => None,
        };
        if status == NodeStatus::Online {
            record.attempts = 0;
        }
        let phi = record.window.phi(now, &self.params.spaced(record.spacing));
        self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to: status, phi });
        Ok(())
    }

    /// Replaces the configuration of a running manager, or says why the new
    /// one is invalid (then nothing changes). Every node keeps its heartbeat
    /// window (trimmed to a smaller `max_sample_size` at its next heartbeat),
    /// status and recovery; its suspect and crash instants are recomputed
    /// under the new detector settings. O(n).
    pub fn reconfigure(&mut self, config: CrashRecoveryConfig) -> Result<(), ConfigError> {
        let (params, suspect) = Self::validate(&config)?;
        self.config = config;
        self.params = params;
        self.suspect = suspect;
        for (_, record) in self.nodes.iter_mut() {
            let params = self.params.spaced(record.spacing);
            record.window.retune(&params);
            record.suspect_at = record.window.crossing(&params, self.suspect);
        }
        Ok(())
    }

    /// Forgets `node` for good (its history and status); events about it stay in the ring.
    pub fn remove_node(&mut self, node: &NodeId) -> Result<(), CrashRecoveryError> {
        self.nodes.remove(node).map(|_| ()).ok_or_else(|| CrashRecoveryError::UnknownNode(node.clone()))
    }

    /// The earliest instant at which [`CrashRecoveryManager::detect_crashes`]
    /// would change some node's status if nothing else happens first (no
    /// heartbeat, recovery or removal): a node turning suspected, crashing,
    /// crashing again while recovering, or failing its recovery deadline.
    /// `Instant::MAX` when no sweep can change anything (no node, or every
    /// node offline or failed). An instant at or before the last one the
    /// manager has seen means a sweep is due now. Computed from the deadlines
    /// kept per node: O(n), one or three comparisons per node.
    pub fn poll_timeout(&self) -> Instant {
        self.nodes.values().map(|r| self.next_change(r)).min().unwrap_or(Instant::MAX)
    }

    /// When a sweep would next change `record`'s status (the mirror of the
    /// conditions in [`CrashRecoveryManager::detect_crashes`]).
    fn next_change(&self, record: &NodeRecord<W>) -> Instant {
        let crash = record.window.available_until();
        match record.status {
            NodeStatus::Online => {
                let max_age = self.config.health.max_heartbeat_age;
                let too_old = match record.window.last_heartbeat() {
                    Some(last) => last + max_age,
                    // A sweep measures the age of a node never heard from as zero.
                    None if max_age == Duration::ZERO => Instant::ZERO,
                    None => Instant::MAX,
                };
                let unhealthy =
                    if self.config.health.metrics_ok(&record.metrics) { Instant::MAX } else { Instant::ZERO };
                crash.min(record.suspect_at).min(too_old).min(unhealthy)
            }
            NodeStatus::Suspected => crash,
            NodeStatus::Recovering => match record.recovery {
                Some(r) => {
                    let heard_since_start = record.window.last_heartbeat().is_some_and(|t| t >= r.started);
                    let crash_again = if heard_since_start { crash } else { Instant::MAX };
                    crash_again.min(r.started + self.config.recovery_deadline)
                }
                None => Instant::MAX,
            },
            NodeStatus::Offline | NodeStatus::Failed => Instant::MAX,
        }
    }
}

/// The two events of a failed recovery: the node leaves `Recovering` for `to`
/// (at `phi`), and recovery `r` failed for `reason`.
fn recovery_failed(
    kinds: &mut heapless::Vec<RecoveryEventKind, 3>,
    to: NodeStatus,
    phi: f64,
    r: Recovery,
    reason: RecoveryFailure,
) {
    let _ = kinds.push(RecoveryEventKind::StatusChanged { from: NodeStatus::Recovering, to, phi });
    let _ = kinds.push(RecoveryEventKind::RecoveryFailed { strategy: r.strategy, reason });
}
