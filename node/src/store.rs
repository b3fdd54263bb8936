//! Crash-safe files in the data directory.
//!
//! Every state file is written the same way: the bytes go to `NAME.tmp`, which
//! is fsynced, renamed over `NAME`, and then the directory is fsynced, so after
//! a crash at any point `NAME` holds either the old or the new content, never a
//! mix. State files are framed and checksummed:
//!
//! ```text
//! "PNST" | version (1 byte) | kind (1 byte) | payload length (u32 LE) | payload | SHA-256 of all before (32 bytes)
//! ```
//!
//! A frame that does not check out (torn, truncated, corrupt, another kind) is
//! an error, and the node refuses to start on it rather than guess: a lost
//! election vote could become a double vote.
//!
//! # Crash points (tests only)
//!
//! With `PN_NODE_CRASH_AT=NAME:STEP` in the environment the process aborts
//! (as a `SIGKILL` would leave it: no destructors, no flush) at the first write
//! of `NAME` when it reaches `STEP`: `tmp` (temp file written and fsynced, not
//! renamed), `renamed` (renamed, directory not fsynced) or `synced` (all done,
//! before anything that depends on it is sent). `NAME:STEP@N` aborts at the
//! `N`th write instead. The multi-process tests use it; an operator never sets it.

use pouw_netops::NodeId;
use pouw_netops::election::HardState;
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 4] = b"PNST";
const VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 1 + 4;
const DIGEST: usize = 32;
/// The largest payload a state file may declare.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// What a state file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The election's `(term, voted_for)`.
    HardState = 1,
    /// The last boot epoch.
    Epoch = 2,
}

/// Why a state file could not be read or written.
#[derive(Debug)]
pub enum StoreError {
    /// The file system refused.
    Io(PathBuf, std::io::Error),
    /// The file exists but is not a whole, valid frame of the expected kind.
    Corrupt(PathBuf, &'static str),
    /// Another process holds the data directory.
    Locked(PathBuf),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            StoreError::Locked(p) => {
                write!(f, "{}: another node process is running on this data directory", p.display())
            }
            StoreError::Corrupt(p, why) => write!(
                f,
                "{}: {why}; refusing to start (the file may have been torn or damaged; \
                 restore it from a backup, or remove it only if this node cannot have voted \
                 in a term the cluster still uses)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {}

/// Frames `payload` as a `kind` state file.
pub fn frame(kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len() + DIGEST);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(payload);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// The payload of a `kind` frame, or why it is not one.
pub fn unframe(kind: Kind, bytes: &[u8]) -> Result<&[u8], &'static str> {
    if bytes.len() < HEADER + DIGEST {
        return Err("too short to be a state file (torn write?)");
    }
    if bytes.get(..4) != Some(MAGIC.as_slice()) {
        return Err("not a state file (bad magic)");
    }
    if bytes.get(4) != Some(&VERSION) {
        return Err("unknown state file version");
    }
    if bytes.get(5) != Some(&(kind as u8)) {
        return Err("a state file of another kind");
    }
    let len: [u8; 4] = bytes.get(6..10).and_then(|b| b.try_into().ok()).ok_or("truncated header")?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_PAYLOAD {
        return Err("declared length too large");
    }
    if bytes.len() != HEADER + len + DIGEST {
        return Err("length does not match the header (torn write?)");
    }
    let (body, digest) = bytes.split_at(HEADER + len);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checksum mismatch");
    }
    body.get(HEADER..).ok_or("truncated")
}

static WRITES: AtomicU64 = AtomicU64::new(0);

/// Aborts the process if `PN_NODE_CRASH_AT` names this write and step.
fn crash_point(name: &str, step: &str, nth: u64) {
    let Ok(spec) = std::env::var("PN_NODE_CRASH_AT") else { return };
    let (point, at) = match spec.split_once('@') {
        Some((p, n)) => (p.to_string(), n.parse::<u64>().unwrap_or(1)),
        None => (spec, 1),
    };
    if point == format!("{name}:{step}") && nth == at {
        eprintln!("PN_NODE_CRASH_AT={point}@{at}: aborting");
        std::process::abort();
    }
}

/// Per-file write counters for the crash points.
#[derive(Default)]
pub struct Counters {
    hard_state: AtomicU64,
    epoch: AtomicU64,
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(p.to_path_buf(), e)
}

/// Writes `bytes` to `dir/name` atomically and durably: temp file, fsync,
/// rename, fsync of the directory. `nth` numbers this write for the crash points.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8], nth: u64) -> Result<(), StoreError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    crash_point(name, "tmp", nth);
    fs::rename(&tmp, &path).map_err(io(&path))?;
    crash_point(name, "renamed", nth);
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    crash_point(name, "synced", nth);
    WRITES.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Fsyncs written files in total (for metrics).
pub fn writes() -> u64 {
    WRITES.load(Ordering::Relaxed)
}

/// Reads a `kind` state file: `None` if it does not exist.
pub fn read(dir: &Path, name: &str, kind: Kind) -> Result<Option<Vec<u8>>, StoreError> {
    let path = dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => {
            unframe(kind, &bytes).map(|p| Some(p.to_vec())).map_err(|why| StoreError::Corrupt(path.clone(), why))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Io(path, e)),
    }
}

/// The file names in the data directory.
pub const HARD_STATE: &str = "hard_state";
/// The boot epoch file.
pub const EPOCH: &str = "epoch";

/// Encodes a hard state: term (u64 LE), then the vote's id length (0: none) and bytes.
pub fn encode_hard_state(hs: &HardState) -> Vec<u8> {
    let mut out = hs.term.to_le_bytes().to_vec();
    match &hs.voted_for {
        Some(n) => {
            out.push(u8::try_from(n.as_bytes().len()).unwrap_or(0));
            out.extend_from_slice(n.as_bytes());
        }
        None => out.push(0),
    }
    out
}

/// Decodes [`encode_hard_state`]'s bytes.
pub fn decode_hard_state(bytes: &[u8]) -> Option<HardState> {
    let term = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let len = usize::from(*bytes.get(8)?);
    let rest = bytes.get(9..)?;
    if rest.len() != len {
        return None;
    }
    let voted_for = if len == 0 { None } else { Some(NodeId::new(std::str::from_utf8(rest).ok()?).ok()?) };
    Some(HardState { term, voted_for })
}

/// The node's crash-safe state in its data directory.
pub struct DataDir {
    dir: PathBuf,
    counters: Counters,
    /// Holds an exclusive lock on `dir/lock` while the node runs (the
    /// operating system releases it when the process dies, SIGKILL included).
    _lock: File,
}

impl DataDir {
    /// Opens (creates) the directory and locks it: two processes on one data
    /// directory would each think they hold the only copy of its votes.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        fs::create_dir_all(dir.join("history")).map_err(io(dir))?;
        let lock_path = dir.join("lock");
        let lock =
            OpenOptions::new().write(true).create(true).truncate(false).open(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => return Err(StoreError::Io(lock_path, e)),
        }
        Ok(DataDir { dir: dir.to_path_buf(), counters: Counters::default(), _lock: lock })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The persisted hard state (default if none was ever written).
    pub fn hard_state(&self) -> Result<HardState, StoreError> {
        match read(&self.dir, HARD_STATE, Kind::HardState)? {
            None => Ok(HardState::default()),
            Some(p) => decode_hard_state(&p)
                .ok_or_else(|| StoreError::Corrupt(self.dir.join(HARD_STATE), "the hard state does not decode")),
        }
    }

    /// Persists `hs` durably.
    pub fn save_hard_state(&self, hs: &HardState) -> Result<(), StoreError> {
        let nth = self.counters.hard_state.fetch_add(1, Ordering::Relaxed) + 1;
        write_atomic(&self.dir, HARD_STATE, &frame(Kind::HardState, &encode_hard_state(hs)), nth)
    }

    /// The last boot epoch persisted, if any.
    pub fn last_epoch(&self) -> Result<Option<u64>, StoreError> {
        match read(&self.dir, EPOCH, Kind::Epoch)? {
            None => Ok(None),
            Some(p) => {
                let b: [u8; 8] = p
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt(self.dir.join(EPOCH), "the epoch is not 8 bytes"))?;
                Ok(Some(u64::from_le_bytes(b)))
            }
        }
    }

    /// Chooses this boot's epoch, above every earlier one and at least
    /// `floor` (the wall clock in microseconds, so a wiped data directory still
    /// moves forward), and persists it before it is used.
    pub fn next_epoch(&self, floor: u64) -> Result<u64, StoreError> {
        let last = self.last_epoch()?;
        let epoch = last.map_or(floor, |l| l.saturating_add(1).max(floor));
        let nth = self.counters.epoch.fetch_add(1, Ordering::Relaxed) + 1;
        write_atomic(&self.dir, EPOCH, &frame(Kind::Epoch, &epoch.to_le_bytes()), nth)?;
        Ok(epoch)
    }

    /// Writes an archived history batch as `history/batch-<seq>.pnb` (the
    /// batch's own bytes, which `MessageHistoryCompressor::import_batch` takes back).
    pub fn save_batch(&self, seq: u64, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = self.dir.join("history");
        let name = format!("batch-{seq:012}.pnb");
        write_atomic(&dir, &name, bytes, 0)?;
        Ok(dir.join(name))
    }

    /// The highest batch number already written (so a restart does not overwrite).
    pub fn last_batch(&self) -> u64 {
        let Ok(rd) = fs::read_dir(self.dir.join("history")) else { return 0 };
        rd.filter_map(Result::ok)
            .filter_map(|e| {
                let n = e.file_name().into_string().ok()?;
                n.strip_prefix("batch-")?.strip_suffix(".pnb")?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0)
    }

    /// Writes the WireGuard configuration atomically (mode 0600: it may hold a key).
    pub fn save_wireguard(&self, text: &str) -> Result<(), StoreError> {
        write_atomic(&self.dir, "wg0.conf", text.as_bytes(), 0)?;
        set_private(&self.dir.join("wg0.conf"));
        Ok(())
    }
}

/// Makes a file readable by its owner only (best effort on non-Unix).
pub fn set_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pn-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn hard_state_round_trips_through_the_file() {
        let d = DataDir::open(&tmpdir("hs")).unwrap();
        assert_eq!(d.hard_state().unwrap(), HardState::default());
        let hs = HardState { term: 7, voted_for: Some(NodeId::new("sup-2").unwrap()) };
        d.save_hard_state(&hs).unwrap();
        assert_eq!(d.hard_state().unwrap(), hs);
        let none = HardState { term: 8, voted_for: None };
        d.save_hard_state(&none).unwrap();
        assert_eq!(d.hard_state().unwrap(), none);
        assert!(!d.path().join("hard_state.tmp").exists());
    }

    #[test]
    fn every_truncation_and_every_bit_flip_is_detected() {
        let hs = HardState { term: 3, voted_for: Some(NodeId::new("sup-1").unwrap()) };
        let bytes = frame(Kind::HardState, &encode_hard_state(&hs));
        assert_eq!(unframe(Kind::HardState, &bytes).map(decode_hard_state), Ok(Some(hs)));
        for cut in 0..bytes.len() {
            assert!(unframe(Kind::HardState, bytes.get(..cut).unwrap()).is_err(), "cut at {cut}");
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(unframe(Kind::HardState, &b).is_err(), "flip byte {i} bit {bit}");
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(unframe(Kind::HardState, &longer).is_err());
        assert!(unframe(Kind::Epoch, &bytes).is_err(), "another kind");
    }

    #[test]
    fn a_corrupt_hard_state_file_is_an_error_not_a_default() {
        let d = DataDir::open(&tmpdir("corrupt")).unwrap();
        d.save_hard_state(&HardState { term: 9, voted_for: None }).unwrap();
        let p = d.path().join(HARD_STATE);
        let mut b = fs::read(&p).unwrap();
        b.truncate(b.len() - 5);
        fs::write(&p, &b).unwrap();
        assert!(matches!(d.hard_state(), Err(StoreError::Corrupt(..))));
        fs::write(&p, b"").unwrap();
        assert!(matches!(d.hard_state(), Err(StoreError::Corrupt(..))));
    }

    #[test]
    fn one_process_at_a_time_holds_a_data_directory() {
        let path = tmpdir("lock");
        let first = DataDir::open(&path).unwrap();
        assert!(matches!(DataDir::open(&path), Err(StoreError::Locked(_))));
        drop(first);
        assert!(DataDir::open(&path).is_ok());
    }

    #[test]
    fn epochs_strictly_increase_even_when_the_clock_goes_back() {
        let d = DataDir::open(&tmpdir("epoch")).unwrap();
        assert_eq!(d.last_epoch().unwrap(), None);
        assert_eq!(d.next_epoch(1000).unwrap(), 1000);
        assert_eq!(d.next_epoch(10).unwrap(), 1001);
        assert_eq!(d.next_epoch(5000).unwrap(), 5000);
        let path = d.path().to_path_buf();
        drop(d);
        let again = DataDir::open(&path).unwrap();
        assert_eq!(again.last_epoch().unwrap(), Some(5000));
        assert_eq!(again.next_epoch(0).unwrap(), 5001);
    }

    #[test]
    fn a_leftover_temp_file_does_not_matter() {
        let d = DataDir::open(&tmpdir("tmp")).unwrap();
        let hs = HardState { term: 4, voted_for: None };
        d.save_hard_state(&hs).unwrap();
        fs::write(d.path().join("hard_state.tmp"), b"half a wri").unwrap();
        assert_eq!(d.hard_state().unwrap(), hs);
        d.save_hard_state(&HardState { term: 5, voted_for: None }).unwrap();
        assert_eq!(d.hard_state().unwrap().term, 5);
    }

    #[test]
    fn batches_are_numbered_after_the_last_one_on_disk() {
        let d = DataDir::open(&tmpdir("batches")).unwrap();
        assert_eq!(d.last_batch(), 0);
        d.save_batch(1, b"x").unwrap();
        d.save_batch(2, b"y").unwrap();
        let path = d.path().to_path_buf();
        drop(d);
        assert_eq!(DataDir::open(&path).unwrap().last_batch(), 2);
        assert_eq!(fs::read(path.join("history/batch-000000000002.pnb")).unwrap(), b"y");
    }

    #[test]
    fn archived_history_batches_written_as_files_import_back() {
        use pouw_netops::preset::small::MessageHistoryCompressor;
        use pouw_netops::{HistoryConfig, Instant, RecordRef};
        let config = HistoryConfig { compression_threshold: 2, ..HistoryConfig::default() };
        let mut h = MessageHistoryCompressor::new_boxed(config).unwrap();
        let mut t = 1_000_000u64;
        let mut archived = Vec::new();
        for i in 0..40u32 {
            t += 1000;
            let payload = i.to_le_bytes();
            let r = RecordRef {
                timestamp: Instant::from_micros(t),
                sender: "w-1",
                message_type: "heartbeat",
                payload: &payload,
            };
            h.add_message(Instant::from_micros(t), r).unwrap();
            while let Some(b) = h.poll_archived() {
                archived.push(b);
            }
        }
        assert!(archived.len() >= 2, "batches left memory");
        let d = DataDir::open(&tmpdir("history")).unwrap();
        let mut files = Vec::new();
        for (i, b) in archived.iter().enumerate() {
            files.push(d.save_batch(i as u64 + 1, b.as_bytes()).unwrap());
        }
        let mut fresh = MessageHistoryCompressor::new_boxed(config).unwrap();
        // As many as the fresh compressor holds in memory.
        let n = files.len().min(pouw_netops::preset::small::HISTORY_BATCHES);
        for f in files.iter().take(n) {
            let bytes = fs::read(f).unwrap();
            fresh.import_batch(Instant::from_micros(t), &bytes).unwrap();
        }
        assert_eq!(fresh.stats().batches_in_memory, n);
        // A damaged file is refused, not imported.
        let mut bytes = fs::read(&files[0]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let mut other = MessageHistoryCompressor::new_boxed(config).unwrap();
        assert!(other.import_batch(Instant::from_micros(t), &bytes).is_err());
    }
}
