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
    let mut out = String::with_capacity(64);
    match write_value(&mut out, data, 0) {
        Ok(()) => Ok(out.into_bytes()),
        Err(Unsupported) => {
            let py = data.py();
            let f = FALLBACK.import(py, "pouw_netops._types", "_json_bytes")?;
            Ok(f.call1((data,))?.cast_into::<PyBytes>()?.as_bytes().to_vec())
        }
    }
}

fn write_value(out: &mut String, v: &Bound<'_, PyAny>, depth: usize) -> Result<(), Unsupported> {
    if depth > MAX_DEPTH {
        return Err(Unsupported);
    }
    if v.is_none() {
        out.push_str("null");
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        write_str(out, s.to_str().map_err(|_| Unsupported)?);
    } else if let Ok(b) = v.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if let Ok(i) = v.cast_exact::<PyInt>() {
        let i: i64 = i.extract().map_err(|_| Unsupported)?;
        let _ = write!(out, "{i}");
    } else if let Ok(f) = v.cast_exact::<PyFloat>() {
        write_float(out, f.value());
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        out.push('{');
        for (n, (k, item)) in d.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let k = k.cast_exact::<PyString>().map_err(|_| Unsupported)?;
            write_str(out, k.to_str().map_err(|_| Unsupported)?);
            out.push(':');
            write_value(out, &item, depth + 1)?;
        }
        out.push('}');
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        out.push('[');
        for (n, item) in l.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_value(out, &item, depth + 1)?;
        }
        out.push(']');
    } else if let Ok(t) = v.cast_exact::<PyTuple>() {
        out.push('[');
        for (n, item) in t.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_value(out, &item, depth + 1)?;
        }
        out.push(']');
    } else {
        return Err(Unsupported);
    }
    Ok(())
}

/// A JSON string as `json` writes it with `ensure_ascii=False`.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
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
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "1e16", "0e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp < 0 {
            out.push_str("0.");
            for _ in 0..(-exp - 1) {
                out.push('0');
            }
            out.push_str(&digits);
        } else if exp + 1 >= n {
            out.push_str(&digits);
            for _ in 0..(exp + 1 - n) {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// `data` as compact JSON bytes, exactly as
/// `json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()`.
#[pyfunction]
fn encode_json<'py>(data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(data.py(), &to_json(data)?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(encode_json, m)?)
}
