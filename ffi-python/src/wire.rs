//! The wire envelope from Python: encode a heartbeat, decode any v1 envelope
//! (the bodies), and split an authenticated v2 envelope into its header and
//! body without verifying it.
//!
//! Enough for a Python process to read the same bytes as Rust and C nodes
//! (checked against the golden vectors); the full sans-IO `Node` builds on it.

use crate::errors::{core_error, id_error};
use crate::time::{fraction, instant, metrics};
use pouw_netops::auth::seal::{self, AuthKind};
use pouw_netops::wire::{Body, Heartbeat};
use pouw_netops::{Envelope, NodeId};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Encodes a heartbeat envelope from `sender`; `sent_at` and `response_time` in
/// seconds, the metrics default to a fully healthy idle node.
#[pyfunction]
#[pyo3(signature = (
    sender, sequence, sent_at, *, response_time = 0.0, success_rate = 1.0, task_completion_rate = 1.0,
    bandwidth_utilization = 0.0, cpu_usage = 0.0, memory_usage = 0.0,
))]
#[allow(clippy::too_many_arguments)]
fn encode_heartbeat<'py>(
    py: Python<'py>,
    sender: &str,
    #[pyo3(from_py_with = crate::args::u64_arg)] sequence: u64,
    sent_at: f64,
    response_time: f64,
    success_rate: f64,
    task_completion_rate: f64,
    bandwidth_utilization: f64,
    cpu_usage: f64,
    memory_usage: f64,
) -> PyResult<Bound<'py, PyBytes>> {
    let sender = NodeId::new(sender).map_err(|e| id_error("sender", e))?;
    let metrics =
        metrics([response_time, success_rate, task_completion_rate, bandwidth_utilization, cpu_usage, memory_usage])?;
    let envelope = Envelope::new(
        sender,
        Body::Heartbeat(Heartbeat { sequence, sent_at: instant(Some(sent_at))?, metrics, ..Heartbeat::default() }),
    );
    let bytes = envelope.to_vec().map_err(core_error)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Decodes one v1 envelope into a dict: `version`, `sender`, `kind` and the body's fields.
#[pyfunction]
fn decode_envelope<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let envelope = Envelope::decode(data).map_err(core_error)?;
    let d = py_dict!(py; "version" => envelope.version, "sender" => envelope.sender.as_str());
    body_fields(py, &d, envelope.body)?;
    Ok(d)
}

/// Splits one authenticated (v2) envelope, verifying nothing: `version`,
/// `auth` (`"mac"` or `"signed"`), `sender`, `epoch`, `counter`, `kind` and
/// the body's fields. For inspecting traffic; only a node authenticates.
#[pyfunction]
fn decode_sealed<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    let sealed = seal::parse(data).map_err(core_error)?;
    let body = Body::decode(sealed.body).map_err(core_error)?;
    let d = PyDict::new(py);
    d.set_item("version", seal::WIRE_VERSION_V2)?;
    d.set_item(
        "auth",
        match sealed.kind {
            AuthKind::Mac => "mac",
            AuthKind::Signed => "signed",
        },
    )?;
    d.set_item("sender", sealed.sender.as_str())?;
    d.set_item("epoch", sealed.epoch)?;
    d.set_item("counter", sealed.counter)?;
    if let Some(e) = sealed.recipient_epoch {
        d.set_item("recipient_epoch", e)?;
    }
    body_fields(py, &d, body)?;
    Ok(d)
}

/// Sets `kind` and the fields of `body` in `d`.
fn body_fields<'py>(py: Python<'py>, d: &Bound<'py, PyDict>, body: Body) -> PyResult<()> {
    d.set_item("kind", body.kind())?;
    match body {
        Body::Heartbeat(hb) => {
            let m = hb.metrics;
            set_items!(d;
                "sequence" => hb.sequence,
                "sent_at" => hb.sent_at.as_secs_f64(),
                "sent_at_micros" => hb.sent_at.total_micros(),
                "response_time" => m.response_time.as_secs_f64(),
                "success_rate" => fraction(m.success_rate),
                "task_completion_rate" => fraction(m.task_completion_rate),
                "bandwidth_utilization" => fraction(m.bandwidth_utilization),
                "cpu_usage" => fraction(m.cpu_usage),
                "memory_usage" => fraction(m.memory_usage),
            );
        }
        Body::PreVote(r) | Body::RequestVote(r) => {
            d.set_item("term", r.term)?;
            d.set_item("progress", r.progress)?;
        }
        Body::PreVoteResponse(r) | Body::VoteResponse(r) => {
            d.set_item("term", r.term)?;
            d.set_item("granted", r.granted)?;
        }
        Body::LeaderHeartbeat(h) => d.set_item("term", h.term)?,
        Body::HeartbeatResponse(h) => d.set_item("term", h.term)?,
        Body::LinkState(ls) => link_state_fields(py, d, &ls)?,
        Body::SignedLinkState(a) => {
            link_state_fields(py, d, &a.state)?;
            d.set_item("origin", a.origin.as_str())?;
            d.set_item("signature", PyBytes::new(py, &a.signature.to_signature().0))?;
        }
        Body::EndpointRecord(r) => {
            d.set_item("sequence", r.sequence)?;
            d.set_item("endpoint", r.endpoint.as_str())?;
            d.set_item("signature", PyBytes::new(py, &r.signature.to_signature().0))?;
        }
        Body::TaskAssignment(a) => {
            d.set_item("term", a.term)?;
            d.set_item("task", a.task.as_str())?;
            d.set_item("task_type", a.task_type.as_str())?;
            d.set_item("role", a.role.as_str())?;
            match a.checkpoint {
                Some(c) => {
                    d.set_item("checkpoint_sequence", c.sequence)?;
                    d.set_item("checkpoint_digest", PyBytes::new(py, &c.digest))?;
                }
                None => {
                    d.set_item("checkpoint_sequence", py.None())?;
                    d.set_item("checkpoint_digest", py.None())?;
                }
            }
        }
        Body::CheckpointReport(r) => set_items!(d;
            "task" => r.task.as_str(),
            "checkpoint_sequence" => r.checkpoint.sequence,
            "checkpoint_digest" => PyBytes::new(py, &r.checkpoint.digest),
            "signature" => PyBytes::new(py, &r.signature.to_signature().0),
        ),
        Body::TaskRelease(r) => d.set_item("task", r.task.as_str())?,
        Body::Membership(m) => {
            d.set_item("joining", m.joining)?;
            d.set_item("certificate", PyBytes::new(py, &m.certificate))?;
        }
        Body::Voucher(v) => d.set_item("certificate", PyBytes::new(py, &v.certificate))?,
        Body::LeaderNotice(n) => d.set_item("term", n.term)?,
        Body::TaskTable(t) => {
            d.set_item("term", t.term)?;
            d.set_item("tasks", task_entries(py, &t.entries)?)?;
        }
        Body::TableReport(r) => {
            d.set_item("term", r.term)?;
            d.set_item("part", r.part)?;
            d.set_item("parts", r.parts)?;
            d.set_item("tasks", task_entries(py, &r.entries)?)?;
        }
    }
    Ok(())
}

/// The entries of a task table or report, as a list of dicts.
fn task_entries<'py>(py: Python<'py>, entries: &[pouw_netops::wire::TaskEntry]) -> PyResult<Bound<'py, PyList>> {
    let tasks = PyList::empty(py);
    for e in entries {
        tasks.append(py_dict!(py;
            "task" => e.task.as_str(),
            "task_type" => e.task_type.as_str(),
            "required" => e.required,
            "backups" => e.backups,
            "checkpoint_sequence" => e.checkpoint.map(|c| c.sequence),
            "checkpoint_primary" => e.proof.as_ref().map(|p| p.primary.as_str()),
        ))?;
    }
    Ok(tasks)
}

/// Sets the sequence and links of a link-state advert in `d`.
fn link_state_fields<'py>(py: Python<'py>, d: &Bound<'py, PyDict>, ls: &pouw_netops::wire::LinkState) -> PyResult<()> {
    d.set_item("sequence", ls.sequence)?;
    let links = PyList::empty(py);
    for l in &ls.links {
        let link = PyDict::new(py);
        link.set_item("neighbor", l.neighbor.as_str())?;
        link.set_item("latency", l.latency.as_secs_f64())?;
        link.set_item("up", l.up)?;
        links.append(link)?;
    }
    d.set_item("links", links)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_heartbeat, m)?)?;
    m.add_function(wrap_pyfunction!(decode_envelope, m)?)?;
    m.add_function(wrap_pyfunction!(decode_sealed, m)?)
}
