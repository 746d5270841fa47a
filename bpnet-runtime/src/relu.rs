//! The rectified linear unit and its leaky form, without biases: `y = x` where `x > 0`, and
//! `y = a x` elsewhere (`a = 0` for the plain ReLU, the functions without `_leaky`).
//!
//! The derivative is taken from the input `x` (the output would not do for every slope: with
//! `a ≤ 0` the sign of `y` does not tell the side of 0): `1` where `x > 0`, `a` elsewhere. At
//! exactly `x = 0` that is the subgradient `a` (0 for the plain ReLU). The output `y` is passed
//! to the derivative kernels like to those of the other pointwise modules, and unused.
//!
//! bbprop (diagonal Gauss–Newton) passes `ddx = ddy ∘ f'²`: `ddy` where `x > 0`, `a² ddy`
//! elsewhere. As everywhere, the functions without `_acc` overwrite `dx`/`ddx` and the `_acc`
//! ones add into it. A minibatch is the same call on the whole row-major slice.
//!
//! The plain ReLU keeps a NaN input (`y = NaN`) and gives `+0` for every other input `≤ 0`; its
//! derivative kernels select `dy` or `0` (no product, so an infinite `dy` on the flat side gives
//! 0, not NaN).

macro_rules! relu_kernels {
    ($t:ident) => {
        #[doc = concat!("ReLU and leaky ReLU kernels for `", stringify!($t), "`.")]
        pub mod $t {
            #[inline(always)]
            fn check(x: &[$t], y: &[$t], d: &[$t], dx: &[$t]) {
                assert!(
                    x.len() == y.len() && x.len() == d.len() && x.len() == dx.len(),
                    "relu: widths differ"
                );
            }

            /// fprop: `y = max(x, 0)` (`+0` for `x ≤ 0`, NaN kept).
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop(x: &[$t], y: &mut [$t]) {
                assert_eq!(x.len(), y.len(), "relu: widths differ");
                for (yi, &xi) in y.iter_mut().zip(x) {
                    *yi = if xi <= 0.0 { 0.0 } else { xi };
                }
            }

            #[inline(always)]
            fn bprop_impl(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t], accumulate: bool) {
                check(x, y, dy, dx);
                for ((d, &xi), &g) in dx.iter_mut().zip(x).zip(dy) {
                    let v = if xi > 0.0 { g } else { 0.0 };
                    if accumulate {
                        *d += v;
                    } else {
                        *d = v;
                    }
                }
            }

            /// bprop: `dx = dy` where `x > 0`, `0` elsewhere (also at `x = 0`); overwritten.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                bprop_impl(x, y, dy, dx, false)
            }

            /// As [`bprop`], but `dx +=`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_acc(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                bprop_impl(x, y, dy, dx, true)
            }

            /// bbprop: `ddx = ddy` where `x > 0`, `0` elsewhere (`f'² = f'`); overwritten.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                bprop_impl(x, y, ddy, ddx, false)
            }

            /// As [`bbprop`], but `ddx +=`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_acc(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                bprop_impl(x, y, ddy, ddx, true)
            }

            /// fprop of the leaky ReLU: `y = x` where `x > 0`, `a x` elsewhere.
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop_leaky(x: &[$t], y: &mut [$t], a: $t) {
                assert_eq!(x.len(), y.len(), "relu: widths differ");
                for (yi, &xi) in y.iter_mut().zip(x) {
                    *yi = if xi > 0.0 { xi } else { a * xi };
                }
            }

            /// `dx (+)= dy ∘ s` with `s = 1` where `x > 0` and `s = slope` elsewhere.
            #[inline(always)]
            fn leaky_impl(
                x: &[$t],
                y: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                slope: $t,
                accumulate: bool,
            ) {
                check(x, y, dy, dx);
                for ((d, &xi), &g) in dx.iter_mut().zip(x).zip(dy) {
                    let v = if xi > 0.0 { g } else { slope * g };
                    if accumulate {
                        *d += v;
                    } else {
                        *d = v;
                    }
                }
            }

            /// bprop of the leaky ReLU: `dx = dy` where `x > 0`, `a dy` elsewhere (also at
            /// `x = 0`); overwritten.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_leaky(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t], a: $t) {
                leaky_impl(x, y, dy, dx, a, false)
            }

            /// As [`bprop_leaky`], but `dx +=`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_leaky_acc(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t], a: $t) {
                leaky_impl(x, y, dy, dx, a, true)
            }

            /// bbprop of the leaky ReLU: `ddx = ddy` where `x > 0`, `a² ddy` elsewhere;
            /// overwritten.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_leaky(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t], a: $t) {
                leaky_impl(x, y, ddy, ddx, a * a, false)
            }

            /// As [`bbprop_leaky`], but `ddx +=`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_leaky_acc(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t], a: $t) {
                leaky_impl(x, y, ddy, ddx, a * a, true)
            }
        }
    };
}

relu_kernels!(f32);
relu_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    /// Inputs away from the kink (|x| ≥ 0.03 ≫ the steps 1e-5 and 1e-4), so the finite
    /// differences never straddle 0 and are exact up to rounding: the function is linear on each
    /// side, so central differences have no truncation error, and the rounding error is about
    /// `ε |x| / h ≈ 1e-11`. Tolerance 1e-8 relative ([`rel_err`], floor 1e-3).
    const X: [f64; 6] = [0.5, -1.7, 2.2, -0.03, 3.0, -2.9];
    const TOL: f64 = 1e-8;
    const SLOPE: f64 = 0.1;

    fn energy(x: &[f64], dy: &[f64], a: Option<f64>) -> f64 {
        let mut y = vec![0.0; x.len()];
        match a {
            None => super::f64::fprop(x, &mut y),
            Some(a) => super::f64::fprop_leaky(x, &mut y, a),
        }
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn values() {
        let x = [2.0, -3.0, 0.0, -0.0, 0.25];
        let mut y = [9.0; 5];
        super::f64::fprop(&x, &mut y);
        assert_eq!(y, [2.0, 0.0, 0.0, 0.0, 0.25]);
        assert!(y.iter().all(|v| v.is_sign_positive()));
        super::f64::fprop_leaky(&x, &mut y, 0.5);
        assert_eq!(y, [2.0, -1.5, 0.0, 0.0, 0.25]);
        let mut y = [0.0f32; 2];
        super::f32::fprop(&[f32::NAN, -1.0], &mut y);
        assert!(y[0].is_nan());
        assert_eq!(y[1], 0.0);
    }

    #[test]
    fn bprop_matches_finite_differences() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75];
        let y = [0.0; 6]; // unused by the kernels
        for a in [None, Some(SLOPE), Some(-0.3)] {
            let nd = numeric_grad(&X, |x| energy(x, &dy, a));
            let mut dx = [9.0; 6];
            match a {
                None => super::f64::bprop(&X, &y, &dy, &mut dx),
                Some(a) => super::f64::bprop_leaky(&X, &y, &dy, &mut dx, a),
            }
            assert!(rel_err(&dx, &nd) < TOL, "{a:?}: {dx:?} vs {nd:?}");
            // Both sides are exercised: some derivatives pass dy, some do not.
            assert!(dx.iter().zip(&dy).any(|(d, g)| d == g));
            assert!(dx.iter().zip(&dy).any(|(d, g)| d != g));

            let mut acc = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0];
            let start = acc;
            match a {
                None => super::f64::bprop_acc(&X, &y, &dy, &mut acc),
                Some(a) => super::f64::bprop_leaky_acc(&X, &y, &dy, &mut acc, a),
            }
            let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{a:?}: {acc:?} vs {want:?}");
        }
    }

    #[test]
    fn bbprop_is_the_gauss_newton_diagonal() {
        let ddy = positive(6, 31);
        let y = [0.0; 6];
        for a in [None, Some(SLOPE), Some(-0.3)] {
            let nd = gauss_newton_diag(&X, &ddy, |x, y| match a {
                None => super::f64::fprop(x, y),
                Some(a) => super::f64::fprop_leaky(x, y, a),
            });
            let mut ddx = [9.0; 6];
            match a {
                None => super::f64::bbprop(&X, &y, &ddy, &mut ddx),
                Some(a) => super::f64::bbprop_leaky(&X, &y, &ddy, &mut ddx, a),
            }
            assert!(rel_err(&ddx, &nd) < TOL, "{a:?}: {ddx:?} vs {nd:?}");

            let mut acc = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0];
            let start = acc;
            match a {
                None => super::f64::bbprop_acc(&X, &y, &ddy, &mut acc),
                Some(a) => super::f64::bbprop_leaky_acc(&X, &y, &ddy, &mut acc, a),
            }
            let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{a:?}: {acc:?} vs {want:?}");
        }
        // The leaky slope is squared, not passed as is: a² = 0.01 on the negative side.
        let mut ddx = [0.0; 2];
        super::f64::bbprop_leaky(&[-1.0, 1.0], &[0.0; 2], &[2.0, 2.0], &mut ddx, SLOPE);
        assert_eq!(ddx, [2.0 * SLOPE * SLOPE, 2.0]);
    }

    /// At exactly `x = 0` (either sign of zero) the derivative is the subgradient `a`: 0 for the
    /// ReLU, and `a` (`a²` in bbprop) for the leaky form.
    #[test]
    fn subgradient_at_zero() {
        let x = [0.0, -0.0];
        let y = [0.0; 2];
        let dy = [3.0, -5.0];
        let mut dx = [9.0; 2];
        super::f64::bprop(&x, &y, &dy, &mut dx);
        assert_eq!(dx, [0.0, 0.0]);
        super::f64::bbprop(&x, &y, &dy, &mut dx);
        assert_eq!(dx, [0.0, 0.0]);
        super::f64::bprop_leaky(&x, &y, &dy, &mut dx, 0.25);
        assert_eq!(dx, [0.75, -1.25]);
        super::f64::bbprop_leaky(&x, &y, &dy, &mut dx, 0.25);
        assert_eq!(dx, [3.0 / 16.0, -5.0 / 16.0]);
        let mut dx = [9.0f32; 2];
        super::f32::bprop(&[0.0, 0.0], &[0.0; 2], &[3.0, -5.0], &mut dx);
        assert_eq!(dx, [0.0, 0.0]);
        super::f32::bprop_leaky_acc(&[0.0, 0.0], &[0.0; 2], &[4.0, -4.0], &mut dx, 0.5);
        assert_eq!(dx, [2.0, -2.0]);
    }

    /// An infinite `dy` on the flat side is dropped (a selection, not a product by 0).
    #[test]
    fn flat_side_selects_zero() {
        let mut dx = [9.0; 2];
        super::f64::bprop(&[-1.0, 1.0], &[0.0; 2], &[f64::INFINITY, 1.0], &mut dx);
        assert_eq!(dx, [0.0, 1.0]);
    }

    /// `f32` against `f64` on the same (f32-representable) inputs: every operation is exact or a
    /// single rounding, so within one f32 rounding (relative 6e-8, absolute 1e-6 here).
    #[test]
    fn f32_agrees_with_f64() {
        let x32 = to_f32(&X);
        let dy32 = to_f32(&positive(6, 32));
        let (x, dy) = (to_f64(&x32), to_f64(&dy32));
        let a32 = 0.1f32;
        let a = a32 as f64;
        let (mut y32, mut dx32, mut ddx32) = ([0.0f32; 6], [0.0f32; 6], [0.0f32; 6]);
        let (mut y, mut dx, mut ddx) = ([0.0; 6], [0.0; 6], [0.0; 6]);
        super::f32::fprop_leaky(&x32, &mut y32, a32);
        super::f32::bprop_leaky(&x32, &y32, &dy32, &mut dx32, a32);
        super::f32::bbprop_leaky(&x32, &y32, &dy32, &mut ddx32, a32);
        super::f64::fprop_leaky(&x, &mut y, a);
        super::f64::bprop_leaky(&x, &y, &dy, &mut dx, a);
        super::f64::bbprop_leaky(&x, &y, &dy, &mut ddx, a);
        for i in 0..6 {
            assert!((y32[i] as f64 - y[i]).abs() < 1e-6, "y {i}");
            assert!((dx32[i] as f64 - dx[i]).abs() < 1e-6, "dx {i}");
            assert!((ddx32[i] as f64 - ddx[i]).abs() < 1e-6, "ddx {i}");
        }
        let (mut r32, mut r) = ([0.0f32; 6], [0.0; 6]);
        super::f32::fprop(&x32, &mut r32);
        super::f64::fprop(&x, &mut r);
        assert_eq!(to_f64(&r32), r);
    }

    /// A minibatch is the same call on the whole slice: bit for bit the per-row calls.
    #[test]
    fn minibatch_is_row_by_row() {
        let x = [0.5, -1.7, 2.2, -0.03, 3.0, -2.9, 0.0, 1.1, -0.4];
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75, 3.0, 0.1, -0.2];
        let (mut y, mut dx) = ([0.0; 9], [0.0; 9]);
        super::f64::fprop_leaky(&x, &mut y, SLOPE);
        super::f64::bprop_leaky(&x, &y, &dy, &mut dx, SLOPE);
        for r in 0..3 {
            let s = 3 * r..3 * r + 3;
            let (mut yr, mut dxr) = ([0.0; 3], [0.0; 3]);
            super::f64::fprop_leaky(&x[s.clone()], &mut yr, SLOPE);
            super::f64::bprop_leaky(&x[s.clone()], &yr, &dy[s.clone()], &mut dxr, SLOPE);
            assert_eq!(yr, y[s.clone()]);
            assert_eq!(dxr, dx[s]);
        }
    }

    #[test]
    #[should_panic(expected = "relu: widths differ")]
    fn fprop_checks_widths() {
        super::f64::fprop(&[1.0; 3], &mut [0.0; 2]);
    }

    #[test]
    #[should_panic(expected = "relu: widths differ")]
    fn bprop_checks_widths() {
        super::f64::bprop(&[1.0; 3], &[1.0; 3], &[1.0; 2], &mut [0.0; 3]);
    }

    #[test]
    #[should_panic(expected = "relu: widths differ")]
    fn bbprop_leaky_checks_widths() {
        super::f64::bbprop_leaky(&[1.0; 3], &[1.0; 2], &[1.0; 3], &mut [0.0; 3], 0.1);
    }
}
