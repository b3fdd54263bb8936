//! Workers and pools: the per-pool max-heaps that rank workers, and the calls that fill them.

use super::*;

#[derive(Clone, Debug)]
pub(super) struct Worker<const C: usize> {
    pub(super) id: NodeId,
    pub(super) slots: u16,
    /// Task indices it serves, one per used slot.
    pub(super) tasks: heapless::Vec<u16, C>,
    pub(super) primary_roles: u16,
    pub(super) backup_roles: u16,
    pub(super) score: HealthScore,
    pub(super) live: bool,
    pub(super) quarantined: bool,
    /// Operation number at which the view was last consulted.
    checked: u64,
    pools: u16,
    /// The ranking key (see [`Worker::compute_key`]), as stored in the pools' heaps.
    pub(super) key: u64,
}

impl<const C: usize> Worker<C> {
    pub(super) fn used(&self) -> u16 {
        u16::try_from(self.tasks.len()).unwrap_or(u16::MAX)
    }

    fn available(&self) -> bool {
        self.live && !self.quarantined && self.score.0 > 0 && self.used() < self.slots
    }

    /// The 46-bit ranking key, higher is better: available (bit 45), score band
    /// (14 bits), free capacity `1 - used/slots` in units of 2^-16 (17 bits;
    /// exact ordering for up to 256 slots), exact score (14 bits).
    fn compute_key(&self, band: u16) -> u64 {
        let score = u64::from(self.score.0.min(HealthScore::MAX.0));
        let band = score / u64::from(band.max(1));
        let slots = u64::from(self.slots.max(1));
        let load = ((u64::from(self.used()) << 16) / slots).min(1 << 16);
        let free = (1 << 16) - load;
        let available = if self.available() { AVAILABLE } else { 0 };
        available | (band << 31) | (free << 14) | score
    }

    pub(super) fn info(&self) -> WorkerInfo {
        WorkerInfo {
            slots: self.slots,
            used: self.used(),
            primary_roles: self.primary_roles,
            backup_roles: self.backup_roles,
            score: self.score,
            quarantined: self.quarantined,
            pools: self.pools,
        }
    }
}

pub(super) fn worker<const C: usize>(workers: &[Option<Worker<C>>], i: u16) -> Option<&Worker<C>> {
    workers.get(usize::from(i)).and_then(Option::as_ref)
}

/// A heap entry: the worker's key above its table index, so comparisons stay inside the heap array.
const fn entry(key: u64, idx: u16) -> u64 {
    (key << 16) | idx as u64
}

/// The table index in a heap entry.
pub(super) const fn entry_index(e: u64) -> u16 {
    (e & 0xffff) as u16
}

/// Whether heap entry `a` ranks before `b`: higher key, then lower id.
fn better<const C: usize>(workers: &[Option<Worker<C>>], a: u64, b: u64) -> bool {
    let (ka, kb) = (a >> 16, b >> 16);
    if ka != kb {
        return ka > kb;
    }
    let (ia, ib) = (entry_index(a), entry_index(b));
    match (worker(workers, ia), worker(workers, ib)) {
        (Some(x), Some(y)) => x.id < y.id,
        _ => ia < ib,
    }
}

/// Whether the view still lets `id` take work: one status lookup, no score computation.
pub(super) fn still_live<V: HealthView + ?Sized>(config: &WorkerConfig, view: &V, id: &NodeId) -> bool {
    match view.status(id) {
        None => config.unknown_score.0 > 0,
        Some(status) => status.is_assignable(),
    }
}

/// Reads a worker's liveness and score from the view (see the module docs for unknown workers).
pub(super) fn observe<V: HealthView + ?Sized>(
    config: &WorkerConfig,
    view: &V,
    id: &NodeId,
    now: Instant,
) -> (bool, HealthScore) {
    match view.status(id) {
        None => (config.unknown_score.0 > 0, config.unknown_score),
        Some(status) if status.is_assignable() => {
            (true, view.health_score(id, now).unwrap_or(config.unknown_score).min(HealthScore::MAX))
        }
        Some(_) => (false, HealthScore::ZERO),
    }
}
/// One task type's workers in a binary max-heap of entries with a position index.
/// All `P` pools are built with the manager (so their storage is reserved
/// then); registering a pool names the first unnamed one.
pub(super) struct Pool<const W: usize> {
    /// `None` until the pool is registered.
    pub(super) task_type: Option<TaskType>,
    pub(super) heap: storage::Vec<u64, W>,
    pos: Array<u16, W>,
}

impl<const W: usize> Pool<W> {
    pub(super) fn new() -> Self {
        Pool { task_type: None, heap: storage::Vec::new(), pos: Array::filled(NONE) }
    }

    pub(super) fn contains(&self, w: u16) -> bool {
        self.pos.get(usize::from(w)).is_some_and(|p| *p != NONE)
    }

    fn set(&mut self, i: usize, e: u64) {
        if let Some(slot) = self.heap.get_mut(i) {
            *slot = e;
        }
        if let Some(p) = self.pos.get_mut(usize::from(entry_index(e))) {
            *p = u16::try_from(i).unwrap_or(NONE);
        }
    }

    fn sift_up<const C: usize>(&mut self, workers: &[Option<Worker<C>>], mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        while i > 0 {
            let parent = (i - 1) / 2;
            let Some(&pe) = self.heap.get(parent) else { break };
            if !better(workers, e, pe) {
                break;
            }
            self.set(i, pe);
            i = parent;
        }
        self.set(i, e);
    }

    fn sift_down<const C: usize>(&mut self, workers: &[Option<Worker<C>>], mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        loop {
            let left = 2 * i + 1;
            let Some(&le) = self.heap.get(left) else { break };
            let (c, ce) = match self.heap.get(left + 1) {
                Some(&re) if better(workers, re, le) => (left + 1, re),
                _ => (left, le),
            };
            if !better(workers, ce, e) {
                break;
            }
            self.set(i, ce);
            i = c;
        }
        self.set(i, e);
    }

    /// Re-files worker `w` under `key`.
    fn update<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16, key: u64) {
        let Some(&p) = self.pos.get(usize::from(w)) else { return };
        if p == NONE {
            return;
        }
        self.set(usize::from(p), entry(key, w));
        self.sift_up(workers, usize::from(p));
        if let Some(&p) = self.pos.get(usize::from(w)) {
            self.sift_down(workers, usize::from(p));
        }
    }

    fn insert<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16, key: u64) -> bool {
        if self.contains(w) || self.heap.push(entry(key, w)).is_err() {
            return false;
        }
        let last = self.heap.len() - 1;
        self.set(last, entry(key, w));
        self.sift_up(workers, last);
        true
    }

    fn remove<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16) -> bool {
        let Some(p) = self.pos.get_mut(usize::from(w)) else { return false };
        let at = usize::from(*p);
        if *p == NONE {
            return false;
        }
        *p = NONE;
        let Some(last) = self.heap.pop() else { return true };
        if at < self.heap.len() {
            self.set(at, last);
            self.sift_up(workers, at);
            if let Some(&p) = self.pos.get(usize::from(entry_index(last))) {
                self.sift_down(workers, usize::from(p));
            }
        }
        true
    }

    /// Re-reads every member's key and restores heap order: O(pool size).
    fn rebuild<const C: usize>(&mut self, workers: &[Option<Worker<C>>]) {
        for e in self.heap.iter_mut() {
            let idx = entry_index(*e);
            if let Some(w) = worker(workers, idx) {
                *e = entry(w.key, idx);
            }
        }
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(workers, i);
        }
    }
}
impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    // ----- pools and workers -------------------------------------------------

    /// Registers a pool for `task_type`; `Ok(false)` if it already exists.
    pub fn register_pool(&mut self, task_type: &TaskType) -> Result<bool, PoolError> {
        if self.pool_index(task_type).is_some() {
            return Ok(false);
        }
        let Some(pool) = self.pools.iter_mut().find(|p| p.task_type.is_none()) else {
            return Err(PoolError::PoolTableFull(CapacityError::new(task_type.clone(), P)));
        };
        pool.task_type = Some(task_type.clone());
        Ok(true)
    }

    pub(super) fn pool_index(&self, task_type: &TaskType) -> Option<usize> {
        self.pools.iter().position(|p| p.task_type.as_ref() == Some(task_type))
    }

    /// Adds `worker` to the pool of `task_type` with [`DEFAULT_SLOTS`] slots (or
    /// its current slots if already known); `Ok(false)` if it was already in the pool.
    pub fn add_worker(&mut self, task_type: &TaskType, worker: &NodeId) -> Result<bool, PoolError> {
        let slots = self.worker_index.get(worker).and_then(|i| self.worker_ref(*i)).map_or(DEFAULT_SLOTS, |w| w.slots);
        self.add_worker_with_slots(task_type, worker, slots)
    }

    /// Adds `worker` to the pool of `task_type` and sets its capacity to `slots`
    /// (a worker has one capacity across all its pools); `Ok(false)` if it was
    /// already in the pool (its slots are still updated).
    pub fn add_worker_with_slots(
        &mut self,
        task_type: &TaskType,
        worker: &NodeId,
        slots: u16,
    ) -> Result<bool, PoolError> {
        let pool = self.pool_index(task_type).ok_or_else(|| PoolError::UnknownPool(task_type.clone()))?;
        if slots == 0 || usize::from(slots) > C {
            return Err(PoolError::InvalidSlots { slots, max: C });
        }
        let idx = match self.worker_index.get(worker).copied() {
            Some(idx) => {
                let used = self.worker_ref(idx).map_or(0, |w| w.tasks.len());
                if usize::from(slots) < used {
                    return Err(PoolError::SlotsBelowLoad { slots, used });
                }
                idx
            }
            None => self.new_worker(worker)?,
        };
        if let Some(w) = self.worker_mut(idx) {
            w.slots = slots;
        }
        let added = match self.pools.get_mut(pool) {
            Some(p) if !p.contains(idx) => {
                let key = self.workers.get(usize::from(idx)).and_then(Option::as_ref).map_or(0, |w| w.key);
                let inserted = p.insert(&self.workers, idx, key);
                if inserted && let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) {
                    w.pools = w.pools.saturating_add(1);
                }
                inserted
            }
            _ => false,
        };
        self.rekey(idx);
        Ok(added)
    }

    fn new_worker(&mut self, id: &NodeId) -> Result<u16, PoolError> {
        let full = || PoolError::WorkerTableFull(CapacityError::new(id.clone(), W));
        let idx = match self.free_workers.last() {
            Some(&i) => i,
            None => u16::try_from(self.workers.len()).map_err(|_| full())?,
        };
        if self.worker_index.len() >= W || usize::from(idx) >= W {
            return Err(full());
        }
        let record = Worker {
            id: id.clone(),
            slots: DEFAULT_SLOTS,
            tasks: heapless::Vec::new(),
            primary_roles: 0,
            backup_roles: 0,
            score: self.config.unknown_score,
            live: self.config.unknown_score.0 > 0,
            quarantined: false,
            checked: 0,
            pools: 0,
            key: 0,
        };
        if self.worker_index.insert(id.clone(), idx).is_err() {
            return Err(full());
        }
        if self.free_workers.pop().is_none() && self.workers.push(None).is_err() {
            let _ = self.worker_index.remove(id);
            return Err(full());
        }
        if let Some(slot) = self.workers.get_mut(usize::from(idx)) {
            *slot = Some(record);
        }
        Ok(idx)
    }

    /// Removes `worker` from the pool of `task_type`. Its running assignments
    /// stay until released or replaced; a worker in no pool and no task is forgotten.
    pub fn remove_worker(&mut self, task_type: &TaskType, worker: &NodeId) -> Result<(), PoolError> {
        let pool = self.pool_index(task_type).ok_or_else(|| PoolError::UnknownPool(task_type.clone()))?;
        let idx = self.worker_index.get(worker).copied().ok_or_else(|| PoolError::NotInPool(worker.clone()))?;
        let removed = self.pools.get_mut(pool).is_some_and(|p| p.remove(&self.workers, idx));
        if !removed {
            return Err(PoolError::NotInPool(worker.clone()));
        }
        if let Some(w) = self.worker_mut(idx) {
            w.pools = w.pools.saturating_sub(1);
        }
        self.maybe_forget(idx);
        Ok(())
    }

    /// Removes the pool of `task_type` with its members (each as by
    /// [`remove_worker`](Self::remove_worker)); returns how many workers left it.
    /// Refused with [`PoolError::PoolInUse`], nothing changed, while a task of
    /// this type exists (the task's failover draws on the pool). The freed
    /// place in the pool table goes to the next registered pool.
    pub fn remove_pool(&mut self, task_type: &TaskType) -> Result<usize, PoolError> {
        let pool = self.pool_index(task_type).ok_or_else(|| PoolError::UnknownPool(task_type.clone()))?;
        let tasks = self.tasks.iter().flatten().filter(|t| usize::from(t.pool) == pool).count();
        if tasks > 0 {
            return Err(PoolError::PoolInUse { task_type: task_type.clone(), tasks });
        }
        let mut removed = 0;
        // Each turn removes the heap's last entry, so this ends after its length.
        while let Some(idx) = self.pools.get(pool).and_then(|p| p.heap.last()).map(|e| entry_index(*e)) {
            if !self.pools.get_mut(pool).is_some_and(|p| p.remove(&self.workers, idx)) {
                break;
            }
            removed += 1;
            if let Some(w) = self.worker_mut(idx) {
                w.pools = w.pools.saturating_sub(1);
            }
            self.maybe_forget(idx);
        }
        if let Some(p) = self.pools.get_mut(pool) {
            p.task_type = None;
        }
        Ok(removed)
    }

    pub(super) fn maybe_forget(&mut self, idx: u16) {
        let Some(w) = self.worker_ref(idx) else { return };
        if w.pools > 0 || !w.tasks.is_empty() {
            return;
        }
        let id = w.id.clone();
        let _ = self.worker_index.remove(&id);
        if let Some(slot) = self.workers.get_mut(usize::from(idx)) {
            *slot = None;
        }
        // Cannot fail: at most W slots exist, each freed once.
        let _ = self.free_workers.push(idx);
    }

    pub(super) fn worker_ref(&self, idx: u16) -> Option<&Worker<C>> {
        worker(&self.workers, idx)
    }

    pub(super) fn worker_mut(&mut self, idx: u16) -> Option<&mut Worker<C>> {
        self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut)
    }

    pub(super) fn task_ref(&self, idx: u16) -> Option<&Task<S>> {
        self.tasks.get(usize::from(idx)).and_then(Option::as_ref)
    }

    pub(super) fn task_mut(&mut self, idx: u16) -> Option<&mut Task<S>> {
        self.tasks.get_mut(usize::from(idx)).and_then(Option::as_mut)
    }

    /// Recomputes the worker's key and restores heap order in every pool it is in.
    pub(super) fn rekey(&mut self, idx: u16) {
        let band = self.config.score_band;
        let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) else { return };
        let key = w.compute_key(band);
        if key == w.key {
            return;
        }
        w.key = key;
        let mut left = w.pools;
        for pool in self.pools.iter_mut() {
            if left == 0 {
                break;
            }
            if pool.contains(idx) {
                pool.update(&self.workers, idx, key);
                left -= 1;
            }
        }
    }

    /// Re-reads every worker's health from `view` and re-ranks every pool:
    /// O(workers + pools × pool size). Call it on the coordinator's sweep.
    pub fn refresh_health<V: HealthView + ?Sized>(&mut self, now: Instant, view: &V) {
        let now = self.clock.observe(now);
        let band = self.config.score_band;
        for w in self.workers.iter_mut().flatten() {
            let (live, score) = observe(&self.config, view, &w.id, now);
            w.live = live;
            w.score = score;
            w.key = w.compute_key(band);
        }
        for pool in self.pools.iter_mut() {
            pool.rebuild(&self.workers);
        }
    }

    /// Appends up to `count` of the best available workers of `pool` that are
    /// neither in `exclude` nor already in `out` to `out`; returns how many.
    ///
    /// A best-first walk down the pool's heap (a frontier of heap positions)
    /// reads the k best in O(k log k) without changing the heap. Each candidate's
    /// status is checked against `view` once per operation; one that is no longer
    /// assignable is re-keyed (O(log n)) and the walk starts over.
    pub(super) fn pick<V: HealthView + ?Sized>(
        &mut self,
        pool: usize,
        view: &V,
        count: usize,
        exclude: &[u16],
        out: &mut heapless::Vec<u16, S>,
    ) -> usize {
        let mut taken = 0;
        'walk: loop {
            let mut frontier: heapless::Vec<usize, FRONTIER> = heapless::Vec::new();
            if self.pools.get(pool).is_some_and(|p| !p.heap.is_empty()) {
                let _ = frontier.push(0);
            }
            while taken < count {
                let Some(heap) = self.pools.get(pool).map(|p| p.heap.as_slice()) else { return taken };
                let workers = self.workers.as_slice();
                let mut best: Option<(usize, u64)> = None;
                for (fi, &pos) in frontier.iter().enumerate() {
                    let Some(&e) = heap.get(pos) else { continue };
                    if best.is_none_or(|(_, b)| better(workers, e, b)) {
                        best = Some((fi, e));
                    }
                }
                let Some((fi, e)) = best else { return taken };
                if (e >> 16) & AVAILABLE == 0 {
                    // Everything below is ranked lower still: nobody else is available.
                    return taken;
                }
                let pos = frontier.swap_remove(fi);
                for child in [2 * pos + 1, 2 * pos + 2] {
                    if child < heap.len() {
                        // Cannot fail: the frontier holds at most one more position than
                        // were visited, and a walk visits at most 2 × S + 1 (S <= MAX_TASK_WORKERS).
                        let _ = frontier.push(child);
                    }
                }
                let idx = entry_index(e);
                if exclude.contains(&idx) || out.contains(&idx) {
                    continue;
                }
                let op = self.op;
                let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) else { continue };
                if w.checked != op {
                    w.checked = op;
                    if !still_live(&self.config, view, &w.id) {
                        w.live = false;
                        w.score = HealthScore::ZERO;
                        self.rekey(idx);
                        continue 'walk;
                    }
                }
                if out.push(idx).is_err() {
                    return taken;
                }
                taken += 1;
            }
            return taken;
        }
    }

    /// Gives `worker` a role in `task` (the caller checked it has a free slot) and re-files it.
    pub(super) fn attach(&mut self, idx: u16, task: u16, role: TaskRole) {
        if let Some(w) = self.worker_mut(idx) {
            // Cannot fail: a picked worker has `tasks.len() < slots <= C`.
            let _ = w.tasks.push(task);
            match role {
                TaskRole::Primary => w.primary_roles = w.primary_roles.saturating_add(1),
                TaskRole::Backup => w.backup_roles = w.backup_roles.saturating_add(1),
            }
        }
        self.rekey(idx);
    }

    /// Takes `worker`'s role in `task` away and frees its slot.
    pub(super) fn detach(&mut self, idx: u16, task: u16, role: TaskRole) {
        if let Some(w) = self.worker_mut(idx) {
            if let Some(i) = w.tasks.iter().position(|t| *t == task) {
                w.tasks.swap_remove(i);
            }
            match role {
                TaskRole::Primary => w.primary_roles = w.primary_roles.saturating_sub(1),
                TaskRole::Backup => w.backup_roles = w.backup_roles.saturating_sub(1),
            }
        }
        self.rekey(idx);
    }

    pub(super) fn id_of(&self, idx: u16) -> Option<NodeId> {
        self.worker_ref(idx).map(|w| w.id.clone())
    }
}
