//! The columnar body of a v2 batch (what its zlib stream inflates to).
//!
//! ```text
//! types      varint n, then n × (varint len, UTF-8 bytes)      in order of first use
//! senders    varint n, then n × (varint len, UTF-8 bytes)      in order of first use
//! templates  varint n, then n × template: varint slots (at most 16), one mode byte
//!            per slot, varint bytes of text, then slots + 1 × (varint len, text)
//! lengths    6 × varint: bytes of each column below
//! type       per record: varint index into types
//! sender     per record: varint index into senders
//! time       per record: varint µs since the previous record (the first: since the header's first)
//! template   per record: varint 0 (payload stored whole in `literals`) or 1 + template index
//! numbers    per slot of each templated record: varint, 0 = the digits are in `literals`,
//!            else 1 + value (mode 0) or 1 + zigzag(value − the slot's previous value) (mode 1)
//! literals   varint len + bytes: whole payloads and digit runs that are not canonical numbers
//! ```
//!
//! A payload's template is its text between the maximal runs of ASCII digits
//! (the slots): a payload with k runs has k slots and k + 1 texts (maybe empty),
//! none holding a digit. Templates have at most [`MAX_SLOTS`] slots (payloads
//! with more are stored whole). A digit run is a canonical number if it
//! has no leading zero (or is `0`) and at most 18 digits. A slot's previous value
//! starts at 0. The counts of types, senders and templates sum to the header's
//! `dict_entries`. Decoding needs no `alloc`: it rebuilds the records' canonical
//! (postcard) encoding in a caller buffer, with a table area for dictionary
//! offsets and slot state (see [`table_len`]).

use super::batch::BatchError;

/// The most digit runs a payload may have to be stored by template.
pub const MAX_SLOTS: usize = 16;

const MODE_DELTA: u8 = 1;

/// Bytes of table area decoding needs for `dict_entries` dictionary entries.
pub const fn table_len(dict_entries: u32) -> usize {
    (dict_entries as usize).saturating_mul(4 + 8 * MAX_SLOTS)
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
#[cfg(feature = "alloc")]
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

/// Rebuilds the canonical encoding of `count` records from `body` into `out`
/// (exactly `out.len()` bytes), using `table` (at least [`table_len`] bytes) for
/// offsets and slot state. `first` is the header's first timestamp.
pub fn decode(
    body: &[u8],
    count: u32,
    dict_entries: u32,
    first: u64,
    table: &mut [u8],
    out: &mut [u8],
) -> Result<(), BatchError> {
    let entries = dict_entries as usize;
    let (offsets, state) = table
        .get_mut(..table_len(dict_entries))
        .ok_or(BatchError::BufferTooSmall { needed: table_len(dict_entries) })?
        .split_at_mut(entries * 4);
    state.fill(0);
    // Dictionaries: record where each entry starts.
    let mut c = Cursor(body);
    let mut seen = 0usize;
    let mut counts = [0usize; 3];
    for (kind, n_out) in counts.iter_mut().enumerate() {
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
    let [types, senders, times, templates, numbers, literals] = &mut cols;
    let entry = |i: usize| -> Result<&[u8], BatchError> {
        let at = read_u32(offsets, i)?;
        Cursor(body.get(at..).unwrap_or_default()).len_prefixed()
    };
    let mut at = 0usize;
    let mut ts = first;
    for _ in 0..count {
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
        let tpl = templates.varint()?;
        if tpl == 0 {
            let payload = literals.len_prefixed()?;
            put_varint(out, &mut at, payload.len() as u64)?;
            put(out, &mut at, payload)?;
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
            let x = numbers.varint()?;
            if x == 0 {
                let run = literals.len_prefixed()?;
                if run.is_empty() || !run.iter().all(u8::is_ascii_digit) {
                    return Err(bad("literal digit run is not digits"));
                }
                *lit = run;
                len += run.len();
                continue;
            }
            let state_at = (ti * MAX_SLOTS + k) * 8;
            let prev_bytes = state.get_mut(state_at..state_at + 8).ok_or(bad("slot state out of range"))?;
            let mut p = [0u8; 8];
            p.copy_from_slice(prev_bytes);
            let prev = u64::from_le_bytes(p);
            let v = if mode == MODE_DELTA {
                prev.checked_add_signed(unzigzag(x - 1)).ok_or(bad("number overflows"))?
            } else {
                x - 1
            };
            prev_bytes.copy_from_slice(&v.to_le_bytes());
            let n = decimal(v, &mut d.0).len();
            *d = (d.0, 20 - n, 20);
            len += n;
        }
        put_varint(out, &mut at, len as u64)?;
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
    }
    if at != out.len() {
        return Err(BatchError::LengthMismatch);
    }
    if cols.iter().any(|c| !c.0.is_empty()) {
        return Err(bad("column longer than its records"));
    }
    Ok(())
}

#[cfg(feature = "alloc")]
pub(crate) use encoding::Encoder;

#[cfg(feature = "alloc")]
mod encoding {
    use super::{MAX_SLOTS, MODE_DELTA, canonical, zigzag};
    use crate::history::batch::{RecordRef, push_varint, varint_len};
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    #[derive(Default)]
    struct Template {
        slots: usize,
        prev: [u64; MAX_SLOTS],
        /// Varint bytes of each slot in mode 0 and in mode 1.
        cost: [[u64; 2]; MAX_SLOTS],
        modes: [u8; MAX_SLOTS],
    }

    /// Builds columnar bodies; keeps its buffers between batches.
    #[derive(Default)]
    pub(crate) struct Encoder {
        types: BTreeMap<Vec<u8>, u32>,
        senders: BTreeMap<Vec<u8>, u32>,
        templates: BTreeMap<Vec<u8>, u32>,
        type_list: Vec<Vec<u8>>,
        sender_list: Vec<Vec<u8>>,
        template_list: Vec<(Vec<u8>, Template)>,
        /// Per record: type, sender, 1 + template (0 for stored whole).
        rows: Vec<(u32, u32, u32)>,
        key: Vec<u8>,
        runs: Vec<(usize, usize)>,
        cols: [Vec<u8>; 6],
    }

    /// The index of `key` in `map`, adding it (and to `list`) if new.
    fn intern(map: &mut BTreeMap<Vec<u8>, u32>, list: &mut Vec<Vec<u8>>, key: &[u8]) -> u32 {
        if let Some(&i) = map.get(key) {
            return i;
        }
        let i = list.len() as u32;
        map.insert(key.to_vec(), i);
        list.push(key.to_vec());
        i
    }

    /// Splits `payload` into its template (in `key`) and digit runs (in `runs`);
    /// `false` if it has more than [`MAX_SLOTS`] runs.
    fn tokenize(payload: &[u8], key: &mut Vec<u8>, runs: &mut Vec<(usize, usize)>) -> bool {
        key.clear();
        runs.clear();
        let mut i = 0;
        while let Some(&b) = payload.get(i) {
            if b.is_ascii_digit() {
                let start = i;
                while payload.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if runs.len() == MAX_SLOTS {
                    return false;
                }
                runs.push((start, i));
                key.push(b'0');
            } else {
                key.push(b);
                i += 1;
            }
        }
        true
    }

    impl Encoder {
        /// Appends the columnar body of `records` (valid, in timestamp order,
        /// starting at `first` µs) to `out`; returns the dictionary entry count.
        pub(crate) fn encode<'r>(
            &mut self,
            records: impl Iterator<Item = RecordRef<'r>> + Clone,
            first: u64,
            out: &mut Vec<u8>,
        ) -> u32 {
            self.types.clear();
            self.senders.clear();
            self.templates.clear();
            self.type_list.clear();
            self.sender_list.clear();
            self.template_list.clear();
            self.rows.clear();
            for c in self.cols.iter_mut() {
                c.clear();
            }
            // Pass 1: dictionaries, and which mode each slot is cheaper in.
            for r in records.clone() {
                let t = intern(&mut self.types, &mut self.type_list, r.message_type.as_bytes());
                let s = intern(&mut self.senders, &mut self.sender_list, r.sender.as_bytes());
                let mut tpl = 0;
                if tokenize(r.payload, &mut self.key, &mut self.runs) {
                    let i = match self.templates.get(self.key.as_slice()) {
                        Some(&i) => i,
                        None => {
                            let i = self.template_list.len() as u32;
                            self.templates.insert(self.key.clone(), i);
                            let slots = self.runs.len();
                            self.template_list.push((self.key.clone(), Template { slots, ..Template::default() }));
                            i
                        }
                    };
                    if let Some((_, t)) = self.template_list.get_mut(i as usize) {
                        for (k, &(a, b)) in self.runs.iter().enumerate() {
                            let v = r.payload.get(a..b).and_then(canonical);
                            if let (Some(v), Some(prev), Some(cost)) = (v, t.prev.get_mut(k), t.cost.get_mut(k)) {
                                cost[0] += varint_len(v + 1) as u64;
                                cost[1] += varint_len(zigzag(v.wrapping_sub(*prev) as i64) + 1) as u64;
                                *prev = v;
                            }
                        }
                    }
                    tpl = i + 1;
                }
                self.rows.push((t, s, tpl));
            }
            for (_, t) in self.template_list.iter_mut() {
                for k in 0..t.slots.min(MAX_SLOTS) {
                    if let (Some(m), Some(c)) = (t.modes.get_mut(k), t.cost.get(k)) {
                        *m = u8::from(c[1] < c[0]) * MODE_DELTA;
                    }
                    if let Some(p) = t.prev.get_mut(k) {
                        *p = 0;
                    }
                }
            }
            // Pass 2: the columns.
            let [types, senders, times, templates, numbers, literals] = &mut self.cols;
            let mut prev_ts = first;
            for (r, &(t, s, tpl)) in records.zip(self.rows.iter()) {
                push_varint(types, u64::from(t));
                push_varint(senders, u64::from(s));
                let ts = r.timestamp.total_micros();
                push_varint(times, ts.saturating_sub(prev_ts));
                prev_ts = ts;
                push_varint(templates, u64::from(tpl));
                let template = tpl.checked_sub(1).and_then(|i| self.template_list.get_mut(i as usize));
                let Some((_, t)) = template else {
                    push_varint(literals, r.payload.len() as u64);
                    literals.extend_from_slice(r.payload);
                    continue;
                };
                tokenize(r.payload, &mut self.key, &mut self.runs);
                for (k, &(a, b)) in self.runs.iter().enumerate() {
                    let run = r.payload.get(a..b).unwrap_or_default();
                    match (canonical(run), t.prev.get_mut(k), t.modes.get(k)) {
                        (Some(v), Some(prev), Some(&mode)) => {
                            let x = if mode == MODE_DELTA { zigzag(v.wrapping_sub(*prev) as i64) } else { v };
                            push_varint(numbers, x + 1);
                            *prev = v;
                        }
                        _ => {
                            push_varint(numbers, 0);
                            push_varint(literals, run.len() as u64);
                            literals.extend_from_slice(run);
                        }
                    }
                }
            }
            for list in [&self.type_list, &self.sender_list] {
                push_varint(out, list.len() as u64);
                for e in list {
                    push_varint(out, e.len() as u64);
                    out.extend_from_slice(e);
                }
            }
            push_varint(out, self.template_list.len() as u64);
            for (key, t) in &self.template_list {
                // The key marks each slot with a `0` byte (it holds no other digit).
                push_varint(out, t.slots as u64);
                out.extend_from_slice(t.modes.get(..t.slots).unwrap_or_default());
                push_varint(out, (key.len() - t.slots) as u64);
                for text in key.split(|&b| b == b'0') {
                    push_varint(out, text.len() as u64);
                    out.extend_from_slice(text);
                }
            }
            for c in &self.cols {
                push_varint(out, c.len() as u64);
            }
            for c in &self.cols {
                out.extend_from_slice(c);
            }
            (self.type_list.len() + self.sender_list.len() + self.template_list.len()) as u32
        }
    }
}
