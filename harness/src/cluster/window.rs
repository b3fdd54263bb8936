//! [`Cluster::process_window`]: many steps at once, the nodes run on threads.
//!
//! A datagram sent at `t` arrives at `t + latency_min` or later, so nothing a
//! node does at or after `t0` can reach another node before `t0 +
//! latency_min`. Every step of a window `[t0, end)` with `end <= t0 +
//! latency_min` therefore depends only on what is queued when it starts: each
//! node can run its own steps of the window (its arrivals, then its tick if
//! its deadline passed, then its drain, at every instant it has work) apart
//! from the others, on any thread.
//!
//! What the nodes did is then merged in the order [`Cluster::step`] would have
//! done it — by instant, then by round (a node whose deadline is already due
//! after a drain is ticked again in another step at the same instant), then
//! arrivals in network order before drains in node order — so the network's
//! random draws, the trace hash, the event queue (with each event's time),
//! the disks and the traffic kept are the ones of stepping the same window
//! one step at a time. What differs: the checks of every step
//! ([`Cluster::check_step`]) run once, at the end of the window, and the step
//! count leaves out the wake-ups at which no node had work (a stale deadline,
//! a datagram to a down node).
//!
//! The threads take the nodes' shares costliest first (each node's cost per
//! event is measured as it runs), so that they finish together; a window that
//! delivered 32 KiB or more has its trace hash folded on another thread while
//! the caller's applies the rest. The one-leader-per-term check sees each
//! supervisor right after each of its steps, as it would one step at a time.

use super::{Cluster, Reported, Wires, global_deadline, persist};
use crate::check::Violation;
use crate::node::{HarnessNode, Outgoing};
use pouw_netops::election::HardState;
use pouw_netops::hash::Fnv1a64;
use pouw_netops::{Duration, Instant};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One datagram of the window for one node.
struct Arrival {
    at: Instant,
    /// Its place in the network's delivery order.
    seq: u64,
    from: usize,
    bytes: Vec<u8>,
    /// What the node said of it (`None` until it is delivered).
    verdict: Option<Result<bool, String>>,
}

/// When in the window's order an output was made: `(instant, round)`.
type Slot = (Instant, u32);

/// One node's share of a window: the node and its [`Work`].
struct Job<'a, N: HarnessNode + ?Sized> {
    node: &'a mut N,
    work: Work<N::Event>,
}

/// What one node has to do in a window, then what it did.
struct Work<E> {
    i: usize,
    offset: Duration,
    /// Its deadline (cluster time): the one queued at the start, then each drain's.
    deadline: Instant,
    arrivals: Vec<Arrival>,
    /// The steps it took part in, each with the term it led right after.
    slots: Vec<(Slot, Option<u64>)>,
    /// How long it took on its thread, in µs (measured only on threads).
    took: f32,
    hard: Vec<(Slot, HardState)>,
    transmits: Vec<(Slot, Result<Outgoing, String>)>,
    /// Its events, each with what the trace hash takes of it (formatted here, on its thread).
    events: Vec<(Slot, E, String)>,
}

/// A node's cost per event (arrival or tick) before it was measured, in µs.
const INITIAL_COST: f32 = 10.0;

/// A job's predicted cost in µs: its node's measured cost per event times
/// its arrivals plus one (a tick).
fn predicted_cost<N: HarnessNode + ?Sized>(job: &Job<'_, N>, costs: &[f32]) -> f32 {
    costs.get(job.work.i).copied().unwrap_or(INITIAL_COST) * (job.work.arrivals.len() + 1) as f32
}

/// A window predicted to cost less than this (µs) runs on the caller's
/// thread alone: waking another thread costs about as much.
const PARALLEL_FROM_US: f32 = 60.0;

/// A window that delivered fewer bytes than this is hashed on the caller's
/// thread (about 50 µs of FNV-1a).
const HASH_APART_FROM: usize = 32 << 10;

/// Runs `run` on every job of `queue`, in its order, on `threads` threads
/// (the caller's one of them): each thread takes the next job not taken.
fn on_threads<J: Send>(threads: usize, queue: &mut [Mutex<J>], run: impl Fn(&mut J) + Sync) {
    let queue = &*queue;
    let next = AtomicUsize::new(0);
    let take = || {
        while let Some(slot) = queue.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Ok(mut job) = slot.lock() {
                run(&mut job);
            }
        }
    };
    rayon::in_place_scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|_| take());
        }
        take();
    });
}

/// `jobs` in the order the threads take them: the costliest first
/// ([`predicted_cost`]), so that the last ones taken are short and the threads end
/// together. Which thread runs a job changes nothing it does: only how soon
/// the window ends.
fn costliest_first<'j, 'a, N: HarnessNode + ?Sized>(
    jobs: &'j mut [Job<'a, N>],
    costs: &[f32],
) -> Vec<Mutex<&'j mut Job<'a, N>>> {
    let mut order: Vec<(f32, &'j mut Job<'a, N>)> = jobs.iter_mut().map(|j| (predicted_cost(j, costs), j)).collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    order.into_iter().map(|(_, j)| Mutex::new(j)).collect()
}

impl<N: HarnessNode + ?Sized> Job<'_, N> {
    /// [`Job::run`], measuring how long it took (for [`costliest_first`]).
    fn run_timed(&mut self, start: Instant, end: Instant) {
        let t = std::time::Instant::now();
        self.run(start, end);
        self.work.took = t.elapsed().as_secs_f32() * 1e6;
    }

    /// Runs the node's steps from `start` to before `end`, as [`Cluster::step`] would.
    fn run(&mut self, start: Instant, end: Instant) {
        let Job { node, work } = self;
        work.run(&mut **node, start, end);
    }
}

impl<E: core::fmt::Debug> Work<E> {
    fn run<N: HarnessNode<Event = E> + ?Sized>(&mut self, node: &mut N, start: Instant, end: Instant) {
        let mut next = 0;
        let mut last: Option<Slot> = None;
        loop {
            let arrival = self.arrivals.get(next).map_or(Instant::MAX, |a| a.at);
            // A step never goes back: a deadline already past is a step at
            // the same instant (one round later within the window).
            let at = arrival.min(self.deadline).max(last.map_or(start, |(t, _)| t));
            if at >= end {
                break;
            }
            let slot = match last {
                Some((t, round)) if t == at => (at, round + 1),
                _ => (at, 0),
            };
            last = Some(slot);
            let local = at + self.offset;
            while let Some(a) = self.arrivals.get_mut(next).filter(|a| a.at <= at) {
                // A refusal is the merge's to judge (a violation, unless a
                // liar sent it): the node goes on as it would in a step.
                a.verdict = Some(node.deliver(local, &a.bytes));
                next += 1;
            }
            if self.deadline <= at {
                self.deadline = Instant::MAX;
                node.tick(local);
            }
            self.collect(node, slot);
        }
    }

    /// Node's drain of step `slot`, kept for the merge: what it persisted,
    /// sent and reported (in that order), and its next deadline.
    fn collect<N: HarnessNode<Event = E> + ?Sized>(&mut self, node: &mut N, slot: Slot) {
        self.slots.push((slot, node.leading()));
        while let Some(hs) = node.poll_hard_state() {
            self.hard.push((slot, hs));
        }
        while let Some(t) = node.poll_transmit() {
            self.transmits.push((slot, t));
        }
        while let Some(e) = node.poll_event() {
            let traced = format!("{}:{e:?}", self.i);
            self.events.push((slot, e, traced));
        }
        node.drain_other();
        self.deadline = global_deadline(node.poll_timeout(), self.offset);
    }

    /// The work done, split into what the trace hash reads and what the
    /// merge applies.
    fn into_parts(self) -> (Trace, Outputs<E>) {
        let mut verdicts = Vec::with_capacity(self.arrivals.len());
        let mut arrivals = Vec::with_capacity(self.arrivals.len());
        for a in self.arrivals {
            verdicts.push(a.verdict);
            arrivals.push((a.from, a.bytes));
        }
        let mut events = Vec::with_capacity(self.events.len());
        let mut traced = Vec::with_capacity(self.events.len());
        for (slot, e, t) in self.events {
            events.push((slot, e));
            traced.push((slot, t));
        }
        let trace = Trace { to: self.i, arrivals, events: traced };
        let outputs = Outputs {
            steps: self.slots.into_iter().peekable(),
            verdicts,
            hard: self.hard.into_iter().peekable(),
            transmits: self.transmits.into_iter().peekable(),
            events: events.into_iter().peekable(),
        };
        (trace, outputs)
    }
}

/// What the merge does next, in [`Cluster::step`]'s order.
#[derive(Clone, Copy)]
enum Item {
    /// Arrival `k` of job `j` (keyed by its network order).
    Arrival { at: Instant, seq: u64, j: usize, k: usize },
    /// The drain of job `j` (node `i`) in step `(at, round)` (keyed by node index).
    Drain { at: Instant, round: u32, i: usize, j: usize },
}

impl Item {
    fn key(&self) -> (Instant, u32, u8, u64) {
        match *self {
            Item::Arrival { at, seq, .. } => (at, 0, 0, seq),
            Item::Drain { at, round, i, .. } => (at, round, 1, i as u64),
        }
    }
}

impl<N: HarnessNode + Send + ?Sized> Cluster<N>
where
    N::Event: Send,
{
    /// Runs every step before `end` (see the module doc), the nodes' share of
    /// it on threads ([`Cluster::set_threads`]; by default on the caller's),
    /// then checks the invariants of a step once ([`Cluster::check_step`]). `end` must not be later than the
    /// earliest arrival or deadline plus the network's minimum latency, and
    /// nothing else (crashes, partitions, sends by the caller) may happen
    /// inside the window; a wider window is cut to that. Returns whether any
    /// step was taken; the clock is at the last one.
    pub fn process_window(&mut self, end: Instant) -> Result<bool, Violation> {
        let start = self.next_time().max(self.now);
        let lookahead = self.net.config().latency_min;
        if lookahead == Duration::ZERO && start < end {
            // No lookahead: a datagram can arrive at the instant it is sent.
            // One step, as ever.
            if !self.open_step || start != self.now {
                self.advance(start);
            }
            self.process_due()?;
            return Ok(true);
        }
        let end = end.min(Instant::from_micros(start.total_micros().saturating_add(lookahead.total_micros())));
        let open = core::mem::take(&mut self.open_step) && start == self.now;
        if start >= end {
            self.check_step()?;
            return Ok(false);
        }
        // The window's arrivals, in network order, by node (`place`: each
        // node's entry in `inputs`, kept between windows all unset).
        let mut inputs: Vec<(usize, Vec<Arrival>)> = Vec::new();
        let mut place = core::mem::take(&mut self.place);
        place.resize(self.nodes.len(), usize::MAX);
        let mut seq = 0;
        let last = Instant::from_micros(end.total_micros().saturating_sub(1));
        while let Some((at, d)) = self.net.pop_due_at(last) {
            if !self.is_up(d.to) {
                self.net.count_to_down_node();
                continue;
            }
            seq += 1;
            // One that was due before the window (the caller moved the clock
            // past it) is delivered at its start, as a step delivers it.
            let a = Arrival { at: at.max(start), seq, from: d.from, bytes: d.bytes, verdict: None };
            if let Some(v) = job_inputs(&mut inputs, &mut place, d.to) {
                v.push(a);
            }
        }
        // The deadlines that fall in it.
        while let Some(i) = self.pop_deadline(last) {
            let _ = job_inputs(&mut inputs, &mut place, i);
        }
        for (i, _) in &inputs {
            if let Some(p) = place.get_mut(*i) {
                *p = usize::MAX;
            }
        }
        self.place = place;
        inputs.sort_unstable_by_key(|(i, _)| *i);
        let threads = self.threads;
        let mut costs = core::mem::take(&mut self.costs);
        costs.resize(self.nodes.len(), INITIAL_COST);
        let mut jobs = self.jobs(inputs);
        let predicted: f32 = jobs.iter().map(|j| predicted_cost(j, &costs)).sum();
        if threads > 1 && jobs.len() > 1 && predicted >= PARALLEL_FROM_US {
            let mut queue = costliest_first(&mut jobs, &costs);
            on_threads(threads, &mut queue, |job| job.run_timed(start, end));
        } else if threads > 1 {
            // Too little to be worth waking another thread for.
            jobs.iter_mut().for_each(|job| job.run_timed(start, end));
        } else {
            jobs.iter_mut().for_each(|job| job.run(start, end));
        }
        let done: Vec<Work<N::Event>> = jobs.into_iter().map(|j| j.work).collect();
        if threads > 1 {
            for w in &done {
                if let Some(c) = costs.get_mut(w.i) {
                    let events = (w.arrivals.len() + 1) as f32;
                    *c = 0.75 * *c + 0.25 * (w.took / events);
                }
            }
        }
        self.costs = costs;
        self.merge(done, open)
    }

    /// Runs `act(local time, node)` on each up node of `nodes` (in node order) at
    /// the current instant, on the cluster's threads, and drains each node
    /// it returns `true` for, in node order: what calling it on each node
    /// in turn and [`Cluster::drain`]ing it would do (the same network
    /// draws, trace hash and events), with the nodes' own work shared out.
    pub fn drive_each(&mut self, nodes: &[usize], act: impl Fn(Instant, &mut N) -> bool + Sync) {
        let now = self.now;
        let mut listed = nodes.to_vec();
        listed.sort_unstable();
        listed.dedup();
        let mut inputs: Vec<(usize, Vec<Arrival>)> = Vec::with_capacity(listed.len());
        for i in listed {
            if self.is_up(i) {
                // Driven: what the checks read of it may have changed.
                self.record.node_changed(i);
                inputs.push((i, Vec::new()));
            }
        }
        let threads = self.threads;
        let mut jobs = self.jobs(inputs);
        let run = |job: &mut Job<'_, N>| {
            let Job { node, work } = job;
            if act(now + work.offset, &mut **node) {
                work.collect(&mut **node, (now, 0));
            }
        };
        if threads > 1 && jobs.len() > 1 {
            let mut queue: Vec<Mutex<&mut Job<'_, N>>> = jobs.iter_mut().map(Mutex::new).collect();
            on_threads(threads, &mut queue, |job| run(job));
        } else {
            jobs.iter_mut().for_each(run);
        }
        let done: Vec<Work<N::Event>> = jobs.into_iter().map(|j| j.work).collect();
        for work in done {
            let (i, deadline, drained) = (work.i, work.deadline, !work.slots.is_empty());
            let (trace, mut out) = work.into_parts();
            if drained {
                for (_, traced) in &trace.events {
                    self.hash.write(traced.as_bytes());
                }
                // As a drain between steps: the next step's checks see it.
                let _ = self.drained(i, (now, 0), &mut out, false);
            }
            self.reschedule(i, deadline);
        }
    }

    /// Runs the nodes' share of each [`Cluster::process_window`] and
    /// [`Cluster::drive_each`] on `n` threads of the rayon pool the caller
    /// runs in (`ThreadPool::install`; rayon's global pool otherwise); 1: on
    /// the caller's thread.
    pub fn set_threads(&mut self, n: usize) {
        self.threads = n.max(1);
    }

    /// One job per node with work, from the nodes' slice (in index order).
    fn jobs(&mut self, inputs: Vec<(usize, Vec<Arrival>)>) -> Vec<Job<'_, N>> {
        let mut jobs = Vec::with_capacity(inputs.len());
        let (offsets, deadline_of) = (&self.offsets, &mut self.deadline_of);
        let mut rest: &mut [Box<N>] = &mut self.nodes;
        let mut base = 0;
        for (i, arrivals) in inputs {
            let Some(tail) = core::mem::take(&mut rest).get_mut(i - base..) else { break };
            let Some((node, after)) = tail.split_first_mut() else { break };
            rest = after;
            base = i + 1;
            let deadline = deadline_of.get_mut(i).map_or(Instant::MAX, |d| core::mem::replace(d, Instant::MAX));
            let offset = offsets.get(i).copied().unwrap_or(Duration::ZERO);
            let work = Work {
                i,
                offset,
                deadline,
                arrivals,
                slots: Vec::new(),
                took: 0.0,
                hard: Vec::new(),
                transmits: Vec::new(),
                events: Vec::new(),
            };
            jobs.push(Job { node: &mut **node, work });
        }
        jobs
    }

    /// Applies what the jobs did, in [`Cluster::step`]'s order: the trace
    /// hash on one thread (it reads the window's bytes, in order), the rest
    /// (verdicts, disks, the network, the event queue) on the caller's.
    /// `open`: the window continues a step already started at its first
    /// instant ([`Cluster::advance`]), which is its first round.
    fn merge(&mut self, jobs: Vec<Work<N::Event>>, open: bool) -> Result<bool, Violation> {
        let mut items = Vec::new();
        let mut steps: Vec<Slot> = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            for (k, a) in job.arrivals.iter().enumerate() {
                items.push(Item::Arrival { at: a.at, seq: a.seq, j, k });
            }
            for &((at, round), _) in &job.slots {
                items.push(Item::Drain { at, round, i: job.i, j });
                steps.push((at, round));
            }
        }
        items.sort_unstable_by_key(Item::key);
        steps.sort_unstable();
        steps.dedup();
        let mut traces = Vec::with_capacity(jobs.len());
        let mut outputs: Vec<Outputs<N::Event>> = Vec::with_capacity(jobs.len());
        let mut finals = Vec::with_capacity(jobs.len());
        for job in jobs {
            finals.push((job.i, job.deadline));
            let (trace, out) = job.into_parts();
            traces.push(trace);
            outputs.push(out);
        }
        let continued = open && steps.first() == Some(&(self.now, 0));
        let base = if continued { self.step.saturating_sub(1) } else { self.step };
        let mut hash = self.hash;
        let mut accepted = Vec::new();
        let bytes: usize = traces.iter().flat_map(|t| &t.arrivals).map(|(_, b)| b.len()).sum();
        let applied = if self.threads > 1 && bytes >= HASH_APART_FROM {
            rayon::in_place_scope(|scope| {
                scope.spawn(|_| trace(&mut hash, &items, &traces));
                self.apply(base, &items, &steps, &traces, &mut outputs, &mut accepted)
            })
        } else {
            trace(&mut hash, &items, &traces);
            self.apply(base, &items, &steps, &traces, &mut outputs, &mut accepted)
        };
        self.hash = hash;
        applied?;
        // What they accepted, kept for replay in delivery order (moved: the
        // hash is done with the bytes).
        for (j, k) in accepted {
            let Some(t) = traces.get_mut(j) else { continue };
            let Some((_, bytes)) = t.arrivals.get_mut(k) else { continue };
            self.remember(t.to, true, core::mem::take(bytes));
        }
        for (i, deadline) in finals {
            self.reschedule(i, deadline);
        }
        self.step = base + steps.len() as u64;
        if let Some(&(at, _)) = steps.last() {
            self.now = self.now.max(at);
        }
        self.check_step()?;
        Ok(!steps.is_empty())
    }

    /// The merge but the hash: each arrival's verdict (a refusal is a
    /// violation unless a liar sent it; what was accepted goes to
    /// `accepted`), then each drain's disk writes, transmits and events.
    fn apply(
        &mut self,
        base: u64,
        items: &[Item],
        steps: &[Slot],
        traces: &[Trace],
        outputs: &mut [Outputs<N::Event>],
        accepted: &mut Vec<(usize, usize)>,
    ) -> Result<(), Violation> {
        for &item in items {
            match item {
                Item::Arrival { at, j, k, .. } => {
                    let (Some(t), Some(out)) = (traces.get(j), outputs.get_mut(j)) else { continue };
                    let (Some((from, bytes)), Some(verdict)) = (t.arrivals.get(k), out.verdicts.get_mut(k)) else {
                        continue;
                    };
                    self.at_step(base, steps, (at, 0));
                    self.record.node_changed(t.to);
                    if self.verdict(*from, t.to, bytes, verdict.take())? {
                        accepted.push((j, k));
                    }
                }
                Item::Drain { at, round, i, j, .. } => {
                    self.at_step(base, steps, (at, round));
                    let Some(out) = outputs.get_mut(j) else { continue };
                    self.drained(i, (at, round), out, true)?;
                }
            }
        }
        Ok(())
    }

    /// Moves the clock and the step count to step `slot` of the window
    /// (the window's steps, sorted, follow step `base`).
    fn at_step(&mut self, base: u64, steps: &[Slot], slot: Slot) {
        let k = steps.partition_point(|s| *s < slot);
        self.step = base + k as u64 + 1;
        self.now = self.now.max(slot.0);
    }

    /// Node `i`'s drain of step `slot`: its outputs of that step, in order.
    /// `observe`: the step's check of one leader per term sees what a
    /// supervisor led right after it ([`Cluster::check_step`] would have).
    fn drained(&mut self, i: usize, slot: Slot, out: &mut Outputs<N::Event>, observe: bool) -> Result<(), Violation> {
        let liar = self.is_liar(i);
        self.record.node_changed(i);
        let mut leading = None;
        while let Some((_, l)) = out.steps.next_if(|(s, _)| *s == slot) {
            leading = l;
        }
        while let Some((_, hs)) = out.hard.next_if(|(s, _)| *s == slot) {
            persist(&mut self.record, &mut self.hard, i, hs);
        }
        let mut wires = Wires::new(&mut self.net, &mut self.liars, &self.index, self.nodes.len(), self.supervisors);
        while let Some((_, t)) = out.transmits.next_if(|(s, _)| *s == slot) {
            wires.transmit(&mut self.record, slot.0, i, liar, t);
        }
        while let Some((_, event)) = out.events.next_if(|(s, _)| *s == slot) {
            self.events.push(Reported { at: slot.0, node: i, leading, event });
        }
        match leading {
            Some(term) if observe && i < self.supervisors => self.observe_leader(i, term),
            _ => Ok(()),
        }
    }
}

/// What the trace hash reads of one job: its arrivals (sender, bytes) and
/// its events as traced, by slot.
struct Trace {
    to: usize,
    arrivals: Vec<(usize, Vec<u8>)>,
    events: Vec<(Slot, String)>,
}

/// Folds the window into the trace hash, in [`Cluster::step`]'s order: each
/// arrival (time, sender, recipient, bytes), each drain's events.
fn trace(hash: &mut Fnv1a64, items: &[Item], traces: &[Trace]) {
    let mut next_event = vec![0usize; traces.len()];
    for &item in items {
        match item {
            Item::Arrival { at, j, k, .. } => {
                let Some(t) = traces.get(j) else { continue };
                let Some((from, bytes)) = t.arrivals.get(k) else { continue };
                let (from, to) = (*from, t.to);
                hash.write(&at.total_micros().to_le_bytes());
                hash.write(&[from as u8, (from >> 8) as u8, to as u8, (to >> 8) as u8]);
                hash.write(bytes);
            }
            Item::Drain { at, round, j, .. } => {
                let (Some(t), Some(next)) = (traces.get(j), next_event.get_mut(j)) else { continue };
                while let Some((_, traced)) = t.events.get(*next).filter(|(s, _)| *s == (at, round)) {
                    hash.write(traced.as_bytes());
                    *next += 1;
                }
            }
        }
    }
}

/// One job's outputs, taken slot by slot.
struct Outputs<E> {
    /// Its steps, each with the term it led right after.
    steps: core::iter::Peekable<std::vec::IntoIter<(Slot, Option<u64>)>>,
    /// What the node said of each arrival (taken by the merge).
    verdicts: Vec<Option<Result<bool, String>>>,
    hard: core::iter::Peekable<std::vec::IntoIter<(Slot, HardState)>>,
    transmits: core::iter::Peekable<std::vec::IntoIter<(Slot, Result<Outgoing, String>)>>,
    events: core::iter::Peekable<std::vec::IntoIter<(Slot, E)>>,
}

/// Node `i`'s arrival list in `inputs`, made on first use (`place[i]`: its
/// entry; `usize::MAX`: none yet).
fn job_inputs<'a>(
    inputs: &'a mut Vec<(usize, Vec<Arrival>)>,
    place: &mut [usize],
    i: usize,
) -> Option<&'a mut Vec<Arrival>> {
    let p = place.get_mut(i)?;
    if *p == usize::MAX {
        *p = inputs.len();
        inputs.push((i, Vec::new()));
    }
    inputs.get_mut(*p).map(|(_, v)| v)
}
