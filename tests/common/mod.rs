//! Helpers shared by the integration tests: finite differences, random samples, and a user
//! module that keeps state between its fprop and bprop.
#![allow(dead_code)]

use bpnet::prelude::*;

/// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
pub const TOL: f64 = 1e-6;

/// Central-difference gradient of `f` at `v`, step 1e-5.
pub fn numeric(f: &mut dyn FnMut(&[f64]) -> f64, v: &[f64]) -> Vec<f64> {
    let h = 1e-5;
    (0..v.len())
        .map(|i| {
            let (mut up, mut down) = (v.to_vec(), v.to_vec());
            up[i] += h;
            down[i] -= h;
            (f(&up) - f(&down)) / (2.0 * h)
        })
        .collect()
}

/// bprop's derivatives against finite differences: `|a − n| / max(|a|, |n|, 1e-3) ≤ TOL`.
pub fn assert_close(what: &str, bprop: &[f64], fd: &[f64]) {
    assert_eq!(bprop.len(), fd.len(), "{what}: lengths differ");
    for (a, n) in bprop.iter().zip(fd) {
        let err = (a - n).abs() / a.abs().max(n.abs()).max(1e-3);
        assert!(
            err <= TOL,
            "{what}: bprop {bprop:?} vs finite differences {fd:?}"
        );
    }
}

/// Equal to 1e-10, relative: `|a − b| ≤ 1e-10 · max(|a|, |b|, 1)` for every pair (a batch against
/// the sums over its samples, which add in another order).
pub fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1.0))
}

/// The bits of a gradient pool, so that `assert_eq!` compares bit for bit (`-0.0 != 0.0`). An
/// `f32` pool too: every `f32` is exactly one `f64`, so equal bits here are equal `f32` bits.
pub fn bits<F: Copy + Into<f64>>(v: &[F]) -> Vec<u64> {
    v.iter().map(|&g| g.into().to_bits()).collect()
}

/// `n` random rows of `W` values in [−1, 1).
pub fn rows<const W: usize>(n: usize, rng: &mut StdRng) -> Vec<[f64; W]> {
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect()
}

/// A user module y = s ∘ x² that keeps its input for bprop, so it is wrong if one value serves
/// several steps or several samples of a batch.
pub struct Square {
    seen: [f64; 4],
}

impl Square {
    /// The input of its last fprop.
    pub fn seen(&self) -> [f64; 4] {
        self.seen
    }
}

impl Module for Square {
    type Float = f64;
    const IN: usize = 4;
    const OUT: usize = 4;
    const PARAMS: usize = 4;
    fn create() -> Self {
        Square { seen: [0.0; 4] }
    }
    fn init<R: bpnet::rand::Rng + ?Sized>(params: &mut [f64], _rng: &mut R) {
        params.fill(0.5);
    }
    fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
        self.seen.copy_from_slice(x);
        for i in 0..4 {
            y[i] = p[i] * x[i] * x[i];
        }
    }
    fn bprop(
        &mut self,
        p: &[f64],
        g: &mut [f64],
        _x: &[f64],
        _y: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        // Reads its own saved input, not the one it is handed.
        let x = self.seen;
        for i in 0..4 {
            dx[i] += 2.0 * p[i] * x[i] * dy[i];
            g[i] += x[i] * x[i] * dy[i];
        }
    }
}
