//! The columnar body of a version 2 or 3 batch (what its zlib stream inflates to).
//!
//! ```text
//! types      varint n, then n × (varint len, UTF-8 bytes)      in order of first use
//! senders    varint n, then n × (varint len, UTF-8 bytes)      in order of first use
//! templates  varint n, then n × template: varint slots (at most 16), one mode byte
//!            per slot, varint bytes of text, then slots + 1 × (varint len, text);
//!            version 3 then adds slots × varint: bytes of each slot's numbers
//! lengths    6 × varint: bytes of each column below
//! type       per record: varint index into types
//! sender     per record: varint index into senders
//! time       per record: varint µs since the previous record (the first: since the header's first)
//! template   per record: varint 0 (payload stored whole in `literals`) or 1 + template index
//! numbers    per slot of each templated record, see below: version 2 in record
//!            order; version 3 slot by slot (each template's, in dictionary order,
//!            each slot's values in record order), as its templates' lengths say
//! literals   varint len + bytes: whole payloads and the slots stored as text
//! ```
//!
//! A payload's template is its text around its slots: a payload with k slots
//! has k + 1 texts (maybe empty), none holding a digit, so every digit is in a
//! slot. Templates have at most [`MAX_SLOTS`] slots; the encoder stores
//! payloads with more, or with control bytes (binary), whole. A slot's value in
//! the numbers column is one varint `x`:
//!
//! ```text
//!            version 2                         version 3 (this build writes)
//! x = 0      a digit run, in `literals`        a slot of any bytes, in `literals`
//! x = 1      —                                 zero-padded: varint zeros (≥ 1), varint
//!                                              value; the digits are that many `0`s, then
//!                                              the value's unless it is 0 (20 digits at most)
//! x = 2      —                                 lowercase hex: varint digits (1 to 16), then
//!                                              the value big-endian in ⌈digits / 2⌉ bytes
//! else       x − 1 is the number               x − 3 is the number
//! ```
//!
//! A number is the value (mode 0) or zigzag(value − the slot's previous value)
//! (mode 1); it is written in decimal without leading zeros. A slot's previous
//! value starts at 0 and changes only with numbers. Storing each slot's values
//! together puts alike bytes next to each other (counters' deltas, then the
//! random digits of a loss): on PoUW messages the body deflates 2.5 times as
//! fast at level 6, and 6 % smaller, than with the numbers in record order. Version 2 slots were the
//! maximal digit runs, so a hex hash's letters went into the template and made
//! nearly one template per message; version 3's encoder makes a word holding a
//! hex-like mix of letters and digits one slot, stored as hex when it is
//! lowercase hex (see `tokenize`), and stores a fraction's leading zeros as a
//! count instead of text. Both encodings only
//! ever concatenate texts and slots, so any split decodes to the same payload.
//!
//! The batch's zlib stream deflates the body; from level 1 up a numbers
//! column of 1 KiB or more gets deflate blocks of its own (at level 1's
//! search up to level 6), each part of the body starting a fresh window (see
//! `Encoder::deflate`). Readers see one zlib stream either way.
//!
//! The counts of types, senders and templates sum to the header's
//! `dict_entries`. Decoding needs no `alloc`: it rebuilds the records' canonical
//! (postcard) encoding in a caller buffer, with a table area for dictionary
//! offsets and slot state (see [`table_len`]).

use super::batch::BatchError;

/// The most digit runs a payload may have to be stored by template.
pub const MAX_SLOTS: usize = 16;

const MODE_DELTA: u8 = 1;

/// Bytes of decoder state per template slot: the slot's previous value, and
/// (version 3) where its numbers are, as the offsets of the next and the end.
const SLOT_STATE: usize = 16;

/// Bytes of table area decoding needs for `dict_entries` dictionary entries.
pub const fn table_len(dict_entries: u32) -> usize {
    (dict_entries as usize).saturating_mul(4 + SLOT_STATE * MAX_SLOTS)
}

fn bad(reason: &'static str) -> BatchError {
    BatchError::BadBody(reason)
}

/// Reads varints and slices from the front of a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    #[inline]
    fn varint(&mut self) -> Result<u64, BatchError> {
        // Most values are one byte.
        if let Some((&b, rest)) = self.0.split_first()
            && b < 0x80
        {
            self.0 = rest;
            return Ok(u64::from(b));
        }
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or(bad("truncated varint"))?;
            self.0 = rest;
            if shift == 63 && b > 1 {
                return Err(bad("varint overflows u64"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint overflows u64"))
    }

    #[inline]
    fn bytes(&mut self, n: u64) -> Result<&'a [u8], BatchError> {
        let n = usize::try_from(n).map_err(|_| bad("length overflows"))?;
        if n > self.0.len() {
            return Err(bad("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    #[inline]
    fn len_prefixed(&mut self) -> Result<&'a [u8], BatchError> {
        let n = self.varint()?;
        self.bytes(n)
    }
}

#[cfg(feature = "alloc")]
fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// The value of a canonical digit run: no leading zero unless it is `0`, at most 18 digits.
#[cfg(all(feature = "alloc", test))]
fn canonical(run: &[u8]) -> Option<u64> {
    if run.is_empty() || run.len() > 18 || (run.len() > 1 && run.first() == Some(&b'0')) {
        return None;
    }
    Some(run.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')))
}

/// Writes `v` in decimal into `buf`; the digits.
fn decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// Appends `bytes` at `*at` in `out`, advancing `at`.
#[inline]
fn put(out: &mut [u8], at: &mut usize, bytes: &[u8]) -> Result<(), BatchError> {
    let end = at.checked_add(bytes.len()).ok_or(BatchError::LengthMismatch)?;
    out.get_mut(*at..end).ok_or(BatchError::LengthMismatch)?.copy_from_slice(bytes);
    *at = end;
    Ok(())
}

#[inline]
fn put_varint(out: &mut [u8], at: &mut usize, mut v: u64) -> Result<(), BatchError> {
    if v < 0x80 {
        let slot = out.get_mut(*at).ok_or(BatchError::LengthMismatch)?;
        *slot = v as u8;
        *at += 1;
        return Ok(());
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    for slot in buf.iter_mut() {
        n += 1;
        if v < 0x80 {
            *slot = v as u8;
            break;
        }
        *slot = (v as u8) | 0x80;
        v >>= 7;
    }
    put(out, at, buf.get(..n).unwrap_or_default())
}

#[inline]
fn read_u32(table: &[u8], i: usize) -> Result<usize, BatchError> {
    let b = table.get(i * 4..i * 4 + 4).ok_or(bad("dictionary index out of range"))?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Ok(u32::from_le_bytes(a) as usize)
}

/// What a batch header says about its columnar body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The batch format version (2 or 3): how the numbers column reads.
    pub version: u8,
    /// Records in the body.
    pub count: u32,
    /// Entries in its dictionaries (types, senders and templates together).
    pub dict_entries: u32,
    /// The first record's timestamp in µs (the time column counts from it).
    pub first: u64,
}

/// Rebuilds the canonical encoding of `shape.count` records from `body` into
/// `out` (exactly `out.len()` bytes), using `table` (at least [`table_len`]
/// bytes) for offsets and slot state.
pub fn decode(body: &[u8], shape: Shape, table: &mut [u8], out: &mut [u8]) -> Result<(), BatchError> {
    decode_each(body, shape, table, out, |_| Ok(()))
}

/// One record as [`decode_each`] rebuilds it: its fields, where its sender and
/// type sit in the body's dictionaries, and its canonical encoding.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// The timestamp in µs.
    pub timestamp: u64,
    /// Index of the sender in the body's sender dictionary.
    pub sender_index: u32,
    /// Index of the message type in the body's type dictionary.
    pub type_index: u32,
    /// The sender's bytes (checked UTF-8, not empty).
    pub sender: &'a [u8],
    /// The message type's bytes (checked UTF-8, not empty).
    pub message_type: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
    /// The record's whole canonical (postcard) encoding, as written into `out`.
    pub encoded: &'a [u8],
}

/// [`decode`], handing each record to `each` as soon as its canonical encoding
/// is written (so a caller checks and hashes it without parsing it again). An
/// error from `each` stops decoding and is returned; the body's own checks
/// that need the whole body (column lengths, the output length) come after the
/// last record.
pub fn decode_each(
    body: &[u8],
    shape: Shape,
    table: &mut [u8],
    out: &mut [u8],
    mut each: impl FnMut(&Row<'_>) -> Result<(), BatchError>,
) -> Result<(), BatchError> {
    let Shape { version, count, dict_entries, first } = shape;
    if version != 2 && version != 3 {
        return Err(BatchError::UnsupportedVersion(version));
    }
    // The numbers column's escapes: version 2 has one (a digit run in `literals`),
    // version 3 three (a text slot in `literals`, a zero-padded number, hex).
    let escapes = if version == 2 { 1 } else { 3 };
    let entries = dict_entries as usize;
    let (offsets, state) = table
        .get_mut(..table_len(dict_entries))
        .ok_or(BatchError::BufferTooSmall { needed: table_len(dict_entries) })?
        .split_at_mut(entries * 4);
    state.fill(0);
    // Version 3 stores the numbers column slot by slot (see the module doc).
    let split = version >= 3;
    let mut numbers_len = 0u32;
    // Dictionaries: record where each entry starts.
    let mut c = Cursor(body);
    let mut seen = 0usize;
    let mut n_before_templates = 0usize;
    let mut counts = [0usize; 3];
    for (kind, n_out) in counts.iter_mut().enumerate() {
        if kind == 2 {
            n_before_templates = seen;
        }
        let n = c.varint()?;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| seen.checked_add(n).is_some_and(|s| s <= entries))
            .ok_or(bad("more dictionary entries than declared"))?;
        for _ in 0..n {
            let at = u32::try_from(body.len() - c.0.len()).map_err(|_| bad("body too long"))?;
            offsets
                .get_mut(seen * 4..seen * 4 + 4)
                .ok_or(bad("dictionary overflow"))?
                .copy_from_slice(&at.to_le_bytes());
            if kind < 2 {
                let entry = c.len_prefixed()?;
                if entry.is_empty() || core::str::from_utf8(entry).is_err() {
                    return Err(bad("empty or non-UTF-8 dictionary entry"));
                }
            } else {
                let slots = c.varint()?;
                if slots > MAX_SLOTS as u64 {
                    return Err(bad("template with more than 16 slots"));
                }
                if c.bytes(slots)?.iter().any(|&m| m > MODE_DELTA) {
                    return Err(bad("invalid slot mode"));
                }
                let total = c.varint()?;
                let mut sum = 0u64;
                for _ in 0..=slots {
                    let text = c.len_prefixed()?;
                    if text.iter().any(u8::is_ascii_digit) {
                        return Err(bad("template text holds a digit"));
                    }
                    sum = sum.saturating_add(text.len() as u64);
                }
                if sum != total {
                    return Err(bad("template text length disagrees"));
                }
                if split {
                    // Where each slot's numbers are, within the numbers column.
                    let ti = seen - n_before_templates;
                    for k in 0..slots as usize {
                        let len = u32::try_from(c.varint()?).map_err(|_| bad("slot column too long"))?;
                        let end = numbers_len.checked_add(len).ok_or(bad("slot columns too long"))?;
                        let at = (ti * MAX_SLOTS + k) * SLOT_STATE;
                        let st = state.get_mut(at + 8..at + SLOT_STATE).ok_or(bad("slot state out of range"))?;
                        st.get_mut(..4).unwrap_or_default().copy_from_slice(&numbers_len.to_le_bytes());
                        st.get_mut(4..).unwrap_or_default().copy_from_slice(&end.to_le_bytes());
                        numbers_len = end;
                    }
                }
            }
            seen += 1;
        }
        *n_out = n;
    }
    if seen != entries {
        return Err(bad("fewer dictionary entries than declared"));
    }
    let [n_types, n_senders, n_templates] = counts;
    let mut cols = [Cursor(&[]), Cursor(&[]), Cursor(&[]), Cursor(&[]), Cursor(&[]), Cursor(&[])];
    let mut lens = [0u64; 6];
    for l in lens.iter_mut() {
        *l = c.varint()?;
    }
    for (col, l) in cols.iter_mut().zip(lens) {
        *col = Cursor(c.bytes(l)?);
    }
    if !c.0.is_empty() {
        return Err(bad("bytes after the last column"));
    }
    if split && u64::from(numbers_len) != lens[4] {
        return Err(bad("slot columns disagree with the numbers column"));
    }
    let all_numbers = cols[4].0;
    let [types, senders, times, templates, numbers, literals] = &mut cols;
    let entry = |i: usize| -> Result<&[u8], BatchError> {
        let at = read_u32(offsets, i)?;
        Cursor(body.get(at..).unwrap_or_default()).len_prefixed()
    };
    let mut at = 0usize;
    let mut ts = first;
    for _ in 0..count {
        let start = at;
        let t = usize::try_from(types.varint()?).ok().filter(|&t| t < n_types).ok_or(bad("type index out of range"))?;
        let s = usize::try_from(senders.varint()?)
            .ok()
            .filter(|&s| s < n_senders)
            .ok_or(bad("sender index out of range"))?;
        ts = ts.checked_add(times.varint()?).ok_or(bad("timestamp overflows"))?;
        put_varint(out, &mut at, ts)?;
        let sender = entry(n_types + s)?;
        put_varint(out, &mut at, sender.len() as u64)?;
        put(out, &mut at, sender)?;
        let ty = entry(t)?;
        put_varint(out, &mut at, ty.len() as u64)?;
        put(out, &mut at, ty)?;
        // Indices below the dictionary sizes, which fit in u32 (`dict_entries`).
        let (sender_index, type_index) = (s as u32, t as u32);
        let tpl = templates.varint()?;
        if tpl == 0 {
            let payload = literals.len_prefixed()?;
            put_varint(out, &mut at, payload.len() as u64)?;
            put(out, &mut at, payload)?;
            let encoded = out.get(start..at).unwrap_or_default();
            each(&Row { timestamp: ts, sender_index, type_index, sender, message_type: ty, payload, encoded })?;
            continue;
        }
        let ti =
            usize::try_from(tpl - 1).ok().filter(|&i| i < n_templates).ok_or(bad("template index out of range"))?;
        // The template was checked with the dictionary.
        let mut tc = Cursor(body.get(read_u32(offsets, n_types + n_senders + ti)?..).unwrap_or_default());
        let slots = tc.varint()? as usize;
        let modes = tc.bytes(slots as u64)?;
        let mut len = usize::try_from(tc.varint()?).map_err(|_| bad("template too long"))?;
        // Decode the slots first: the payload's length goes before it.
        let mut digits: [([u8; 20], usize, usize); MAX_SLOTS] = [([0; 20], 0, 0); MAX_SLOTS];
        let mut lits: [&[u8]; MAX_SLOTS] = [&[]; MAX_SLOTS];
        for k in 0..slots {
            let (Some(&mode), Some(d), Some(lit)) = (modes.get(k), digits.get_mut(k), lits.get_mut(k)) else {
                return Err(bad("template modes truncated"));
            };
            let state_at = (ti * MAX_SLOTS + k) * SLOT_STATE;
            let st = state.get_mut(state_at..state_at + SLOT_STATE).ok_or(bad("slot state out of range"))?;
            let (prev_bytes, place) = st.split_at_mut(8);
            // Version 3: this slot's own part of the numbers column, from where it stopped.
            let (from, end) = (read_u32(place, 0)?, read_u32(place, 1)?);
            let mut own = Cursor(all_numbers.get(from..end).ok_or(bad("slot column out of range"))?);
            let numbers: &mut Cursor<'_> = if split { &mut own } else { &mut *numbers };
            let x = numbers.varint()?;
            'value: {
                if x == 0 {
                    let run = literals.len_prefixed()?;
                    if run.is_empty() || (version == 2 && !run.iter().all(u8::is_ascii_digit)) {
                        return Err(bad("empty slot text, or a version 2 digit run that is not digits"));
                    }
                    *lit = run;
                    len += run.len();
                    break 'value;
                }
                if x == 2 && escapes == 3 {
                    // Lowercase hex: the digit count, then the value big-endian in whole bytes.
                    let n = usize::try_from(numbers.varint()?).ok().filter(|n| (1..=16).contains(n));
                    let n = n.ok_or(bad("hex slot of more than 16 digits"))?;
                    let bytes = numbers.bytes(n.div_ceil(2) as u64)?;
                    if n % 2 == 1 && bytes.first().is_some_and(|&b| b > 0x0f) {
                        return Err(bad("hex slot value longer than its digits"));
                    }
                    let v = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
                    for (i, slot) in d.0.iter_mut().rev().take(n).enumerate() {
                        let nibble = ((v >> (4 * i)) & 0xf) as u8;
                        *slot = if nibble < 10 { b'0' + nibble } else { b'a' - 10 + nibble };
                    }
                    *d = (d.0, 20 - n, 20);
                    len += n;
                    break 'value;
                }
                if x == 1 && escapes == 3 {
                    // Zero-padded: `zeros` zeros, then the value's digits unless it is 0.
                    let zeros = numbers.varint()?;
                    let v = numbers.varint()?;
                    let n = if v == 0 { 0 } else { decimal(v, &mut d.0).len() };
                    let total = usize::try_from(zeros).ok().filter(|&z| z >= 1 && z + n <= 20);
                    let total = total.ok_or(bad("zero-padded number longer than 20 digits"))? + n;
                    d.0.get_mut(20 - total..20 - n).unwrap_or_default().fill(b'0');
                    *d = (d.0, 20 - total, 20);
                    len += total;
                    break 'value;
                }
                let x = x - escapes;
                let mut p = [0u8; 8];
                p.copy_from_slice(prev_bytes);
                let prev = u64::from_le_bytes(p);
                let v = if mode == MODE_DELTA {
                    prev.checked_add_signed(unzigzag(x)).ok_or(bad("number overflows"))?
                } else {
                    x
                };
                prev_bytes.copy_from_slice(&v.to_le_bytes());
                let n = decimal(v, &mut d.0).len();
                *d = (d.0, 20 - n, 20);
                len += n;
            }
            if split {
                let next = u32::try_from(end - own.0.len()).map_err(|_| bad("slot column out of range"))?;
                place.get_mut(..4).unwrap_or_default().copy_from_slice(&next.to_le_bytes());
            }
        }
        put_varint(out, &mut at, len as u64)?;
        let payload_at = at;
        for k in 0..=slots {
            let seg = tc.len_prefixed()?;
            if k > 0 {
                let lit = lits.get(k - 1).copied().unwrap_or_default();
                if lit.is_empty() {
                    let (buf, a, b) = digits.get(k - 1).ok_or(bad("too many slots"))?;
                    put(out, &mut at, buf.get(*a..*b).unwrap_or_default())?;
                } else {
                    put(out, &mut at, lit)?;
                }
            }
            put(out, &mut at, seg)?;
        }
        let (encoded, payload) = (out.get(start..at).unwrap_or_default(), out.get(payload_at..at).unwrap_or_default());
        each(&Row { timestamp: ts, sender_index, type_index, sender, message_type: ty, payload, encoded })?;
    }
    if at != out.len() {
        return Err(BatchError::LengthMismatch);
    }
    // Version 3 reads its numbers through the slots' own cursors.
    let [types, senders, times, templates, numbers, literals] = &cols;
    let unread = [types, senders, times, templates, literals].iter().any(|c| !c.0.is_empty());
    if unread || (!split && !numbers.0.is_empty()) {
        return Err(bad("column longer than its records"));
    }
    if split {
        for ti in 0..n_templates {
            for k in 0..MAX_SLOTS {
                let at = (ti * MAX_SLOTS + k) * SLOT_STATE + 8;
                let place = state.get(at..at + 8).ok_or(bad("slot state out of range"))?;
                if read_u32(place, 0)? != read_u32(place, 1)? {
                    return Err(bad("slot column longer than its records"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(feature = "alloc")]
pub(crate) use encoding::{Encoder, walk};

#[cfg(feature = "alloc")]
mod encoding {
    #[cfg(test)]
    use super::canonical;
    use super::{Cursor, MAX_SLOTS, MODE_DELTA, zigzag};

    /// The escapes below a number in the numbers column of the version this
    /// encoder writes (3): 0, a text slot; 1, a zero-padded number; 2, hex.
    const ESCAPES: u64 = 3;
    use crate::history::batch::{BatchError, Summary, push_varint, varint_len};
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use core::ops::Range;
    use miniz_oxide::deflate::core::{
        CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
    };
    use miniz_oxide::{DataFormat, MZ_ADLER32_INIT, mz_adler32_oxide};

    /// Room enough for any part of `len` bytes deflated by miniz: a block it
    /// cannot shrink is stored (5 header bytes per block of at most 64 KiB),
    /// plus a zlib header, a final or sync flush and bit padding.
    fn deflate_bound(len: usize) -> usize {
        len.saturating_add(len / 64).saturating_add(64)
    }

    /// The numbers column's place among the six columns.
    const NUMBERS_COLUMN: usize = 4;

    /// The level the numbers column is deflated at for a batch at `level`
    /// (see [`Encoder::deflate`]): level 1's search at levels 1 to 6, the
    /// level itself at 0 and at 7 to 10 (the slow levels search everything
    /// as far as they can).
    pub(crate) const fn numbers_level(level: u8) -> u8 {
        if level >= 1 && level <= 6 { 1 } else { level }
    }

    /// The smallest numbers column given blocks of its own: below it the
    /// split's cost (a second window reset, an empty stored block, a second
    /// set of Huffman tables) outweighs what it saves.
    const SPLIT_MIN: usize = 1024;

    /// A record's fields as bytes (the encoder needs no UTF-8 view).
    #[derive(Clone, Copy)]
    pub(crate) struct Fields<'a> {
        pub timestamp: u64,
        pub sender: &'a [u8],
        pub message_type: &'a [u8],
        pub payload: &'a [u8],
        /// The record's whole canonical encoding.
        pub encoded: &'a [u8],
    }

    /// Splits `count` canonical records off the front of `raw` (which must hold
    /// exactly those): only lengths are read, nothing else is checked.
    pub(crate) fn walk<'a>(raw: &'a [u8], count: u32, out: &mut Vec<Fields<'a>>) -> Result<(), BatchError> {
        let mut c = Cursor(raw);
        for index in 0..count {
            let start = c.0;
            let bad = |_| BatchError::BadRecord { index, reason: "malformed" };
            let timestamp = c.varint().map_err(bad)?;
            let sender = c.len_prefixed().map_err(bad)?;
            let message_type = c.len_prefixed().map_err(bad)?;
            let payload = c.len_prefixed().map_err(bad)?;
            let encoded = start.get(..start.len() - c.0.len()).unwrap_or_default();
            out.push(Fields { timestamp, sender, message_type, payload, encoded });
        }
        if c.0.is_empty() { Ok(()) } else { Err(BatchError::BadHeader("bytes after the last record")) }
    }

    /// Byte strings numbered in order of first use, found by hash in an
    /// open-addressing table.
    #[derive(Default)]
    struct Interner {
        /// Index + 1 into `entries`, 0 for empty; a power of two long.
        slots: Vec<u32>,
        /// (hash, start, end) in `arena`.
        entries: Vec<(u64, usize, usize)>,
        arena: Vec<u8>,
    }

    impl Interner {
        fn clear(&mut self) {
            self.slots.clear();
            self.entries.clear();
            self.arena.clear();
        }

        /// A multiply-rotate hash over 8-byte words (not DoS-resistant: a batch
        /// is one node's own records, and a collision only costs a compare).
        fn hash(key: &[u8]) -> u64 {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ key.len() as u64;
            let mut words = key.chunks_exact(8);
            for w in words.by_ref() {
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                h = (h ^ u64::from_le_bytes(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
            }
            let rest = words.remainder();
            let mut b = [0u8; 8];
            if let Some(head) = b.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            (h ^ u64::from_le_bytes(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (h >> 32)
        }

        fn get(&self, i: usize) -> &[u8] {
            self.entries.get(i).and_then(|&(_, a, b)| self.arena.get(a..b)).unwrap_or_default()
        }

        fn len(&self) -> usize {
            self.entries.len()
        }

        /// The number of `key`, adding it if new.
        fn intern(&mut self, key: &[u8]) -> u32 {
            if self.slots.len() < 2 * (self.entries.len() + 1) {
                self.grow();
            }
            let h = Self::hash(key);
            let mask = self.slots.len() - 1;
            let mut at = (h as usize) & mask;
            loop {
                match self.slots.get(at).copied() {
                    Some(0) | None => break,
                    Some(n) => {
                        let i = (n - 1) as usize;
                        if self.entries.get(i).is_some_and(|e| e.0 == h) && self.get(i) == key {
                            return n - 1;
                        }
                    }
                }
                at = (at + 1) & mask;
            }
            let n = self.entries.len() as u32;
            let start = self.arena.len();
            self.arena.extend_from_slice(key);
            self.entries.push((h, start, self.arena.len()));
            if let Some(slot) = self.slots.get_mut(at) {
                *slot = n + 1;
            }
            n
        }

        fn grow(&mut self) {
            let len = (self.slots.len() * 2).max(64);
            self.slots.clear();
            self.slots.resize(len, 0);
            let mask = len - 1;
            for (i, &(h, _, _)) in self.entries.iter().enumerate() {
                let mut at = (h as usize) & mask;
                while self.slots.get(at).is_some_and(|&s| s != 0) {
                    at = (at + 1) & mask;
                }
                if let Some(slot) = self.slots.get_mut(at) {
                    *slot = i as u32 + 1;
                }
            }
        }
    }

    #[derive(Default, Clone)]
    struct Template {
        slots: usize,
        /// Index in `slot_cols` of its first slot's numbers (the rest follow).
        first: usize,
        prev: [u64; MAX_SLOTS],
        /// Varint bytes of each slot in mode 0 and in mode 1.
        cost: [[u64; 2]; MAX_SLOTS],
        modes: [u8; MAX_SLOTS],
    }

    /// Builds columnar bodies and deflates them; keeps its buffers, and the
    /// deflater's ~300 KB of tables, between batches.
    #[derive(Default)]
    pub(crate) struct Encoder {
        /// The deflater and the level it was made for (made at the first seal:
        /// allocating and clearing its tables cost as much as deflating a
        /// batch of PoUW messages at level 1).
        deflater: Option<(u8, Box<CompressorOxide>)>,
        /// The last body deflated, as a zlib stream.
        zlib: Vec<u8>,
        types: Interner,
        senders: Interner,
        templates: Interner,
        template_info: Vec<Template>,
        /// Per record: type, sender, 1 + template (0 for stored whole), first run in `runs`.
        rows: Vec<(u32, u32, u32, usize)>,
        key: Vec<u8>,
        /// The last template interned and its key.
        last_template: Option<u32>,
        last_key: Vec<u8>,
        runs: Vec<Slot>,
        cols: [Vec<u8>; 6],
        /// Each template slot's numbers, in template then slot order (the
        /// numbers column is their concatenation); the first `slot_cols_used`
        /// belong to the batch being encoded.
        slot_cols: Vec<Vec<u8>>,
        slot_cols_used: usize,
    }

    /// One slot of a payload as the encoder found it: where it sits and how it
    /// is stored.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Slot {
        start: usize,
        end: usize,
        kind: Kind,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kind {
        /// A canonical number (the slot's mode stores it whole or as a delta).
        Number(u64),
        /// A digit run with leading zeros: (zeros, the value of the rest).
        Padded(u64, u64),
        /// Lowercase hex digits, at most 16: (how many, their value).
        Hex(u8, u64),
        /// Stored as text in `literals`.
        Text,
    }

    /// How a word that is not one number is stored: as hex if it is lowercase
    /// hex digits (at most 16: a hash, a UUID's part), else as text.
    fn word_kind(word: &[u8]) -> Kind {
        let hex = |c: &u8| c.is_ascii_digit() || matches!(c, b'a'..=b'f');
        if word.is_empty() || word.len() > 16 || !word.iter().all(hex) {
            return Kind::Text;
        }
        let value = word
            .iter()
            .fold(0u64, |v, &c| (v << 4) | u64::from(if c.is_ascii_digit() { c - b'0' } else { c - b'a' + 10 }));
        Kind::Hex(word.len() as u8, value)
    }

    /// How the digit run `run` is stored: a canonical number, zero-padded (at
    /// most 20 digits in all), or as text.
    /// [`digit_kind`] of a run of `len` digits with `zeros` leading zeros and
    /// the value `value` (meaningful when the digits after the zeros are at
    /// most 18), from what the tokenizer read once.
    fn number_kind(len: usize, zeros: usize, value: u64) -> Kind {
        if len <= 18 && (zeros == 0 || len == 1) {
            Kind::Number(value)
        } else if len <= 20 && len - zeros <= 18 {
            Kind::Padded(zeros as u64, value)
        } else {
            Kind::Text
        }
    }

    /// How the digit run `run` is stored (what [`number_kind`] computes,
    /// reading the run again: the tests' reference).
    #[cfg(test)]
    fn digit_kind(run: &[u8]) -> Kind {
        if let Some(v) = canonical(run) {
            return Kind::Number(v);
        }
        let zeros = run.iter().take_while(|&&b| b == b'0').count();
        let rest = run.get(zeros..).unwrap_or_default();
        match (run.len() <= 20, rest.is_empty()) {
            (true, true) => Kind::Padded(zeros as u64, 0),
            (true, false) => canonical(rest).map_or(Kind::Text, |v| Kind::Padded(zeros as u64, v)),
            _ => Kind::Text,
        }
    }

    /// Adds `slot` of `payload` to a template being built: the text since the
    /// last slot (from `*text`) and the slot's mark `0` to `key`, the slot to
    /// `slots` (which held `first` before this payload). `false`, with `slots`
    /// cut back to `first`, if the payload already has [`MAX_SLOTS`].
    fn push_slot(
        payload: &[u8],
        key: &mut Vec<u8>,
        slots: &mut Vec<Slot>,
        first: usize,
        text: &mut usize,
        slot: Slot,
    ) -> bool {
        if slots.len() - first == MAX_SLOTS {
            slots.truncate(first);
            return false;
        }
        key.extend_from_slice(payload.get(*text..slot.start).unwrap_or_default());
        key.push(b'0');
        *text = slot.end;
        slots.push(slot);
        true
    }

    /// The first index at or after `i` holding a digit or a control byte
    /// (`payload.len()` if none). Eight bytes at a time where none is, with
    /// the classic word test for "some byte is under `k`" (`k` ≤ 128):
    /// `(w − k·0x01…01) & !w & 0x80…80 ≠ 0`. Control bytes are those under
    /// `0x20`; digits are the bytes under 10 once xor'ed with `0x30`.
    fn next_mark(payload: &[u8], mut i: usize) -> usize {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = payload.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let digits = w ^ (0x30 * ONES);
            let control = w.wrapping_sub(0x20 * ONES) & !w;
            let digit = digits.wrapping_sub(10 * ONES) & !digits;
            if (control | digit) & HIGH != 0 {
                break;
            }
            i += 8;
        }
        while let Some(&b) = payload.get(i) {
            if b.wrapping_sub(b'0') < 10 || b < 0x20 {
                return i;
            }
            i += 1;
        }
        payload.len()
    }

    /// The value of the eight bytes at `i` if all are ASCII digits, and how
    /// many of them lead with `0`; `None` if fewer remain or one is not a
    /// digit. One word: a byte `b` is a digit when `x = b ^ 0x30` is under 10,
    /// so `(x + 0x76) | x` keeps its top bit clear (no carry crosses bytes:
    /// a byte that would carry already has its top bit set in `x`). The value
    /// folds digit pairs, then pairs of pairs, then halves (the first digit is
    /// the lowest byte).
    fn eight_digits(payload: &[u8], i: usize) -> Option<(u64, usize)> {
        const ONES: u64 = 0x0101_0101_0101_0101;
        let chunk = payload.get(i..i + 8)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (0x30 * ONES);
        if (x.wrapping_add(0x76 * ONES) | x) & (0x80 * ONES) != 0 {
            return None;
        }
        let zeros = if x == 0 { 8 } else { (x.trailing_zeros() / 8) as usize };
        let pairs = (x.wrapping_mul(10) + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
        let quads = (pairs.wrapping_mul(100) + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
        Some(((quads.wrapping_mul(10_000) + (quads >> 32)) & 0xFFFF_FFFF, zeros))
    }

    /// Appends `payload`'s template key to `key` (each slot replaced by one
    /// `0`) and its slots to `slots`. Slots are the words (maximal runs of ASCII
    /// letters and digits) holding a digit:
    /// - a word of digits, or of letters then digits with a letter outside
    ///   `a`–`f` (`worker12`, `v2`), gives its digits;
    /// - digits then `e` before a sign (a float's mantissa: `1e-05`) give the digits;
    /// - any other word (a hex hash, a UUID's part) is one text slot.
    ///
    /// So the letters around digits never multiply templates. `false` (payload
    /// stored whole) if it has more than [`MAX_SLOTS`] slots or a control byte
    /// other than tab, CR and LF: binary payloads (postcard envelopes) would
    /// only fill the dictionary with one-off templates.
    ///
    /// Only the words holding a digit are looked at: the scan jumps from one
    /// digit (or control byte) to the next, then reads the word around it.
    fn tokenize(payload: &[u8], key: &mut Vec<u8>, slots: &mut Vec<Slot>) -> bool {
        key.clear();
        let first = slots.len();
        let mut i = 0;
        let mut text = 0;
        loop {
            let from = i;
            i = next_mark(payload, i);
            let Some(&b) = payload.get(i) else { break };
            if b < 0x20 {
                if matches!(b, b'\t' | b'\n' | b'\r') {
                    i += 1;
                    continue;
                }
                slots.truncate(first);
                return false;
            }
            // A digit at `i`; no digit lies in `from..i`, so the word before it is letters.
            let mut start = i;
            while start > from && payload.get(start - 1).is_some_and(u8::is_ascii_alphabetic) {
                start -= 1;
            }
            // The digits, read once: their value (wrapping past 19 digits, when
            // it is not used) and their leading zeros.
            let (mut digits_end, mut value, mut zeros) = (i, 0u64, 0usize);
            while let Some((chunk, chunk_zeros)) = eight_digits(payload, digits_end) {
                zeros += if value == 0 { chunk_zeros } else { 0 };
                value = value.wrapping_mul(100_000_000).wrapping_add(chunk);
                digits_end += 8;
            }
            while let Some(&c) = payload.get(digits_end).filter(|c| c.is_ascii_digit()) {
                zeros += usize::from(value == 0 && c == b'0');
                value = value.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                digits_end += 1;
            }
            let mut end = digits_end;
            while payload.get(end).is_some_and(u8::is_ascii_alphanumeric) {
                end += 1;
            }
            let letters = payload.get(start..i).unwrap_or_default();
            let hex_letters = letters.iter().all(|l| matches!(l | 0x20, b'a'..=b'f'));
            let plain = end == digits_end && (letters.is_empty() || !hex_letters);
            let mantissa = letters.is_empty()
                && end == digits_end + 1
                && matches!(payload.get(digits_end), Some(b'e' | b'E'))
                && matches!(payload.get(end), Some(b'-' | b'+'));
            let slot = if plain || mantissa {
                Slot { start: i, end: digits_end, kind: number_kind(digits_end - i, zeros, value) }
            } else {
                Slot { start, end, kind: word_kind(payload.get(start..end).unwrap_or_default()) }
            };
            if !push_slot(payload, key, slots, first, &mut text, slot) {
                return false;
            }
            i = end;
        }
        key.extend_from_slice(payload.get(text..).unwrap_or_default());
        true
    }

    /// Byte classes for [`tokenize`]: what ends a word and what refuses a payload.
    #[cfg(test)]
    const OTHER: u8 = 0;
    #[cfg(test)]
    const LETTER: u8 = 1;
    #[cfg(test)]
    const DIGIT: u8 = 2;
    /// A control byte other than tab, CR and LF.
    #[cfg(test)]
    const BINARY: u8 = 3;
    #[cfg(test)]
    // Evaluated at compile time: an index out of range would fail the build.
    #[allow(clippy::indexing_slicing)]
    static CLASS: [u8; 256] = {
        let mut t = [OTHER; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = if c.is_ascii_digit() {
                DIGIT
            } else if c.is_ascii_alphabetic() {
                LETTER
            } else if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') {
                BINARY
            } else {
                OTHER
            };
            b += 1;
        }
        t
    };

    #[cfg(test)]
    fn class(b: u8) -> u8 {
        CLASS.get(usize::from(b)).copied().unwrap_or(OTHER)
    }

    /// What [`tokenize`] computes, one byte class at a time (its reference in
    /// the tests).
    ///
    /// Appends `payload`'s template key to `key` (each slot replaced by one
    /// `0`) and its slots to `slots`. Slots are the words (maximal runs of ASCII
    /// letters and digits) holding a digit:
    /// - a word of digits, or of letters then digits with a letter outside
    ///   `a`–`f` (`worker12`, `v2`), gives its digits;
    /// - digits then `e` before a sign (a float's mantissa: `1e-05`) give the digits;
    /// - any other word (a hex hash, a UUID's part) is one text slot.
    ///
    /// So the letters around digits never multiply templates. `false` (payload
    /// stored whole) if it has more than [`MAX_SLOTS`] slots or a control byte
    /// other than tab, CR and LF: binary payloads (postcard envelopes) would
    /// only fill the dictionary with one-off templates.
    #[cfg(test)]
    fn tokenize_reference(payload: &[u8], key: &mut Vec<u8>, slots: &mut Vec<Slot>) -> bool {
        key.clear();
        let first = slots.len();
        let mut i = 0;
        let mut text = 0;
        while let Some(&b) = payload.get(i) {
            let c = class(b);
            if c == OTHER {
                i += 1;
                continue;
            }
            if c == BINARY {
                slots.truncate(first);
                return false;
            }
            // A word: letters, then digits, then anything alphanumeric.
            let start = i;
            let mut hex_letters = true;
            while let Some(&l) = payload.get(i).filter(|&&l| class(l) == LETTER) {
                hex_letters &= matches!(l | 0x20, b'a'..=b'f');
                i += 1;
            }
            let digits_at = i;
            while payload.get(i).is_some_and(|&d| class(d) == DIGIT) {
                i += 1;
            }
            let digits_end = i;
            while payload.get(i).is_some_and(|&w| matches!(class(w), LETTER | DIGIT)) {
                i += 1;
            }
            if digits_at == digits_end && i == digits_end {
                continue; // Letters only: text.
            }
            let plain = i == digits_end && (digits_at == start || !hex_letters);
            let mantissa = digits_at == start
                && i == digits_end + 1
                && matches!(payload.get(digits_end), Some(b'e' | b'E'))
                && matches!(payload.get(i), Some(b'-' | b'+'));
            let slot = if (plain || mantissa) && digits_end > digits_at {
                let run = payload.get(digits_at..digits_end).unwrap_or_default();
                Slot { start: digits_at, end: digits_end, kind: digit_kind(run) }
            } else {
                Slot { start, end: i, kind: word_kind(payload.get(start..i).unwrap_or_default()) }
            };
            if !push_slot(payload, key, slots, first, &mut text, slot) {
                return false;
            }
        }
        key.extend_from_slice(payload.get(text..).unwrap_or_default());
        true
    }

    impl Encoder {
        /// `body` as a zlib stream (RFC 1950) at `level` (0 to 10); `None`
        /// only if the deflater reports a failure it never should.
        ///
        /// `numbers` is where the numbers column sits in `body` (as
        /// [`Encoder::encode`] returns it). From level 1 up, a numbers column
        /// of at least [`SPLIT_MIN`] bytes is deflated in blocks of its own,
        /// at level 1's search up to level 6 (at the level itself above): the
        /// stream is the part before it at `level` ending in a sync flush (an
        /// empty stored block), the column ending in another, the part after
        /// it at `level`, then the Adler-32 of the whole body. Each part
        /// starts with an empty window. The numbers are mostly digits of
        /// measurements, hashes and counters: on PoUW messages level 6's
        /// search over them costs about four times level 1's and finds 1 %
        /// more, and their own Huffman tables fit them better than tables
        /// shared with the text, so the batch comes out smaller than one
        /// stream at `level`, at under half the time. Level 0, and a body
        /// with fewer numbers, are one stream: the same bytes as
        /// `miniz_oxide::deflate::compress_to_vec_zlib(body, level)`.
        pub(crate) fn deflate(&mut self, body: &[u8], level: u8, numbers: Range<usize>) -> Option<&[u8]> {
            self.deflate_with_room(body, level, numbers, deflate_bound)
        }

        /// [`Encoder::deflate`], each part compressed into `room(len)` bytes
        /// of output in one call (the tests pass too little, to exercise the
        /// retry).
        fn deflate_with_room(
            &mut self,
            body: &[u8],
            level: u8,
            numbers: Range<usize>,
            room: fn(usize) -> usize,
        ) -> Option<&[u8]> {
            let fast = numbers_level(level);
            let parts: [(&[u8], u8); 3] = match (body.get(..numbers.start), body.get(numbers.clone())) {
                (Some(head), Some(column)) if level >= 1 && !head.is_empty() && column.len() >= SPLIT_MIN => {
                    [(head, level), (column, fast), (body.get(numbers.end..)?, level)]
                }
                _ => [(body, level), (&[], level), (&[], level)],
            };
            let deflater = match &mut self.deflater {
                Some((made_for, d)) if *made_for == level => d,
                slot => {
                    // Window bits 1: any positive value asks for the zlib wrapper.
                    let flags = create_comp_flags_from_zip_params(level.into(), 1, 0);
                    &mut slot.insert((level, Box::new(CompressorOxide::new(flags)))).1
                }
            };
            self.zlib.clear();
            let last = parts.iter().rposition(|p| !p.0.is_empty()).unwrap_or(0);
            for (i, &(part, part_level)) in parts.iter().enumerate().take(last + 1) {
                if i > 0 && part.is_empty() {
                    continue;
                }
                // The first part carries the zlib header; the others are raw
                // deflate blocks continuing the same stream.
                let format = if i == 0 { DataFormat::Zlib } else { DataFormat::Raw };
                let flush = if i == last { TDEFLFlush::Finish } else { TDEFLFlush::Sync };
                let done = |status| match flush {
                    TDEFLFlush::Finish => status == TDEFLStatus::Done,
                    _ => status == TDEFLStatus::Okay,
                };
                // One call into enough room takes the whole part and
                // completes its flush without ever filling the output. With
                // too little (never with `deflate_bound`), a sync flush into
                // a full buffer can stop with the window's last bytes
                // unwritten: the part is made again with twice the room.
                let at = self.zlib.len();
                let mut space = room(part.len());
                let mut tries = 0;
                loop {
                    deflater.reset();
                    deflater.set_format_and_level(format, part_level);
                    self.zlib.resize(at.saturating_add(space), 0);
                    let out = self.zlib.get_mut(at..).unwrap_or_default();
                    let (status, used, wrote) = compress(deflater, part, out, flush);
                    if done(status) && used == part.len() && wrote < space {
                        self.zlib.truncate(at.saturating_add(wrote));
                        break;
                    }
                    tries += 1;
                    if tries == 8 {
                        return None;
                    }
                    space = space.saturating_mul(2).saturating_add(64);
                }
            }
            if last > 0 {
                // Raw parts write no trailer: the checksum covers the whole body.
                self.zlib.extend_from_slice(&mz_adler32_oxide(MZ_ADLER32_INIT, body).to_be_bytes());
            }
            Some(&self.zlib)
        }

        /// The header's bloom filter over the senders and types of the batch
        /// last encoded: each distinct one added once (the same bits as adding
        /// every record's).
        pub(crate) fn summary(&self) -> Summary {
            let mut summary = Summary::EMPTY;
            for i in 0..self.senders.len() {
                summary.insert_sender(self.senders.get(i));
            }
            for i in 0..self.types.len() {
                summary.insert_type(self.types.get(i));
            }
            summary
        }

        /// Appends the columnar body of `records` (valid, in timestamp order,
        /// starting at `first` µs) to `out`; returns the dictionary entry count
        /// and where in `out` the numbers column went (for [`Encoder::deflate`]).
        pub(crate) fn encode(&mut self, records: &[Fields<'_>], first: u64, out: &mut Vec<u8>) -> (u32, Range<usize>) {
            self.types.clear();
            self.senders.clear();
            self.templates.clear();
            self.template_info.clear();
            self.last_template = None;
            self.slot_cols_used = 0;
            self.rows.clear();
            self.runs.clear();
            for c in self.cols.iter_mut() {
                c.clear();
            }
            // Pass 1: dictionaries, digit runs, and which mode each slot is cheaper in.
            for r in records {
                let t = self.types.intern(r.message_type);
                let s = self.senders.intern(r.sender);
                let run_at = self.runs.len();
                let mut tpl = 0;
                if tokenize(r.payload, &mut self.key, &mut self.runs) {
                    // Consecutive records mostly share a template: compare with the last first.
                    let i = match self.last_template {
                        Some(i) if self.key == self.last_key => i,
                        _ => {
                            let i = self.templates.intern(&self.key);
                            self.last_key.clear();
                            self.last_key.extend_from_slice(&self.key);
                            self.last_template = Some(i);
                            i
                        }
                    };
                    if i as usize == self.template_info.len() {
                        let slots = self.runs.len() - run_at;
                        let first = self.slot_cols_used;
                        self.slot_cols_used += slots;
                        if self.slot_cols.len() < self.slot_cols_used {
                            self.slot_cols.resize_with(self.slot_cols_used, Vec::new);
                        }
                        for col in self.slot_cols.get_mut(first..self.slot_cols_used).unwrap_or_default() {
                            col.clear();
                        }
                        self.template_info.push(Template { slots, first, ..Template::default() });
                    }
                    if let Some(t) = self.template_info.get_mut(i as usize) {
                        let runs = self.runs.get(run_at..).unwrap_or_default();
                        for (k, slot) in runs.iter().enumerate() {
                            if let (Kind::Number(v), Some(prev), Some(cost)) =
                                (slot.kind, t.prev.get_mut(k), t.cost.get_mut(k))
                            {
                                cost[0] += varint_len(v + ESCAPES) as u64;
                                cost[1] += varint_len(zigzag(v.wrapping_sub(*prev) as i64) + ESCAPES) as u64;
                                *prev = v;
                            }
                        }
                    }
                    tpl = i + 1;
                }
                self.rows.push((t, s, tpl, run_at));
            }
            for t in self.template_info.iter_mut() {
                for k in 0..t.slots.min(MAX_SLOTS) {
                    if let (Some(m), Some(c)) = (t.modes.get_mut(k), t.cost.get(k)) {
                        *m = u8::from(c[1] < c[0]) * MODE_DELTA;
                    }
                }
                t.prev = [0; MAX_SLOTS];
            }
            // Pass 2: the columns.
            let [types, senders, times, templates, _, literals] = &mut self.cols;
            let mut prev_ts = first;
            for (r, &(t, s, tpl, run_at)) in records.iter().zip(self.rows.iter()) {
                push_varint(types, u64::from(t));
                push_varint(senders, u64::from(s));
                push_varint(times, r.timestamp.saturating_sub(prev_ts));
                prev_ts = r.timestamp;
                push_varint(templates, u64::from(tpl));
                let template = tpl.checked_sub(1).and_then(|i| self.template_info.get_mut(i as usize));
                let Some(t) = template else {
                    push_varint(literals, r.payload.len() as u64);
                    literals.extend_from_slice(r.payload);
                    continue;
                };
                let runs = self.runs.get(run_at..run_at + t.slots).unwrap_or_default();
                let cols = self.slot_cols.get_mut(t.first..t.first + t.slots).unwrap_or_default();
                for ((k, slot), numbers) in runs.iter().enumerate().zip(cols) {
                    match (slot.kind, t.prev.get_mut(k), t.modes.get(k)) {
                        (Kind::Number(v), Some(prev), Some(&mode)) => {
                            let x = if mode == MODE_DELTA { zigzag(v.wrapping_sub(*prev) as i64) } else { v };
                            push_varint(numbers, x + ESCAPES);
                            *prev = v;
                        }
                        (Kind::Padded(zeros, v), _, _) => {
                            push_varint(numbers, 1);
                            push_varint(numbers, zeros);
                            push_varint(numbers, v);
                        }
                        (Kind::Hex(digits, v), _, _) => {
                            push_varint(numbers, 2);
                            push_varint(numbers, u64::from(digits));
                            let bytes = v.to_be_bytes();
                            numbers.extend_from_slice(
                                bytes.get(8 - usize::from(digits).div_ceil(2)..).unwrap_or_default(),
                            );
                        }
                        _ => {
                            let text = r.payload.get(slot.start..slot.end).unwrap_or_default();
                            push_varint(numbers, 0);
                            push_varint(literals, text.len() as u64);
                            literals.extend_from_slice(text);
                        }
                    }
                }
            }
            for list in [&self.types, &self.senders] {
                push_varint(out, list.len() as u64);
                for i in 0..list.len() {
                    let e = list.get(i);
                    push_varint(out, e.len() as u64);
                    out.extend_from_slice(e);
                }
            }
            push_varint(out, self.templates.len() as u64);
            for (i, t) in self.template_info.iter().enumerate() {
                // The key marks each slot with a `0` byte (it holds no other digit).
                let key = self.templates.get(i);
                push_varint(out, t.slots as u64);
                out.extend_from_slice(t.modes.get(..t.slots).unwrap_or_default());
                push_varint(out, (key.len() - t.slots) as u64);
                for text in key.split(|&b| b == b'0') {
                    push_varint(out, text.len() as u64);
                    out.extend_from_slice(text);
                }
                for col in self.slot_cols.get(t.first..t.first + t.slots).unwrap_or_default() {
                    push_varint(out, col.len() as u64);
                }
            }
            if let Some(numbers) = self.cols.get_mut(NUMBERS_COLUMN) {
                for col in self.slot_cols.get(..self.slot_cols_used).unwrap_or_default() {
                    numbers.extend_from_slice(col);
                }
            }
            for c in &self.cols {
                push_varint(out, c.len() as u64);
            }
            let mut numbers = 0..0;
            for (i, c) in self.cols.iter().enumerate() {
                if i == NUMBERS_COLUMN {
                    numbers = out.len()..out.len() + c.len();
                }
                out.extend_from_slice(c);
            }
            ((self.types.len() + self.senders.len() + self.templates.len()) as u32, numbers)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{Slot, tokenize, tokenize_reference};
        use alloc::vec;
        use alloc::vec::Vec;
        use proptest::prelude::*;

        /// What one tokenizer says of a payload: stored by template, the key, the slots.
        type Split = (bool, Vec<u8>, Vec<Slot>);

        fn both(payload: &[u8]) -> (Split, Split) {
            let (mut k1, mut s1, mut k2, mut s2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let ok1 = tokenize(payload, &mut k1, &mut s1);
            let ok2 = tokenize_reference(payload, &mut k2, &mut s2);
            ((ok1, k1, s1), (ok2, k2, s2))
        }

        #[test]
        fn tokenize_splits_words_as_documented() {
            let payload = br#"{"w":"worker12","h":"1e3f","x":1e-05,"z":"007","d":"dead12","n":-3}"#;
            let ((ok, key, slots), reference) = both(payload);
            assert_eq!((ok, &key, &slots), (reference.0, &reference.1, &reference.2));
            assert!(ok);
            assert_eq!(key, br#"{"w":"worker0","h":"0","x":0e-0,"z":"0","d":"0","n":-0}"#.to_vec());
            let texts: Vec<&[u8]> = slots.iter().map(|s| &payload[s.start..s.end]).collect();
            assert_eq!(texts, [&b"12"[..], b"1e3f", b"1", b"05", b"007", b"dead12", b"3"]);
        }

        /// Eight digits at a time read what a digit at a time reads.
        #[test]
        fn eight_digits_matches_the_bytes() {
            let cases: [&[u8]; 8] =
                [b"00000000", b"12345678", b"99999999", b"00012345", b"10000000", b"1234567/", b"1234567:", b"123"];
            for case in cases.iter().chain([&b"0000000x9"[..], b"\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7"].iter()) {
                let digits = case.len() >= 8 && case[..8].iter().all(u8::is_ascii_digit);
                let want = digits.then(|| {
                    let v = case[..8].iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
                    (v, case[..8].iter().take_while(|&&c| c == b'0').count())
                });
                assert_eq!(super::eight_digits(case, 0), want, "{case:?}");
            }
        }

        /// The kept deflater writes what a fresh one writes, whatever level
        /// and body came before.
        #[test]
        fn the_kept_deflater_writes_what_a_fresh_one_writes() {
            let mut encoder = super::Encoder::default();
            let bodies: [Vec<u8>; 3] =
                [(0..70_000u32).map(|i| (i * 7 % 251) as u8).collect(), b"{\"iteration\":1}".repeat(500), Vec::new()];
            for level in [6u8, 6, 1, 0, 10, 9, 1] {
                for body in &bodies {
                    let fresh = miniz_oxide::deflate::compress_to_vec_zlib(body, level);
                    assert_eq!(
                        encoder.deflate(body, level, 0..0),
                        Some(&fresh[..]),
                        "level {level}, {} bytes",
                        body.len()
                    );
                }
            }
        }

        /// A numbers column of [`super::SPLIT_MIN`] bytes or more gets blocks
        /// of its own from level 1 up: the stream still inflates to the body,
        /// is no longer one stream at the level, and leaves the kept deflater
        /// writing what a fresh one writes. Level 0, and a smaller column,
        /// are one stream.
        #[test]
        fn numbers_get_their_own_blocks() {
            let mut encoder = super::Encoder::default();
            let text = b"{\"iteration\":1,\"node\":\"worker-7\"}".repeat(300);
            let noise: Vec<u8> = (0..20_000u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8).collect();
            let body = [&text[..], &noise[..], &text[..200]].concat();
            let numbers = text.len()..text.len() + noise.len();
            let small = text.len()..text.len() + super::SPLIT_MIN - 1;
            for level in [6u8, 2, 3, 4, 5, 1, 0, 7, 9, 10, 6] {
                let one_stream = miniz_oxide::deflate::compress_to_vec_zlib(&body, level);
                let got = encoder.deflate(&body, level, numbers.clone()).unwrap().to_vec();
                assert_eq!(miniz_oxide::inflate::decompress_to_vec_zlib(&got).unwrap(), body, "level {level}");
                assert_eq!(got[..2], one_stream[..2], "level {level}: the header is the level's");
                assert_eq!(got == one_stream, level == 0, "level {level}");
                assert_eq!(super::numbers_level(level), if (1..=6).contains(&level) { 1 } else { level });
                let below = encoder.deflate(&body, level, small.clone()).unwrap().to_vec();
                assert_eq!(below, one_stream, "level {level}: a small column stays in the one stream");
                // The numbers at the end, nothing after them: still one Adler-32, still the body.
                let tail = encoder.deflate(&body[..numbers.end], level, numbers.clone()).unwrap().to_vec();
                assert_eq!(miniz_oxide::inflate::decompress_to_vec_zlib(&tail).unwrap(), &body[..numbers.end]);
                for other in [&text[..], &[][..]] {
                    let fresh = miniz_oxide::deflate::compress_to_vec_zlib(other, level);
                    assert_eq!(encoder.deflate(other, level, 0..0), Some(&fresh[..]), "level {level} after a split");
                }
            }
        }

        /// Parts that compress badly, large and small, anywhere in the body
        /// and at every level, still make one stream that inflates to the
        /// body. (A sync flush into a fixed output buffer once stopped with
        /// the buffer full and the window's last bytes not yet written.)
        #[test]
        fn incompressible_parts_still_make_one_stream() {
            let mut x = 0x1234_5678_9abc_def0u64;
            let mut noise = |n: usize| -> Vec<u8> {
                (0..n)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x >> 24) as u8
                    })
                    .collect()
            };
            let mut encoder = super::Encoder::default();
            let mut cramped = super::Encoder::default();
            for (head, numbers, tail) in
                [(58_733, 3_183, 6_708), (70_000, 70_000, 0), (2_000, 90_000, 10), (100, 1_024, 70_000), (1, 5_000, 1)]
            {
                let body = [noise(head), noise(numbers), noise(tail)].concat();
                for level in 0..=10u8 {
                    let got = encoder.deflate(&body, level, head..head + numbers).unwrap().to_vec();
                    let back = miniz_oxide::inflate::decompress_to_vec_zlib(&got);
                    assert!(back.is_ok_and(|b| b == body), "level {level}, parts {head}/{numbers}/{tail}");
                    // With too little room every part is made again: the same bytes.
                    let slow = cramped.deflate_with_room(&body, level, head..head + numbers, |n| n / 3).unwrap();
                    assert_eq!(slow, &got[..], "level {level}, parts {head}/{numbers}/{tail}, fallback");
                }
            }
        }

        proptest! {
            /// The digit-jumping scan finds exactly the slots of the byte-by-byte one.
            #[test]
            fn tokenize_matches_its_reference(payload in prop::collection::vec(
                prop_oneof![
                    Just(b'0'), Just(b'7'), Just(b'a'), Just(b'e'), Just(b'f'), Just(b'w'), Just(b'E'),
                    Just(b'-'), Just(b'+'), Just(b'"'), Just(b'\t'), Just(1u8), any::<u8>()
                ],
                0..80,
            )) {
                let (fast, reference) = both(&payload);
                prop_assert_eq!(fast, reference);
            }

            /// The same with long digit runs: the number forms' length limits
            /// (18 digits, 20 with leading zeros) and values past 2^64.
            #[test]
            fn tokenize_matches_its_reference_on_long_numbers(payload in prop::collection::vec(
                prop_oneof![
                    8 => Just(b'0'), 8 => Just(b'9'), 4 => Just(b'1'), 1 => Just(b'.'), 1 => Just(b'e'), 1 => Just(b'-')
                ],
                0..64,
            )) {
                let (fast, reference) = both(&payload);
                prop_assert_eq!(fast, reference);
            }
        }
    }
}
