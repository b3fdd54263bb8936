//! Compact JSON of a message's `data`, written in Rust: the bytes of
//! `json.dumps(data, separators=(",", ":"), ensure_ascii=False)`, without the
//! cost of the `json` module's Python-level machinery (the dominant cost of
//! `add_message` otherwise).
//!
//! Exact `dict` (string keys), `list`, `tuple`, `str`, `int`, `float`, `bool`
//! and `None` are written here; for anything else (subclasses, other key types,
//! objects `json` rejects, nesting deeper than [`MAX_DEPTH`]) the whole value
//! goes to the `json` module through `pouw_netops._types._json_bytes`, so the
//! result and the errors are the module's.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::fmt::Write;

/// Deeper values are left to the `json` module (which detects cycles).
const MAX_DEPTH: usize = 32;

static FALLBACK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Not written here: the value (or a part of it) needs the `json` module.
struct Unsupported;

/// `data` as compact JSON bytes.
pub fn to_json(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    // One value: nothing to remember keys for.
    to_json_into(data, &mut out, &mut KeyCache::off())?;
    Ok(out)
}

/// `data` as compact JSON bytes in `buf` (its old contents dropped, its
/// allocation kept: a history writing every message's `data` reuses one),
/// with `keys` remembering the dict keys written.
pub fn to_json_into(data: &Bound<'_, PyAny>, buf: &mut Vec<u8>, keys: &mut KeyCache) -> PyResult<()> {
    buf.clear();
    // An empty vector is valid UTF-8 with nothing to scan; the capacity stays.
    let mut out = String::from_utf8(std::mem::take(buf)).unwrap_or_default();
    let written = Writer { out: &mut out, keys }.value(data, 0);
    *buf = out.into_bytes();
    if let Err(Unsupported) = written {
        buf.clear();
        let py = data.py();
        let f = FALLBACK.import(py, "pouw_netops._types", "_json_bytes")?;
        buf.extend_from_slice(f.call1((data,))?.cast_into::<PyBytes>()?.as_bytes());
    }
    Ok(())
}

/// Dict keys already written (`"key":`), found by the key object's identity:
/// a history's messages are usually built from the same literal keys, and a
/// hit skips the key's UTF-8 lookup and escape scan. A `str` is immutable and
/// the cache holds a reference, so the same object always has the same text.
/// At most [`KeyCache::MAX`] keys, replaced in turn.
pub struct KeyCache {
    entries: Vec<(Py<PyString>, String)>,
    next: usize,
    /// How many keys it keeps: [`KeyCache::MAX`], or 0 for a one-off value.
    capacity: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache { entries: Vec::new(), next: 0, capacity: Self::MAX }
    }
}

impl KeyCache {
    const MAX: usize = 16;

    /// A cache that keeps nothing (writing one value, nothing repeats).
    fn off() -> Self {
        KeyCache { capacity: 0, ..KeyCache::default() }
    }

    /// Writes `"key":` for `key`.
    fn write(&mut self, out: &mut String, key: &Bound<'_, PyString>) -> Result<(), Unsupported> {
        if let Some((_, text)) = self.entries.iter().find(|(k, _)| k.is(key)) {
            out.push_str(text);
            return Ok(());
        }
        let start = out.len();
        write_str(out, key.to_str().map_err(|_| Unsupported)?);
        out.push(':');
        if self.capacity == 0 {
            return Ok(());
        }
        let entry = (key.clone().unbind(), out.get(start..).unwrap_or_default().to_owned());
        if self.entries.len() < self.capacity {
            self.entries.push(entry);
        } else if let Some(slot) = self.entries.get_mut(self.next) {
            *slot = entry;
            self.next = (self.next + 1) % self.capacity;
        }
        Ok(())
    }
}

/// The output and the key cache of one value being written.
struct Writer<'w> {
    out: &'w mut String,
    keys: &'w mut KeyCache,
}

impl Writer<'_> {
    fn value(&mut self, v: &Bound<'_, PyAny>, depth: usize) -> Result<(), Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported);
        }
        let out = &mut *self.out;
        if v.is_none() {
            out.push_str("null");
        } else if let Ok(s) = v.cast_exact::<PyString>() {
            write_str(out, s.to_str().map_err(|_| Unsupported)?);
        } else if let Ok(b) = v.cast_exact::<PyBool>() {
            out.push_str(if b.is_true() { "true" } else { "false" });
        } else if let Ok(i) = v.cast_exact::<PyInt>() {
            let i: i64 = i.extract().map_err(|_| Unsupported)?;
            write_int(out, i);
        } else if let Ok(f) = v.cast_exact::<PyFloat>() {
            write_float(out, f.value());
        } else if let Ok(d) = v.cast_exact::<PyDict>() {
            out.push('{');
            for (n, (k, item)) in d.iter().enumerate() {
                if n > 0 {
                    self.out.push(',');
                }
                let k = k.cast_exact::<PyString>().map_err(|_| Unsupported)?;
                self.keys.write(self.out, k)?;
                self.value(&item, depth + 1)?;
            }
            self.out.push('}');
        } else if let Ok(l) = v.cast_exact::<PyList>() {
            self.array(l.iter(), depth)?;
        } else if let Ok(t) = v.cast_exact::<PyTuple>() {
            self.array(t.iter(), depth)?;
        } else {
            return Err(Unsupported);
        }
        Ok(())
    }

    /// A list's or a tuple's items as a JSON array.
    fn array<'py>(&mut self, items: impl Iterator<Item = Bound<'py, PyAny>>, depth: usize) -> Result<(), Unsupported> {
        self.out.push('[');
        for (n, item) in items.enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            self.value(&item, depth + 1)?;
        }
        self.out.push(']');
        Ok(())
    }
}

/// A JSON string as `json` writes it with `ensure_ascii=False`: runs without
/// a byte to escape are copied whole.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings (keys, ids, hashes) need no escape: one scan (without
    // early exit, so it compiles to a few wide compares), one copy.
    if !s.bytes().fold(false, |esc, b| esc | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        // `i` is an ASCII byte: a character boundary.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escaped.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escaped);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// A float as Python's `repr` writes it (what `json` uses): the shortest
/// round-trip digits, positional for exponents -4 to 15 (with `.0` when
/// integral), else `d.ddde±XX`; `NaN`, `Infinity`, `-Infinity` as `json` does.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // zmij writes the shortest round-trip digits positionally as `repr` does
    // (with `.0` when integral) for [1e-4, 1e16), the range where `repr` is
    // positional; its exponent form differs (`1e-6`, not `1e-06`).
    let mut buf = zmij::Buffer::new();
    let z = buf.format_finite(f);
    if f == 0.0 || (1e-4..1e16).contains(&f.abs()) {
        out.push_str(z);
        return;
    }
    // zmij writes [1e-5, 1e-4) positionally (`0.00001234`), `repr` as
    // `1.234e-05`: the same shortest digits, moved (the usual small loss).
    if (1e-5..1e-4).contains(&f.abs()) && positional_to_exponent(out, z) {
        return;
    }
    // Outside it `repr` writes `d.ddde±XX`: zmij's exponent form with the
    // exponent's sign always written and at least two digits (`1e-06`).
    if let Some((mantissa, exp)) = z.split_once('e')
        && let Ok(exp) = exp.parse::<i32>()
    {
        out.push_str(mantissa);
        push_exponent(out, exp);
        return;
    }
    // zmij also writes some of these positionally (`0.00001234`): the same
    // shortest digits, moved into the exponent form.
    if positional_to_exponent(out, z) {
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "1e16", "0e0".
    // Formatted on the stack: this runs for every float of every message.
    let mut sci = StackBuf { bytes: [0; 40], len: 0 };
    if write!(sci, "{f:e}").is_err() {
        // Unreachable (24 bytes at most); keep `json`'s answer anyway.
        let _ = write!(out, "{f:?}");
        return;
    }
    let sci = sci.as_str();
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    // The significant digits: the mantissa without its point ("1.2345" → "12345").
    let (head, tail) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let n = (head.len() + tail.len()) as i32;
    let digit = |i: usize| -> char {
        let b = if i < head.len() { head.as_bytes().get(i) } else { tail.as_bytes().get(i - head.len()) };
        b.map_or('0', |&b| char::from(b))
    };
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(head);
            out.push_str(tail);
        } else if exp + 1 >= n {
            out.push_str(head);
            out.push_str(tail);
            for _ in 0..(exp + 1 - n) {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            let point = (exp + 1) as usize;
            for i in 0..point {
                out.push(digit(i));
            }
            out.push('.');
            for i in point..n as usize {
                out.push(digit(i));
            }
        }
    } else {
        out.push_str(head);
        if !tail.is_empty() {
            out.push('.');
            out.push_str(tail);
        }
        push_exponent(out, exp);
    }
}

/// Writes the positional decimal `z` (`[-]digits.digits`) as `repr`'s
/// exponent form `d.ddde±XX`; `false` (nothing written) if `z` is not that
/// shape or has no nonzero digit.
fn positional_to_exponent(out: &mut String, z: &str) -> bool {
    let (sign, body) = match z.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", z),
    };
    // The usual case, [1e-5, 1e-4) (a small loss): `0.0000` then the shortest
    // digits, the first nonzero, none trailing; one pass, no copy.
    if let Some(digits) = body.strip_prefix("0.0000")
        && let [b'1'..=b'9', rest @ ..] = digits.as_bytes()
        && rest.iter().all(u8::is_ascii_digit)
        && rest.last() != Some(&b'0')
    {
        out.push_str(sign);
        out.push_str(digits.get(..1).unwrap_or_default());
        if !rest.is_empty() {
            out.push('.');
            out.push_str(digits.get(1..).unwrap_or_default());
        }
        out.push_str("e-05");
        return true;
    }
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return false;
    }
    let int = int.trim_start_matches('0');
    // The significant digits and the exponent of the first one.
    let (digits, exp): (&str, i32) = if int.is_empty() {
        let lead = frac.len() - frac.trim_start_matches('0').len();
        (frac.get(lead..).unwrap_or_default(), -(lead as i32) - 1)
    } else {
        (int, int.len() as i32 - 1)
    };
    // Digits of `int` then `frac` (when `int` has some), trailing zeros dropped.
    let mut all = StackBuf { bytes: [0; 40], len: 0 };
    let more = if int.is_empty() { "" } else { frac };
    if digits.len() + more.len() > all.bytes.len() {
        return false;
    }
    for b in digits.bytes().chain(more.bytes()) {
        if let Some(slot) = all.bytes.get_mut(all.len) {
            *slot = b;
        }
        all.len += 1;
    }
    let sig = all.as_str().trim_end_matches('0');
    let Some(first) = sig.get(..1) else { return false };
    out.push_str(sign);
    out.push_str(first);
    if sig.len() > 1 {
        out.push('.');
        out.push_str(sig.get(1..).unwrap_or_default());
    }
    push_exponent(out, exp);
    true
}

/// `e±XX`, as `repr` writes an exponent: the sign always, two digits at least.
fn push_exponent(out: &mut String, exp: i32) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    if exp.unsigned_abs() < 10 {
        out.push('0');
    }
    write_int(out, i64::from(exp.unsigned_abs()));
}

/// An integer in decimal, as `repr` writes it (without `core::fmt`).
fn write_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut v = i.unsigned_abs();
    loop {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // ASCII digits only.
    out.push_str(std::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default());
}

/// A small fixed buffer to format into without allocating.
struct StackBuf {
    bytes: [u8; 40],
    len: usize,
}

impl StackBuf {
    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
    }
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python value of JSON `bytes`, equal to `json.loads(bytes)`, built here
/// for the usual cases (objects, arrays, strings, 64-bit integers, floats,
/// `true`/`false`/`null`, `NaN`/`Infinity`); anything else (big integers, lone
/// surrogates, invalid JSON or UTF-8, nesting deeper than [`MAX_DEPTH`]) goes
/// to `json.loads`, so results and errors are the module's.
pub fn from_json<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    from_json_cached(py, bytes, &mut StrCache::default())
}

/// Python strings already built for short texts that repeat (dict keys,
/// senders, message types), so decoding many records builds each once, as
/// `pickle.loads` does for the strings it memoized. Bounded: past
/// [`StrCache::MAX`] entries new texts are built every time. One cache serves
/// one call (one batch or one query): it holds no result across calls.
///
/// Hashed with [`FxBuild`], not SipHash: the texts are a few bytes long and
/// hashed once per field of every record read back, where SipHash was a
/// tenth of the time. A crafted batch of colliding texts costs at most
/// [`StrCache::MAX`] comparisons per lookup.
///
/// Object keys are first compared with the key last seen at the same place
/// (nesting depth and position in its object, for the first
/// [`StrCache::SLOTS`] of the outer levels): records of one kind repeat their
/// keys in the same order, so most keys cost one comparison and no hashing.
#[derive(Default)]
pub struct StrCache {
    map: std::collections::HashMap<Box<[u8]>, Py<PyString>, FxBuild>,
    /// The key last seen at each (depth, slot), by `depth * SLOTS + slot`:
    /// its bytes (escape-free) and its string.
    recent: Vec<Option<Known>>,
}

/// A text (escape-free bytes, UTF-8 checked) and its Python string.
type Known = (Box<[u8]>, Py<PyString>);

/// The Fx hash (rustc's): a multiply and a rotate per 8 bytes.
#[derive(Default, Clone, Copy)]
pub struct FxBuild;

impl std::hash::BuildHasher for FxBuild {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    /// The length `Hash` for `[u8]` writes before the bytes: one word.
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A Python string of UTF-8 `bytes` (checked by CPython as it decodes them);
/// `Unsupported` if they are not UTF-8.
fn new_str<'py>(py: Python<'py>, bytes: &[u8]) -> Result<Bound<'py, PyString>, Unsupported> {
    PyString::from_bytes(py, bytes).map_err(|_| Unsupported)
}

impl StrCache {
    /// Positions remembered per object, at each of the first [`StrCache::DEPTHS`] levels.
    const SLOTS: usize = 16;
    const DEPTHS: usize = 2;
    const MAX: usize = 256;
    /// Longer texts are rarely repeated keys; not worth hashing.
    const MAX_LEN: usize = 48;

    pub fn get<'py>(&mut self, py: Python<'py>, s: &str) -> Bound<'py, PyString> {
        if s.len() > Self::MAX_LEN {
            return PyString::new(py, s);
        }
        if let Some(v) = self.map.get(s.as_bytes()) {
            return v.bind(py).clone();
        }
        let v = PyString::new(py, s);
        if self.map.len() < Self::MAX {
            self.map.insert(s.as_bytes().into(), v.clone().unbind());
        }
        v
    }

    /// [`StrCache::get`] of bytes not yet checked as UTF-8 (cached ones were).
    fn get_bytes<'py>(&mut self, py: Python<'py>, b: &[u8]) -> Result<Bound<'py, PyString>, Unsupported> {
        if let Some(v) = self.map.get(b) {
            return Ok(v.bind(py).clone());
        }
        let v = new_str(py, b)?;
        if b.len() <= Self::MAX_LEN && self.map.len() < Self::MAX {
            self.map.insert(b.into(), v.clone().unbind());
        }
        Ok(v)
    }

    /// The key last seen as the `slot`-th of an object at nesting `depth`, if remembered there.
    fn recent(&mut self, depth: usize, slot: usize) -> Option<&mut Option<Known>> {
        if depth >= Self::DEPTHS || slot >= Self::SLOTS {
            return None;
        }
        if self.recent.is_empty() {
            self.recent.resize_with(Self::DEPTHS * Self::SLOTS, || None);
        }
        self.recent.get_mut(depth * Self::SLOTS + slot)
    }
}

/// [`from_json`] with strings taken from and added to `cache`.
pub fn from_json_cached<'py>(py: Python<'py>, bytes: &[u8], cache: &mut StrCache) -> PyResult<Bound<'py, PyAny>> {
    // UTF-8 is checked string by string (outside strings only ASCII fits the grammar).
    let mut p = Parser { s: bytes, at: 0, cache };
    if let Ok(v) = p.value(py, 0) {
        p.ws();
        if p.at == bytes.len() {
            return Ok(v);
        }
    }
    let loads = LOADS.import(py, "json", "loads")?;
    loads.call1((PyBytes::new(py, bytes),))
}

/// Powers of ten exactly representable as doubles.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A JSON string's contents.
enum Text<'a> {
    /// Without escapes: the bytes between the quotes, as they are.
    Plain(&'a [u8]),
    /// With escapes, decoded.
    Decoded(Vec<u8>),
}

struct Parser<'a> {
    /// The input (UTF-8 not yet checked).
    s: &'a [u8],
    at: usize,
    cache: &'a mut StrCache,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Past a container's opening bracket (at `self.at`) and any white space:
    /// whether its `close` follows at once (then past that too: it is empty).
    #[inline(always)]
    fn opens_empty(&mut self, close: u8) -> bool {
        self.at += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.at += 1;
            return true;
        }
        false
    }

    /// After a container's item: past a `,` (`true`, another item follows) or
    /// past the container's `close` (`false`); anything else is an error.
    #[inline(always)]
    fn another(&mut self, close: u8) -> Result<bool, Unsupported> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Unsupported),
        }
    }

    fn eat(&mut self, lit: &[u8]) -> Result<(), Unsupported> {
        if self.s.get(self.at..self.at + lit.len()) == Some(lit) {
            self.at += lit.len();
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// An object key (the `slot`-th of its object at nesting `depth`): first
    /// compared with the key last seen there, else from the cache.
    fn key<'py>(&mut self, py: Python<'py>, depth: usize, slot: usize) -> Result<Bound<'py, PyString>, Unsupported> {
        if self.peek() != Some(b'"') {
            return Err(Unsupported);
        }
        let start = self.at + 1;
        let rest = self.s.get(start..).unwrap_or_default();
        if let Some(Some((key, v))) = self.cache.recent(depth, slot)
            && rest.starts_with(key)
            && rest.get(key.len()) == Some(&b'"')
        {
            self.at = start + key.len() + 1;
            return Ok(v.bind(py).clone());
        }
        let b = match self.text()? {
            Text::Plain(b) => b,
            Text::Decoded(b) => return new_str(py, &b),
        };
        let v = self.cache.get_bytes(py, b)?;
        if let Some(place) = self.cache.recent(depth, slot) {
            *place = Some((b.into(), v.clone().unbind()));
        }
        Ok(v)
    }

    /// A value at nesting `depth`.
    fn value<'py>(&mut self, py: Python<'py>, depth: usize) -> Result<Bound<'py, PyAny>, Unsupported> {
        if depth > MAX_DEPTH {
            return Err(Unsupported);
        }
        self.ws();
        match self.peek().ok_or(Unsupported)? {
            b'{' => {
                let d = PyDict::new(py);
                if self.opens_empty(b'}') {
                    return Ok(d.into_any());
                }
                let mut slot = 0;
                loop {
                    self.ws();
                    let k = self.key(py, depth, slot)?;
                    self.ws();
                    self.eat(b":")?;
                    let v = self.value(py, depth + 1)?;
                    slot += 1;
                    d.set_item(k, v).map_err(|_| Unsupported)?;
                    if !self.another(b'}')? {
                        return Ok(d.into_any());
                    }
                }
            }
            b'[' => {
                let l = PyList::empty(py);
                if self.opens_empty(b']') {
                    return Ok(l.into_any());
                }
                loop {
                    let v = self.value(py, depth + 1)?;
                    l.append(v).map_err(|_| Unsupported)?;
                    if !self.another(b']')? {
                        return Ok(l.into_any());
                    }
                }
            }
            b'"' => {
                let s = match self.text()? {
                    Text::Plain(b) => new_str(py, b)?,
                    Text::Decoded(b) => new_str(py, &b)?,
                };
                Ok(s.into_any())
            }
            b't' => self.eat(b"true").map(|_| PyBool::new(py, true).to_owned().into_any()),
            b'f' => self.eat(b"false").map(|_| PyBool::new(py, false).to_owned().into_any()),
            b'n' => self.eat(b"null").map(|_| py.None().into_bound(py)),
            b'N' => self.eat(b"NaN").map(|_| PyFloat::new(py, f64::NAN).into_any()),
            b'I' => self.eat(b"Infinity").map(|_| PyFloat::new(py, f64::INFINITY).into_any()),
            b'-' if self.s.get(self.at..self.at + 9) == Some(b"-Infinity") => {
                self.at += 9;
                Ok(PyFloat::new(py, f64::NEG_INFINITY).into_any())
            }
            _ => self.number(py),
        }
    }

    /// Digits from `self.at` on, accumulated into `m` (wrapping: callers
    /// count the digits); how many.
    #[inline(always)]
    fn digits(&mut self, m: &mut u64) -> usize {
        let start = self.at;
        while let Some(d) = self.peek().map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
            *m = m.wrapping_mul(10).wrapping_add(u64::from(d));
            self.at += 1;
        }
        self.at - start
    }

    /// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    /// Integers of up to 18 digits and floats of up to 19 significant digits
    /// below 2^53 with a power of ten up to 22 (exact doubles both, so one
    /// correctly rounded multiplication or division gives the nearest double:
    /// Clinger's fast path) are computed here; other floats go to Rust's
    /// correctly rounded `parse`, other integers to `i64`'s (then to `json`).
    fn number<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Unsupported> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let mut m = 0u64;
        let int_start = self.at;
        let int_digits = self.digits(&mut m);
        if int_digits == 0 || (int_digits > 1 && self.s.get(int_start) == Some(&b'0')) {
            return Err(Unsupported);
        }
        let mut frac_digits = 0;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.at += 1;
            frac_digits = self.digits(&mut m);
            if frac_digits == 0 {
                return Err(Unsupported);
            }
            float = true;
        }
        let mut exp = 0i64;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let exp_negative = self.peek() == Some(b'-');
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            let mut e = 0u64;
            let n = self.digits(&mut e);
            if n == 0 {
                return Err(Unsupported);
            }
            // Past 18 digits the exponent is out of any double's range anyway.
            let e = if n > 18 { i64::MAX / 2 } else { e as i64 };
            exp = if exp_negative { -e } else { e };
            float = true;
        }
        let digits = int_digits + frac_digits;
        if !float {
            if digits <= 18 {
                let v = m as i64;
                return Ok((if negative { -v } else { v }).into_pyobject(py).map_err(|_| Unsupported)?.into_any());
            }
            let text = std::str::from_utf8(self.s.get(start..self.at).unwrap_or_default()).map_err(|_| Unsupported)?;
            let i: i64 = text.parse().map_err(|_| Unsupported)?;
            return Ok(i.into_pyobject(py).map_err(|_| Unsupported)?.into_any());
        }
        let e10 = exp.saturating_sub(frac_digits as i64);
        let f = if digits <= 19 && m <= 1 << 53 && (-22..=22).contains(&e10) {
            let power = POW10.get(e10.unsigned_abs() as usize).copied().unwrap_or(1.0);
            let f = if e10 < 0 { m as f64 / power } else { m as f64 * power };
            if negative { -f } else { f }
        } else {
            let text = std::str::from_utf8(self.s.get(start..self.at).unwrap_or_default()).map_err(|_| Unsupported)?;
            text.parse().map_err(|_| Unsupported)?
        };
        Ok(PyFloat::new(py, f).into_any())
    }

    fn hex4(&mut self) -> Result<u32, Unsupported> {
        let h = self.s.get(self.at..self.at + 4).ok_or(Unsupported)?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return Err(Unsupported);
        }
        let h = std::str::from_utf8(h).map_err(|_| Unsupported)?;
        let v = u32::from_str_radix(h, 16).map_err(|_| Unsupported)?;
        self.at += 4;
        Ok(v)
    }

    /// A string's contents, past its closing quote (`self.at` at its opening one).
    fn text(&mut self) -> Result<Text<'a>, Unsupported> {
        self.eat(b"\"")?;
        let start = self.at;
        // Fast path: no escapes.
        loop {
            match self.peek().ok_or(Unsupported)? {
                b'"' => {
                    let s = self.s.get(start..self.at).unwrap_or_default();
                    self.at += 1;
                    return Ok(Text::Plain(s));
                }
                b'\\' => break,
                b if b < 0x20 => return Err(Unsupported),
                _ => self.at += 1,
            }
        }
        let mut out = Vec::from(self.s.get(start..self.at).unwrap_or_default());
        loop {
            let run = self.at;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.extend_from_slice(self.s.get(run..self.at).unwrap_or_default());
            match self.peek().ok_or(Unsupported)? {
                b'"' => {
                    self.at += 1;
                    return Ok(Text::Decoded(out));
                }
                b'\\' => {
                    self.at += 1;
                    let e = self.peek().ok_or(Unsupported)?;
                    self.at += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&hi) {
                                // A surrogate pair, or (lone) left to `json`.
                                self.eat(b"\\u")?;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(Unsupported);
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(c).ok_or(Unsupported)?
                        }
                        _ => return Err(Unsupported),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => return Err(Unsupported),
            }
        }
    }
}

/// `json.loads(data)`, parsed in Rust (see [`from_json`]); for tests.
#[pyfunction]
fn decode_json<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    from_json(py, data)
}

/// `data` as compact JSON bytes, exactly as
/// `json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()`.
#[pyfunction]
fn encode_json<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(data.py(), &to_json(data)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_json, m)?)?;
    m.add_function(wrap_pyfunction!(decode_json, m)?)
}
