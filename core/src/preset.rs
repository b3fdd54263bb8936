//! Ready-made capacities.
//!
//! Every manager is generic over const capacities; these modules name two sets:
//! [`small`] for microcontrollers (a few KiB of RAM per manager) and [`large`]
//! for hosts (thousands of nodes; the C and Python bindings use it). Large
//! managers are tens of KiB to MiB: build them with their `new_boxed`
//! constructors, which initialise them in place on the heap. (In-place
//! construction relies on optimisation; this workspace builds tests with
//! `opt-level = 1` and checks it on a small stack.)
//!
//! Node-table capacities must be powers of two (they are hash-indexed).

/// Capacities for microcontrollers.
pub mod small {
    /// Tracked nodes.
    pub const NODES: usize = 16;
    /// Heartbeat intervals kept per node.
    pub const WINDOW: usize = 32;
    /// Recovery events retained.
    pub const EVENTS: usize = 32;

    /// A crash-recovery manager for 16 nodes.
    pub type CrashRecoveryManager = crate::CrashRecoveryManager<NODES, WINDOW, EVENTS>;

    /// Compressed history batches kept in memory (searchable).
    pub const HISTORY_BATCHES: usize = 4;
    /// Archived history batches waiting for the host to poll them.
    pub const HISTORY_ARCHIVE: usize = 4;

    /// A message history keeping 4 batches in memory (needs `alloc` to compress).
    #[cfg(feature = "alloc")]
    pub type MessageHistoryCompressor = crate::MessageHistoryCompressor<HISTORY_BATCHES, HISTORY_ARCHIVE>;
}

/// Capacities for hosts.
pub mod large {
    /// Tracked nodes.
    pub const NODES: usize = 4096;
    /// Heartbeat intervals kept per node.
    pub const WINDOW: usize = 100;
    /// Recovery events retained.
    pub const EVENTS: usize = 1024;

    /// A crash-recovery manager for 4096 nodes.
    pub type CrashRecoveryManager = crate::CrashRecoveryManager<NODES, WINDOW, EVENTS>;

    /// Compressed history batches kept in memory (searchable): about a million
    /// messages at the default threshold of 1000.
    pub const HISTORY_BATCHES: usize = 1024;
    /// Archived history batches waiting for the host to poll them.
    pub const HISTORY_ARCHIVE: usize = 256;

    /// A message history keeping 1024 batches in memory; build it with `new_boxed`.
    #[cfg(feature = "alloc")]
    pub type MessageHistoryCompressor = crate::MessageHistoryCompressor<HISTORY_BATCHES, HISTORY_ARCHIVE>;
}
