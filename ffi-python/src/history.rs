//! The message history (`preset::large`: 1024 batches in memory, 256 waiting in
//! the archive outbox), with float-second times. Compression, decompression and
//! search run with the GIL released.
//!
//! `pouw_netops/history.py` wraps this class in the old API's
//! `MessageHistoryCompressor`, turning `NetworkMessage.data` into compact JSON
//! payload bytes and back.

use crate::errors::{config_error, core_error};
use crate::time::instant;
use pouw_netops::history::BATCH_HEADER_LEN;
use pouw_netops::preset::large;
use pouw_netops::{Batch, HistoryConfig, Instant, Record, RecordRef};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// One batch as `(batch_id, start_time, end_time, message_count, raw_len, header, zlib_stream)`.
type BatchTuple<'py> = (u64, f64, f64, u32, u32, Bound<'py, PyBytes>, Bound<'py, PyBytes>);

/// One record as `(timestamp, sender, message_type, payload)`.
type RecordTuple<'py> = (f64, String, String, Bound<'py, PyBytes>);

fn batch_tuple<'py>(py: Python<'py>, b: &Batch) -> BatchTuple<'py> {
    let h = b.header();
    let bytes = b.as_bytes();
    let (head, zlib) = bytes.split_at(BATCH_HEADER_LEN.min(bytes.len()));
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

/// The core's `MessageHistoryCompressor` (large preset).
#[pyclass(name = "HistoryCore", module = "pouw_netops._native")]
pub struct PyHistoryCore {
    inner: Box<large::MessageHistoryCompressor>,
}

#[pymethods]
impl PyHistoryCore {
    /// A history sealing a batch every `compression_threshold` messages.
    #[new]
    #[pyo3(signature = (compression_threshold = 1000))]
    fn new(#[pyo3(from_py_with = crate::args::u32_arg)] compression_threshold: u32) -> PyResult<Self> {
        let config = HistoryConfig { compression_threshold, ..HistoryConfig::default() };
        let inner = large::MessageHistoryCompressor::new_boxed(config).map_err(config_error)?;
        Ok(PyHistoryCore { inner })
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
        let now = instant(now)?;
        let timestamp = instant(Some(timestamp))?;
        let record = RecordRef { timestamp, sender, message_type, payload };
        // A call that seals a batch compresses it: do that with the GIL released.
        let config = self.inner.config();
        let seals = self.inner.buffer_len().saturating_add(1) >= config.compression_threshold
            || self.inner.stats().buffer_bytes.saturating_add(record.encoded_len()) >= config.max_batch_bytes;
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
        let payload = crate::json::to_json(data)?;
        self.add(py, sender, message_type, timestamp, &payload, now)
    }

    /// Seals the buffer into a batch now (with the GIL released); the batch, or
    /// `None` if the buffer is empty. `CapacityError` when no slot is free.
    #[pyo3(signature = (now = None))]
    fn compress<'py>(&mut self, py: Python<'py>, now: Option<f64>) -> PyResult<Option<BatchTuple<'py>>> {
        let now = instant(now)?;
        let inner = &mut self.inner;
        let id = py.detach(|| inner.compress_batch(now)).map_err(core_error)?;
        Ok(id.and_then(|id| self.inner.batch(id)).map(|b| batch_tuple(py, b)))
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
        if start > end || end < 0.0 {
            return Ok(Vec::new());
        }
        let (start, end) = (instant(Some(start))?, instant(Some(end))?);
        let inner = &self.inner;
        let found = py.detach(|| inner.search(start, end, message_type, sender)).map_err(core_error)?;
        Ok(record_tuples(py, found))
    }

    /// Decodes the records of batch bytes (header and zlib stream), fully
    /// checked, with the GIL released; `DecodeError` if they are not a valid batch.
    #[staticmethod]
    fn decode_batch<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Vec<RecordTuple<'py>>> {
        let max = HistoryConfig::default().max_batch_bytes;
        let records = py.detach(|| Batch::from_bytes(data, max).and_then(|b| b.records())).map_err(core_error)?;
        Ok(record_tuples(py, records))
    }

    /// Counters and derived figures as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("total_messages", s.total_messages)?;
        d.set_item("messages_compressed", s.messages_compressed)?;
        d.set_item("raw_bytes", s.raw_bytes)?;
        d.set_item("compressed_bytes", s.compressed_bytes)?;
        d.set_item("compression_ratio", s.compression_ratio)?;
        d.set_item("space_saved_bytes", s.space_saved_bytes)?;
        d.set_item("space_saved_percent", s.space_saved_percent)?;
        d.set_item("buffer_messages", s.buffer_messages)?;
        d.set_item("buffer_bytes", s.buffer_bytes)?;
        d.set_item("batches_in_memory", s.batches_in_memory)?;
        d.set_item("batches_archived", s.batches_archived)?;
        d.set_item("archive_pending", s.archive_pending)?;
        d.set_item("timestamps_clamped", s.timestamps_clamped)?;
        Ok(d)
    }

    /// The records of the unsealed buffer, oldest first.
    fn buffer<'py>(&self, py: Python<'py>) -> PyResult<Vec<RecordTuple<'py>>> {
        let n = self.inner.buffer_len() as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        // Buffered records are the newest: none is older than the last batch's end.
        let start = self.inner.batches().last().map_or(Instant::from_micros(0), |h| h.last);
        let mut found = self.inner.search(start, Instant::MAX, None, None).map_err(core_error)?;
        let records = found.split_off(found.len().saturating_sub(n));
        Ok(record_tuples(py, records))
    }

    /// Records in the unsealed buffer.
    fn __len__(&self) -> usize {
        self.inner.buffer_len() as usize
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHistoryCore>()
}
