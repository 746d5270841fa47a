//! The element-wise product of two states of equal width: `y = a ∘ b`. Its Jacobian to each
//! factor is the diagonal of the other.
//!
//! The derivative kernels are those of one factor given the other: bprop passes
//! `dx = other ∘ dy`, bbprop (diagonal Gauss–Newton) `ddx = other² ∘ ddy`. As everywhere, the
//! functions without `_acc` overwrite `dx`/`ddx` and the `_acc` ones add into it. A minibatch is
//! the same call on the whole row-major slice.
//!
//! A square `mul(a, a)` reads one state twice: bprop for the first argument and then
//! [`f64::bprop_acc`] for the second into the same `dx` give `2 a ∘ dy`, its derivative. The
//! same sequence of bbprop and [`f64::bbprop_acc`] gives `2 a² ∘ ddy`, the sum over the two
//! reads that the second-order sweep makes for every state read more than once (the cross
//! term of the two paths dropped), not the exact diagonal `(2a)² ∘ ddy = 4 a² ∘ ddy` of
//! `y = a²`; the tests show both.

macro_rules! mul_kernels {
    ($t:ident) => {
        #[doc = concat!("Element-wise product kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// fprop: `y = a ∘ b`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn fprop(a: &[$t], b: &[$t], y: &mut [$t]) {
                assert!(
                    a.len() == b.len() && a.len() == y.len(),
                    "mul: widths differ"
                );
                for ((yi, p), q) in y.iter_mut().zip(a).zip(b) {
                    *yi = p * q;
                }
            }

            /// `dx (+)= other ∘ g` (`square`: `other² ∘ g`).
            #[inline(always)]
            fn impl_(other: &[$t], g: &[$t], dx: &mut [$t], square: bool, accumulate: bool) {
                assert!(
                    other.len() == g.len() && other.len() == dx.len(),
                    "mul: widths differ"
                );
                for ((d, o), gi) in dx.iter_mut().zip(other).zip(g) {
                    let v = if square { o * o * gi } else { o * gi };
                    if accumulate {
                        *d += v;
                    } else {
                        *d = v;
                    }
                }
            }

            /// bprop to one factor, given the other: `dx = other ∘ dy` (overwritten).
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop(other: &[$t], dy: &[$t], dx: &mut [$t]) {
                impl_(other, dy, dx, false, false)
            }

            /// As [`bprop`], but `dx += other ∘ dy`: for a state that feeds several modules, or
            /// the second argument of `mul(a, a)`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop_acc(other: &[$t], dy: &[$t], dx: &mut [$t]) {
                impl_(other, dy, dx, false, true)
            }

            /// bbprop to one factor, given the other: `ddx = other² ∘ ddy` (overwritten).
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bbprop(other: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                impl_(other, ddy, ddx, true, false)
            }

            /// As [`bbprop`], but `ddx += other² ∘ ddy`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bbprop_acc(other: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                impl_(other, ddy, ddx, true, true)
            }
        }
    };
}

mul_kernels!(f32);
mul_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const A: [f64; 5] = [0.5, -1.7, 2.2, -0.03, 3.0];
    const B: [f64; 5] = [1.3, 0.4, -0.9, 2.5, -1.1];
    const START: [f64; 5] = [1.0, -2.0, 3.0, 0.5, -0.5];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the product is
    /// linear in each factor, so central differences have no truncation error, only rounding
    /// (`ε |y| / h ≈ 1e-10` at step 1e-5). In the square `a ∘ a` the truncation error is still
    /// 0 (`f‴ = 0`). A wrong factor is off by far more.
    const TOL: f64 = 1e-8;

    fn energy(a: &[f64], b: &[f64], dy: &[f64]) -> f64 {
        let mut y = [0.0; 5];
        super::f64::fprop(a, b, &mut y);
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn bprop_matches_finite_differences() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25];
        let nda = numeric_grad(&A, |a| energy(a, &B, &dy));
        let ndb = numeric_grad(&B, |b| energy(&A, b, &dy));
        let (mut da, mut db) = ([9.0; 5], [9.0; 5]);
        super::f64::bprop(&B, &dy, &mut da);
        super::f64::bprop(&A, &dy, &mut db);
        assert!(rel_err(&da, &nda) < TOL, "{da:?} vs {nda:?}");
        assert!(rel_err(&db, &ndb) < TOL, "{db:?} vs {ndb:?}");
        let mut acc = START;
        super::f64::bprop_acc(&B, &dy, &mut acc);
        let want: Vec<f64> = nda.iter().zip(&START).map(|(n, s)| n + s).collect();
        assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
    }

    #[test]
    fn bbprop_is_the_gauss_newton_diagonal() {
        let ddy = positive(5, 71);
        let nda = gauss_newton_diag(&A, &ddy, |a, y| super::f64::fprop(a, &B, y));
        let ndb = gauss_newton_diag(&B, &ddy, |b, y| super::f64::fprop(&A, b, y));
        let (mut dda, mut ddb) = ([9.0; 5], [9.0; 5]);
        super::f64::bbprop(&B, &ddy, &mut dda);
        super::f64::bbprop(&A, &ddy, &mut ddb);
        assert!(rel_err(&dda, &nda) < TOL, "{dda:?} vs {nda:?}");
        assert!(rel_err(&ddb, &ndb) < TOL, "{ddb:?} vs {ndb:?}");
        let mut acc = START;
        super::f64::bbprop_acc(&A, &ddy, &mut acc);
        let want: Vec<f64> = ndb.iter().zip(&START).map(|(n, s)| n + s).collect();
        assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
    }

    /// `mul(a, a)`: bprop for the first argument, then bprop_acc for the second, into one `dx`
    /// (from garbage) give `2 a ∘ dy`, the derivative of `a ∘ a`. bbprop then bbprop_acc give
    /// `2 a² ∘ ddy`: half the exact Gauss–Newton diagonal `4 a² ∘ ddy` of `a ↦ a ∘ a` (the sum
    /// over the two reads; see the module documentation).
    #[test]
    fn square_in_sequence() {
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25];
        let mut dx = [9.0; 5];
        super::f64::bprop(&A, &dy, &mut dx);
        super::f64::bprop_acc(&A, &dy, &mut dx);
        for i in 0..5 {
            assert_eq!(dx[i], 2.0 * A[i] * dy[i]);
        }
        let nd = numeric_grad(&A, |a| energy(a, a, &dy));
        assert!(rel_err(&dx, &nd) < TOL, "{dx:?} vs {nd:?}");

        let ddy = positive(5, 72);
        let mut ddx = [9.0; 5];
        super::f64::bbprop(&A, &ddy, &mut ddx);
        super::f64::bbprop_acc(&A, &ddy, &mut ddx);
        let exact = gauss_newton_diag(&A, &ddy, |a, y| super::f64::fprop(a, a, y));
        let half: Vec<f64> = exact.iter().map(|v| v / 2.0).collect();
        assert!(rel_err(&ddx, &half) < TOL, "{ddx:?} vs {half:?}");
        for i in 0..5 {
            assert_eq!(ddx[i], 2.0 * (A[i] * A[i] * ddy[i]));
        }
    }

    /// `f32` against `f64` on the same inputs: one or two roundings, within 1e-6 here.
    #[test]
    fn f32_agrees_with_f64() {
        let (a32, b32, dy32) = (to_f32(&A), to_f32(&B), to_f32(&positive(5, 73)));
        let (a, b, dy) = (to_f64(&a32), to_f64(&b32), to_f64(&dy32));
        let (mut y32, mut d32, mut dd32) = ([0.0f32; 5], [0.0f32; 5], [0.0f32; 5]);
        let (mut y, mut d, mut dd) = ([0.0; 5], [0.0; 5], [0.0; 5]);
        super::f32::fprop(&a32, &b32, &mut y32);
        super::f32::bprop(&b32, &dy32, &mut d32);
        super::f32::bbprop(&b32, &dy32, &mut dd32);
        super::f64::fprop(&a, &b, &mut y);
        super::f64::bprop(&b, &dy, &mut d);
        super::f64::bbprop(&b, &dy, &mut dd);
        for i in 0..5 {
            assert!((y32[i] as f64 - y[i]).abs() < 1e-6, "y {i}");
            assert!((d32[i] as f64 - d[i]).abs() < 1e-6, "dx {i}");
            assert!((dd32[i] as f64 - dd[i]).abs() < 1e-6, "ddx {i}");
        }
    }

    /// A minibatch is the same call on the whole slice: bit for bit the per-row calls.
    #[test]
    fn minibatch_is_row_by_row() {
        let a = [0.5, -1.7, 2.2, -0.03, 3.0, 0.1];
        let b = [1.3, 0.4, -0.9, 2.5, -1.1, 0.7];
        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.3];
        let (mut y, mut dx) = ([0.0; 6], [0.0; 6]);
        super::f64::fprop(&a, &b, &mut y);
        super::f64::bbprop(&b, &dy, &mut dx);
        for r in 0..2 {
            let s = 3 * r..3 * r + 3;
            let (mut yr, mut dxr) = ([0.0; 3], [0.0; 3]);
            super::f64::fprop(&a[s.clone()], &b[s.clone()], &mut yr);
            super::f64::bbprop(&b[s.clone()], &dy[s.clone()], &mut dxr);
            assert_eq!(yr, y[s.clone()]);
            assert_eq!(dxr, dx[s]);
        }
    }

    #[test]
    #[should_panic(expected = "mul: widths differ")]
    fn fprop_checks_widths() {
        super::f64::fprop(&[1.0; 3], &[1.0; 2], &mut [0.0; 3]);
    }

    #[test]
    #[should_panic(expected = "mul: widths differ")]
    fn bprop_checks_widths() {
        super::f32::bprop_acc(&[1.0; 3], &[1.0; 3], &mut [0.0; 2]);
    }
}
