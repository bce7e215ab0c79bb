//! Stateless, seeded randomness: every simulated value is a hash of (seed, what, where), so any
//! time window can be regenerated identically without storing anything.

/// SplitMix64 finaliser: a fast, well-mixed 64-bit hash step.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of several parts.
pub fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5EED_u64, |acc, &p| mix(acc ^ mix(p)))
}

/// A uniform float in `[0, 1)` from a hash.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal variate from two hashes (Box–Muller).
pub fn normal(h1: u64, h2: u64) -> f64 {
    let u1 = unit(h1).max(1e-12);
    let u2 = unit(h2);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Stable 64-bit id of a string (FNV-1a), for hashing names.
pub fn str_id(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A sequence of draws from one seed: `draw(k)` is the k-th independent value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draws(pub u64);

impl Draws {
    /// The `k`-th uniform in `[0, 1)`.
    pub fn unit(self, k: u64) -> f64 {
        unit(mix(self.0 ^ mix(k)))
    }

    /// The `k`-th raw 64-bit value.
    pub fn bits(self, k: u64) -> u64 {
        mix(self.0 ^ mix(k))
    }

    /// A standard normal from draws `k` and `k + 1`.
    pub fn normal(self, k: u64) -> f64 {
        normal(self.bits(k), self.bits(k + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_in_range_and_roughly_uniform() {
        let n = 10_000;
        let mean = (0..n).map(|i| unit(mix(i))).sum::<f64>() / n as f64;
        assert!((0.48..0.52).contains(&mean), "mean {mean}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&unit(mix(i)))));
    }
}
