//! Which shard a series goes to: a stable hash of its labels.
//!
//! Stable means the same labels give the same hash in every build, on every platform and
//! after every restart (unlike `std`'s or Fx hashing), because a series must keep going to
//! the same shard for its samples to stay in order. Changing this function, or the number of
//! shards, moves series between shards; do it only with every shard drained.

use crate::model::Label;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over each label's name and value, each followed by a 0xff byte (which UTF-8 never
/// contains, so `a=bc` and `ab=c` differ). Labels must be sorted, as validation ensures.
/// FNV-1a is ten lines and well known; a crate would add nothing but a dependency.
pub fn series_hash(labels: &[Label<'_>]) -> u64 {
    let mut h = FNV_OFFSET;
    for l in labels {
        for part in [l.name.as_bytes(), l.value.as_bytes()] {
            for &b in part.iter().chain(&[0xff]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        }
    }
    h
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
        // Fixed forever: a change would move series between shards.
        assert_eq!(series_hash(&labels), 0x352a_a4b1_5fa2_8bb6, "as computed independently");
        let ab_c = [Label::new("ab", "c")];
        let a_bc = [Label::new("a", "bc")];
        assert_ne!(series_hash(&ab_c), series_hash(&a_bc));
        assert_eq!(shard_of(7, 4), 3);
        assert_eq!(shard_of(7, 0), 0);
    }
}
