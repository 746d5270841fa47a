//! The bias of an affine layer, added in place onto the output of a linear module: `y += b`.
//! Its Jacobian to `b` is the identity (and to `y`'s earlier value too, so the linear module's
//! bprop reads the same `dy`).
//!
//! fprop adds `b` into `y` ([`f64::fprop`]); bprop adds `dy` into the bias's slice `db` of the
//! gradient pool ([`f64::bprop`]; parameter gradients always accumulate). bbprop (diagonal
//! Gauss–Newton, coefficient `1² = 1`) is the same [`f64::bprop`] on `ddy`, adding into the
//! bias's slice of the second-derivative pool: there is no bbprop kernel here.
//!
//! A minibatch is row-major, `rows` rows of `b.len()` values: [`f64::fprop_batch`] adds `b` to
//! each row, [`f64::bprop_batch`] adds the sum of the rows of `dy` into `db`, row by row (the
//! bits of the per-sample calls in order).

macro_rules! bias_kernels {
    ($t:ident) => {
        #[doc = concat!("Bias kernels for `", stringify!($t), "`.")]
        pub mod $t {
            /// The slice holds `rows` rows of `w` values, exactly.
            #[inline(always)]
            fn check_rows(len: usize, w: usize, rows: usize) {
                assert!(
                    rows.checked_mul(w) == Some(len),
                    "bias: {len} values are not {rows} rows of {w}"
                );
            }

            /// fprop: `y += b`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn fprop(b: &[$t], y: &mut [$t]) {
                assert_eq!(b.len(), y.len(), "bias: widths differ");
                for (yi, bi) in y.iter_mut().zip(b) {
                    *yi += bi;
                }
            }

            /// bprop (and, on `ddy` and `ddb`, bbprop): `db += dy`.
            ///
            /// # Panics
            /// If the lengths differ.
            #[inline]
            pub fn bprop(dy: &[$t], db: &mut [$t]) {
                assert_eq!(dy.len(), db.len(), "bias: widths differ");
                for (d, g) in db.iter_mut().zip(dy) {
                    *d += g;
                }
            }

            /// [`fprop`] for a minibatch: each of the `rows` rows of `y` (of `b.len()` values)
            /// `+= b`.
            ///
            /// # Panics
            /// If `y` is not `rows` rows of `b.len()` values.
            #[inline]
            pub fn fprop_batch(b: &[$t], y: &mut [$t], rows: usize) {
                let w = b.len();
                check_rows(y.len(), w, rows);
                if w == 0 {
                    return;
                }
                for yr in y.chunks_exact_mut(w) {
                    fprop(b, yr);
                }
            }

            /// [`bprop`] for a minibatch: `db +=` each of the `rows` rows of `dy` (of `db.len()`
            /// values), in order.
            ///
            /// # Panics
            /// If `dy` is not `rows` rows of `db.len()` values.
            #[inline]
            pub fn bprop_batch(dy: &[$t], db: &mut [$t], rows: usize) {
                let w = db.len();
                check_rows(dy.len(), w, rows);
                if w == 0 {
                    return;
                }
                for dyr in dy.chunks_exact(w) {
                    bprop(dyr, db);
                }
            }
        }
    };
}

bias_kernels!(f32);
bias_kernels!(f64);

#[cfg(test)]
mod tests {
    use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};

    const B: [f64; 3] = [0.5, -1.7, 2.2];
    const Y0: [f64; 3] = [1.0, 0.25, -3.0];

    /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): the function is
    /// linear, so central differences have no truncation error, only rounding (`ε |y| / h ≈
    /// 1e-10` at step 1e-5). A gradient overwritten instead of added is off by the start value.
    const TOL: f64 = 1e-8;

    /// `y = y0 + b`.
    fn affine(b: &[f64], y: &mut [f64]) {
        y.copy_from_slice(&Y0);
        super::f64::fprop(b, y);
    }

    #[test]
    fn fprop_and_gradients() {
        let mut y = [0.0; 3];
        affine(&B, &mut y);
        assert_eq!(y, [1.0 + 0.5, 0.25 - 1.7, -3.0 + 2.2]);
        let dy = [1.0, -0.5, 0.25];
        let nd = numeric_grad(&B, |b| {
            let mut y = [0.0; 3];
            affine(b, &mut y);
            y.iter().zip(&dy).map(|(p, q)| p * q).sum()
        });
        // Added into the pool: from non-zero values.
        let start = [1.0, -2.0, 3.0];
        let mut db = start;
        super::f64::bprop(&dy, &mut db);
        let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
        assert!(rel_err(&db, &want) < TOL, "{db:?} vs {want:?}");
        assert_eq!(db, [2.0, -2.5, 3.25]);

        // bbprop: bprop on ddy, the Gauss–Newton diagonal, added.
        let ddy = positive(3, 111);
        let ndd = gauss_newton_diag(&B, &ddy, affine);
        let mut ddb = start;
        super::f64::bprop(&ddy, &mut ddb);
        let want: Vec<f64> = ndd.iter().zip(&start).map(|(n, s)| n + s).collect();
        assert!(rel_err(&ddb, &want) < TOL, "{ddb:?} vs {want:?}");
    }

    /// The minibatch forms give the per-row calls' bits (`db`: the rows added in order).
    #[test]
    fn minibatch_is_row_by_row() {
        let rows = 4;
        let y0: Vec<f64> = (0..rows * 3)
            .map(|i| (i * 7 % 13) as f64 * 0.3 - 1.0)
            .collect();
        let dy: Vec<f64> = (0..rows * 3)
            .map(|i| (i * 5 % 11) as f64 * 0.1 - 0.5)
            .collect();
        let mut y = y0.clone();
        super::f64::fprop_batch(&B, &mut y, rows);
        let mut db = [0.5, 0.25, -1.0];
        let mut db_rows = db;
        super::f64::bprop_batch(&dy, &mut db, rows);
        for r in 0..rows {
            let s = 3 * r..3 * r + 3;
            let mut yr = y0[s.clone()].to_vec();
            super::f64::fprop(&B, &mut yr);
            assert_eq!(yr, y[s.clone()]);
            super::f64::bprop(&dy[s], &mut db_rows);
        }
        assert_eq!(db, db_rows);
        let want: Vec<f64> = (0..3)
            .map(|i| [0.5, 0.25, -1.0][i] + (0..rows).map(|r| dy[3 * r + i]).sum::<f64>())
            .collect();
        assert!(rel_err(&db, &want) < 1e-12);
        // Width 0, and no rows.
        super::f64::fprop_batch(&[], &mut [], 5);
        super::f64::bprop_batch(&[], &mut [0.0; 3], 0);
    }

    /// `f32` against `f64`: one rounding per add, within 1e-6 here.
    #[test]
    fn f32_agrees_with_f64() {
        let (b32, y32) = (to_f32(&B), to_f32(&positive(6, 112)));
        let (b, y0) = (to_f64(&b32), to_f64(&y32));
        let (mut y32, mut y) = (y32, y0);
        super::f32::fprop_batch(&b32, &mut y32, 2);
        super::f64::fprop_batch(&b, &mut y, 2);
        let (mut db32, mut db) = ([0.0f32; 3], [0.0; 3]);
        super::f32::bprop_batch(&y32, &mut db32, 2);
        super::f64::bprop_batch(&y, &mut db, 2);
        for i in 0..6 {
            assert!((y32[i] as f64 - y[i]).abs() < 1e-6, "y {i}");
        }
        for i in 0..3 {
            assert!((db32[i] as f64 - db[i]).abs() < 1e-6, "db {i}");
        }
    }

    #[test]
    #[should_panic(expected = "bias: widths differ")]
    fn fprop_checks_widths() {
        super::f64::fprop(&[1.0; 3], &mut [0.0; 2]);
    }

    #[test]
    #[should_panic(expected = "bias: widths differ")]
    fn bprop_checks_widths() {
        super::f32::bprop(&[1.0; 2], &mut [0.0; 3]);
    }

    #[test]
    #[should_panic(expected = "bias: 7 values are not 2 rows of 3")]
    fn fprop_batch_checks_the_rows() {
        super::f64::fprop_batch(&[1.0; 3], &mut [0.0; 7], 2);
    }

    #[test]
    #[should_panic(expected = "bias: 6 values are not 3 rows of 3")]
    fn bprop_batch_checks_the_rows() {
        super::f64::bprop_batch(&[1.0; 6], &mut [0.0; 3], 3);
    }
}
