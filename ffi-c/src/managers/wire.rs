//! The version 1 wire format for C (feature `managers`): encode a heartbeat
//! envelope into a caller buffer, decode any envelope into a tagged
//! [`pn_message`] struct.
//!
//! The bytes are exactly the core's versioned postcard envelope (the golden
//! vectors in `tests/vectors/`): the unauthenticated messages the standalone
//! handles exchange. A node (`pn_ops`) speaks only sealed version 2 datagrams,
//! which it makes and checks itself.

use crate::boundary::{Out, encode_into, guard, message, slots};
use crate::convert::{node_id, pn_health_metrics, pn_node_id};
use crate::result::pn_result;
use core::ffi::c_char;
use pouw_netops::wire::{Body, Envelope, Heartbeat, WIRE_VERSION};
use pouw_netops::{HealthMetrics, Instant};

/// The (unauthenticated) wire format version of the standalone handles' messages.
pub const PN_WIRE_VERSION: u8 = 1;
const _: () = assert!(PN_WIRE_VERSION == WIRE_VERSION);

/// A liveness heartbeat carrying the sender's health metrics.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_heartbeat {
    /// Increases by one per heartbeat from a sender.
    pub sequence: u64,
    /// The sender's clock when it sent the heartbeat, microseconds.
    pub sent_at_us: u64,
    /// The sender's health figures.
    pub metrics: pn_health_metrics,
}

/// The kind of a decoded message: says which payload field of `pn_message` is set.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_message_kind {
    /// `heartbeat` is set.
    PN_MESSAGE_HEARTBEAT = 0,
    /// A valid message of a kind this struct does not expose (election, mesh,
    /// task messages): only `version` and `sender` are meaningful; `heartbeat`
    /// holds sequence 0, time 0 and default metrics.
    /// Hand the bytes to the handle that consumes them.
    PN_MESSAGE_OTHER = 1,
}

/// A decoded message: the envelope's version and sender, and a tagged body.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_message {
    /// Wire format version (`PN_WIRE_VERSION`).
    pub version: u8,
    /// The sending node.
    pub sender: pn_node_id,
    /// Which payload field is set.
    pub kind: pn_message_kind,
    /// `PN_MESSAGE_HEARTBEAT`: the heartbeat.
    pub heartbeat: pn_heartbeat,
}

/// Encodes a heartbeat from `sender` into `buf` (`buf_len` bytes) and writes
/// the encoded length into `*out_len`.
///
/// If `buf_len` is too small, returns `PN_ERR_BUFFER_TOO_SMALL`, writes the
/// needed length into `*out_len` and leaves `buf` untouched (pass NULL and 0 to
/// ask for the length). Metrics out of [0, 1] give `PN_ERR_INVALID_METRIC`.
///
/// # Safety
/// `sender` NULL or readable for `sender_len` bytes; `heartbeat` NULL or
/// readable; `buf` NULL or writable for `buf_len` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_wire_encode_heartbeat(
    sender: *const c_char,
    sender_len: usize,
    heartbeat: *const pn_heartbeat,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (sender, hb, buf, out_len) = unsafe {
            (
                node_id(sender, sender_len)?,
                heartbeat.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                slots(buf, buf_len)?,
                Out::new(out_len)?,
            )
        };
        let metrics = HealthMetrics::from(&hb.metrics);
        metrics.validate()?;
        let envelope = Envelope::new(
            sender,
            Body::Heartbeat(Heartbeat {
                sequence: hb.sequence,
                sent_at: Instant::from_micros(hb.sent_at_us),
                metrics,
                ..Heartbeat::default()
            }),
        );
        encode_into(&envelope, buf, out_len)
    })
}

/// Decodes exactly one message from `bytes` (`len` bytes) into `*out_message`,
/// validating every field. Malformed input gives one of the `PN_ERR_DECODE_*`
/// codes (or `PN_ERR_INVALID_METRIC`) and leaves `*out_message` untouched.
///
/// # Safety
/// `bytes` NULL or readable for `len` bytes; `out_message` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_wire_decode(bytes_ptr: *const u8, len: usize, out_message: *mut pn_message) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (input, out) = unsafe { (message(bytes_ptr, len)?, Out::new(out_message)?) };
        let envelope = Envelope::decode(input)?;
        let (kind, heartbeat) = match &envelope.body {
            Body::Heartbeat(hb) => (
                pn_message_kind::PN_MESSAGE_HEARTBEAT,
                pn_heartbeat {
                    sequence: hb.sequence,
                    sent_at_us: hb.sent_at.total_micros(),
                    metrics: pn_health_metrics::from(&hb.metrics),
                },
            ),
            _ => (
                pn_message_kind::PN_MESSAGE_OTHER,
                pn_heartbeat {
                    sequence: 0,
                    sent_at_us: 0,
                    metrics: pn_health_metrics::from(&pouw_netops::HealthMetrics::default()),
                },
            ),
        };
        out.set(pn_message { version: envelope.version, sender: pn_node_id::from(&envelope.sender), kind, heartbeat });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::null_mut;

    fn hb() -> pn_heartbeat {
        pn_heartbeat {
            sequence: 42,
            sent_at_us: 1_700_000_000_123_456,
            metrics: pn_health_metrics {
                response_time_us: 35_000,
                success_rate: 0.97,
                task_completion_rate: 0.9,
                bandwidth_utilization: 0.25,
                cpu_usage: 0.5,
                memory_usage: 0.625,
            },
        }
    }

    /// The bytes the core produces for the same envelope (the reference).
    fn reference(sender: &str, hb: &pn_heartbeat) -> Vec<u8> {
        Envelope::new(
            pouw_netops::NodeId::new(sender).unwrap(),
            Body::Heartbeat(Heartbeat {
                sequence: hb.sequence,
                sent_at: Instant::from_micros(hb.sent_at_us),
                metrics: HealthMetrics::from(&hb.metrics),
                ..Heartbeat::default()
            }),
        )
        .to_vec()
        .unwrap()
    }

    #[test]
    fn a_huge_length_is_an_invalid_argument_not_an_abort() {
        let byte = [1u8];
        let mut msg = core::mem::MaybeUninit::<pn_message>::zeroed();
        for len in [usize::MAX, pouw_netops::wire::MAX_ENVELOPE_LEN + 1] {
            // SAFETY: live locals; only the length lies, and it is refused before any read.
            let r = unsafe { pn_wire_decode(byte.as_ptr(), len, msg.as_mut_ptr()) };
            assert_eq!(r, pn_result::PN_ERR_INVALID_ARGUMENT);
        }
        let mut len = 0;
        // SAFETY: as above, for an output buffer whose capacity lies.
        let r = unsafe {
            pn_wire_encode_heartbeat(c"w".as_ptr(), 1, &hb(), byte.as_ptr().cast_mut(), usize::MAX, &mut len)
        };
        assert_eq!(r, pn_result::PN_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn encodes_the_core_bytes_and_decodes_them_back() {
        let sender = "worker-7";
        let h = hb();
        let mut buf = [0u8; 256];
        let mut len = 0;
        // SAFETY: live locals with their true sizes.
        let r = unsafe { pn_wire_encode_heartbeat(sender.as_ptr().cast(), 8, &h, buf.as_mut_ptr(), 256, &mut len) };
        assert_eq!(r, pn_result::PN_OK);
        assert_eq!(&buf[..len], reference(sender, &h).as_slice());
        let mut msg = core::mem::MaybeUninit::<pn_message>::zeroed();
        // SAFETY: live locals.
        assert_eq!(unsafe { pn_wire_decode(buf.as_ptr(), len, msg.as_mut_ptr()) }, pn_result::PN_OK);
        // SAFETY: written by the successful call.
        let msg = unsafe { msg.assume_init() };
        assert_eq!(msg.version, PN_WIRE_VERSION);
        assert_eq!(&msg.sender.bytes[..msg.sender.len], sender.as_bytes());
        assert_eq!(msg.kind, pn_message_kind::PN_MESSAGE_HEARTBEAT);
        assert_eq!(msg.heartbeat, h);
    }

    #[test]
    fn short_buffer_reports_the_needed_length_and_writes_nothing() {
        let h = hb();
        let needed = reference("w", &h).len();
        let mut len = 0;
        // SAFETY: NULL with length 0 asks for the length.
        let r = unsafe { pn_wire_encode_heartbeat(c"w".as_ptr(), 1, &h, null_mut(), 0, &mut len) };
        assert_eq!((r, len), (pn_result::PN_ERR_BUFFER_TOO_SMALL, needed));
        let mut buf = vec![0xAAu8; needed - 1];
        len = 0;
        // SAFETY: live locals with their true sizes.
        let r = unsafe { pn_wire_encode_heartbeat(c"w".as_ptr(), 1, &h, buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!((r, len), (pn_result::PN_ERR_BUFFER_TOO_SMALL, needed));
        assert!(buf.iter().all(|b| *b == 0xAA), "a short buffer must stay untouched");
        buf.push(0xAA);
        // SAFETY: as above, now exactly the needed size.
        let r = unsafe { pn_wire_encode_heartbeat(c"w".as_ptr(), 1, &h, buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!((r, len), (pn_result::PN_OK, needed));
    }

    #[test]
    fn other_kinds_decode_with_their_sender() {
        use pouw_netops::wire::{Body, Envelope, LeaderHeartbeat};
        let env = Envelope::new(
            pouw_netops::NodeId::new("supervisor-1").unwrap(),
            Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }),
        );
        let bytes = env.to_vec().unwrap();
        let mut msg = core::mem::MaybeUninit::<pn_message>::zeroed();
        // SAFETY: live locals.
        assert_eq!(unsafe { pn_wire_decode(bytes.as_ptr(), bytes.len(), msg.as_mut_ptr()) }, pn_result::PN_OK);
        // SAFETY: written by the successful call.
        let msg = unsafe { msg.assume_init() };
        assert_eq!(msg.kind, pn_message_kind::PN_MESSAGE_OTHER);
        assert_eq!(&msg.sender.bytes[..msg.sender.len], b"supervisor-1");
    }

    #[test]
    fn bad_input_gives_decode_codes_and_leaves_the_output_alone() {
        let bytes = reference("worker-7", &hb());
        let cases: [(&[u8], pn_result); 4] = [
            (&[], pn_result::PN_ERR_DECODE_EMPTY),
            (&[2, 1, b'a'], pn_result::PN_ERR_DECODE_VERSION),
            (&bytes[..bytes.len() - 1], pn_result::PN_ERR_DECODE_TRUNCATED),
            (&[1, 1, b'a', 0x7f], pn_result::PN_ERR_DECODE_UNKNOWN_KIND),
        ];
        for (input, expected) in cases {
            let mut msg = core::mem::MaybeUninit::<pn_message>::zeroed();
            // SAFETY: live locals with their true sizes.
            let r = unsafe { pn_wire_decode(input.as_ptr(), input.len(), msg.as_mut_ptr()) };
            assert_eq!(r, expected, "{input:?}");
            // SAFETY: zeroed is a valid pn_message (all enums have a 0 variant).
            assert_eq!(unsafe { msg.assume_init() }.sender.len, 0);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let mut msg = core::mem::MaybeUninit::<pn_message>::zeroed();
        // SAFETY: live locals.
        let r = unsafe { pn_wire_decode(longer.as_ptr(), longer.len(), msg.as_mut_ptr()) };
        assert_eq!(r, pn_result::PN_ERR_DECODE_TRAILING_BYTES);
        let bad = pn_heartbeat { metrics: pn_health_metrics { cpu_usage: 1.5, ..hb().metrics }, ..hb() };
        let mut len = 0;
        let mut buf = [0u8; 128];
        // SAFETY: live locals.
        let r = unsafe { pn_wire_encode_heartbeat(c"w".as_ptr(), 1, &bad, buf.as_mut_ptr(), 128, &mut len) };
        assert_eq!(r, pn_result::PN_ERR_INVALID_METRIC);
    }
}
