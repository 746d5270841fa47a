//! The kernels of a sigmoid module with trainable biases, `(X_out)_i = f((X_in)_i + B_i)`, for an
//! `f` whose derivative is a function of its output (`f'(z) = slope(f(z))`), so that bprop needs
//! nothing but the saved output, and neither does bbprop (diagonal Gauss–Newton second
//! derivatives: `f'²` in place of `f'`, the `f''` term dropped). [`crate::tanh`], [`crate::sigmoid`] and [`crate::scaled_tanh`]
//! are made with it, with one API (same functions, same arguments, same accumulation rules), so
//! generated code calls them the same way.
//!
//! Each also has bias-free forms (`fprop_nobias`, `bprop_nobias`, …) for the activation alone,
//! `(X_out)_i = f((X_in)_i)`: the same bits as the bias kernels with `B = 0`, taking `x` and `y`
//! like the other pointwise kernels ([`crate::relu`], [`crate::softplus`]).

/// `bias_activation_kernels!(float, "name", f, slope, wide)`: a module `float` with `fprop`,
/// `bprop`, `bprop_acc`, `bprop_params`, the second-derivative `bbprop`, `bbprop_acc`,
/// `bbprop_params`, their minibatch forms, and the bias-free forms `fprop_nobias`,
/// `bprop_nobias`, `bprop_nobias_acc`, `bbprop_nobias`, `bbprop_nobias_acc` (elementwise: a
/// minibatch is the same call on the whole slice). `f` and `slope` are paths to
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

            /// `N` values of `v` as an array: the widths of the generated networks' calls.
            #[inline(always)]
            fn arr<const N: usize>(v: &[$t]) -> &[$t; N] {
                v.try_into().expect(concat!($name, ": widths differ"))
            }

            /// [`fprop`] with the width known at compile time. The inputs are copied into local
            /// arrays, which nothing else can point into, so the compiler vectorises without
            /// checking for overlap; the same operations as [`fprop`], the same bits.
            ///
            /// # Panics
            /// If `b.len() != N`.
            #[inline(always)]
            pub fn fprop_n<const N: usize>(b: &[$t], x: &[$t; N], y: &mut [$t; N]) {
                let (b, x) = (*arr::<N>(b), *x);
                let mut v = [0.0; N];
                for i in 0..N {
                    v[i] = x[i] + b[i];
                }
                for vi in v.iter_mut() {
                    *vi = $f(*vi);
                }
                *y = v;
            }

            /// `dx = dy ∘ f'` (or `+=`, `ACC`) and `bias(b_i, g_i)` for each bias, on local
            /// arrays (see [`fprop_n`]).
            #[inline(always)]
            fn backward_n<const N: usize, const ACC: bool>(
                y: &[$t; N],
                dy: &[$t; N],
                dx: &mut [$t; N],
                b: &mut [$t],
                bias: impl Fn(&mut $t, $t),
            ) {
                let b: &mut [$t; N] = b.try_into().expect(concat!($name, ": widths differ"));
                let (y, dy) = (*y, *dy);
                let (mut d, mut bs) = (if ACC { *dx } else { [0.0; N] }, *b);
                for i in 0..N {
                    let g = dy[i] * $slope(y[i]);
                    if ACC {
                        d[i] += g;
                    } else {
                        d[i] = g;
                    }
                    bias(&mut bs[i], g);
                }
                (*dx, *b) = (d, bs);
            }

            /// [`bprop`] (or [`bprop_acc`], `ACC`) with the width known at compile time (see
            /// [`fprop_n`]).
            ///
            /// # Panics
            /// If `db.len() != N`.
            #[inline(always)]
            pub fn bprop_n<const N: usize, const ACC: bool>(
                y: &[$t; N],
                dy: &[$t; N],
                dx: &mut [$t; N],
                db: &mut [$t],
            ) {
                backward_n::<N, ACC>(y, dy, dx, db, |d, g| *d += g);
            }

            /// bprop fused with a step of gradient descent on the biases, for a network's
            /// `train_sgd`: `dx = dy ∘ f'` (or `+=`, `ACC`), `B −= lr · dy ∘ f'`, without the
            /// gradient pool; the same bits as [`bprop`] into a pool zeroed by `zero_grad` (to
            /// `−0`, which adds nothing) followed by `sgd_step` (see [`fprop_n`] for the local
            /// arrays).
            ///
            /// # Panics
            /// If `b.len() != N`.
            #[inline(always)]
            pub fn bprop_sgd_n<const N: usize, const ACC: bool>(
                y: &[$t; N],
                dy: &[$t; N],
                dx: &mut [$t; N],
                b: &mut [$t],
                lr: $t,
            ) {
                backward_n::<N, ACC>(y, dy, dx, b, |b, g| *b -= lr * g);
            }

            /// The biases' part of [`bprop_sgd_n`] alone: `B −= lr · dy ∘ f'`.
            ///
            /// # Panics
            /// If `b.len() != N`.
            #[inline(always)]
            pub fn bprop_params_sgd_n<const N: usize>(
                y: &[$t; N],
                dy: &[$t; N],
                b: &mut [$t],
                lr: $t,
            ) {
                let b: &mut [$t; N] = b.try_into().expect(concat!($name, ": widths differ"));
                let (y, dy, mut bias) = (*y, *dy, *b);
                for i in 0..N {
                    bias[i] -= lr * (dy[i] * $slope(y[i]));
                }
                *b = bias;
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

            #[inline(always)]
            fn bbprop_impl(y: &[$t], ddy: &[$t], ddx: &mut [$t], ddb: &mut [$t], accumulate: bool) {
                assert!(
                    y.len() == ddy.len() && y.len() == ddx.len() && y.len() == ddb.len(),
                    concat!($name, ": widths differ")
                );
                for (((yi, gi), ddxi), ddbi) in
                    y.iter().zip(ddy).zip(ddx.iter_mut()).zip(ddb.iter_mut())
                {
                    let s = $slope(*yi);
                    let h = s * s * gi;
                    if accumulate {
                        *ddxi += h;
                    } else {
                        *ddxi = h;
                    }
                    *ddbi += h;
                }
            }

            /// bbprop (diagonal Gauss–Newton second derivatives) from the saved output `y`:
            /// `ddx = ddy ∘ f'²` (overwritten), `ddB += ddy ∘ f'²` (accumulated), with `f'`
            /// computed from `y` as in [`bprop`]; the `f''` term is dropped.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop(y: &[$t], ddy: &[$t], ddx: &mut [$t], ddb: &mut [$t]) {
                bbprop_impl(y, ddy, ddx, ddb, false)
            }

            /// As [`bbprop`], but `ddx += ddy ∘ f'²`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_acc(y: &[$t], ddy: &[$t], ddx: &mut [$t], ddb: &mut [$t]) {
                bbprop_impl(y, ddy, ddx, ddb, true)
            }

            /// bbprop of the biases alone: `ddB += ddy ∘ f'²`, and no `ddx`; adds into `ddB`
            /// exactly what [`bbprop`] adds.
            ///
            /// # Panics
            /// If the slices differ in length.
            #[inline]
            pub fn bbprop_params(y: &[$t], ddy: &[$t], ddb: &mut [$t]) {
                assert!(
                    y.len() == ddy.len() && y.len() == ddb.len(),
                    concat!($name, ": widths differ")
                );
                for ((yi, gi), ddbi) in y.iter().zip(ddy).zip(ddb.iter_mut()) {
                    let s = $slope(*yi);
                    *ddbi += s * s * gi;
                }
            }

            /// The rows of a minibatch bbprop: `rows` rows of `w` values in each slice.
            #[inline(always)]
            fn bbprop_rows(w: usize, lens: &[usize], rows: usize) {
                assert!(
                    rows.checked_mul(w)
                        .is_some_and(|need| lens.iter().all(|&l| l >= need)),
                    concat!($name, ": fewer than `rows` rows")
                );
            }

            #[inline(always)]
            fn bbprop_batch_impl(
                y: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddb: &mut [$t],
                rows: usize,
                accumulate: bool,
            ) {
                let w = ddb.len();
                bbprop_rows(w, &[y.len(), ddy.len(), ddx.len()], rows);
                if w == 0 {
                    return;
                }
                for ((yr, ddyr), ddxr) in y
                    .chunks_exact(w)
                    .zip(ddy.chunks_exact(w))
                    .zip(ddx.chunks_exact_mut(w))
                    .take(rows)
                {
                    bbprop_impl(yr, ddyr, ddxr, ddb, accumulate);
                }
            }

            /// bbprop for a minibatch of `rows` rows of `ddb.len()` values: [`bbprop`] row by
            /// row, `ddx` overwritten, `ddB` gathering the sum over the rows.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `ddb.len()` values.
            #[inline]
            pub fn bbprop_batch(y: &[$t], ddy: &[$t], ddx: &mut [$t], ddb: &mut [$t], rows: usize) {
                bbprop_batch_impl(y, ddy, ddx, ddb, rows, false)
            }

            /// As [`bbprop_batch`], but `ddx` accumulated.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `ddb.len()` values.
            #[inline]
            pub fn bbprop_batch_acc(
                y: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddb: &mut [$t],
                rows: usize,
            ) {
                bbprop_batch_impl(y, ddy, ddx, ddb, rows, true)
            }

            /// [`bbprop_params`] for a minibatch: `ddB` gathers the sum over the rows; no `ddx`.
            ///
            /// # Panics
            /// If a slice holds fewer than `rows` rows of `ddb.len()` values.
            #[inline]
            pub fn bbprop_batch_params(y: &[$t], ddy: &[$t], ddb: &mut [$t], rows: usize) {
                let w = ddb.len();
                bbprop_rows(w, &[y.len(), ddy.len()], rows);
                if w == 0 {
                    return;
                }
                for (yr, ddyr) in y.chunks_exact(w).zip(ddy.chunks_exact(w)).take(rows) {
                    bbprop_params(yr, ddyr, ddb);
                }
            }

            #[doc = concat!("fprop without biases: `y = ", $name, "(x)`.")]
            ///
            /// The same bits as [`fprop`] (and [`fprop_batch`]) with `b = 0`: `x + 0` is taken
            /// first as they take `x + b` (so a `−0` input gives what `+0` gives). Elementwise,
            /// so a minibatch is this call on the whole slice (with the wide vectors
            /// [`fprop_batch`] uses, when the CPU has them).
            ///
            /// # Panics
            /// If `x` and `y` differ in length.
            #[inline]
            pub fn fprop_nobias(x: &[$t], y: &mut [$t]) {
                assert_eq!(x.len(), y.len(), concat!($name, ": widths differ"));
                for (yi, xi) in y.iter_mut().zip(x) {
                    *yi = xi + 0.0;
                }
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

            /// `d = g ∘ f'` (`square`: `g ∘ f'²`) from `y`, overwritten or accumulated, with
            /// the expressions of [`bprop_impl`] and [`bbprop_impl`] (the same bits).
            #[inline(always)]
            fn nobias_impl(y: &[$t], g: &[$t], d: &mut [$t], square: bool, accumulate: bool) {
                assert!(
                    y.len() == g.len() && y.len() == d.len(),
                    concat!($name, ": widths differ")
                );
                for ((yi, gi), di) in y.iter().zip(g).zip(d.iter_mut()) {
                    let v = if square {
                        let s = $slope(*yi);
                        s * s * gi
                    } else {
                        gi * $slope(*yi)
                    };
                    if accumulate {
                        *di += v;
                    } else {
                        *di = v;
                    }
                }
            }

            /// bprop without biases, from the saved output `y`: `dx = dy ∘ f'` (overwritten), the
            /// `dx` of [`bprop`]. `x` is unused (the slope comes from `y`).
            ///
            /// # Panics
            /// If `y`, `dy` and `dx` differ in length.
            #[inline]
            pub fn bprop_nobias(_x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                nobias_impl(y, dy, dx, false, false)
            }

            /// As [`bprop_nobias`], but `dx += dy ∘ f'`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If `y`, `dy` and `dx` differ in length.
            #[inline]
            pub fn bprop_nobias_acc(_x: &[$t], y: &[$t], dy: &[$t], dx: &mut [$t]) {
                nobias_impl(y, dy, dx, false, true)
            }

            /// bbprop without biases: `ddx = ddy ∘ f'²` (overwritten), the `ddx` of [`bbprop`].
            /// `x` is unused.
            ///
            /// # Panics
            /// If `y`, `ddy` and `ddx` differ in length.
            #[inline]
            pub fn bbprop_nobias(_x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                nobias_impl(y, ddy, ddx, true, false)
            }

            /// As [`bbprop_nobias`], but `ddx += ddy ∘ f'²`.
            ///
            /// # Panics
            /// If `y`, `ddy` and `ddx` differ in length.
            #[inline]
            pub fn bbprop_nobias_acc(_x: &[$t], y: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                nobias_impl(y, ddy, ddx, true, true)
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

/// Tests of the second-derivative kernels made with [`bias_activation_kernels`], for a test
/// module of their own: bbprop against the Gauss–Newton diagonal from finite-difference
/// Jacobians of fprop, the accumulating, biases-only and minibatch forms, and `f32` against
/// `f64` to within `$f32_tol` per unit of `ddy` (the error of the `f32` activation carried
/// through `f'²`).
#[cfg(test)]
macro_rules! bias_activation_bbprop_tests {
    ($kernels:path, $f32_tol:expr) => {
        use crate::testing::{gauss_newton_diag, positive, rel_err, to_f32, to_f64};
        use $kernels as k;

        /// Relative tolerance against the finite-difference Jacobians ([`rel_err`], floor
        /// 1e-3): central differences at step 1e-4 are exact to about `h² |f‴| / 6 ≈ 2e-9`
        /// relative (`f‴` of order `f'` here), doubled by the squaring; a wrong power of `f'` or
        /// a dropped factor is off by far more.
        const TOL: f64 = 1e-6;

        const B: [f64; 6] = [0.1, -0.4, 0.8, 0.0, 1.5, -0.3];
        const X: [f64; 6] = [0.5, 1.7, -2.2, 0.03, -3.0, 2.9];

        #[test]
        fn bbprop_is_the_gauss_newton_diagonal() {
            let ddy = positive(6, 21);
            let mut y = [0.0; 6];
            k::f64::fprop(&B, &X, &mut y);
            let (mut ddx, mut ddb) = ([9.0; 6], [0.0; 6]);
            k::f64::bbprop(&y, &ddy, &mut ddx, &mut ddb);
            let nddx = gauss_newton_diag(&X, &ddy, |x, y| k::f64::fprop(&B, x, y));
            let nddb = gauss_newton_diag(&B, &ddy, |b, y| k::f64::fprop(b, &X, y));
            assert!(rel_err(&ddx, &nddx) < TOL, "ddx {ddx:?} vs {nddx:?}");
            assert!(rel_err(&ddb, &nddb) < TOL, "ddB {ddb:?} vs {nddb:?}");
            // Not so small that the absolute floor of `rel_err` (1e-9) would hide an error.
            assert!(ddx.iter().all(|&v| v > 1e-4), "{ddx:?}");

            // The accumulating variant adds onto ddx; both add onto ddB.
            let mut ddx2 = [1.0; 6];
            k::f64::bbprop_acc(&y, &ddy, &mut ddx2, &mut ddb);
            let want: Vec<f64> = nddx.iter().map(|v| v + 1.0).collect();
            assert!(rel_err(&ddx2, &want) < TOL, "{ddx2:?} vs {want:?}");
            let want: Vec<f64> = nddb.iter().map(|v| 2.0 * v).collect();
            assert!(rel_err(&ddb, &want) < TOL, "{ddb:?} vs {want:?}");
        }

        /// The biases-only kernels add into ddB exactly what the full ones add, and a minibatch
        /// gives each row what the per-sample kernels give it (ddB: their sum), bit for bit.
        #[test]
        fn bbprop_params_and_batch() {
            let (b, rows) = (&B[..3], 2);
            let ddy = positive(6, 22);
            let mut y = [0.0; 6];
            k::f64::fprop_batch(b, &X, &mut y, rows);
            let (mut ddx, mut ddb, mut ddb_only) = ([0.0; 3], [0.5; 3], [0.5; 3]);
            k::f64::bbprop(&y[..3], &ddy[..3], &mut ddx, &mut ddb);
            k::f64::bbprop_params(&y[..3], &ddy[..3], &mut ddb_only);
            assert_eq!(ddb_only, ddb);

            let (mut ddxs, mut ddb, mut ddb_rows) = ([7.0; 6], [0.5; 3], [0.5; 3]);
            k::f64::bbprop_batch(&y, &ddy, &mut ddxs, &mut ddb, rows);
            let (mut acc, mut ddb_acc_rows) = ([1.0; 6], ddb);
            for r in 0..rows {
                let s = 3 * r..3 * r + 3;
                let mut ddxr = [0.0; 3];
                k::f64::bbprop(&y[s.clone()], &ddy[s.clone()], &mut ddxr, &mut ddb_rows);
                assert_eq!(ddxr, ddxs[s.clone()], "row {r}");
                let mut accr = [1.0; 3];
                k::f64::bbprop_acc(&y[s.clone()], &ddy[s.clone()], &mut accr, &mut ddb_acc_rows);
                acc[s].copy_from_slice(&accr);
            }
            assert_eq!(ddb, ddb_rows);
            let mut ddxs_acc = [1.0; 6];
            let mut ddb_acc = ddb;
            k::f64::bbprop_batch_acc(&y, &ddy, &mut ddxs_acc, &mut ddb_acc, rows);
            assert_eq!(ddxs_acc, acc);
            assert_eq!(ddb_acc, ddb_acc_rows);
            let mut ddb_only = [0.5; 3];
            k::f64::bbprop_batch_params(&y, &ddy, &mut ddb_only, rows);
            assert_eq!(ddb_only, ddb);

            let (y32, ddy32) = (to_f32(&y), to_f32(&ddy));
            let (mut ddxs, mut ddb, mut ddb_only) = ([0.0f32; 6], [0.5f32; 3], [0.5f32; 3]);
            k::f32::bbprop_batch_acc(&y32, &ddy32, &mut ddxs, &mut ddb, rows);
            k::f32::bbprop_batch_params(&y32, &ddy32, &mut ddb_only, rows);
            assert_eq!(ddb_only, ddb);

            // Width 0 is accepted.
            k::f64::bbprop_batch(&[], &[], &mut [], &mut [], 3);
            k::f64::bbprop_batch_params(&[], &[], &mut [], 3);
        }

        #[test]
        #[should_panic(expected = "fewer than `rows` rows")]
        fn bbprop_batch_checks_the_rows() {
            k::f64::bbprop_batch(&[0.5; 6], &[1.0; 5], &mut [0.0; 6], &mut [0.0; 3], 2);
        }

        /// `f32` (its own activation, from `f32` inputs) against `f64` on the same inputs.
        #[test]
        fn bbprop_f32_agrees_with_f64() {
            let (b32, x32) = (to_f32(&B), to_f32(&X));
            let ddy32 = to_f32(&positive(6, 23));
            let mut y32 = [0.0f32; 6];
            k::f32::fprop(&b32, &x32, &mut y32);
            let (mut ddx32, mut ddb32) = ([0.0f32; 6], [0.0f32; 6]);
            k::f32::bbprop(&y32, &ddy32, &mut ddx32, &mut ddb32);
            let (b, x, ddy) = (to_f64(&b32), to_f64(&x32), to_f64(&ddy32));
            let mut y = [0.0; 6];
            k::f64::fprop(&b, &x, &mut y);
            let (mut ddx, mut ddb) = ([0.0; 6], [0.0; 6]);
            k::f64::bbprop(&y, &ddy, &mut ddx, &mut ddb);
            for i in 0..6 {
                let err = (ddx32[i] as f64 - ddx[i]).abs();
                assert!(err <= $f32_tol * ddy[i], "{i}: {} vs {}", ddx32[i], ddx[i]);
                assert_eq!(ddx32[i], ddb32[i]);
            }
        }
    };
}

#[cfg(test)]
pub(crate) use bias_activation_bbprop_tests;

/// Tests of the bias-free forms made with [`bias_activation_kernels`], for a test module of their
/// own: the same bits as the bias kernels with `B = 0` (per sample, per minibatch, `f32` and
/// `f64`), bprop against central differences and bbprop against the Gauss–Newton diagonal, the
/// overwriting and accumulating forms, and `f32` against `f64` to within `$y_tol` (outputs) and
/// `$d_tol` per unit of `dy` (`dx` and `ddx`).
#[cfg(test)]
macro_rules! bias_activation_nobias_tests {
    ($kernels:path, $y_tol:expr, $d_tol:expr) => {
        use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err, to_f32, to_f64};
        use $kernels as k;

        /// Relative tolerance against finite differences ([`rel_err`], floor 1e-3): central
        /// differences at step 1e-5 (bprop) and 1e-4 (the Jacobians of bbprop) are exact to
        /// about `h² |f‴| / 6 ≤ 2e-9` relative (`f‴` of the order of `f'` here), doubled by
        /// the squaring; a wrong slope or power of it is off by far more.
        const TOL: f64 = 1e-6;

        const X: [f64; 6] = [0.5, 1.7, -2.2, 0.03, -1.2, 0.9];

        /// 4 rows of 37, with a tail for the wide vectors, a `−0` and values saturating in `f32`.
        fn inputs() -> Vec<f64> {
            let mut x: Vec<f64> = (0..148)
                .map(|i| ((i * 29 % 61) as f64 - 30.0) / 3.0)
                .collect();
            x[5] = -0.0;
            x[6] = 0.0;
            x
        }

        /// fprop, bprop and bbprop without biases give the bits of the bias kernels with `B = 0`,
        /// per sample and per minibatch, for both floats.
        #[test]
        fn nobias_is_the_bias_kernels_with_zero_biases() {
            let x = inputs();
            let dy: Vec<f64> = (0..148)
                .map(|i| ((i * 17 % 23) as f64 - 11.0) / 5.0)
                .collect();
            let b = [0.0; 37];
            let (mut y, mut want, mut rows) = (vec![0.0; 148], vec![0.0; 148], vec![0.0; 148]);
            k::f64::fprop_nobias(&x, &mut y);
            k::f64::fprop_batch(&b, &x, &mut want, 4);
            for (xr, yr) in x.chunks(37).zip(rows.chunks_mut(37)) {
                k::f64::fprop(&b, xr, yr);
            }
            let bits = |v: &[f64]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&want));
            assert_eq!(bits(&y), bits(&rows));
            let (mut dx, mut dxb, mut db) = (vec![9.0; 148], vec![0.0; 148], vec![0.0; 37]);
            k::f64::bprop_nobias(&x, &y, &dy, &mut dx);
            k::f64::bprop_batch(&y, &dy, &mut dxb, &mut db, 4);
            assert_eq!(bits(&dx), bits(&dxb));
            k::f64::bbprop_nobias(&x, &y, &dy, &mut dx);
            k::f64::bbprop_batch(&y, &dy, &mut dxb, &mut db, 4);
            assert_eq!(bits(&dx), bits(&dxb));

            let (x, dy) = (to_f32(&x), to_f32(&dy));
            let b = [0.0f32; 37];
            let (mut y, mut want, mut rows) =
                (vec![0.0f32; 148], vec![0.0f32; 148], vec![0.0f32; 148]);
            k::f32::fprop_nobias(&x, &mut y);
            k::f32::fprop_batch(&b, &x, &mut want, 4);
            for (xr, yr) in x.chunks(37).zip(rows.chunks_mut(37)) {
                k::f32::fprop(&b, xr, yr);
            }
            let bits = |v: &[f32]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&want));
            assert_eq!(bits(&y), bits(&rows));
            let (mut dx, mut dxb, mut db) =
                (vec![9.0f32; 148], vec![0.0f32; 148], vec![0.0f32; 37]);
            k::f32::bprop_nobias(&x, &y, &dy, &mut dx);
            k::f32::bprop_batch(&y, &dy, &mut dxb, &mut db, 4);
            assert_eq!(bits(&dx), bits(&dxb));
            k::f32::bbprop_nobias(&x, &y, &dy, &mut dx);
            k::f32::bbprop_batch(&y, &dy, &mut dxb, &mut db, 4);
            assert_eq!(bits(&dx), bits(&dxb));
        }

        /// A minibatch is the same call on the whole slice: the per-row calls, bit for bit.
        #[test]
        fn nobias_minibatch_is_row_by_row() {
            let x = to_f32(&inputs());
            let dy = to_f32(&positive(148, 51));
            let (mut y, mut dx) = (vec![0.0f32; 148], vec![0.0f32; 148]);
            k::f32::fprop_nobias(&x, &mut y);
            k::f32::bbprop_nobias(&x, &y, &dy, &mut dx);
            for r in 0..4 {
                let s = 37 * r..37 * r + 37;
                let (mut yr, mut dxr) = ([0.0f32; 37], [0.0f32; 37]);
                k::f32::fprop_nobias(&x[s.clone()], &mut yr);
                k::f32::bbprop_nobias(&x[s.clone()], &yr, &dy[s.clone()], &mut dxr);
                assert_eq!(yr, y[s.clone()]);
                assert_eq!(dxr, dx[s]);
            }
        }

        #[test]
        fn nobias_bprop_matches_finite_differences() {
            let dy = [1.0, -0.5, 0.25, 2.0, -1.25, 0.75];
            let mut y = [0.0; 6];
            k::f64::fprop_nobias(&X, &mut y);
            let nd = numeric_grad(&X, |x| {
                let mut y = [0.0; 6];
                k::f64::fprop_nobias(x, &mut y);
                y.iter().zip(&dy).map(|(p, q)| p * q).sum()
            });
            let mut dx = [9.0; 6];
            k::f64::bprop_nobias(&X, &y, &dy, &mut dx);
            assert!(rel_err(&dx, &nd) < TOL, "{dx:?} vs {nd:?}");
            let start = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0];
            let mut acc = start;
            k::f64::bprop_nobias_acc(&X, &y, &dy, &mut acc);
            let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
        }

        #[test]
        fn nobias_bbprop_is_the_gauss_newton_diagonal() {
            let ddy = positive(6, 52);
            let mut y = [0.0; 6];
            k::f64::fprop_nobias(&X, &mut y);
            let nd = gauss_newton_diag(&X, &ddy, k::f64::fprop_nobias);
            let mut ddx = [9.0; 6];
            k::f64::bbprop_nobias(&X, &y, &ddy, &mut ddx);
            assert!(rel_err(&ddx, &nd) < TOL, "{ddx:?} vs {nd:?}");
            // Not so small that the absolute floor of `rel_err` would hide an error.
            assert!(ddx.iter().all(|&v| v > 1e-4), "{ddx:?}");
            let start = [1.0, -2.0, 3.0, 0.5, -0.5, 4.0];
            let mut acc = start;
            k::f64::bbprop_nobias_acc(&X, &y, &ddy, &mut acc);
            let want: Vec<f64> = nd.iter().zip(&start).map(|(n, s)| n + s).collect();
            assert!(rel_err(&acc, &want) < TOL, "{acc:?} vs {want:?}");
        }

        #[test]
        fn nobias_f32_agrees_with_f64() {
            let x32 = to_f32(&X);
            let dy32 = to_f32(&positive(6, 53));
            let (x, dy) = (to_f64(&x32), to_f64(&dy32));
            let (mut y32, mut dx32, mut ddx32) = ([0.0f32; 6], [0.0f32; 6], [0.0f32; 6]);
            let (mut y, mut dx, mut ddx) = ([0.0; 6], [0.0; 6], [0.0; 6]);
            k::f32::fprop_nobias(&x32, &mut y32);
            k::f32::bprop_nobias(&x32, &y32, &dy32, &mut dx32);
            k::f32::bbprop_nobias(&x32, &y32, &dy32, &mut ddx32);
            k::f64::fprop_nobias(&x, &mut y);
            k::f64::bprop_nobias(&x, &y, &dy, &mut dx);
            k::f64::bbprop_nobias(&x, &y, &dy, &mut ddx);
            for i in 0..6 {
                assert!(
                    (y32[i] as f64 - y[i]).abs() < $y_tol,
                    "y {i}: {} vs {}",
                    y32[i],
                    y[i]
                );
                let tol = $d_tol * dy[i];
                assert!(
                    (dx32[i] as f64 - dx[i]).abs() < tol,
                    "dx {i}: {} vs {}",
                    dx32[i],
                    dx[i]
                );
                assert!(
                    (ddx32[i] as f64 - ddx[i]).abs() < tol,
                    "ddx {i}: {} vs {}",
                    ddx32[i],
                    ddx[i]
                );
            }
        }

        #[test]
        #[should_panic(expected = "widths differ")]
        fn nobias_fprop_checks_widths() {
            k::f64::fprop_nobias(&[1.0; 3], &mut [0.0; 2]);
        }

        #[test]
        #[should_panic(expected = "widths differ")]
        fn nobias_bbprop_checks_widths() {
            k::f32::bbprop_nobias_acc(&[1.0; 3], &[0.5; 3], &[1.0; 2], &mut [0.0; 3]);
        }
    };
}

#[cfg(test)]
pub(crate) use bias_activation_nobias_tests;
