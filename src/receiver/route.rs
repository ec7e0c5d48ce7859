//! Which shard a series goes to: a stable hash of its labels.
//!
//! Stable means the same labels give the same hash in every build, on every platform and
//! after every restart (unlike `std`'s or Fx hashing), because a series must keep going to
//! the same shard for its samples to stay in order. Changing this function, or the number of
//! shards, moves series between shards; do it only with every shard drained.

use crate::model::Label;

/// XXH3-64 (a specified hash: the same value from every implementation) over each label's
/// name and value, each followed by a 0xff byte (which UTF-8 never contains, so `a=bc` and
/// `ab=c` differ). Labels must be sorted, as validation ensures. XXH3 reads eight bytes and
/// more at a time; the byte-at-a-time FNV-1a used before cost a tenth of the receiver's time.
pub fn series_hash(labels: &[Label<'_>]) -> u64 {
    let len: usize = labels.iter().map(|l| l.name.len() + l.value.len() + 2).sum();
    let mut stack = [0u8; 512];
    let mut heap = Vec::new();
    let buf: &mut [u8] = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut at = 0;
    for l in labels {
        for part in [l.name.as_bytes(), l.value.as_bytes()] {
            buf[at..at + part.len()].copy_from_slice(part);
            buf[at + part.len()] = 0xff;
            at += part.len() + 1;
        }
    }
    xxhash_rust::xxh3::xxh3_64(buf)
}

/// The shard (of `shards`) for a series with this hash.
pub fn shard_of(hash: u64, shards: u32) -> u32 {
    (hash % u64::from(shards.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_hash_is_stable_and_separates_names_from_values() {
        let labels = [Label::new("__name__", "up"), Label::new("job", "api")];
        // Fixed: a change moves series between shards (it changed once, from FNV-1a, before
        // the first release). Both values computed
        // independently (Python's xxhash.xxh3_64 over the same bytes).
        assert_eq!(series_hash(&labels), 0xb11d_aa6c_4323_c14b);
        let names: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
        let long: Vec<Label<'_>> = names.iter().map(|n| Label::new(n.as_str(), "v".repeat(40))).collect();
        assert_eq!(series_hash(&long), 0xe152_814b_34dd_010c, "longer than the stack buffer");
        let ab_c = [Label::new("ab", "c")];
        let a_bc = [Label::new("a", "bc")];
        assert_ne!(series_hash(&ab_c), series_hash(&a_bc));
        assert_eq!(shard_of(7, 4), 3);
        assert_eq!(shard_of(7, 0), 0);
    }
}
