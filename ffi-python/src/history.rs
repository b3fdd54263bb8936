//! The message history (`preset::large`: 1024 batches in memory, 256 waiting in
//! the archive outbox), with float-second times. Compression, decompression and
//! search run with the GIL released.
//!
//! The old API's `MessageHistoryCompressor` is the native class below (the
//! package's name binds it), over this core class, which turns
//! `NetworkMessage.data` into compact JSON payload bytes and back.

use crate::errors::{config_error, core_error, invalid};
use crate::py::{Given, Logger, cached, clear, given, not_initialized, py_error};
use crate::time::{OwnTime, instant};
use pouw_netops::history::BatchView;
use pouw_netops::history::ProveError;
use pouw_netops::history::merkle::{self, Path};
use pouw_netops::preset::large;
use pouw_netops::{Batch, HistoryConfig, Instant, Record, RecordRef};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

/// One batch as `(batch_id, start_time, end_time, message_count, raw_len, header, zlib_stream)`.
type BatchTuple<'py> = (u64, f64, f64, u32, u32, Bound<'py, PyBytes>, Bound<'py, PyBytes>);

/// One record as `(timestamp, sender, message_type, payload)`.
type RecordTuple<'py> = (f64, String, String, Bound<'py, PyBytes>);

fn batch_tuple<'py>(py: Python<'py>, b: &Batch) -> BatchTuple<'py> {
    let h = b.header();
    let bytes = b.as_bytes();
    let (head, zlib) = bytes.split_at(h.header_len().min(bytes.len()));
    (
        h.id,
        h.first.as_secs_f64(),
        h.last.as_secs_f64(),
        h.count,
        h.raw_len,
        PyBytes::new(py, head),
        PyBytes::new(py, zlib),
    )
}

fn record_tuples<'py>(py: Python<'py>, records: Vec<Record>) -> Vec<RecordTuple<'py>> {
    records
        .into_iter()
        .map(|r| {
            (
                r.timestamp.as_secs_f64(),
                r.sender.as_str().to_owned(),
                r.message_type.as_str().to_owned(),
                PyBytes::new(py, &r.payload),
            )
        })
        .collect()
}

/// Records as the old API's dicts `msg_type, sender_id, timestamp, data`, with
/// `data` parsed from the JSON payload in Rust (see `json::from_json`).
/// Senders, message types and `data` keys repeat across records: each distinct
/// one becomes one Python string per call (see `json::StrCache`).
fn record_dicts<'py>(py: Python<'py>, records: Vec<Record>) -> PyResult<Bound<'py, PyList>> {
    let mut strings = crate::json::StrCache::default();
    let (k_type, k_sender, k_time, k_data) =
        (intern!(py, "msg_type"), intern!(py, "sender_id"), intern!(py, "timestamp"), intern!(py, "data"));
    let items = records
        .into_iter()
        .map(|r| {
            let d = PyDict::new(py);
            d.set_item(k_type, strings.get(py, r.message_type.as_str()))?;
            d.set_item(k_sender, strings.get(py, r.sender.as_str()))?;
            d.set_item(k_time, PyFloat::new(py, r.timestamp.as_secs_f64()))?;
            d.set_item(k_data, crate::json::from_json_cached(py, &r.payload, &mut strings)?)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// The Python strings of one batch's sender (table 0) and type (table 1)
/// dictionaries, built on first use of each index.
#[derive(Default)]
struct IndexedStrings {
    tables: [Vec<Option<Py<PyString>>>; 2],
}

impl IndexedStrings {
    fn get<'py>(&mut self, py: Python<'py>, table: usize, index: u32, s: &str) -> Bound<'py, PyString> {
        let Some(t) = self.tables.get_mut(table) else {
            return PyString::new(py, s);
        };
        let i = index as usize;
        if t.len() <= i {
            // Indices are below the batch's dictionary size (bounded by the decoder).
            t.resize_with(i + 1, || None);
        }
        match t.get_mut(i) {
            Some(Some(v)) => v.bind(py).clone(),
            Some(slot) => {
                let v = PyString::new(py, s);
                *slot = Some(v.clone().unbind());
                v
            }
            None => PyString::new(py, s),
        }
    }
}

fn batch_error(e: pouw_netops::BatchError) -> PyErr {
    core_error(e)
}

fn prove_error(e: ProveError) -> PyErr {
    core_error(e)
}

fn hash32(what: &str, b: &[u8]) -> PyResult<merkle::Hash> {
    b.try_into().map_err(|_| invalid(format!("{what} must be 32 bytes, not {}", b.len())))
}

fn proof_error(e: merkle::ProofError) -> PyErr {
    core_error(e)
}

/// The core's `MessageHistoryCompressor` (large preset).
#[pyclass(name = "HistoryCore", module = "pouw_netops._native")]
pub struct PyHistoryCore {
    inner: Box<large::MessageHistoryCompressor>,
    /// The latest `now` given: the time of the writes that cannot take one.
    own: OwnTime,
    /// The JSON of the last `data` added, kept for its allocation.
    json: Vec<u8>,
    /// The dict keys of `data` written so far (see `KeyCache`).
    json_keys: crate::json::KeyCache,
}

#[pymethods]
impl PyHistoryCore {
    /// A history sealing a batch every `compression_threshold` messages with
    /// zlib at `compression_level` (0 to 10; 6 by default, 1 is the fastest that compresses).
    #[new]
    #[pyo3(signature = (compression_threshold = 1000, compression_level = 6))]
    fn new(
        #[pyo3(from_py_with = crate::args::u32_arg)] compression_threshold: u32,
        compression_level: u8,
    ) -> PyResult<Self> {
        let config = HistoryConfig { compression_threshold, compression_level, ..HistoryConfig::default() };
        let inner = large::MessageHistoryCompressor::new_boxed(config).map_err(config_error)?;
        Ok(PyHistoryCore { inner, own: OwnTime::default(), json: Vec::new(), json_keys: Default::default() })
    }

    /// The number of records that seals a batch; setting it takes effect at
    /// the next add (`InvalidArgumentError` for 0, nothing changes).
    #[getter]
    fn compression_threshold(&self) -> u32 {
        self.inner.config().compression_threshold
    }

    #[setter]
    fn set_compression_threshold(
        &mut self,
        #[pyo3(from_py_with = crate::args::u32_arg)] threshold: u32,
    ) -> PyResult<()> {
        self.inner.set_compression_threshold(threshold).map_err(config_error)
    }

    /// Appends a record; the id of the batch this call sealed, if any (a call
    /// that seals compresses with the GIL released).
    /// `InvalidArgumentError` for a bad sender, type or oversized payload,
    /// `CapacityError` when every batch slot and the archive outbox are full.
    #[pyo3(signature = (sender, message_type, timestamp, payload, now = None))]
    fn add(
        &mut self,
        py: Python<'_>,
        sender: &str,
        message_type: &str,
        timestamp: f64,
        payload: &[u8],
        now: Option<f64>,
    ) -> PyResult<Option<u64>> {
        let now = self.own.input(now)?;
        let timestamp = instant(Some(timestamp))?;
        let record = RecordRef { timestamp, sender, message_type, payload };
        // A call that seals a batch compresses it: do that with the GIL released.
        let seals = self.inner.add_seals(&record);
        let inner = &mut self.inner;
        let added = if seals { py.detach(|| inner.add_message(now, record)) } else { inner.add_message(now, record) };
        added.map_err(core_error)
    }

    /// `add` with the payload given as `data`, written as compact JSON in Rust
    /// (see `encode_json`): the old API's `add_message` in one call.
    #[pyo3(signature = (sender, message_type, timestamp, data, now = None))]
    fn add_data(
        &mut self,
        py: Python<'_>,
        sender: &str,
        message_type: &str,
        timestamp: f64,
        data: &Bound<'_, PyAny>,
        now: Option<f64>,
    ) -> PyResult<Option<u64>> {
        let mut payload = std::mem::take(&mut self.json);
        let added = crate::json::to_json_into(data, &mut payload, &mut self.json_keys)
            .and_then(|()| self.add(py, sender, message_type, timestamp, &payload, now));
        self.keep_json(payload);
        added
    }

    /// The old API's `add_message(message)` in one native call: `message` is a
    /// `NetworkMessage` (or any object with its attributes), `data` written as
    /// compact JSON in Rust.
    #[pyo3(signature = (message, now = None))]
    fn add_message(&mut self, py: Python<'_>, message: &Bound<'_, PyAny>, now: Option<f64>) -> PyResult<Option<u64>> {
        // The fields are read with references of their own (`message_of`):
        // writing `data` may run Python code (the `json` fallback) and `add`
        // may release the GIL to seal, and either may see the message's
        // attributes set meanwhile, which a borrow held across them would refuse.
        let (sender, message_type, timestamp, data) = crate::types::message_of(message)?;
        let sender = crate::types::text(&sender, "sender_id")?;
        let message_type = crate::types::text(&message_type, "msg_type")?;
        let mut payload = std::mem::take(&mut self.json);
        let added = crate::json::to_json_into(&data, &mut payload, &mut self.json_keys)
            .and_then(|()| self.add(py, &sender, &message_type, timestamp, &payload, now));
        self.keep_json(payload);
        added
    }

    /// Seals the buffer into a batch now (with the GIL released); the batch, or
    /// `None` if the buffer is empty. `CapacityError` when no slot is free.
    #[pyo3(signature = (now = None))]
    fn compress<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Option<BatchTuple<'py>>> {
        let now = self.own.input(now)?;
        let inner = &mut self.inner;
        let id = py.detach(|| inner.compress_batch(now)).map_err(core_error)?;
        Ok(id.and_then(|id| self.inner.batch(id)).map(|b| batch_tuple(py, b)))
    }

    /// The manager's own time: the latest `now` given (by any method), or
    /// `None` if never (the wall clock). The live `message_buffer` passes it
    /// as the `now` of `append`, which cannot take one.
    #[getter]
    fn own_now(&self) -> Option<f64> {
        self.own.get()
    }

    /// The batches in memory, oldest first.
    fn batches<'py>(&self, py: Python<'py>) -> Vec<BatchTuple<'py>> {
        self.inner.batches().filter_map(|h| self.inner.batch(h.id)).map(|b| batch_tuple(py, b)).collect()
    }

    /// The oldest archived batch not yet taken (ownership moves to the caller).
    fn poll_archived<'py>(&mut self, py: Python<'py>) -> Option<BatchTuple<'py>> {
        self.inner.poll_archived().map(|b| batch_tuple(py, &b))
    }

    /// Records with `start <= timestamp <= end`, of `message_type` and from
    /// `sender` if given, in timestamp order; searched with the GIL released.
    #[pyo3(signature = (start, end, message_type = None, sender = None))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        start: f64,
        end: f64,
        message_type: Option<&str>,
        sender: Option<&str>,
    ) -> PyResult<Vec<RecordTuple<'py>>> {
        Ok(record_tuples(py, self.find(py, start, end, message_type, sender)?))
    }

    /// Decodes the records of batch bytes (header and zlib stream), fully
    /// checked, with the GIL released; `DecodeError` if they are not a valid batch.
    #[staticmethod]
    fn decode_batch<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Vec<RecordTuple<'py>>> {
        Ok(record_tuples(py, decode_records(py, data)?))
    }

    /// `search` with the records as dicts (`msg_type, sender_id, timestamp, data`),
    /// `data` parsed from JSON in Rust.
    #[pyo3(signature = (start, end, message_type = None, sender = None))]
    fn search_dicts<'py>(
        &self,
        py: Python<'py>,
        start: f64,
        end: f64,
        message_type: Option<&str>,
        sender: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        record_dicts(py, self.find(py, start, end, message_type, sender)?)
    }

    /// `decode_batch` with the records as dicts, `data` parsed from JSON in Rust.
    /// Each dict is built as its record is checked, in one pass (no
    /// intermediate records), fully checked as `Batch::records` does. Senders
    /// and message types become one Python string per dictionary entry of the
    /// batch (by index, no hashing); version 1 batches go through the cache.
    /// Records with the timestamp of the record before share its float.
    #[staticmethod]
    fn decode_batch_dicts<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let max = HistoryConfig::default().max_batch_bytes;
        let view = BatchView::parse(data, max).map_err(batch_error)?;
        let mut scratch = vec![0u8; view.header().scratch_len()];
        let mut strings = crate::json::StrCache::default();
        let mut by_index = IndexedStrings::default();
        let (k_type, k_sender, k_time, k_data) =
            (intern!(py, "msg_type"), intern!(py, "sender_id"), intern!(py, "timestamp"), intern!(py, "data"));
        let mut items: Vec<Bound<'py, PyDict>> = Vec::with_capacity(view.header().count as usize);
        let mut time: Option<(Instant, Bound<'py, PyFloat>)> = None;
        let mut failed: Option<PyErr> = None;
        let checked = view.validate_rows(&mut scratch, |r, _, _, indices| {
            let built = (|| -> PyResult<Bound<'py, PyDict>> {
                let (sender, message_type) = match indices {
                    Some((s, t)) => (by_index.get(py, 0, s, r.sender), by_index.get(py, 1, t, r.message_type)),
                    None => (strings.get(py, r.sender), strings.get(py, r.message_type)),
                };
                let timestamp = match &time {
                    Some((at, f)) if *at == r.timestamp => f.clone(),
                    _ => {
                        let f = PyFloat::new(py, r.timestamp.as_secs_f64());
                        time = Some((r.timestamp, f.clone()));
                        f
                    }
                };
                let d = PyDict::new(py);
                d.set_item(k_type, message_type)?;
                d.set_item(k_sender, sender)?;
                d.set_item(k_time, timestamp)?;
                d.set_item(k_data, crate::json::from_json_cached(py, r.payload, &mut strings)?)?;
                Ok(d)
            })();
            match built {
                Ok(d) => {
                    items.push(d);
                    Ok(())
                }
                Err(e) => {
                    failed = Some(e);
                    Err(pouw_netops::BatchError::Corrupt)
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        checked.map_err(batch_error)?;
        PyList::new(py, items)
    }

    /// The Merkle log root over every batch sealed so far (32 bytes).
    fn log_root<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.log_root())
    }

    /// Batches in the Merkle log.
    fn log_size(&self) -> u64 {
        self.inner.log_size()
    }

    /// The log root when it held its first `size` batches.
    fn log_root_at<'py>(&self, py: Python<'py>, size: u64) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.log_root_at(size).map_err(prove_error)?))
    }

    /// The encoded inclusion proof of record `index` of the batch `batch_id`
    /// (in memory); decodes that batch only, with the GIL released.
    fn inclusion_proof<'py>(&self, py: Python<'py>, batch_id: u64, index: u32) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        let proof = py.detach(|| inner.inclusion_proof(batch_id, index)).map_err(prove_error)?;
        Ok(PyBytes::new(py, &proof))
    }

    /// `inclusion_proof` for an archived batch given as bytes (header and stream).
    fn inclusion_proof_for<'py>(&self, py: Python<'py>, batch: &[u8], index: u32) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        let proof = py.detach(|| inner.inclusion_proof_for(batch, index)).map_err(prove_error)?;
        Ok(PyBytes::new(py, &proof))
    }

    /// The RFC 9162 consistency proof from the log's first `first` batches to now.
    fn consistency_proof<'py>(&self, py: Python<'py>, first: u64) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &self.inner;
        let proof = py.detach(|| inner.consistency_proof(first)).map_err(prove_error)?;
        Ok(PyBytes::new(py, &proof))
    }

    /// The canonical encoding of a record (what its Merkle leaf hashes).
    #[staticmethod]
    fn record_bytes<'py>(
        py: Python<'py>,
        sender: &str,
        message_type: &str,
        timestamp: f64,
        payload: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let timestamp = instant(Some(timestamp))?;
        let r = RecordRef { timestamp, sender, message_type, payload };
        let mut out = vec![0u8; r.encoded_len()];
        let bytes = postcard_encode(&r, &mut out).ok_or_else(|| invalid("record does not encode"))?;
        Ok(PyBytes::new(py, bytes))
    }

    /// Counters and derived figures as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        Ok(fields_dict!(py, s;
            total_messages, messages_compressed, raw_bytes, compressed_bytes, compression_ratio, space_saved_bytes,
            space_saved_percent, buffer_messages, buffer_bytes, batches_in_memory, batches_archived, archive_pending,
            timestamps_clamped,
        ))
    }

    /// The records of the unsealed buffer, oldest first.
    fn buffer<'py>(&self, py: Python<'py>) -> PyResult<Vec<RecordTuple<'py>>> {
        Ok(record_tuples(py, self.buffered()?))
    }

    /// `buffer` with the records as dicts, `data` parsed from JSON in Rust.
    fn buffer_dicts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        record_dicts(py, self.buffered()?)
    }

    /// Records in the unsealed buffer.
    fn __len__(&self) -> usize {
        self.inner.buffer_len() as usize
    }
}

/// The largest JSON buffer kept between adds: a payload's limit (a rejected
/// huge `data` does not pin its memory).
const MAX_KEPT_JSON: usize = 64 << 10;

/// What the tuple and the dict flavours of a query share: the records, in the
/// order the core gives them.
impl PyHistoryCore {
    /// Keeps `buf` for the next message's JSON, unless it grew past a payload's limit.
    fn keep_json(&mut self, buf: Vec<u8>) {
        if buf.capacity() <= MAX_KEPT_JSON {
            self.json = buf;
        }
    }

    /// Records with `start <= timestamp <= end`, of `message_type` and from
    /// `sender` if given, searched with the GIL released; none for an empty
    /// window.
    fn find(
        &self,
        py: Python<'_>,
        start: f64,
        end: f64,
        message_type: Option<&str>,
        sender: Option<&str>,
    ) -> PyResult<Vec<Record>> {
        if start > end || end < 0.0 {
            return Ok(Vec::new());
        }
        let (start, end) = (instant(Some(start))?, instant(Some(end))?);
        let inner = &self.inner;
        py.detach(|| inner.search(start, end, message_type, sender)).map_err(batch_error)
    }

    /// The records of the unsealed buffer, oldest first.
    fn buffered(&self) -> PyResult<Vec<Record>> {
        let n = self.inner.buffer_len() as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        // Buffered records are the newest: none is older than the last batch's end.
        let start = self.inner.batches().last().map_or(Instant::from_micros(0), |h| h.last);
        let mut found = self.inner.search(start, Instant::MAX, None, None).map_err(batch_error)?;
        Ok(found.split_off(found.len().saturating_sub(n)))
    }
}

/// The records of batch bytes (header and zlib stream), fully checked, with
/// the GIL released.
fn decode_records(py: Python<'_>, data: &[u8]) -> PyResult<Vec<Record>> {
    let max = HistoryConfig::default().max_batch_bytes;
    py.detach(|| Batch::from_bytes(data, max).and_then(|b| b.records())).map_err(batch_error)
}

fn postcard_encode<'a>(r: &RecordRef<'_>, out: &'a mut [u8]) -> Option<&'a [u8]> {
    pouw_netops::history::batch::encode_record(r, out)
}

/// `SHA-256(0x00 || data)`: a Merkle leaf hash.
#[pyfunction]
fn merkle_leaf_hash<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &merkle::leaf_hash(data))
}

/// Checks an RFC 9162 inclusion path (hashes back to back) of `leaf` (a leaf
/// hash) at `index` in a tree of `size` leaves with `root`; `DecodeError` if it fails.
#[pyfunction]
fn merkle_verify_inclusion(leaf: &[u8], index: u64, size: u64, path: &[u8], root: &[u8]) -> PyResult<()> {
    let path = Path::new(path).map_err(proof_error)?;
    merkle::verify_inclusion(&hash32("leaf", leaf)?, index, size, path, &hash32("root", root)?).map_err(proof_error)
}

/// Checks an RFC 9162 consistency proof between tree sizes `first` and
/// `second`; `DecodeError` if it fails.
#[pyfunction]
fn merkle_verify_consistency(
    first: u64,
    second: u64,
    first_root: &[u8],
    second_root: &[u8],
    proof: &[u8],
) -> PyResult<()> {
    let path = Path::new(proof).map_err(proof_error)?;
    let (a, b) = (hash32("first_root", first_root)?, hash32("second_root", second_root)?);
    merkle::verify_consistency(first, second, &a, &b, path).map_err(proof_error)
}

/// Checks an encoded message inclusion proof for the record with canonical
/// encoding `record` against the log root; `DecodeError` if it fails.
#[pyfunction]
fn merkle_verify_record(proof: &[u8], record: &[u8], log_root: &[u8]) -> PyResult<()> {
    merkle::verify_record(proof, record, &hash32("log_root", log_root)?).map_err(proof_error)
}

static LOG: Logger = Logger::new("pouw_netops.history");
static BATCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static BUFFER_VIEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static BATCHES_VIEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DECODE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Buffers, compresses and searches the messages a node saw.
///
/// A batch is sealed every ``min(compression_threshold, max_batch_size)``
/// messages (and before 4 MiB of raw records), with zlib at ``compression_level``
/// (0 to 10, default 6; level 1 seals about three times as fast for a few
/// points of space). Timestamps are seconds; a
/// message older than the newest one stored is stored at the newest time (the
/// history never goes backwards). Every time-dependent method takes ``now`` in
/// seconds (default ``time.time()``); ``message_buffer.append(m)``, which cannot,
/// happens at the manager's own time: the latest ``now`` it was given, or
/// ``time.time()`` if it was never given one.
//
// The old API's class, native (`pouw_netops.MessageHistoryCompressor` is this
// class) over a `HistoryCore`. The batch objects (`CompressedMessageBatch`)
// and the live views of `message_buffer` and `compressed_batches` are made by
// the helpers in `pouw_netops/history.py`. The construction is in `__init__`,
// so a subclass's `__init__` with its own signature can call
// `super().__init__`, as with the old Python class.
#[pyclass(name = "MessageHistoryCompressor", module = "pouw_netops", subclass, dict, weakref)]
pub struct PyMessageHistoryCompressor {
    /// `None` until `__init__` ran.
    state: Option<HistoryState>,
    #[pyo3(get, set)]
    node_id: Py<PyAny>,
    /// The old API's archive setting, kept for callers that read or set it;
    /// it has no effect: the core keeps 1024 batches in memory, then moves
    /// the oldest to the outbox of :meth:`poll_archived`.
    #[pyo3(get, set)]
    archive_threshold: Py<PyAny>,
}

struct HistoryState {
    core: Py<PyHistoryCore>,
    /// `compression_threshold` and `max_batch_size` as given (the core seals at their minimum).
    threshold: Py<PyAny>,
    max_batch: Py<PyAny>,
}

/// Python's `min(a, b)`: `a` unless `b < a`.
fn py_min<'py>(a: &Bound<'py, PyAny>, b: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(if b.lt(a)? { b.clone() } else { a.clone() })
}

impl PyMessageHistoryCompressor {
    fn state(&self) -> PyResult<&HistoryState> {
        self.state.as_ref().ok_or_else(|| not_initialized("MessageHistoryCompressor"))
    }

    fn core<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyHistoryCore>> {
        Ok(self.state()?.core.bind(py))
    }

    /// A batch tuple of the core as a `CompressedMessageBatch`.
    fn batch<'py>(py: Python<'py>, t: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &BATCH, "pouw_netops.history", "_batch")?.call1((t,))
    }

    /// A batch given as an object with `header` and `compressed_data`, as the bytes the core reads.
    fn batch_bytes<'py>(batch: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        batch.getattr(intern!(batch.py(), "header"))?.add(batch.getattr(intern!(batch.py(), "compressed_data"))?)
    }
}

#[pymethods]
impl PyMessageHistoryCompressor {
    #[new]
    #[pyo3(
        signature = (*_args, **_kwargs),
        text_signature = "(node_id, compression_threshold=1000, max_batch_size=10000, *, compression_level=6)"
    )]
    fn new(py: Python<'_>, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        PyMessageHistoryCompressor { state: None, node_id: py.None(), archive_threshold: py.None() }
    }

    #[pyo3(signature = (
        node_id, compression_threshold = Given::Missing, max_batch_size = Given::Missing, *,
        compression_level = Given::Missing,
    ))]
    fn __init__(
        &mut self,
        node_id: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = given)] compression_threshold: Given,
        #[pyo3(from_py_with = given)] max_batch_size: Given,
        #[pyo3(from_py_with = given)] compression_level: Given,
    ) -> PyResult<()> {
        let py = node_id.py();
        let threshold = compression_threshold.or(py, 1000)?;
        let max_batch = max_batch_size.or(py, 10_000)?;
        let level = compression_level.or(py, 6)?;
        self.node_id = node_id.clone().unbind();
        let seal_at = py_min(&threshold, &max_batch)?;
        let core = py.get_type::<PyHistoryCore>().call1((seal_at, level))?.cast_into::<PyHistoryCore>()?.unbind();
        self.state = Some(HistoryState { core, threshold: threshold.unbind(), max_batch: max_batch.unbind() });
        self.archive_threshold = 100u32.into_pyobject(py)?.into_any().unbind();
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.node_id)?;
        visit.call(&self.archive_threshold)?;
        if let Some(s) = &self.state {
            visit.call(&s.core)?;
            visit.call(&s.threshold)?;
            visit.call(&s.max_batch)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.state = None;
        clear(&mut self.node_id);
        clear(&mut self.archive_threshold);
    }

    /// Messages per batch; assignable (the core seals at ``min(compression_threshold,
    /// max_batch_size)``, from the next :meth:`add_message` on).
    #[getter]
    fn compression_threshold(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.threshold.clone_ref(py))
    }

    #[setter]
    fn set_compression_threshold(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = value.py();
        let state = self.state()?;
        state.core.bind(py).setattr("compression_threshold", py_min(value, state.max_batch.bind(py))?)?;
        if let Some(s) = self.state.as_mut() {
            s.threshold = value.clone().unbind();
        }
        Ok(())
    }

    /// The most messages a batch holds; assignable.
    #[getter]
    fn max_batch_size(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.state()?.max_batch.clone_ref(py))
    }

    #[setter]
    fn set_max_batch_size(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = value.py();
        let state = self.state()?;
        state.core.bind(py).setattr("compression_threshold", py_min(state.threshold.bind(py), value)?)?;
        if let Some(s) = self.state.as_mut() {
            s.max_batch = value.clone().unbind();
        }
        Ok(())
    }

    // --- the old API -------------------------------------------------------

    /// Stores ``message`` (sealing a batch when the threshold is reached).
    ///
    /// Raises ``InvalidArgumentError`` for an empty or too long sender or type
    /// (1–64 bytes) or a payload over 64 KiB, ``CapacityError`` when every
    /// batch slot and the archive outbox are full (drain :meth:`poll_archived`).
    #[pyo3(signature = (message, *, now = None))]
    fn add_message(&self, message: &Bound<'_, PyAny>, now: Option<f64>) -> PyResult<()> {
        let py = message.py();
        self.core(py)?.try_borrow_mut()?.add_message(py, message, now)?;
        Ok(())
    }

    /// Seals the buffered messages into a batch now; ``None`` if the buffer is empty.
    #[pyo3(signature = (*, now = None))]
    fn compress_message_batch<'py>(&self, py: Python<'py>, now: Option<f64>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(t) = self.core(py)?.try_borrow_mut()?.compress(py, now)? else { return Ok(None) };
        let batch = Self::batch(py, t.into_pyobject(py)?.into_any())?;
        LOG.log(
            py,
            "debug",
            "%s: sealed batch %s of %d messages",
            (&self.node_id, batch.getattr("batch_id")?, batch.getattr("message_count")?),
        )?;
        Ok(Some(batch))
    }

    /// The messages of ``batch`` as dicts ``msg_type, sender_id, timestamp, data``.
    ///
    /// The batch is fully checked; ``DecodeError`` if it is corrupt or has no header.
    fn decompress_batch<'py>(&self, batch: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = batch.py();
        if !batch.getattr(intern!(py, "header"))?.is_truthy()? {
            let message = "the batch has no header: decompress_batch needs the header it was sealed with";
            return Err(py_error(py, &DECODE_ERROR, "pouw_netops._errors", "DecodeError", message.to_owned()));
        }
        py.get_type::<PyHistoryCore>().call_method1("decode_batch_dicts", (Self::batch_bytes(batch)?,))
    }

    /// Messages with ``start_time <= timestamp <= end_time`` (and of ``message_type``
    /// and from ``sender_id`` if given), sorted by timestamp, from the batches in
    /// memory and the buffer.
    #[pyo3(signature = (start_time, end_time, message_type = None, sender_id = None))]
    fn search_messages<'py>(
        &self,
        start_time: &Bound<'py, PyAny>,
        end_time: &Bound<'py, PyAny>,
        message_type: Option<&Bound<'py, PyAny>>,
        sender_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = start_time.py();
        self.core(py)?.call_method1("search_dicts", (start_time, end_time, message_type, sender_id))
    }

    /// ``total_messages, total_compressed, total_raw_bytes, total_compressed_bytes,
    /// average_compression_ratio, current_buffer_size, compressed_batches, archived_batches,
    /// space_saved_bytes, space_saved_percentage``.
    ///
    /// ``average_compression_ratio`` is compressed over raw bytes (lower is
    /// better); ``compressed_batches`` counts batches in memory, ``archived_batches``
    /// the ones moved out of memory since creation.
    fn get_compression_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.core(py)?.try_borrow()?.inner.stats();
        Ok(py_dict!(py;
            "total_messages" => s.total_messages,
            "total_compressed" => s.messages_compressed,
            "total_raw_bytes" => s.raw_bytes,
            "total_compressed_bytes" => s.compressed_bytes,
            "average_compression_ratio" => s.compression_ratio,
            "current_buffer_size" => s.buffer_messages,
            "compressed_batches" => s.batches_in_memory,
            "archived_batches" => s.batches_archived,
            "space_saved_bytes" => s.space_saved_bytes,
            "space_saved_percentage" => s.space_saved_percent,
        ))
    }

    /// The messages not sealed yet, as dicts, live: ``append(message)`` is
    /// :meth:`add_message` at the manager's own time (sealing a batch at the threshold); other changes raise
    /// ``TypeError`` (buffered messages are the next leaves of the Merkle log).
    #[getter]
    fn message_buffer<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let core = slf.try_borrow()?.state()?.core.clone_ref(py);
        cached(py, &BUFFER_VIEW, "pouw_netops.history", "_message_buffer")?.call1((core, slf.getattr("add_message")?))
    }

    /// The batches in memory, oldest first, live and read-only.
    #[getter]
    fn compressed_batches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &BATCHES_VIEW, "pouw_netops.history", "_compressed_batches")?.call1((self.core(py)?,))
    }

    // --- beyond the old API ------------------------------------------------

    /// The oldest batch moved out of memory and not yet taken; the caller now owns it.
    fn poll_archived<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(t) = self.core(py)?.try_borrow_mut()?.poll_archived(py) else { return Ok(None) };
        Self::batch(py, t.into_pyobject(py)?.into_any()).map(Some)
    }

    /// The Merkle log root over every batch sealed so far (32 bytes).
    fn log_root<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(self.core(py)?.try_borrow()?.log_root(py))
    }

    /// Batches in the Merkle log.
    fn log_size(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.core(py)?.try_borrow()?.log_size())
    }

    /// The log root when it held its first ``size`` batches.
    fn log_root_at<'py>(&self, size: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.core(size.py())?.call_method1("log_root_at", (size,))
    }

    /// The proof that message ``index`` of a batch (its id if in memory, or
    /// an archived :class:`CompressedMessageBatch`) is in the current log.
    /// Only that batch is decoded.
    fn inclusion_proof<'py>(
        &self,
        batch: &Bound<'py, PyAny>,
        index: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.core(batch.py())?;
        if batch.is_instance_of::<PyInt>() {
            core.call_method1("inclusion_proof", (batch, index))
        } else {
            core.call_method1("inclusion_proof_for", (Self::batch_bytes(batch)?, index))
        }
    }

    /// The proof that the current log extends the log of its first ``first`` batches.
    fn consistency_proof<'py>(&self, first: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        self.core(first.py())?.call_method1("consistency_proof", (first,))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(format!(
            "MessageHistoryCompressor(node_id={}, compression_threshold={})",
            slf.getattr("node_id")?.repr()?,
            slf.getattr("compression_threshold")?.str()?,
        ))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHistoryCore>()?;
    m.add_class::<PyMessageHistoryCompressor>()?;
    m.add_function(wrap_pyfunction!(merkle_leaf_hash, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_verify_record, m)?)
}
