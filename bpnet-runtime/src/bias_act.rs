//! The kernels of a sigmoid module with trainable biases, `(X_out)_i = f((X_in)_i + B_i)`, for an
//! `f` whose derivative is a function of its output (`f'(z) = slope(f(z))`), so that bprop needs
//! nothing but the saved output. [`crate::tanh`], [`crate::sigmoid`] and [`crate::scaled_tanh`]
//! are made with it, with one API (same functions, same arguments, same accumulation rules), so
//! generated code calls them the same way.

/// `bias_activation_kernels!(float, "name", f, slope, wide)`: a module `float` with `fprop`,
/// `bprop`, `bprop_acc`, `bprop_params` and their minibatch forms. `f` and `slope` are paths to
/// `fn(float) -> float` seen from inside that module; `wide` is an
/// `Option<fn(&mut [float]) -> bool>` that applies `f` in place over a whole minibatch with wider
/// vectors when the CPU has them (returning `false` when it does not), with the same bits.
macro_rules! bias_activation_kernels {
    ($t:ident, $name:literal, $f:path, $slope:path, $wide:expr) => {
        #[doc = concat!("The ", $name, " kernels for `", stringify!($t), "`.")]
        pub mod $t {
            #[doc = concat!("fprop: `y = ", $name, "(x + b)`.")]
            ///
            /// # Panics
            /// If `b`, `x` and `y` differ in length.
            #[inline]
            pub fn fprop(b: &[$t], x: &[$t], y: &mut [$t]) {
                assert!(
                    b.len() == x.len() && x.len() == y.len(),
                    concat!($name, ": widths differ")
                );
                for ((yi, xi), bi) in y.iter_mut().zip(x).zip(b) {
                    *yi = xi + bi;
                }
                // In place, in a loop of its own, so that it vectorises (as in `tanh`).
                for v in y.iter_mut() {
                    *v = $f(*v);
                }
            }

            #[inline(always)]
            fn bprop_impl(y: &[$t], dy: &[$t], dx: &mut [$t], db: &mut [$t], accumulate: bool) {
                assert!(
                    y.len() == dy.len() && y.len() == dx.len() && y.len() == db.len(),
                    concat!($name, ": widths differ")
                );
                for (((yi, gi), dxi), dbi) in y.iter().zip(dy).zip(dx.iter_mut()).zip(db.iter_mut())
                {
                    let g = gi * $slope(*yi);
                    if accumulate {
                        *dxi += g;
                    } else {
                        *dxi = g;
                    }
                    *dbi += g;
                }
            }

            /// bprop from the saved output `y`: `dx = dy ∘ f'` (overwritten), `dB += dy ∘ f'`
            /// (accumulated), with `f'` computed from `y`.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop(y: &[$t], dy: &[$t], dx: &mut [$t], db: &mut [$t]) {
                bprop_impl(y, dy, dx, db, false)
            }

            /// As [`bprop`], but `dx += dy ∘ f'`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_acc(y: &[$t], dy: &[$t], dx: &mut [$t], db: &mut [$t]) {
                bprop_impl(y, dy, dx, db, true)
            }

            /// bprop of the biases alone: `dB += dy ∘ f'`, and no `dx`. For a module reading a
            /// network input whose derivative is not wanted; adds into `dB` exactly what
            /// [`bprop`] adds.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bprop_params(y: &[$t], dy: &[$t], db: &mut [$t]) {
                assert!(
                    y.len() == dy.len() && y.len() == db.len(),
                    concat!($name, ": widths differ")
                );
                for ((yi, gi), dbi) in y.iter().zip(dy).zip(db.iter_mut()) {
                    *dbi += gi * $slope(*yi);
                }
            }

            /// fprop for a minibatch of `rows` rows of `b.len()` values each (the same bits as
            /// [`fprop`] row by row).
            ///
            /// # Panics
            /// If `x` or `y` holds fewer than `rows` rows.
            #[inline]
            pub fn fprop_batch(b: &[$t], x: &[$t], y: &mut [$t], rows: usize) {
                let w = b.len();
                assert!(
                    x.len() >= rows * w && y.len() >= rows * w,
                    concat!($name, ": fewer than `rows` rows")
                );
                if w == 0 {
                    return;
                }
                for (xr, yr) in x.chunks_exact(w).zip(y.chunks_exact_mut(w)).take(rows) {
                    for ((yi, xi), bi) in yr.iter_mut().zip(xr).zip(b) {
                        *yi = xi + bi;
                    }
                }
                let y = &mut y[..rows * w];
                let wide: Option<fn(&mut [$t]) -> bool> = $wide;
                if let Some(f) = wide
                    && f(y)
                {
                    return;
                }
                for v in y.iter_mut() {
                    *v = $f(*v);
                }
            }

            #[inline(always)]
            fn bprop_batch_impl(
                y: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                db: &mut [$t],
                rows: usize,
                accumulate: bool,
            ) {
                let w = db.len();
                assert!(
                    y.len() >= rows * w && dy.len() >= rows * w && dx.len() >= rows * w,
                    concat!($name, ": fewer than `rows` rows")
                );
                if w == 0 {
                    return;
                }
                for ((yr, dyr), dxr) in y
                    .chunks_exact(w)
                    .zip(dy.chunks_exact(w))
                    .zip(dx.chunks_exact_mut(w))
                    .take(rows)
                {
                    bprop_impl(yr, dyr, dxr, db, accumulate);
                }
            }

            /// bprop for a minibatch (`db` gathers the sum over the rows); `dx` overwritten.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `db.len()` values.
            #[inline]
            pub fn bprop_batch(y: &[$t], dy: &[$t], dx: &mut [$t], db: &mut [$t], rows: usize) {
                bprop_batch_impl(y, dy, dx, db, rows, false)
            }

            /// As [`bprop_batch`], but `dx` accumulated.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `db.len()` values.
            #[inline]
            pub fn bprop_batch_acc(y: &[$t], dy: &[$t], dx: &mut [$t], db: &mut [$t], rows: usize) {
                bprop_batch_impl(y, dy, dx, db, rows, true)
            }

            /// [`bprop_params`] for a minibatch: `dB` gathers the sum over the rows; no `dx`.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `db.len()` values.
            #[inline]
            pub fn bprop_batch_params(y: &[$t], dy: &[$t], db: &mut [$t], rows: usize) {
                let w = db.len();
                assert!(
                    y.len() >= rows * w && dy.len() >= rows * w,
                    concat!($name, ": fewer than `rows` rows")
                );
                if w == 0 {
                    return;
                }
                for (yr, dyr) in y.chunks_exact(w).zip(dy.chunks_exact(w)).take(rows) {
                    bprop_params(yr, dyr, db);
                }
            }
        }
    };
}

pub(crate) use bias_activation_kernels;

/// Tests shared by the kernels made with [`bias_activation_kernels`]: bprop against central
/// differences (f64, relative tolerance [`crate::testing`]'s 1e-6), the accumulating and
/// biases-only variants, and minibatches against rows.
#[cfg(test)]
macro_rules! bias_activation_tests {
    ($kernels:path, $f32_tol:expr) => {
        use crate::testing::{numeric_grad, rel_err};
        use $kernels as k;

        /// Relative tolerance of the finite-difference checks (central differences, f64, step
        /// 1e-5).
        const TOL: f64 = 1e-6;

        fn energy(b: &[f64], x: &[f64], dy: &[f64]) -> f64 {
            let mut y = vec![0.0; x.len()];
            k::f64::fprop(b, x, &mut y);
            y.iter().zip(dy).map(|(a, b)| a * b).sum()
        }

        #[test]
        fn bprop_matches_finite_differences() {
            let b = [0.1, -0.4, 0.8, 0.0, 1.5];
            let x = [0.5, 1.7, -2.2, 0.03, -3.0];
            let dy = [1.0, -0.5, 0.25, 2.0, -1.25];
            let mut y = [0.0; 5];
            k::f64::fprop(&b, &x, &mut y);
            let (mut dx, mut db) = ([9.0; 5], [0.0; 5]);
            k::f64::bprop(&y, &dy, &mut dx, &mut db);
            let ndx = numeric_grad(&x, |x| energy(&b, x, &dy));
            let ndb = numeric_grad(&b, |b| energy(b, &x, &dy));
            assert!(rel_err(&dx, &ndx) < TOL, "{dx:?} {ndx:?}");
            assert!(rel_err(&db, &ndb) < TOL, "{db:?} {ndb:?}");

            let mut dx2 = [1.0; 5];
            k::f64::bprop_acc(&y, &dy, &mut dx2, &mut db);
            let want: Vec<f64> = ndx.iter().map(|v| v + 1.0).collect();
            assert!(rel_err(&dx2, &want) < TOL);
            let want: Vec<f64> = ndb.iter().map(|v| 2.0 * v).collect();
            assert!(rel_err(&db, &want) < TOL);
        }

        /// The biases-only kernels add into `dB` exactly what the full ones add, bit for bit,
        /// and a minibatch gives each row what the per-sample kernels give it.
        #[test]
        fn params_only_and_batch_kernels() {
            let b = [0.2, -0.3, 0.05];
            let x = [0.3, -0.9, 0.05, 0.7, -0.2, 0.6];
            let dy = [1.0, -0.5, 0.25, 2.0, 0.1, -1.5];
            let mut y = [0.0; 6];
            k::f64::fprop_batch(&b, &x, &mut y, 2);
            for r in 0..2 {
                let mut row = [0.0; 3];
                k::f64::fprop(&b, &x[3 * r..3 * r + 3], &mut row);
                assert_eq!(row, y[3 * r..3 * r + 3]);
            }
            let (mut dx, mut db, mut db_only) = ([0.0; 3], [0.5; 3], [0.5; 3]);
            k::f64::bprop(&y[..3], &dy[..3], &mut dx, &mut db);
            k::f64::bprop_params(&y[..3], &dy[..3], &mut db_only);
            assert_eq!(db_only, db);
            let (mut dxs, mut db_rows) = ([7.0; 6], [0.0; 3]);
            k::f64::bprop_batch(&y, &dy, &mut dxs, &mut db, 2);
            k::f64::bprop_batch_params(&y, &dy, &mut db_only, 2);
            assert_eq!(db_only, db);
            for r in 0..2 {
                let mut dxr = [0.0; 3];
                let s = 3 * r..3 * r + 3;
                k::f64::bprop(&y[s.clone()], &dy[s.clone()], &mut dxr, &mut db_rows);
                assert_eq!(dxr, dxs[s]);
            }
            let mut acc = dxs;
            k::f64::bprop_batch_acc(&y, &dy, &mut acc, &mut db, 2);
            for (a, d) in acc.iter().zip(&dxs) {
                assert_eq!(*a, 2.0 * d);
            }
            // Width 0 is accepted.
            k::f64::fprop_batch(&[], &[], &mut [], 3);
            k::f64::bprop_batch_params(&[], &[], &mut [], 3);
        }

        /// `f32` per sample and per minibatch give the same bits (the minibatch goes through the
        /// widest vectors the CPU has, with a tail), and agree with `f64` to the given absolute
        /// tolerance.
        #[test]
        fn f32_batch_and_per_sample_agree() {
            let b: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) / 7.0).collect();
            let x: Vec<f32> = (0..148)
                .map(|i| ((i * 29 % 61) as f32 - 30.0) / 3.0)
                .collect();
            let (mut y, mut rows) = (vec![0.0f32; 148], vec![0.0f32; 148]);
            k::f32::fprop_batch(&b, &x, &mut y, 4);
            for (xr, yr) in x.chunks(37).zip(rows.chunks_mut(37)) {
                k::f32::fprop(&b, xr, yr);
            }
            let b64: Vec<f64> = b.iter().map(|&v| v as f64).collect();
            for (i, (v, r)) in y.iter().zip(&rows).enumerate() {
                assert_eq!(v.to_bits(), r.to_bits(), "element {i}");
                let mut exact = [0.0f64];
                k::f64::fprop(&b64[i % 37..i % 37 + 1], &[x[i] as f64], &mut exact);
                assert!(
                    (*v as f64 - exact[0]).abs() < $f32_tol,
                    "element {i}: {v} vs {}",
                    exact[0]
                );
            }
        }
    };
}

#[cfg(test)]
pub(crate) use bias_activation_tests;
