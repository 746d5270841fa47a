//! Concatenation: `y = [a, b, …]`, of width the sum of the inputs' widths. Each input is a part
//! of `y` at an offset (`0` for the first, then the sum of the widths before it), and its
//! Jacobian is the identity on that part.
//!
//! fprop writes each part ([`f64::fprop_part`]); bprop to an input reads its part of `dy`
//! ([`f64::bprop_part`], overwriting `dx`, or [`f64::bprop_part_acc`], adding into it). bbprop
//! (diagonal Gauss–Newton, coefficient `1² = 1`) is the same bprop functions on `ddy` and `ddx`:
//! there is no bbprop kernel here.
//!
//! A minibatch is row-major: `rows` rows of `w_in` values for an input, of `w_out` for `y`, and
//! the part of each row of `y` is at `offset`; the `_batch` forms take the widths and the rows
//! and give the bits of the per-sample functions row by row.

macro_rules! concat_kernels {
    ($t:ident) => {
        #[doc = concat!("Concat kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// The part `[offset, offset + w_in)` lies inside `[0, w_out)`.
            #[inline(always)]
            fn check_part(offset: usize, w_in: usize, w_out: usize) {
                assert!(
                    offset.checked_add(w_in).is_some_and(|end| end <= w_out),
                    "concat: the part at offset {offset} of width {w_in} does not fit in \
                     width {w_out}"
                );
            }

            /// The slices hold `rows` rows of their widths, exactly, and the part fits.
            #[inline(always)]
            fn check_batch(
                part: usize,
                whole: usize,
                offset: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_part(offset, w_in, w_out);
                assert!(
                    rows.checked_mul(w_in) == Some(part) && rows.checked_mul(w_out) == Some(whole),
                    "concat: slices of {part} and {whole} values are not {rows} rows of \
                     {w_in} and {w_out}"
                );
            }

            /// fprop of one input: `y[offset..offset + x.len()] = x`.
            ///
            /// # Panics
            /// If `offset + x.len() > y.len()`.
            #[inline]
            pub fn fprop_part(x: &[$t], y: &mut [$t], offset: usize) {
                check_part(offset, x.len(), y.len());
                y[offset..offset + x.len()].copy_from_slice(x);
            }

            /// bprop to one input: `dx = dy[offset..offset + dx.len()]` (overwritten).
            ///
            /// # Panics
            /// If `offset + dx.len() > dy.len()`.
            #[inline]
            pub fn bprop_part(dy: &[$t], dx: &mut [$t], offset: usize) {
                check_part(offset, dx.len(), dy.len());
                dx.copy_from_slice(&dy[offset..offset + dx.len()]);
            }

            /// As [`bprop_part`], but `dx += dy[offset..offset + dx.len()]`, for a state that
            /// feeds several modules (or is read twice by one concat).
            ///
            /// # Panics
            /// If `offset + dx.len() > dy.len()`.
            #[inline]
            pub fn bprop_part_acc(dy: &[$t], dx: &mut [$t], offset: usize) {
                check_part(offset, dx.len(), dy.len());
                for (d, g) in dx.iter_mut().zip(&dy[offset..]) {
                    *d += g;
                }
            }

            /// [`fprop_part`] for a minibatch: `x` is `rows` rows of `w_in`, `y` `rows` rows of
            /// `w_out`, and each row of `x` goes to its row of `y` at `offset`. The rest of `y`
            /// is left as it is.
            ///
            /// # Panics
            /// If `offset + w_in > w_out`, or if `x` and `y` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn fprop_part_batch(
                x: &[$t],
                y: &mut [$t],
                offset: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(x.len(), y.len(), offset, w_in, w_out, rows);
                for r in 0..rows {
                    fprop_part(
                        &x[r * w_in..(r + 1) * w_in],
                        &mut y[r * w_out..(r + 1) * w_out],
                        offset,
                    );
                }
            }

            /// [`bprop_part`] for a minibatch: each row of `dx` (`rows` rows of `w_in`) is
            /// overwritten with its row's part of `dy` (`rows` rows of `w_out`) at `offset`.
            ///
            /// # Panics
            /// If `offset + w_in > w_out`, or if `dx` and `dy` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn bprop_part_batch(
                dy: &[$t],
                dx: &mut [$t],
                offset: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(dx.len(), dy.len(), offset, w_in, w_out, rows);
                for r in 0..rows {
                    bprop_part(
                        &dy[r * w_out..(r + 1) * w_out],
                        &mut dx[r * w_in..(r + 1) * w_in],
                        offset,
                    );
                }
            }

            /// As [`bprop_part_batch`], but `dx` accumulated.
            ///
            /// # Panics
            /// If `offset + w_in > w_out`, or if `dx` and `dy` are not `rows` rows of `w_in` and
            /// `w_out` values.
            #[inline]
            pub fn bprop_part_batch_acc(
                dy: &[$t],
                dx: &mut [$t],
                offset: usize,
                w_in: usize,
                w_out: usize,
                rows: usize,
            ) {
                check_batch(dx.len(), dy.len(), offset, w_in, w_out, rows);
                for r in 0..rows {
                    bprop_part_acc(
                        &dy[r * w_out..(r + 1) * w_out],
                        &mut dx[r * w_in..(r + 1) * w_in],
                        offset,
                    );
                }
            }
        }
    };
}

concat_kernels!(f32);
concat_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const A: [f64; 2] = [0.5, -1.7];
    const B: [f64; 3] = [2.2, -0.03, 3.0];
    const C: [f64; 1] = [0.9];

    /// `y = [a, b, c]`.
    fn fprop3(a: &[f64], b: &[f64], c: &[f64], y: &mut [f64]) {
        super::f64::fprop_part(a, y, 0);
        super::f64::fprop_part(b, y, 2);
        super::f64::fprop_part(c, y, 5);
    }

    fn energy(a: &[f64], b: &[f64], c: &[f64], dy: &[f64]) -> f64 {
        let mut y = [0.0; 6];
        fprop3(a, b, c, &mut y);
        y.iter().zip(dy).map(|(p, q)| p * q).sum()
    }

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the function is
    /// linear, so central differences have no truncation error, only rounding (`ε |y| / h ≈
    /// 1e-10` at step 1e-5). A part read at a wrong offset is off by far more.
    const TOL: f64 = 1e-8;

    #[test]
    fn parts_at_both_ends_and_their_gradients() {
        let mut y = [9.0; 6];
        fprop3(&A, &B, &C, &mut y);
        assert_eq!(y, [0.5, -1.7, 2.2, -0.03, 3.0, 0.9]);

        let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75];
        let (mut da, mut db, mut dc) = ([9.0; 2], [9.0; 3], [9.0; 1]);
        super::f64::bprop_part(&dy, &mut da, 0);
        super::f64::bprop_part(&dy, &mut db, 2);
        super::f64::bprop_part(&dy, &mut dc, 5);
        let nda = numeric_grad(&A, |a| energy(a, &B, &C, &dy));
        let ndb = numeric_grad(&B, |b| energy(&A, b, &C, &dy));
        let ndc = numeric_grad(&C, |c| energy(&A, &B, c, &dy));
        assert!(rel_err(&da, &nda) < TOL, "{da:?} vs {nda:?}");
        assert!(rel_err(&db, &ndb) < TOL, "{db:?} vs {ndb:?}");
        assert!(rel_err(&dc, &ndc) < TOL, "{dc:?} vs {ndc:?}");
        // The ends: the first value and the last.
        assert_eq!((da[0], dc[0]), (dy[0], dy[5]));

        let mut acc = [1.0, -2.0, 3.0];
        super::f64::bprop_part_acc(&dy, &mut acc, 2);
        assert_eq!(acc, [1.25, 0.0, 1.75]);
        let mut acc = [1.0];
        super::f64::bprop_part_acc(&dy, &mut acc, 5);
        assert_eq!(acc, [1.75]);
    }

    /// bbprop is bprop on `ddy`: the Gauss–Newton diagonal of each part.
    #[test]
    fn bbprop_is_bprop() {
        let ddy = positive(6, 91);
        let ndb = gauss_newton_diag(&B, &ddy, |b, y| fprop3(&A, b, &C, y));
        let ndc = gauss_newton_diag(&C, &ddy, |c, y| fprop3(&A, &B, c, y));
        let (mut ddb, mut ddc) = ([9.0; 3], [9.0; 1]);
        super::f64::bprop_part(&ddy, &mut ddb, 2);
        super::f64::bprop_part(&ddy, &mut ddc, 5);
        assert!(rel_err(&ddb, &ndb) < TOL, "{ddb:?} vs {ndb:?}");
        assert!(rel_err(&ddc, &ndc) < TOL, "{ddc:?} vs {ndc:?}");
    }

    /// `concat(a, a)`: the state is read at two offsets; bprop_part then bprop_part_acc into
    /// one `dx` give the sum of its two parts of `dy`, the derivative.
    #[test]
    fn same_state_twice() {
        let a = [0.5, -1.7];
        let dy = [1.0, -0.5, 0.25, 2.0];
        let mut dx = [9.0; 2];
        super::f64::bprop_part(&dy, &mut dx, 0);
        super::f64::bprop_part_acc(&dy, &mut dx, 2);
        let nd = numeric_grad(&a, |a| {
            let mut y = [0.0; 4];
            super::f64::fprop_part(a, &mut y, 0);
            super::f64::fprop_part(a, &mut y, 2);
            y.iter().zip(&dy).map(|(p, q)| p * q).sum()
        });
        assert!(rel_err(&dx, &nd) < TOL, "{dx:?} vs {nd:?}");
        assert_eq!(dx, [1.25, 1.5]);
    }

    /// The minibatch forms give the per-row calls' bits, with parts at both ends of the rows,
    /// and leave the rest of `y` (the other parts) as it is.
    #[test]
    fn minibatch_is_row_by_row() {
        let rows = 3;
        let (w_out, parts) = (6, [(0, 2), (2, 3), (5, 1)]);
        let xs: Vec<Vec<f64>> = parts
            .iter()
            .enumerate()
            .map(|(k, &(_, w))| {
                (0..rows * w)
                    .map(|i| (i * 7 + k * 3) as f64 * 0.25 - 2.0)
                    .collect()
            })
            .collect();
        let dy: Vec<f64> = (0..rows * w_out)
            .map(|i| (i * 5 % 11) as f64 - 5.0)
            .collect();
        let mut y = vec![f64::NAN; rows * w_out];
        for (x, &(offset, w)) in xs.iter().zip(&parts) {
            super::f64::fprop_part_batch(x, &mut y, offset, w, w_out, rows);
        }
        for r in 0..rows {
            let mut yr = [f64::NAN; 6];
            for (x, &(offset, w)) in xs.iter().zip(&parts) {
                super::f64::fprop_part(&x[r * w..(r + 1) * w], &mut yr, offset);
            }
            assert_eq!(yr, y[r * w_out..(r + 1) * w_out]);
        }
        assert!(y.iter().all(|v| !v.is_nan()));

        for (x, &(offset, w)) in xs.iter().zip(&parts) {
            let mut dx = vec![9.0; x.len()];
            super::f64::bprop_part_batch(&dy, &mut dx, offset, w, w_out, rows);
            let mut acc: Vec<f64> = (0..x.len()).map(|i| i as f64 - 1.5).collect();
            let start = acc.clone();
            super::f64::bprop_part_batch_acc(&dy, &mut acc, offset, w, w_out, rows);
            for r in 0..rows {
                let (s, t) = (r * w..(r + 1) * w, r * w_out..(r + 1) * w_out);
                let mut dxr = vec![9.0; w];
                super::f64::bprop_part(&dy[t.clone()], &mut dxr, offset);
                assert_eq!(dxr, dx[s.clone()]);
                let mut accr = start[s.clone()].to_vec();
                super::f64::bprop_part_acc(&dy[t], &mut accr, offset);
                assert_eq!(accr, acc[s]);
            }
            assert!(
                acc.iter()
                    .zip(&start)
                    .zip(&dx)
                    .all(|((a, s), d)| *a == s + d)
            );
        }
        // No rows, and an input of width 0.
        super::f64::fprop_part_batch(&[], &mut [], 0, 2, 6, 0);
        super::f64::fprop_part_batch(&[], &mut [0.0; 12], 6, 0, 6, 2);
    }

    /// `f32` copies the same values as `f64` (a copy and, accumulated, one rounding).
    #[test]
    fn f32_agrees_with_f64() {
        let (b32, dy32) = (to_f32(&B), to_f32(&positive(6, 92)));
        let mut y32 = [0.0f32; 6];
        super::f32::fprop_part(&b32, &mut y32, 3);
        assert_eq!(y32[3..], b32[..]);
        let (mut d32, mut d) = ([0.5f32; 3], [0.5; 3]);
        super::f32::bprop_part_acc(&dy32, &mut d32, 1);
        super::f64::bprop_part_acc(&to_f64(&dy32), &mut d, 1);
        for i in 0..3 {
            assert!((d32[i] as f64 - d[i]).abs() < 1e-6, "{i}");
        }
    }

    #[test]
    #[should_panic(expected = "concat: the part at offset 4 of width 3 does not fit in width 6")]
    fn fprop_part_checks_the_end() {
        super::f64::fprop_part(&[1.0; 3], &mut [0.0; 6], 4);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn bprop_part_checks_the_end() {
        super::f32::bprop_part(&[1.0; 6], &mut [0.0; 2], 5);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn batch_checks_the_part() {
        super::f64::bprop_part_batch_acc(&[1.0; 12], &mut [0.0; 4], 5, 2, 6, 2);
    }

    #[test]
    #[should_panic(expected = "are not 2 rows of 2 and 6")]
    fn batch_checks_the_rows() {
        super::f64::fprop_part_batch(&[1.0; 4], &mut [0.0; 11], 0, 2, 6, 2);
    }

    #[test]
    #[should_panic(expected = "are not 3 rows")]
    fn bprop_batch_checks_the_rows() {
        super::f64::bprop_part_batch(&[1.0; 12], &mut [0.0; 4], 0, 2, 6, 3);
    }
}
