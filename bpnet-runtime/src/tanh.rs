//! The lecture's sigmoid module with trainable biases: `(X_out)_i = tanh((X_in)_i + B_i)`.
//!
//! bprop uses the saved output: `tanh'(x + b) = 1 − y²`, so nothing else is kept from fprop.
//!
//! `f32` computes tanh with [`crate::approx::tanh`], a rational function that vectorises (within
//! 3.6e-7 of the exact value; libm's scalar `tanhf` took most of a training step's time), `f64`
//! with libm's `tanh`.

use crate::bias_act::bias_activation_kernels;

/// `tanh'(z) = 1 − tanh(z)²`, from the output.
#[inline(always)]
fn slope_f32(y: f32) -> f32 {
    1.0 - y * y
}

#[inline(always)]
fn slope_f64(y: f64) -> f64 {
    1.0 - y * y
}

/// The batch's pass, compiled for the CPU's widest vectors (`wide::map_f32`).
#[cfg(target_arch = "x86_64")]
fn wide_f32(y: &mut [f32]) -> bool {
    crate::wide::map_f32(y, crate::approx::tanh)
}

#[cfg(target_arch = "x86_64")]
bias_activation_kernels!(
    f32,
    "tanh",
    crate::approx::tanh,
    super::slope_f32,
    Some(super::wide_f32)
);
#[cfg(not(target_arch = "x86_64"))]
bias_activation_kernels!(f32, "tanh", crate::approx::tanh, super::slope_f32, None);
bias_activation_kernels!(f64, "tanh", crate::Float::tanh, super::slope_f64, None);

#[cfg(test)]
mod tests {
    use crate::testing::{numeric_grad, rel_err};

    /// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
    const TOL: f64 = 1e-6;

    fn energy(b: &[f64], x: &[f64], dy: &[f64]) -> f64 {
        let mut y = vec![0.0; x.len()];
        super::f64::fprop(b, x, &mut y);
        y.iter().zip(dy).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn bprop_matches_finite_differences() {
        let b = [0.1, -0.4, 0.8, 0.0];
        let x = [0.5, 1.7, -2.2, 0.03];
        let dy = [1.0, -0.5, 0.25, 2.0];
        let mut y = [0.0; 4];
        super::f64::fprop(&b, &x, &mut y);
        assert_eq!(y[1], crate::Float::tanh(1.7f64 - 0.4));
        let (mut dx, mut db) = ([9.0; 4], [0.0; 4]);
        super::f64::bprop(&y, &dy, &mut dx, &mut db);
        let ndx = numeric_grad(&x, |x| energy(&b, x, &dy));
        let ndb = numeric_grad(&b, |b| energy(b, &x, &dy));
        assert!(rel_err(&dx, &ndx) < TOL, "{dx:?} {ndx:?}");
        assert!(rel_err(&db, &ndb) < TOL, "{db:?} {ndb:?}");

        let mut dx2 = [1.0; 4];
        super::f64::bprop_acc(&y, &dy, &mut dx2, &mut db);
        let want: Vec<f64> = ndx.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&dx2, &want) < TOL);
        let want: Vec<f64> = ndb.iter().map(|v| 2.0 * v).collect();
        assert!(rel_err(&db, &want) < TOL);
    }

    /// The biases-only kernels add into `dB` exactly what the full ones add, bit for bit.
    #[test]
    fn params_only_kernels_equal_the_db_part() {
        let y = [0.3, -0.9, 0.05, 0.7, -0.2, 0.6];
        let dy = [1.0, -0.5, 0.25, 2.0, 0.1, -1.5];
        let (mut dx, mut db, mut db_only) = ([0.0; 3], [0.5; 3], [0.5; 3]);
        super::f64::bprop(&y[..3], &dy[..3], &mut dx, &mut db);
        super::f64::bprop_params(&y[..3], &dy[..3], &mut db_only);
        assert_eq!(db_only, db);
        let mut dxs = [0.0; 6];
        super::f64::bprop_batch(&y, &dy, &mut dxs, &mut db, 2);
        super::f64::bprop_batch_params(&y, &dy, &mut db_only, 2);
        assert_eq!(db_only, db);

        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (y, dy) = (f(&y), f(&dy));
        let (mut dxs, mut db, mut db_only) = ([0.0f32; 6], [0.5f32; 3], [0.5f32; 3]);
        super::f32::bprop_batch_acc(&y, &dy, &mut dxs, &mut db, 2);
        super::f32::bprop_batch_params(&y, &dy, &mut db_only, 2);
        assert_eq!(db_only, db);
    }

    /// `f32` goes through the rational tanh, the same bits per sample and per batch row.
    #[test]
    fn f32_uses_the_rational_tanh() {
        // 4 rows of 37 (the batch goes through the widest vectors the CPU has, with a tail).
        let b: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) / 7.0).collect();
        let x: Vec<f32> = (0..148)
            .map(|i| ((i * 29 % 61) as f32 - 30.0) / 3.0)
            .collect();
        let (mut y, mut rows) = (vec![0.0f32; 148], vec![0.0f32; 148]);
        super::f32::fprop_batch(&b, &x, &mut y, 4);
        for (xr, yr) in x.chunks(37).zip(rows.chunks_mut(37)) {
            super::f32::fprop(&b, xr, yr);
        }
        for (i, (v, r)) in y.iter().zip(&rows).enumerate() {
            assert_eq!(v.to_bits(), r.to_bits(), "element {i}");
            assert_eq!(*v, crate::approx::tanh(x[i] + b[i % 37]));
        }
        assert!(y.contains(&-1.0) && y.contains(&1.0));
    }

    #[test]
    fn f32_agrees_with_f64() {
        let (b, x) = ([0.1f32, -0.4], [0.5f32, 1.7]);
        let mut y = [0.0f32; 2];
        super::f32::fprop(&b, &x, &mut y);
        assert!((y[0] as f64 - 0.6f64.tanh()).abs() < 1e-6);
        let (mut dx, mut db) = ([0.0f32; 2], [0.0f32; 2]);
        super::f32::bprop(&y, &[1.0, 1.0], &mut dx, &mut db);
        assert!((dx[1] as f64 - (1.0 - 1.3f64.tanh().powi(2))).abs() < 1e-6);
        assert_eq!(dx, db);
    }

    /// The second-derivative kernels.
    mod bbprop {
        // f32's tanh is within 3.6e-7 of the exact value, so f'² = (1 − y²)² within
        // 2 · 1 · 2 · 3.6e-7 ≈ 1.5e-6, plus rounding.
        crate::bias_act::bias_activation_bbprop_tests!(crate::tanh, 2e-6);
    }

    /// The bias-free kernels.
    mod nobias {
        // Tolerances of f32 against f64: the outputs' as in the tests above, and `dx`, `ddx` per
        // unit of `dy` those of the bbprop tests (the slope's error is at most the one of f'²).
        crate::bias_act::bias_activation_nobias_tests!(crate::tanh, 4e-7, 2e-6);
    }
}
