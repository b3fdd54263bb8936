//! Ready-made capacities.
//!
//! Every manager is generic over const capacities; these modules name two sets:
//! [`small`] for microcontrollers (a few KiB of RAM per manager) and [`large`]
//! for hosts (thousands of nodes; the C and Python bindings use it).
//!
//! Where the tables live depends on the `alloc` feature (see
//! [`crate::storage`]). With `alloc`, each manager's `new` allocates its tables
//! once, at full capacity, so the manager value itself is small whatever the
//! preset (see the `size_of` test below) and can be built on any stack; a large
//! manager's tables take MiB of heap, reserved up front and never grown.
//! `new_boxed` is `new` plus a `Box`, for callers that want the manager itself
//! on the heap too. Without `alloc` the tables are inline arrays: a manager is
//! as big as its capacities, and where it lives (a `static`, the stack) is the
//! caller's choice; that build is meant for the [`small`] preset.

/// The manager types of a preset, from the capacity constants in scope: one
/// list, so the presets cannot disagree on which capacity goes where.
macro_rules! preset_managers {
    () => {
        /// A crash-recovery manager with this preset's capacities.
        pub type CrashRecoveryManager = crate::CrashRecoveryManager<NODES, WINDOW, EVENTS>;

        /// A leader-election manager with this preset's capacities.
        pub type LeaderElectionManager = crate::LeaderElectionManager<VOTERS, ELECTION_OUTBOX, VOTE_HISTORY>;

        /// A VPN mesh manager with this preset's capacities.
        pub type VPNMeshTopologyManager = crate::VPNMeshTopologyManager<MESH_NODES, MESH_LINKS, MESH_QUEUE>;

        /// A worker-replacement manager with this preset's capacities.
        pub type WorkerReplacementManager = crate::WorkerReplacementManager<
            WORKERS,
            TASKS,
            POOLS,
            TASK_WORKERS,
            WORKER_SLOTS,
            REPLACEMENT_HISTORY,
            WORKER_EVENTS,
        >;

        /// A message history with this preset's capacities (needs `alloc` to compress).
        #[cfg(feature = "alloc")]
        pub type MessageHistoryCompressor = crate::MessageHistoryCompressor<HISTORY_BATCHES, HISTORY_ARCHIVE>;

        /// A node coordinator with this preset's capacities (needs `alloc`).
        #[cfg(feature = "alloc")]
        pub type NetworkOperationsManager = crate::NetworkOperationsManager<
            OPS_NODES,
            WINDOW,
            VOTERS,
            TASKS,
            POOLS,
            TASK_WORKERS,
            WORKER_SLOTS,
            OPS_LINKS,
            OPS_QUEUE,
            HISTORY_BATCHES,
        >;
    };
}

/// Capacities for microcontrollers.
pub mod small {
    /// Tracked nodes.
    pub const NODES: usize = 16;
    /// Heartbeat intervals kept per node.
    pub const WINDOW: usize = 32;
    /// Recovery events retained.
    pub const EVENTS: usize = 32;

    /// Election voters (supervisors).
    pub const VOTERS: usize = 8;
    /// Election messages waiting to be sent.
    pub const ELECTION_OUTBOX: usize = 16;
    /// Granted votes kept in the election's vote history.
    pub const VOTE_HISTORY: usize = 16;

    /// Mesh nodes.
    pub const MESH_NODES: usize = 16;
    /// Mesh links: tunnel records plus links known from adverts.
    pub const MESH_LINKS: usize = 64;
    /// Entries in each of the mesh's outgoing queues (re-establish requests,
    /// route changes; a full queue drops and counts). 8 keeps the two queues
    /// under 4 KiB; a host drains them after every call.
    pub const MESH_QUEUE: usize = 8;

    /// Workers known to a worker-replacement manager.
    pub const WORKERS: usize = 16;
    /// Tasks with workers.
    pub const TASKS: usize = 8;
    /// Worker pools (task types).
    pub const POOLS: usize = 4;
    /// Most workers (primaries + backups) per task.
    pub const TASK_WORKERS: usize = 4;
    /// Most slots per worker.
    pub const WORKER_SLOTS: usize = 2;
    /// Replacements kept in the history ring.
    pub const REPLACEMENT_HISTORY: usize = 16;
    /// Worker events queued for polling.
    pub const WORKER_EVENTS: usize = 16;

    /// Compressed history batches kept in memory (searchable).
    pub const HISTORY_BATCHES: usize = 2;
    /// Archived history batches waiting for the host to poll them.
    pub const HISTORY_ARCHIVE: usize = 2;

    /// Peers of a coordinator (crash tracking, mesh nodes, admitted
    /// certificates, mesh view): each has an entry reserved at construction
    /// in every per-peer table. 8 keeps a worker node inside its RAM budget,
    /// with room to spare (see `docs/embedded.md`); the
    /// standalone managers keep [`NODES`].
    pub const OPS_NODES: usize = 8;
    /// Mesh links of a coordinator: a full mesh of [`OPS_NODES`] needs 28.
    pub const OPS_LINKS: usize = 32;
    /// Entries in each of the coordinator's queues (outbox, events, component
    /// queues); each entry of all of them together is about 1 KiB of heap. A
    /// full queue drops the new item and counts it; a host drains after every call.
    pub const OPS_QUEUE: usize = 8;

    preset_managers!();
}

/// Capacities for hosts.
pub mod large {
    /// Tracked nodes.
    pub const NODES: usize = 4096;
    /// Heartbeat intervals kept per node.
    pub const WINDOW: usize = 100;
    /// Recovery events retained.
    pub const EVENTS: usize = 1024;

    /// Election voters (supervisors); a message costs O(log V) in the voter count.
    pub const VOTERS: usize = 4096;
    /// Election messages waiting to be sent (broadcasts take one entry).
    pub const ELECTION_OUTBOX: usize = 1024;
    /// Granted votes kept in the election's vote history.
    pub const VOTE_HISTORY: usize = 1024;

    /// Mesh nodes.
    pub const MESH_NODES: usize = 4096;
    /// Mesh links: tunnel records plus links known from adverts (8 per node on average).
    pub const MESH_LINKS: usize = 32_768;
    /// Entries in each of the mesh's outgoing queues (re-establish requests, route changes).
    pub const MESH_QUEUE: usize = 4096;

    /// Workers known to a worker-replacement manager.
    pub const WORKERS: usize = 4096;
    /// Tasks with workers.
    pub const TASKS: usize = 4096;
    /// Worker pools (task types).
    pub const POOLS: usize = 16;
    /// Most workers (primaries + backups) per task.
    pub const TASK_WORKERS: usize = 16;
    /// Most slots per worker.
    pub const WORKER_SLOTS: usize = 16;
    /// Replacements kept in the history ring.
    pub const REPLACEMENT_HISTORY: usize = 1024;
    /// Worker events queued for polling.
    pub const WORKER_EVENTS: usize = 1024;

    /// Compressed history batches kept in memory (searchable): about a million
    /// messages at the default threshold of 1000.
    pub const HISTORY_BATCHES: usize = 1024;
    /// Archived history batches waiting for the host to poll them.
    pub const HISTORY_ARCHIVE: usize = 256;

    /// Peers of a coordinator: the same as [`NODES`].
    pub const OPS_NODES: usize = NODES;
    /// Mesh links of a coordinator: the same as [`MESH_LINKS`].
    pub const OPS_LINKS: usize = MESH_LINKS;
    /// Entries in each of the coordinator's queues (outbox, events, component queues).
    pub const OPS_QUEUE: usize = 4096;

    preset_managers!();
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use core::mem::size_of;

    /// With `alloc` the large managers keep their tables in heap blocks: the
    /// values themselves stay small, so building one never needs a big stack.
    #[test]
    fn large_managers_are_small_values_with_alloc() {
        // Measured at 0.3 to 3 KiB; inline tables would be hundreds of KiB to MiB.
        const BOUND: usize = 4096;
        assert!(size_of::<super::large::CrashRecoveryManager>() < BOUND);
        assert!(size_of::<super::large::LeaderElectionManager>() < BOUND);
        assert!(size_of::<super::large::VPNMeshTopologyManager>() < BOUND);
        assert!(size_of::<super::large::WorkerReplacementManager>() < BOUND);
        assert!(size_of::<super::large::MessageHistoryCompressor>() < BOUND);
        assert!(size_of::<super::large::NetworkOperationsManager>() < BOUND);
    }
}
