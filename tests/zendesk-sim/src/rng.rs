//! Deterministic hashing: every generated value is a pure function of the seed and the
//! identifiers of what it describes, so a dataset is reproducible and never needs storing.

/// The SplitMix64 finaliser: a fast, well-mixed 64-bit hash.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a string (an account name) into a seed component.
pub(crate) fn hash_str(s: &str) -> u64 {
    s.bytes()
        .fold(0xCBF2_9CE4_8422_2325, |h, b| mix(h ^ u64::from(b)))
}

/// A stream of pseudo-random draws derived from a seed, a domain tag and an identifier.
#[derive(Clone, Debug)]
pub(crate) struct Draw(u64);

impl Draw {
    /// A stream for object `id` of kind `domain` in the dataset seeded with `seed`.
    pub(crate) fn new(seed: u64, domain: u64, id: u64) -> Self {
        Draw(mix(mix(seed ^ mix(domain)) ^ id))
    }

    /// The next raw 64-bit value.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A value in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One value from `(value, weight)` pairs, with probability proportional to its weight.
    pub(crate) fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (value, weight) in table {
            if roll < u64::from(*weight) {
                return *value;
            }
            roll -= u64::from(*weight);
        }
        table[table.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_distinct_per_id() {
        let a: Vec<u64> = (0..4).map(|_| Draw::new(7, 1, 42).next()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Draw::new(7, 1, 42).next(), Draw::new(7, 1, 43).next());
        assert_ne!(Draw::new(7, 1, 42).next(), Draw::new(8, 1, 42).next());
    }

    #[test]
    fn below_and_weighted_stay_in_range_and_follow_weights() {
        let mut d = Draw::new(1, 2, 3);
        let mut hits = [0u32; 2];
        for _ in 0..10_000 {
            assert!(d.below(10) < 10);
            hits[d.weighted(&[(0usize, 9), (1usize, 1)])] += 1;
        }
        assert!(hits[0] > 8_500 && hits[1] > 700, "{hits:?}");
    }
}
