//! Building result dicts without a `set_item` line per key.

/// Sets `key => value` pairs in the dict `d`, in order; `?` on each insertion
/// (use inside a function returning `PyResult`).
macro_rules! set_items {
    ($d:expr; $($key:expr => $value:expr),* $(,)?) => {{
        $( pyo3::types::PyDictMethods::set_item($d, $key, $value)?; )*
    }};
}

/// A new dict from `key => value` pairs, in order (see [`set_items!`]).
macro_rules! py_dict {
    ($py:expr; $($key:expr => $value:expr),* $(,)?) => {{
        let d = pyo3::types::PyDict::new($py);
        set_items!(&d; $($key => $value),*);
        d
    }};
}

/// [`py_dict!`] of fields of `src` (each `Copy`) under their own names, then
/// any extra `key => value` pairs.
macro_rules! fields_dict {
    ($py:expr, $src:expr; $($field:ident),* $(,)? $(; $($key:expr => $value:expr),* $(,)?)?) => {{
        let src = &$src;
        py_dict!($py; $( stringify!($field) => src.$field, )* $($( $key => $value, )*)?)
    }};
}
