//! A slice of a state: `y = x[from..from + y.len()]`. Its Jacobian is the identity on the slice
//! and zero elsewhere.
//!
//! bprop writes `dy` into the slice of `dx` ([`f64::bprop`]: `dx` zero outside the slice,
//! overwritten; [`f64::bprop_acc`]: added into the slice, the rest untouched). bbprop (diagonal
//! Gauss–Newton, coefficient `1² = 1`, and 0 outside) is the same functions on `ddy` and `ddx`:
//! there is no bbprop kernel here.
//!
//! A minibatch is row-major: `rows` rows of `w_in` values for `x`, of `w_out` for `y`; the
//! `_batch` forms take the widths and the rows and give the bits of the per-sample functions row
//! by row.

macro_rules! slice_kernels {
    ($t:ident) => {
        #[doc = concat!("Slice kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// The slice `[from, from + w_out)` lies inside `[0, w_in)`.
            #[inline(always)]
            fn check_slice(from: usize, w_out: usize, w_in: usize) {
                assert!(
                    from.checked_add(w_out).is_some_and(|end| end <= w_in),
                    "slice: {w_out} values from {from} do not fit in width {w_in}"
                );
            }

            /// The slices hold `rows` rows of their widths, exactly, and the slice fits.
            #[inline(always)]
            fn check_batch(
                whole: usize,
                part: usize,
                from: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_slice(from, w_out, w_in);
                assert!(
                    rows.checked_mul(w_in) == Some(whole) && rows.checked_mul(w_out) == Some(part),
                    "slice: slices of {whole} and {part} values are not {rows} rows of \
                     {w_in} and {w_out}"
                );
            }

            /// fprop: `y = x[from..from + y.len()]`.
            ///
            /// # Panics
            /// If `from + y.len() > x.len()`.
            #[inline]
            pub fn fprop(x: &[$t], y: &mut [$t], from: usize) {
                check_slice(from, y.len(), x.len());
                y.copy_from_slice(&x[from..from + y.len()]);
            }

            /// bprop: `dx[from..from + dy.len()] = dy` and `dx = 0` elsewhere (all of `dx`
            /// overwritten).
            ///
            /// # Panics
            /// If `from + dy.len() > dx.len()`.
            #[inline]
            pub fn bprop(dy: &[$t], dx: &mut [$t], from: usize) {
                check_slice(from, dy.len(), dx.len());
                let end = from + dy.len();
                dx[..from].fill(0.0);
                dx[from..end].copy_from_slice(dy);
                dx[end..].fill(0.0);
            }

            /// As [`bprop`], but `dx[from..from + dy.len()] += dy`, the rest of `dx` untouched,
            /// for a state that feeds several modules.
            ///
            /// # Panics
            /// If `from + dy.len() > dx.len()`.
            #[inline]
            pub fn bprop_acc(dy: &[$t], dx: &mut [$t], from: usize) {
                check_slice(from, dy.len(), dx.len());
                for (d, g) in dx[from..].iter_mut().zip(dy) {
                    *d += g;
                }
            }

            /// [`fprop`] for a minibatch: `x` is `rows` rows of `w_in` values, `y` `rows` rows
            /// of `w_out`, each row of `y` the slice of its row of `x`.
            ///
            /// # Panics
            /// If `from + w_out > w_in`, or if `x` and `y` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn fprop_batch(
                x: &[$t],
                y: &mut [$t],
                from: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(x.len(), y.len(), from, w_in, w_out, rows);
                for r in 0..rows {
                    fprop(
                        &x[r * w_in..(r + 1) * w_in],
                        &mut y[r * w_out..(r + 1) * w_out],
                        from,
                    );
                }
            }

            /// [`bprop`] for a minibatch: each row of `dx` (`rows` rows of `w_in`) overwritten,
            /// its row of `dy` (`rows` rows of `w_out`) at `from` and zeros elsewhere.
            ///
            /// # Panics
            /// If `from + w_out > w_in`, or if `dx` and `dy` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn bprop_batch(
                dy: &[$t],
                dx: &mut [$t],
                from: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(dx.len(), dy.len(), from, w_in, w_out, rows);
                for r in 0..rows {
                    bprop(
                        &dy[r * w_out..(r + 1) * w_out],
                        &mut dx[r * w_in..(r + 1) * w_in],
                        from,
                    );
                }
            }

            /// As [`bprop_batch`], but each row's slice of `dx` accumulated, the rest untouched.
            ///
            /// # Panics
            /// If `from + w_out > w_in`, or if `dx` and `dy` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn bprop_batch_acc(
                dy: &[$t],
                dx: &mut [$t],
                from: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(dx.len(), dy.len(), from, w_in, w_out, rows);
                for r in 0..rows {
                    bprop_acc(
                        &dy[r * w_out..(r + 1) * w_out],
                        &mut dx[r * w_in..(r + 1) * w_in],
                        from,
                    );
                }
            }
        }
    };
}

slice_kernels!(f32);
slice_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const X: [f64; 6] = [0.5, -1.7, 2.2, -0.03, 3.0, 0.9];
    const START: [f64; 6] = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the function is
    /// linear, so central differences have no truncation error, only rounding (`ε |y| / h ≈
    /// 1e-10` at step 1e-5). A slice at a wrong place is off by far more.
    const TOL: f64 = 1e-8;

    /// Slices at the start, in the middle, at the end, and all of `x`.
    const SLICES: [(usize, usize); 4] = [(0, 2), (2, 3), (4, 2), (0, 6)];

    #[test]
    fn slices_and_their_gradients() {
        for (from, w) in SLICES {
            let mut y = vec![9.0; w];
            super::f64::fprop(&X, &mut y, from);
            assert_eq!(y, X[from..from + w]);
            let dy: Vec<f64> = (0..w).map(|i| 1.5 - i as f64).collect();
            let nd = numeric_grad(&X, |x| {
                let mut y = vec![0.0; w];
                super::f64::fprop(x, &mut y, from);
                y.iter().zip(&dy).map(|(p, q)| p * q).sum()
            });
            let mut dx = [9.0; 6];
            super::f64::bprop(&dy, &mut dx, from);
            assert!(rel_err(&dx, &nd) < TOL, "{from}: {dx:?} vs {nd:?}");
            let mut acc = START;
            super::f64::bprop_acc(&dy, &mut acc, from);
            let want: Vec<f64> = nd.iter().zip(&START).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{from}: {acc:?} vs {want:?}");
            // Outside the slice: zeros, or untouched.
            for i in (0..from).chain(from + w..6) {
                assert_eq!((dx[i], acc[i]), (0.0, START[i]));
            }

            let ddy = positive(w, 101);
            let ndd = gauss_newton_diag(&X, &ddy, |x, y| super::f64::fprop(x, y, from));
            let mut ddx = [9.0; 6];
            super::f64::bprop(&ddy, &mut ddx, from);
            assert!(rel_err(&ddx, &ndd) < TOL, "{from}: {ddx:?} vs {ndd:?}");
        }
        // An empty slice at the very end.
        let mut dx = [9.0; 6];
        super::f64::fprop(&X, &mut [], 6);
        super::f64::bprop(&[], &mut dx, 6);
        assert_eq!(dx, [0.0; 6]);
    }

    /// `slice` twice of one state (two modules): bprop then bprop_acc add the two slices'
    /// derivatives, overlapping or not.
    #[test]
    fn two_slices_of_one_state() {
        let mut dx = [9.0; 6];
        super::f64::bprop(&[1.0, 2.0, 3.0], &mut dx, 1);
        super::f64::bprop_acc(&[10.0, 20.0], &mut dx, 3);
        assert_eq!(dx, [0.0, 1.0, 2.0, 13.0, 20.0, 0.0]);
    }

    /// The minibatch forms give the per-row calls' bits.
    #[test]
    fn minibatch_is_row_by_row() {
        let rows = 3;
        let x: Vec<f64> = (0..rows * 6)
            .map(|i| (i * 7 % 13) as f64 * 0.25 - 1.0)
            .collect();
        for (from, w) in SLICES {
            let dy: Vec<f64> = (0..rows * w).map(|i| (i * 5 % 11) as f64 - 5.0).collect();
            let mut y = vec![9.0; rows * w];
            super::f64::fprop_batch(&x, &mut y, from, 6, w, rows);
            let mut dx = vec![9.0; rows * 6];
            super::f64::bprop_batch(&dy, &mut dx, from, 6, w, rows);
            let start: Vec<f64> = (0..rows * 6).map(|i| i as f64 - 1.5).collect();
            let mut acc = start.clone();
            super::f64::bprop_batch_acc(&dy, &mut acc, from, 6, w, rows);
            for r in 0..rows {
                let (s, t) = (r * 6..(r + 1) * 6, r * w..(r + 1) * w);
                let mut yr = vec![9.0; w];
                super::f64::fprop(&x[s.clone()], &mut yr, from);
                assert_eq!(yr, y[t.clone()]);
                let mut dxr = [9.0; 6];
                super::f64::bprop(&dy[t.clone()], &mut dxr, from);
                assert_eq!(dxr, dx[s.clone()]);
                let mut accr = start[s.clone()].to_vec();
                super::f64::bprop_acc(&dy[t], &mut accr, from);
                assert_eq!(accr, acc[s]);
            }
        }
        super::f64::fprop_batch(&[], &mut [], 0, 6, 2, 0);
    }

    /// `f32` copies the same values as `f64` (a copy and, accumulated, one rounding).
    #[test]
    fn f32_agrees_with_f64() {
        let (x32, dy32) = (to_f32(&X), to_f32(&positive(2, 102)));
        let mut y32 = [0.0f32; 2];
        super::f32::fprop(&x32, &mut y32, 4);
        assert_eq!(y32[..], x32[4..]);
        let (mut d32, mut d) = ([0.5f32; 6], [0.5; 6]);
        super::f32::bprop_acc(&dy32, &mut d32, 4);
        super::f64::bprop_acc(&to_f64(&dy32), &mut d, 4);
        for i in 0..6 {
            assert!((d32[i] as f64 - d[i]).abs() < 1e-6, "{i}");
        }
    }

    #[test]
    #[should_panic(expected = "slice: 3 values from 4 do not fit in width 6")]
    fn fprop_checks_the_end() {
        super::f64::fprop(&[1.0; 6], &mut [0.0; 3], 4);
    }

    #[test]
    #[should_panic(expected = "do not fit")]
    fn bprop_checks_the_end() {
        super::f32::bprop(&[1.0; 2], &mut [0.0; 6], 5);
    }

    #[test]
    #[should_panic(expected = "do not fit")]
    fn bprop_acc_checks_the_end() {
        super::f64::bprop_acc(&[1.0; 7], &mut [0.0; 6], 0);
    }

    #[test]
    #[should_panic(expected = "are not 2 rows of 6 and 2")]
    fn batch_checks_the_rows() {
        super::f64::fprop_batch(&[1.0; 12], &mut [0.0; 3], 0, 6, 2, 2);
    }

    #[test]
    #[should_panic(expected = "do not fit")]
    fn batch_checks_the_slice() {
        super::f64::bprop_batch_acc(&[1.0; 4], &mut [0.0; 12], 5, 6, 2, 2);
    }
}
