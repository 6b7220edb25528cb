//! MinHash signatures with locality-sensitive hashing (Broder 1997; Leskovec,
//! Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3): finds similar texts
//! without comparing every pair. Seeded and deterministic: no random state, no
//! dependence on hash-map order.

use std::collections::{BTreeMap, BTreeSet};

/// Number of hash functions in a signature.
const NUM_HASHES: usize = 64;
/// Bands × rows = `NUM_HASHES`. With 16 bands of 4 rows, pairs with Jaccard 0.5 meet
/// in some band with probability 1 − (1 − 0.5⁴)¹⁶ ≈ 0.64 and pairs at 0.7 with ≈ 0.98;
/// candidates are then checked exactly.
const BANDS: usize = 16;
const ROWS: usize = NUM_HASHES / BANDS;
/// Fixed seed: the same texts always give the same clusters.
const SEED: u64 = 0x5eed_d12e_a111_0001;

/// splitmix64 (Steele, Lea & Flood 2014): a fast, well-mixed 64-bit permutation.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a 64 of a token: stable across runs and platforms.
fn hash_token(token: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in token.as_bytes() {
        h ^= u64::from(*byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Returns the shingles of normalised text: its words and word pairs, hashed.
pub fn shingles(text: &str) -> BTreeSet<u64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: BTreeSet<u64> = words.iter().map(|w| hash_token(w)).collect();
    for pair in words.windows(2) {
        out.insert(hash_token(&format!("{} {}", pair[0], pair[1])));
    }
    out
}

/// Returns the exact Jaccard similarity |A ∩ B| / |A ∪ B| (1 for two empty sets).
pub fn jaccard(a: &BTreeSet<u64>, b: &BTreeSet<u64>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common = a.intersection(b).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

fn minhash(shingles: &BTreeSet<u64>) -> [u64; NUM_HASHES] {
    let mut signature = [u64::MAX; NUM_HASHES];
    for &token in shingles {
        for (i, slot) in signature.iter_mut().enumerate() {
            let h = mix(token ^ mix(SEED.wrapping_add(i as u64)));
            if h < *slot {
                *slot = h;
            }
        }
    }
    signature
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index becomes the root, so cluster ids are stable.
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[high] = low;
        }
    }
}

/// Groups items whose shingle sets have Jaccard similarity ≥ `threshold`
/// (transitively). Returns, for each item, the index of its cluster's first item.
///
/// Candidate pairs come from LSH buckets; each candidate is verified exactly. Inside
/// a bucket items are checked against their neighbours in index order, so the work
/// stays linear in the bucket size.
pub fn cluster(items: &[BTreeSet<u64>], threshold: f64) -> Vec<usize> {
    let mut sets = UnionFind {
        parent: (0..items.len()).collect(),
    };
    let signatures: Vec<[u64; NUM_HASHES]> = items.iter().map(minhash).collect();
    for band in 0..BANDS {
        let mut buckets: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, signature) in signatures.iter().enumerate() {
            if items[i].is_empty() {
                continue;
            }
            let mut h = mix(band as u64);
            for value in &signature[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ value);
            }
            buckets.entry(h).or_default().push(i);
        }
        for members in buckets.values().filter(|m| m.len() > 1) {
            for pair in members.windows(2) {
                if jaccard(&items[pair[0]], &items[pair[1]]) >= threshold {
                    sets.union(pair[0], pair[1]);
                }
            }
            let first = members[0];
            for &other in &members[2..] {
                if jaccard(&items[first], &items[other]) >= threshold {
                    sets.union(first, other);
                }
            }
        }
    }
    (0..items.len()).map(|i| sets.find(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_cluster_and_different_texts_do_not() {
        let texts = [
            "always run mix format before committing",
            "always run mix format before you commit",
            "the deploy branch is release",
            "always run mix format before committing please",
            "use pnpm not npm",
        ];
        let items: Vec<_> = texts.iter().map(|t| shingles(t)).collect();
        let clusters = cluster(&items, 0.5);
        assert_eq!(clusters[0], clusters[1]);
        assert_eq!(clusters[0], clusters[3]);
        assert_ne!(clusters[0], clusters[2]);
        assert_ne!(clusters[2], clusters[4]);
        assert_eq!(clusters, cluster(&items, 0.5), "deterministic");
    }

    #[test]
    fn jaccard_is_exact() {
        let a = shingles("a b c");
        let b = shingles("a b d");
        // {a, b, c, a b, b c} vs {a, b, d, a b, b d}: 3 shared of 7.
        assert!((jaccard(&a, &b) - 3.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn large_identical_groups_stay_linear_and_merge() {
        let items: Vec<_> = (0..2000).map(|_| shingles("same text here")).collect();
        let clusters = cluster(&items, 0.9);
        assert!(clusters.iter().all(|&c| c == 0));
    }
}
