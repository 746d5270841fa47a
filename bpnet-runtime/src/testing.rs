//! Finite-difference helpers for the kernel tests, and their test values.

/// Central-difference gradient of `f` at `x`, step `1e-5`, in f64.
pub fn numeric_grad(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = 1e-5;
    let mut p = x.to_vec();
    (0..x.len())
        .map(|i| {
            p[i] = x[i] + h;
            let up = f(&p);
            p[i] = x[i] - h;
            let down = f(&p);
            p[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Largest relative error `|a − n| / max(|a|, |n|, 1e-3)` over the components.
pub fn rel_err(a: &[f64], n: &[f64]) -> f64 {
    assert_eq!(a.len(), n.len());
    a.iter()
        .zip(n)
        .map(|(a, n)| (a - n).abs() / a.abs().max(n.abs()).max(1e-3))
        .fold(0.0, f64::max)
}

/// Step of [`numeric_jacobian`]: central first differences in f64 are then exact to about
/// `h² |f‴| / 6 ≈ 2e-9 |f‴|` (truncation) plus `ε |f| / h ≈ 1e-12 |f|` (rounding).
pub const JACOBIAN_STEP: f64 = 1e-4;

/// Step of [`numeric_second`]: central second differences in f64 are then exact to about
/// `h² |f⁗| / 12 ≈ 1e-7 |f⁗|` (truncation) plus `4 ε |f| / h² ≈ 1e-9 |f|` (rounding).
pub const SECOND_STEP: f64 = 1e-3;

/// Central-difference Jacobian of `f: ℝⁿ → ℝᵐ` at `x` (`f(x, out)` writes the `m` outputs), step
/// [`JACOBIAN_STEP`], row-major `m × n`: `j[o * n + i] ≈ ∂f_o/∂x_i`.
pub fn numeric_jacobian(x: &[f64], m: usize, f: impl Fn(&[f64], &mut [f64])) -> Vec<f64> {
    let (n, h) = (x.len(), JACOBIAN_STEP);
    let mut j = vec![0.0; m * n];
    let (mut p, mut up, mut down) = (x.to_vec(), vec![0.0; m], vec![0.0; m]);
    for i in 0..n {
        p[i] = x[i] + h;
        f(&p, &mut up);
        p[i] = x[i] - h;
        f(&p, &mut down);
        p[i] = x[i];
        for o in 0..m {
            j[o * n + i] = (up[o] - down[o]) / (2.0 * h);
        }
    }
    j
}

/// The diagonal Gauss–Newton back-propagation of `ddy` through `f` at `x`, from the
/// finite-difference Jacobian `J` of [`numeric_jacobian`]: `Σ_o J[o][i]² · ddy[o]` for each `i`
/// (`f` writes `ddy.len()` outputs). What a bbprop kernel must compute, found independently.
pub fn gauss_newton_diag(x: &[f64], ddy: &[f64], f: impl Fn(&[f64], &mut [f64])) -> Vec<f64> {
    let (n, m) = (x.len(), ddy.len());
    let j = numeric_jacobian(x, m, f);
    (0..n)
        .map(|i| (0..m).map(|o| j[o * n + i] * j[o * n + i] * ddy[o]).sum())
        .collect()
}

/// Central second differences of `f` at `x`, step [`SECOND_STEP`]: the diagonal of its Hessian,
/// `(f(x + h eᵢ) − 2 f(x) + f(x − h eᵢ)) / h²` for each `i`.
pub fn numeric_second(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let h = SECOND_STEP;
    let mid = f(x);
    let mut p = x.to_vec();
    (0..x.len())
        .map(|i| {
            p[i] = x[i] + h;
            let up = f(&p);
            p[i] = x[i] - h;
            let down = f(&p);
            p[i] = x[i];
            (up - 2.0 * mid + down) / (h * h)
        })
        .collect()
}

/// `n` pseudo-random values in `[0.1, 2)`, from `seed`: second derivatives to back-propagate
/// (positive, as Gauss–Newton ones are).
pub fn positive(n: usize, seed: u64) -> Vec<f64> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0.1..2.0)).collect()
}

/// `v` rounded to `f32`.
pub fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&a| a as f32).collect()
}

/// `v` widened to `f64` (from `f32`, or as it is).
pub fn to_f64<F: Into<f64> + Copy>(v: &[F]) -> Vec<f64> {
    v.iter().map(|&a| a.into()).collect()
}

/// The largest difference between `a` and `b` over the largest value of `b`: how far two
/// computations of the same values in different orders are apart, as a fraction of their size.
pub fn scaled_off(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

/// `len` values with all their mantissa bits in use (an LCG), in `[-1, 1)`: a product that is
/// not fused, or sums in another order, would round differently.
pub fn noise<F: crate::Float>(len: usize, seed: u64) -> Vec<F> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            F::from_f64(((x >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0)
        })
        .collect()
}
