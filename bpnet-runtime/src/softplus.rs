//! The softplus, a smooth ReLU without biases: `y = ln(1 + eˣ)`, whose derivative is the
//! logistic sigmoid `σ(x) = 1 / (1 + e⁻ˣ)`.
//!
//! Both are computed from `x` in a form that neither overflows nor loses the small values:
//! `y = max(x, 0) + ln1p(e^(−|x|))` (for `x = 1000`, `1000 + ln1p(0) = 1000`, not `ln(∞)`; for
//! `x = −50`, `ln1p(1.9e-22) = 1.9e-22` to full precision, where `ln(1 + eˣ)` would round to 0),
//! and `σ(x) = 1 / (1 + e^(−|x|))` for `x ≥ 0`, `e^(−|x|) / (1 + e^(−|x|))` below (no `∞ / ∞`).
//! The output `y` is passed to the derivative kernels like to those of the other pointwise
//! modules, and unused.
//!
//! bbprop (diagonal Gauss–Newton) passes `ddx = ddy ∘ σ(x)²` (the `σ'` term dropped). As
//! everywhere, the functions without `_acc` overwrite `dx`/`ddx` and the `_acc` ones add into
//! it. A minibatch is the same call on the whole row-major slice.

macro_rules! softplus_kernels {
    ($t:ident) => {
        #[doc = concat!("softplus kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// `ln(1 + eˣ)`, stably.
            #[inline(always)]
            fn softplus(x: $t) -> $t {
                x.max(0.0) + crate::Float::ln_1p(crate::Float::exp(-x.abs()))
            }

            /// `σ(x) = 1 / (1 + e⁻ˣ)`, stably.
            #[inline(always)]
            fn sigmoid(x: $t) -> $t {
                let e = crate::Float::exp(-x.abs());
                if x >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                }
            }

            /// fprop: `y = ln(1 + eˣ)`.
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop(x: &[$t], y: &mut [$t]) {
                assert_eq!(x.len(), y.len(), "softplus: widths differ");
                for (yi, &xi) in y.iter_mut().zip(x) {
                    *yi = softplus(xi);
                }
            }

            #[inline(always)]
            fn impl_(x: &[$t], y: &[$t], d: &[$t], dx: &mut [$t], square: bool, accumulate: bool) {
                assert!(
                    x.len() == y.len() && x.len() == d.len() && x.len() == dx.len(),
                    "softplus: widths differ"
                );
                for ((dxi, &xi), &g) in dx.iter_mut().zip(x).zip(d) {
                    let s = sigmoid(xi);
                    let v = if square { s * s * g } else { g * s };
                    if accumulate {
                        *dxi += v;
                    } else {
                        *dxi = v;
                    }
                }
            }

            /// bprop: `dx = dy ∘ σ(x)` (overwritten).
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                impl_(x, y, dy, dx, false, false)
            }

            /// As [`bprop`], but `dx +=`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_acc(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                impl_(x, y, dy, dx, false, true)
            }

            /// bbprop: `ddx = ddy ∘ σ(x)²` (overwritten).
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                impl_(x, y, ddy, ddx, true, false)
            }

            /// As [`bbprop`], but `ddx +=`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_acc(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                impl_(x, y, ddy, ddx, true, true)
            }
        }
    };
}

softplus_kernels!(f32);
softplus_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const X: [f64; 7] = [0.5, -1.7, 2.2, -0.03, 3.0, -6.5, 0.0];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): central
    /// differences at step 1e-5 (bprop) are exact to about `h² |f‴| / 6 ≤ 2e-12` plus rounding
    /// `ε |f| / h ≈ 1e-11`; at step 1e-4 (the Jacobians of bbprop) to `2e-10`, doubled by the
    /// squaring. A wrong slope (e.g. `σ(−x)`, or `σ` in place of `σ²`) is off by 1e-2 or more.
    const TOL: f64 = 1e-8;

    fn energy(x: &[f64], dy: &[f64]) -> f64 {
        let mut y = vec![0.0; x.len()];
        super::f64::fprop(x, &mut y);
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn values() {
        let mut y = [0.0; 4];
        super::f64::fprop(&[0.0, 1.0, -1.0, 5.0], &mut y);
        assert_eq!(y[0], 2f64.ln());
        assert!((y[1] - (1.0 + 1f64.exp()).ln()).abs() < 1e-15);
        assert!((y[2] - (1.0 + (-1f64).exp()).ln()).abs() < 1e-15);
        assert!((y[3] - (1.0 + 5f64.exp()).ln()).abs() < 1e-14);
    }

    /// At ±50 and ±1000 the naive `ln(1 + eˣ)` overflows (`e¹⁰⁰⁰ = ∞`) or rounds to 0
    /// (`1 + e⁻⁵⁰ = 1`); the kernels give the right values, and σ is 0 or 1 with no NaN.
    #[test]
    fn large_inputs() {
        let x = [50.0, -50.0, 1000.0, -1000.0];
        let mut y = [0.0; 4];
        super::f64::fprop(&x, &mut y);
        // ln(1 + e⁵⁰) = 50 + ln1p(e⁻⁵⁰) = 50 + 1.9e-22, which rounds to 50.
        assert_eq!(y[0], 50.0);
        // ln(1 + e⁻⁵⁰) = e⁻⁵⁰ (1 − e⁻⁵⁰/2 …): e⁻⁵⁰ to the last bits.
        assert!(
            (y[1] - (-50f64).exp()).abs() <= 1e-15 * (-50f64).exp(),
            "{}",
            y[1]
        );
        assert!(y[1] > 0.0);
        assert_eq!(y[2], 1000.0);
        // e⁻¹⁰⁰⁰ is below the smallest f64 (e⁻⁷⁴⁵): 0 is the correctly rounded value.
        assert_eq!(y[3], 0.0);
        let (dy, mut dx) = ([1.0; 4], [9.0; 4]);
        super::f64::bprop(&x, &y, &dy, &mut dx);
        assert_eq!(dx[0], 1.0);
        assert!((dx[1] - (-50f64).exp()).abs() <= 1e-15 * (-50f64).exp());
        assert_eq!(dx[2], 1.0);
        assert_eq!(dx[3], 0.0);
        super::f64::bbprop(&x, &y, &dy, &mut dx);
        assert_eq!([dx[0], dx[2], dx[3]], [1.0, 1.0, 0.0]);
        assert!((dx[1] - (-100f64).exp()).abs() <= 1e-14 * (-100f64).exp());

        let x32 = [50.0f32, -50.0, 1000.0, -1000.0];
        let (mut y32, mut dx32) = ([0.0f32; 4], [0.0f32; 4]);
        super::f32::fprop(&x32, &mut y32);
        assert_eq!([y32[0], y32[2], y32[3]], [50.0, 1000.0, 0.0]);
        // e⁻⁵⁰ = 1.93e-22 is a normal f32.
        assert!((y32[1] as f64 - (-50f64).exp()).abs() <= 1e-6 * (-50f64).exp());
        super::f32::bprop(&x32, &y32, &[1.0; 4], &mut dx32);
        assert_eq!([dx32[0], dx32[2], dx32[3]], [1.0, 1.0, 0.0]);
        assert!((dx32[1] as f64 - (-50f64).exp()).abs() <= 1e-6 * (-50f64).exp());
        assert!(y32.iter().chain(&dx32).all(|v| v.is_finite()));
    }

    #[test]
    fn bprop_matches_finite_differences() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75, 3.0];
        let mut y = [0.0; 7];
        super::f64::fprop(&X, &mut y);
        let nd = numeric_grad(&X, |x| energy(x, &dy));
        let mut dx = [9.0; 7];
        super::f64::bprop(&X, &y, &dy, &mut dx);
        assert!(rel_err(&dx, &nd) < TOL, "{dx:?} vs {nd:?}");
        let mut acc = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0, 7.0];
        let start = acc;
        super::f64::bprop_acc(&X, &y, &dy, &mut acc);
        let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
        assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
    }

    #[test]
    fn bbprop_is_the_gauss_newton_diagonal() {
        let ddy = positive(7, 41);
        let mut y = [0.0; 7];
        super::f64::fprop(&X, &mut y);
        let nd = gauss_newton_diag(&X, &ddy, super::f64::fprop);
        let mut ddx = [9.0; 7];
        super::f64::bbprop(&X, &y, &ddy, &mut ddx);
        assert!(rel_err(&ddx, &nd) < TOL, "{ddx:?} vs {nd:?}");
        // σ(−6.5)² ≈ 2e-6 is below the floor 1e-3 of `rel_err`, so also relative to each value
        // alone (the finite differences are as accurate relatively there: `f`, `f'`, `f‴` are
        // all of the order of `eˣ`).
        for (a, n) in ddx.iter().zip(&nd) {
            assert!((a - n).abs() <= TOL * n.abs(), "{a} vs {n}");
        }
        let mut acc = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0, 7.0];
        let start = acc;
        super::f64::bbprop_acc(&X, &y, &ddy, &mut acc);
        let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
        assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
    }

    /// `f32` (libm's `expf`, `log1pf`, each within an ulp or so) against `f64` on the same
    /// inputs: within a few f32 roundings, 1e-6 relative to the values (at most about 7 here).
    #[test]
    fn f32_agrees_with_f64() {
        let x32 = to_f32(&X);
        let dy32 = to_f32(&positive(7, 42));
        let (x, dy) = (to_f64(&x32), to_f64(&dy32));
        let (mut y32, mut dx32, mut ddx32) = ([0.0f32; 7], [0.0f32; 7], [0.0f32; 7]);
        let (mut y, mut dx, mut ddx) = ([0.0; 7], [0.0; 7], [0.0; 7]);
        super::f32::fprop(&x32, &mut y32);
        super::f32::bprop(&x32, &y32, &dy32, &mut dx32);
        super::f32::bbprop(&x32, &y32, &dy32, &mut ddx32);
        super::f64::fprop(&x, &mut y);
        super::f64::bprop(&x, &y, &dy, &mut dx);
        super::f64::bbprop(&x, &y, &dy, &mut ddx);
        for i in 0..7 {
            let close = |a: f32, b: f64| (a as f64 - b).abs() <= 1e-6 * b.abs().max(1e-3);
            assert!(close(y32[i], y[i]), "y {i}: {} vs {}", y32[i], y[i]);
            assert!(close(dx32[i], dx[i]), "dx {i}: {} vs {}", dx32[i], dx[i]);
            assert!(
                close(ddx32[i], ddx[i]),
                "ddx {i}: {} vs {}",
                ddx32[i],
                ddx[i]
            );
        }
    }

    /// A minibatch is the same call on the whole slice: bit for bit the per-row calls.
    #[test]
    fn minibatch_is_row_by_row() {
        let x = [0.5, -1.7, 2.2, -0.03, 3.0, -6.5];
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75];
        let (mut y, mut ddx) = ([0.0; 6], [0.0; 6]);
        super::f64::fprop(&x, &mut y);
        super::f64::bbprop(&x, &y, &dy, &mut ddx);
        for r in 0..2 {
            let s = 3 * r..3 * r + 3;
            let (mut yr, mut ddxr) = ([0.0; 3], [0.0; 3]);
            super::f64::fprop(&x[s.clone()], &mut yr);
            super::f64::bbprop(&x[s.clone()], &yr, &dy[s.clone()], &mut ddxr);
            assert_eq!(yr, y[s.clone()]);
            assert_eq!(ddxr, ddx[s]);
        }
    }

    #[test]
    #[should_panic(expected = "softplus: widths differ")]
    fn fprop_checks_widths() {
        super::f32::fprop(&[1.0; 3], &mut [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "softplus: widths differ")]
    fn bprop_acc_checks_widths() {
        super::f64::bprop_acc(&[1.0; 3], &[1.0; 3], &[1.0; 3], &mut [0.0; 2]);
    }
}
