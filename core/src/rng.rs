//! A small, fast, seedable random number generator (xoshiro256++ seeded by SplitMix64).
//!
//! Written out here rather than taken from a crate so that a seed gives the same
//! stream on every platform and every version of pgcnn: runs are repeatable.

/// xoshiro256++ (Blackman & Vigna).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn seed(seed: u64) -> Self {
        let mut st = seed;
        Rng {
            s: [
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
            ],
        }
    }

    /// An independent generator derived from this one (for a layer, a worker, a split).
    pub fn fork(&mut self) -> Self {
        Rng::seed(self.next_u64())
    }

    /// The raw state, for checkpoints.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }
    /// Restores a state saved with [`Rng::state`]. An all-zero state is invalid for
    /// xoshiro and is replaced by a seeded one.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            return Rng::seed(0);
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Uniform integer in [0, n). `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        // Lemire's multiply-shift; the bias is below 2^-64 · n, irrelevant here.
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        libm_sqrt(-2.0 * libm_ln(u1)) * libm_cos(2.0 * core::f64::consts::PI * u2)
    }

    /// Gamma(shape, scale) by Marsaglia and Tsang (shape < 1 boosted).
    pub fn gamma(&mut self, shape: f64, scale: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.uniform();
            return self.gamma(shape + 1.0, scale) * num_traits::Float::powf(u, 1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / libm_sqrt(9.0 * d);
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = 1.0 - self.uniform();
            if libm_ln(u) < 0.5 * x * x + d - d * v + d * libm_ln(v) {
                return d * v * scale;
            }
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

fn libm_sqrt(x: f64) -> f64 {
    num_traits::Float::sqrt(x)
}
fn libm_ln(x: f64) -> f64 {
    num_traits::Float::ln(x)
}
fn libm_cos(x: f64) -> f64 {
    num_traits::Float::cos(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_moments_are_right() {
        let mut a = Rng::seed(7);
        let mut b = Rng::seed(7);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let n = 200_000;
        let (mut s, mut s2, mut g) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let x = a.normal();
            s += x;
            s2 += x * x;
            g += a.gamma(3.0, 2.0);
        }
        let mean = s / n as f64;
        assert!(mean.abs() < 0.01, "normal mean {mean}");
        assert!((s2 / n as f64 - 1.0).abs() < 0.02);
        assert!(
            (g / n as f64 - 6.0).abs() < 0.05,
            "gamma mean {}",
            g / n as f64
        );
        let u: f64 = (0..n).map(|_| a.uniform()).sum::<f64>() / n as f64;
        assert!((u - 0.5).abs() < 0.005);
    }
}
