//! Multiplication by a constant: `y = c x`, with `c` fixed when the network is written (not a
//! parameter). Its Jacobian is `c I`.
//!
//! bprop passes `dx = c dy`, bbprop (diagonal Gauss–Newton) `ddx = c² ddy`. The pointwise
//! signature is the one of [`crate::relu`]: `x` and `y` are passed to the derivative kernels,
//! and unused. As everywhere, the functions without `_acc` overwrite `dx`/`ddx` and the `_acc`
//! ones add into it. A minibatch is the same call on the whole row-major slice.

macro_rules! scale_kernels {
    ($t:ident) => {
        #[doc = concat!("Scale kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// fprop: `y = c x`.
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop(x: &[$t], y: &mut [$t], c: $t) {
                assert_eq!(x.len(), y.len(), "scale: widths differ");
                for (yi, xi) in y.iter_mut().zip(x) {
                    *yi = c * xi;
                }
            }

            /// `dx (+)= k g`.
            #[inline(always)]
            fn impl_(x: &[$t], y: &[$t], g: &[$t], dx: &mut [$t], k: $t, accumulate: bool) {
                assert!(
                    x.len() == y.len() && x.len() == g.len() && x.len() == dx.len(),
                    "scale: widths differ"
                );
                for (d, gi) in dx.iter_mut().zip(g) {
                    if accumulate {
                        *d += k * gi;
                    } else {
                        *d = k * gi;
                    }
                }
            }

            /// bprop: `dx = c dy` (overwritten).
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t], c: $t) {
                impl_(x, y, dy, dx, c, false)
            }

            /// As [`bprop`], but `dx += c dy`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_acc(x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t], c: $t) {
                impl_(x, y, dy, dx, c, true)
            }

            /// bbprop: `ddx = c² ddy` (overwritten).
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t], c: $t) {
                impl_(x, y, ddy, ddx, c * c, false)
            }

            /// As [`bbprop`], but `ddx += c² ddy`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_acc(x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t], c: $t) {
                impl_(x, y, ddy, ddx, c * c, true)
            }
        }
    };
}

scale_kernels!(f32);
scale_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const X: [f64; 5] = [0.5, -1.7, 2.2, -0.03, 3.0];
    const START: [f64; 5] = [1.0, -2.0, 3.0, 0.5, -0.5];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the function is
    /// linear, so central differences have no truncation error, only rounding, about
    /// `ε |c x| / h ≈ 1e-10` at step 1e-5. A wrong sign, or `c` in place of `c²`, is off by
    /// far more (for c = −1 the sign, for c = 0.5 a factor 2).
    const TOL: f64 = 1e-8;

    #[test]
    fn bprop_and_bbprop_match_finite_differences() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25];
        let ddy = positive(5, 61);
        let mut y = [0.0; 5];
        for c in [-1.0, 0.5, 3.0] {
            super::f64::fprop(&X, &mut y, c);
            let nd = numeric_grad(&X, |x| {
                let mut y = [0.0; 5];
                super::f64::fprop(x, &mut y, c);
                y.iter().zip(&dy).map(|(p, q)| p * q).sum()
            });
            let mut dx = [9.0; 5];
            super::f64::bprop(&X, &y, &dy, &mut dx, c);
            assert!(rel_err(&dx, &nd) < TOL, "{c}: {dx:?} vs {nd:?}");
            let mut acc = START;
            super::f64::bprop_acc(&X, &y, &dy, &mut acc, c);
            let want: Vec<f64> = nd.iter().zip(&START).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{c}: {acc:?} vs {want:?}");

            let ndd = gauss_newton_diag(&X, &ddy, |x, y| super::f64::fprop(x, y, c));
            let mut ddx = [9.0; 5];
            super::f64::bbprop(&X, &y, &ddy, &mut ddx, c);
            assert!(rel_err(&ddx, &ndd) < TOL, "{c}: {ddx:?} vs {ndd:?}");
            let mut acc = START;
            super::f64::bbprop_acc(&X, &y, &ddy, &mut acc, c);
            let want: Vec<f64> = ndd.iter().zip(&START).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{c}: {acc:?} vs {want:?}");
        }
    }

    /// The exact values for `c = −1` and `c = 0.5` (all exact in binary).
    #[test]
    fn minus_one_and_a_half() {
        let (x, g) = ([2.0, -3.0, 0.25], [1.0, 4.0, -8.0]);
        let (mut y, mut dx) = ([0.0; 3], [9.0; 3]);
        super::f64::fprop(&x, &mut y, -1.0);
        assert_eq!(y, [-2.0, 3.0, -0.25]);
        super::f64::bprop(&x, &y, &g, &mut dx, -1.0);
        assert_eq!(dx, [-1.0, -4.0, 8.0]);
        super::f64::bbprop(&x, &y, &g, &mut dx, -1.0);
        assert_eq!(dx, g);
        super::f64::fprop(&x, &mut y, 0.5);
        assert_eq!(y, [1.0, -1.5, 0.125]);
        super::f64::bprop_acc(&x, &y, &g, &mut dx, 0.5);
        assert_eq!(dx, [1.5, 6.0, -12.0]);
        super::f64::bbprop_acc(&x, &y, &g, &mut dx, 0.5);
        assert_eq!(dx, [1.75, 7.0, -14.0]);
        let mut y = [0.0f32; 3];
        super::f32::fprop(&[2.0, -3.0, 0.25], &mut y, 0.5);
        assert_eq!(y, [1.0, -1.5, 0.125]);
    }

    /// `f32` against `f64` on the same inputs: one rounding each, within 1e-6 here.
    #[test]
    fn f32_agrees_with_f64() {
        let (x32, dy32) = (to_f32(&X), to_f32(&positive(5, 62)));
        let (x, dy) = (to_f64(&x32), to_f64(&dy32));
        let (mut y32, mut d32, mut dd32) = ([0.0f32; 5], [0.0f32; 5], [0.0f32; 5]);
        let (mut y, mut d, mut dd) = ([0.0; 5], [0.0; 5], [0.0; 5]);
        super::f32::fprop(&x32, &mut y32, 0.3);
        super::f32::bprop(&x32, &y32, &dy32, &mut d32, 0.3);
        super::f32::bbprop(&x32, &y32, &dy32, &mut dd32, 0.3);
        let c = 0.3f32 as f64;
        super::f64::fprop(&x, &mut y, c);
        super::f64::bprop(&x, &y, &dy, &mut d, c);
        super::f64::bbprop(&x, &y, &dy, &mut dd, c);
        for i in 0..5 {
            assert!((y32[i] as f64 - y[i]).abs() < 1e-6, "y {i}");
            assert!((d32[i] as f64 - d[i]).abs() < 1e-6, "dx {i}");
            assert!((dd32[i] as f64 - dd[i]).abs() < 1e-6, "ddx {i}");
        }
    }

    /// A minibatch is the same call on the whole slice: bit for bit the per-row calls.
    #[test]
    fn minibatch_is_row_by_row() {
        let x = [0.5, -1.7, 2.2, -0.03, 3.0, 0.1];
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.3];
        let (mut y, mut dx) = ([0.0; 6], [0.0; 6]);
        super::f64::fprop(&x, &mut y, 0.7);
        super::f64::bbprop(&x, &y, &dy, &mut dx, 0.7);
        for r in 0..2 {
            let s = 3 * r..3 * r + 3;
            let (mut yr, mut dxr) = ([0.0; 3], [0.0; 3]);
            super::f64::fprop(&x[s.clone()], &mut yr, 0.7);
            super::f64::bbprop(&x[s.clone()], &yr, &dy[s.clone()], &mut dxr, 0.7);
            assert_eq!(yr, y[s.clone()]);
            assert_eq!(dxr, dx[s]);
        }
    }

    #[test]
    #[should_panic(expected = "scale: widths differ")]
    fn fprop_checks_widths() {
        super::f64::fprop(&[1.0; 3], &mut [0.0; 2], 2.0);
    }

    #[test]
    #[should_panic(expected = "scale: widths differ")]
    fn bbprop_checks_widths() {
        super::f32::bbprop(&[1.0; 3], &[1.0; 3], &[1.0; 3], &mut [0.0; 4], 2.0);
    }
}
