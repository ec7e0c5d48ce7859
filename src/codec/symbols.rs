//! The remote write 2.0 symbol table: every string of a request stored once, referenced by
//! index. Index 0 is always the empty string.

use super::error::DecodeError;
use rustc_hash::FxHashMap;

/// Interns strings while a 2.0 request is encoded.
#[derive(Debug)]
pub struct SymbolTable<'a> {
    index: FxHashMap<Key<'a>, u32>,
    symbols: Vec<&'a str>,
}

/// A symbol as a hash-map key. Equality is compared inline, eight bytes at a time: label
/// strings are short, and the call to `memcmp` that `str`'s equality makes cost a sixth of a
/// receiver's whole time per request (measured with `examples/profile_receive`).
#[derive(Clone, Copy, Debug)]
struct Key<'a>(&'a str);

impl std::hash::Hash for Key<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h);
    }
}

impl PartialEq for Key<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
        for (x, y) in (&mut ca).zip(&mut cb) {
            if x != y {
                return false;
            }
        }
        ca.remainder().iter().zip(cb.remainder()).all(|(x, y)| x == y)
    }
}

impl Eq for Key<'_> {}

impl Default for SymbolTable<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> SymbolTable<'a> {
    /// A table holding only `""` at index 0.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A table with room for about `n` symbols before it grows.
    pub fn with_capacity(n: usize) -> Self {
        let mut index = FxHashMap::with_capacity_and_hasher(n, Default::default());
        index.insert(Key(""), 0);
        let mut symbols = Vec::with_capacity(n);
        symbols.push("");
        SymbolTable { index, symbols }
    }

    /// The reference of `s`, adding it if it is new.
    #[inline]
    pub fn intern(&mut self, s: &'a str) -> u32 {
        let next = self.symbols.len() as u32;
        let r = *self.index.entry(Key(s)).or_insert(next);
        if r == next {
            self.symbols.push(s);
        }
        r
    }

    /// The symbols in reference order, `""` first.
    pub fn symbols(&self) -> &[&'a str] {
        &self.symbols
    }
}

/// Looks up `reference` in a decoded symbol table; `series` names the series in the error.
///
/// # Errors
/// [`DecodeError::SymbolRefOutOfRange`] if the reference is past the end of the table.
#[inline]
pub fn resolve<'a>(symbols: &[&'a str], reference: u64, series: usize) -> Result<&'a str, DecodeError> {
    usize::try_from(reference).ok().and_then(|i| symbols.get(i)).copied().ok_or(DecodeError::SymbolRefOutOfRange {
        series,
        reference,
        symbols: symbols.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn interns_once_with_empty_string_first() {
        let mut t = SymbolTable::new();
        assert_eq!(t.intern("job"), 1);
        assert_eq!(t.intern(""), 0);
        assert_eq!(t.intern("api"), 2);
        assert_eq!(t.intern("job"), 1);
        assert_eq!(t.symbols(), &["", "job", "api"]);
    }

    #[test]
    fn resolving_past_the_end_names_the_series() {
        let err = resolve(&["", "a"], 2, 7).unwrap_err();
        assert_eq!(err, DecodeError::SymbolRefOutOfRange { series: 7, reference: 2, symbols: 2 });
        assert_eq!(resolve(&["", "a"], 1, 0), Ok("a"));
    }
}
