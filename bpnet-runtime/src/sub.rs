//! The difference of two states of equal width: `y = a − b`. Its Jacobian is `I` to `a` and `−I`
//! to `b`.
//!
//! bprop to `a` is the one of [`crate::add`] (`add::bprop`, `add::bprop_acc`: `dx = dy`); to `b`
//! it is [`f64::bprop_neg`] (`dx = −dy`) or [`f64::bprop_neg_acc`] (`dx −= dy`). bbprop
//! (diagonal Gauss–Newton) passes `ddx = (±1)² ddy = ddy` to both, so for both it is
//! `add::bprop` / `add::bprop_acc` on `ddy` and `ddx`: there is no bbprop kernel here. A minibatch
//! is the same call on the whole row-major slice.

macro_rules! sub_kernels {
    ($t:ident) => {
        #[doc = concat!("Sub kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// fprop: `y = a − b`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn fprop(a: &[$t], b: &[$t], y: &mut [$t]) {
                assert!(
                    a.len() == b.len() && a.len() == y.len(),
                    "sub: widths differ"
                );
                for ((yi, p), q) in y.iter_mut().zip(a).zip(b) {
                    *yi = p - q;
                }
            }

            /// bprop to the subtracted input `b`: `dx = −dy` (overwritten).
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop_neg(dy: &[$t], dx: &mut [$t]) {
                assert_eq!(dy.len(), dx.len(), "sub: widths differ");
                for (d, g) in dx.iter_mut().zip(dy) {
                    *d = -g;
                }
            }

            /// As [`bprop_neg`], but `dx −= dy`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop_neg_acc(dy: &[$t], dx: &mut [$t]) {
                assert_eq!(dy.len(), dx.len(), "sub: widths differ");
                for (d, g) in dx.iter_mut().zip(dy) {
                    *d -= g;
                }
            }
        }
    };
}

sub_kernels!(f32);
sub_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const A: [f64; 4] = [0.5, -1.7, 2.2, -0.03];
    const B: [f64; 4] = [1.3, 0.4, -0.9, 2.5];
    const START: [f64; 4] = [1.0, -2.0, 3.0, 0.5];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the function is
    /// linear, so central differences have no truncation error, only rounding (about
    /// `ε |y| / h ≈ 1e-10` at step 1e-5). A wrong sign is off by 2.
    const TOL: f64 = 1e-8;

    fn energy(a: &[f64], b: &[f64], dy: &[f64]) -> f64 {
        let mut y = [0.0; 4];
        super::f64::fprop(a, b, &mut y);
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    #[test]
    fn values_and_bprop() {
        let mut y = [0.0; 4];
        super::f64::fprop(&A, &B, &mut y);
        assert_eq!(y, [0.5 - 1.3, -1.7 - 0.4, 2.2 + 0.9, -0.03 - 2.5]);
        let dy = [1.0, -0.5, 0.25, 2.0];
        let nda = numeric_grad(&A, |a| energy(a, &B, &dy));
        let ndb = numeric_grad(&B, |b| energy(&A, b, &dy));
        let (mut da, mut db) = ([9.0; 4], [9.0; 4]);
        crate::add::f64::bprop(&dy, &mut da);
        super::f64::bprop_neg(&dy, &mut db);
        assert!(rel_err(&da, &nda) < TOL, "{da:?} vs {nda:?}");
        assert!(rel_err(&db, &ndb) < TOL, "{db:?} vs {ndb:?}");
        let mut acc = START;
        super::f64::bprop_neg_acc(&dy, &mut acc);
        let want: Vec<f64> = ndb.iter().zip(&START).map(|(n, s)| n + s).collect();
        assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
        assert_eq!(acc, [0.0, -1.5, 2.75, -1.5]);
    }

    /// bbprop of both inputs is `add::bprop` on `ddy` (coefficient `(±1)² = 1`): the
    /// Gauss–Newton diagonal of both.
    #[test]
    fn bbprop_is_add_bprop() {
        let ddy = positive(4, 81);
        let nda = gauss_newton_diag(&A, &ddy, |a, y| super::f64::fprop(a, &B, y));
        let ndb = gauss_newton_diag(&B, &ddy, |b, y| super::f64::fprop(&A, b, y));
        let mut ddx = [9.0; 4];
        crate::add::f64::bprop(&ddy, &mut ddx);
        assert!(rel_err(&ddx, &nda) < TOL, "{ddx:?} vs {nda:?}");
        assert!(rel_err(&ddx, &ndb) < TOL, "{ddx:?} vs {ndb:?}");
    }

    /// `sub(a, a)`: `add::bprop` then `bprop_neg_acc` into one `dx` give 0, the derivative of
    /// `a − a`.
    #[test]
    fn same_state_twice() {
        let dy = [1.0, -0.5, 0.25, 2.0];
        let mut dx = [9.0; 4];
        crate::add::f64::bprop(&dy, &mut dx);
        super::f64::bprop_neg_acc(&dy, &mut dx);
        assert_eq!(dx, [0.0; 4]);
    }

    /// `f32` against `f64`: one rounding in fprop, within 1e-6 here; the negation is exact.
    #[test]
    fn f32_agrees_with_f64() {
        let (a32, b32) = (to_f32(&A), to_f32(&B));
        let (mut y32, mut y) = ([0.0f32; 4], [0.0; 4]);
        super::f32::fprop(&a32, &b32, &mut y32);
        super::f64::fprop(&to_f64(&a32), &to_f64(&b32), &mut y);
        let mut d32 = [1.0f32; 4];
        super::f32::bprop_neg_acc(&a32, &mut d32);
        for i in 0..4 {
            assert!((y32[i] as f64 - y[i]).abs() < 1e-6, "y {i}");
            assert_eq!(d32[i], 1.0 - a32[i]);
        }
        super::f32::bprop_neg(&a32, &mut d32);
        assert_eq!(
            to_f64(&d32),
            to_f64(&a32).iter().map(|v| -v).collect::<Vec<_>>()
        );
    }

    /// A minibatch is the same call on the whole slice: bit for bit the per-row calls.
    #[test]
    fn minibatch_is_row_by_row() {
        let (a, b) = (
            [0.5, -1.7, 2.2, -0.03, 3.0, 0.1],
            [1.3, 0.4, -0.9, 2.5, -1.1, 0.7],
        );
        let mut y = [0.0; 6];
        super::f64::fprop(&a, &b, &mut y);
        for r in 0..2 {
            let s = 3 * r..3 * r + 3;
            let mut yr = [0.0; 3];
            super::f64::fprop(&a[s.clone()], &b[s.clone()], &mut yr);
            assert_eq!(yr, y[s]);
        }
    }

    #[test]
    #[should_panic(expected = "sub: widths differ")]
    fn fprop_checks_widths() {
        super::f64::fprop(&[1.0; 3], &[1.0; 3], &mut [0.0; 2]);
    }

    #[test]
    #[should_panic(expected = "sub: widths differ")]
    fn bprop_neg_checks_widths() {
        super::f64::bprop_neg(&[1.0; 3], &mut [0.0; 2]);
    }

    #[test]
    #[should_panic(expected = "sub: widths differ")]
    fn bprop_neg_acc_checks_widths() {
        super::f32::bprop_neg_acc(&[1.0; 2], &mut [0.0; 3]);
    }
}
