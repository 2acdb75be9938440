//! Clojure `PersistentHashMap` iteration order for string keys.
//!
//! Clojure hashes a `java.lang.String` key as `Murmur3.hashInt(s.hashCode())`, and a HAMT
//! iterates its entries by the 5-bit chunks of that hash, lowest chunk first. Keys whose 32-bit
//! hashes are equal land in one collision node, which keeps insertion order.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// `java.lang.String.hashCode`: `31 * h + unit` over the UTF-16 code units, wrapping.
pub(crate) fn java_string_hash(s: &str) -> u32 {
    s.encode_utf16()
        .fold(0u32, |h, u| h.wrapping_mul(31).wrapping_add(u32::from(u)))
}

fn mix_k1(k1: u32) -> u32 {
    k1.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

fn mix_h1(h1: u32, k1: u32) -> u32 {
    (h1 ^ k1)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn fmix(mut h1: u32, length: u32) -> u32 {
    h1 ^= length;
    h1 ^= h1 >> 16;
    h1 = h1.wrapping_mul(0x85eb_ca6b);
    h1 ^= h1 >> 13;
    h1 = h1.wrapping_mul(0xc2b2_ae35);
    h1 ^= h1 >> 16;
    h1
}

/// `clojure.lang.Murmur3.hashInt`.
pub(crate) fn murmur3_hash_int(i: u32) -> u32 {
    if i == 0 {
        return 0;
    }
    fmix(mix_h1(0, mix_k1(i)), 4)
}

/// Clojure's `(hash s)` for a string `s` (Clojure 1.6 and later).
pub(crate) fn clojure_string_hash(s: &str) -> u32 {
    murmur3_hash_int(java_string_hash(s))
}

/// The HAMT path of a hash: its 5-bit chunks, lowest first (the last one holds 2 bits).
fn hamt_path(h: u32) -> [u32; 7] {
    let mut path = [0; 7];
    for (level, chunk) in path.iter_mut().enumerate() {
        *chunk = (h >> (5 * level)) & 31;
    }
    path
}

/// Orders `keys` as a Clojure `PersistentHashMap` holding them would iterate. Equal hashes keep
/// their relative input order (collision node), so the sort is stable.
pub fn clojure_hash_order<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    clojure_hash_positions(keys)
        .into_iter()
        .map(|i| keys[i])
        .collect()
}

/// [`clojure_hash_order`] as positions into `keys` (equal keys keep their order).
pub fn clojure_hash_positions(keys: &[&str]) -> Vec<usize> {
    let mut keyed: Vec<([u32; 7], usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (hamt_path(clojure_string_hash(k)), i))
        .collect();
    keyed.sort_by_key(|k| k.0);
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_reference() {
        // From shared/tools/cljhash.py: java_hash("jobs"), str_hasheq("jobs"), str_hasheq("").
        assert_eq!(java_string_hash("jobs"), 3_267_670);
        assert_eq!(clojure_string_hash("jobs"), 867_195_765);
        assert_eq!(clojure_string_hash(""), 0);
    }
}
