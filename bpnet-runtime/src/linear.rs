//! The lecture's Linear module: `X_out = W X_in`.
//!
//! `W` has shape `out × in` and is stored row-major in the network's parameter pool, so row `i`
//! holds the weights of output `i`.

/// `$start` is the value a per-sample sum starts from: for `f32`, `−0.0`, the additive identity
/// (`−0 + p` is `p` for every `p`, where `+0 + (−0)` is `+0`), so the compiler drops the first
/// addition, one addition less on a small network's chain of dependent operations; for `f64`,
/// `+0.0`, where the minibatch's matrix product starts, so that a sample's `dx` has the same
/// bits alone and in a minibatch, to the sign of a zero.
macro_rules! linear_kernels {
    ($t:ident, $start:literal) => {
        #[doc = concat!("Linear kernels for `", stringify!($t), "`.")]
        pub mod $t {
            #[cfg(feature = "std")]
            use crate::gemm::{self, GemmScratch};
            use rand::{Rng, RngExt};

            pub use crate::dot::$t::dot;

            /// [`fprop`] with the widths known at compile time (the generated networks' call):
            /// `W` is read as `O` rows of `[_; I]`, so every loop has a constant trip count and
            /// no bounds check, as in hand-written code over fixed-size arrays.
            ///
            /// # Panics
            /// If `w.len() != I * O`.
            #[inline(always)]
            pub fn fprop_n<const I: usize, const O: usize>(w: &[$t], x: &[$t; I], y: &mut [$t; O]) {
                assert_eq!(w.len(), I * O, "linear: W is not out × in");
                let rows = &w.as_chunks::<I>().0[..O];
                // Into a local array, stored whole: the next kernel loads it whole, and a
                // vector load of values stored one by one waits for the stores to retire.
                let mut v = [0.0; O];
                if I < 8 {
                    for (vi, row) in v.iter_mut().zip(rows) {
                        *vi = crate::dot::$t::dot_n(row, x);
                    }
                } else {
                    // Two rows at a time: two chains of additions in flight, the same bits as one.
                    let (pairs, last) = rows.as_chunks::<2>();
                    let (vs, v_last) = v.as_chunks_mut::<2>();
                    for ([r0, r1], [v0, v1]) in pairs.iter().zip(vs) {
                        (*v0, *v1) = crate::dot::$t::dot2(r0, r1, x);
                    }
                    for (vi, row) in v_last.iter_mut().zip(last) {
                        *vi = dot(row, x);
                    }
                }
                *y = v;
            }

            /// fprop: `y = W x`, each component a [`dot`] of a row of `W` with `x`.
            ///
            /// # Panics
            /// If `w.len() != y.len() * x.len()` or `x` is empty.
            #[inline]
            pub fn fprop(w: &[$t], x: &[$t], y: &mut [$t]) {
                assert_eq!(w.len(), x.len() * y.len(), "linear: W is not out × in");
                for (yi, row) in y.iter_mut().zip(w.chunks_exact(x.len())) {
                    *yi = dot(row, x);
                }
            }

            #[inline(always)]
            fn bprop_impl(
                w: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                accumulate: bool,
            ) {
                assert_eq!(w.len(), x.len() * dy.len(), "linear: W is not out × in");
                assert_eq!(dw.len(), w.len(), "linear: dW and W differ");
                assert_eq!(dx.len(), x.len(), "linear: dx and x differ");
                if !accumulate {
                    dx.fill($start);
                }
                let n = x.len();
                // `g` by value: a reference into `dy` would be re-read at every step (the compiler cannot
                // tell that `dx` and `dy` do not overlap), which keeps the loop from vectorising.
                for ((&g, row), dw_row) in
                    dy.iter().zip(w.chunks_exact(n)).zip(dw.chunks_exact_mut(n))
                {
                    for (((dxj, wij), dwij), xj) in dx.iter_mut().zip(row).zip(dw_row).zip(x) {
                        *dxj += wij * g;
                        *dwij += g * xj;
                    }
                }
            }

            /// [`bprop`] and [`bprop_acc`] (`ACC`) with the widths known at compile time. `x`
            /// and the running `dx` are kept in local arrays, which nothing else can point into,
            /// so the compiler vectorises both updates without checking for overlap; the same
            /// operations in the same order as the slice kernels, so the same bits.
            ///
            /// # Panics
            /// If `w.len()` or `dw.len()` is not `I * O`.
            #[inline(always)]
            pub fn bprop_n<const I: usize, const O: usize, const ACC: bool>(
                w: &[$t],
                x: &[$t; I],
                dy: &[$t; O],
                dx: &mut [$t; I],
                dw: &mut [$t],
            ) {
                assert!(
                    w.len() == I * O && dw.len() == I * O,
                    "linear: W is not out × in"
                );
                let (rows, drows) = (
                    &w.as_chunks::<I>().0[..O],
                    &mut dw.as_chunks_mut::<I>().0[..O],
                );
                let x = *x;
                let mut acc = if ACC { *dx } else { [$start; I] };
                for ((&g, row), drow) in dy.iter().zip(rows).zip(drows.iter_mut()) {
                    // Two loops, each writing one array: `W` and `dW` are both in pools the
                    // compiler cannot tell apart, and one loop writing `dW` while reading `W`
                    // stayed scalar.
                    for j in 0..I {
                        acc[j] += row[j] * g;
                    }
                    for j in 0..I {
                        drow[j] += g * x[j];
                    }
                }
                *dx = acc;
            }

            /// [`bprop_params`] with the widths known at compile time (see [`bprop_n`]).
            ///
            /// # Panics
            /// If `dw.len() != I * O`.
            #[inline(always)]
            pub fn bprop_params_n<const I: usize, const O: usize>(
                x: &[$t; I],
                dy: &[$t; O],
                dw: &mut [$t],
            ) {
                assert_eq!(dw.len(), I * O, "linear: dW is not out × in");
                let drows = &mut dw.as_chunks_mut::<I>().0[..O];
                let x = *x;
                for (&g, drow) in dy.iter().zip(drows.iter_mut()) {
                    for j in 0..I {
                        drow[j] += g * x[j];
                    }
                }
            }

            /// [`bprop_n`] fused with a step of gradient descent, for a network's
            /// `train_sgd`: `dx = Wᵀ dy` (or `+=`, `ACC`) from the weights before the step, then
            /// `W −= lr · dy xᵀ`, element by element, without the gradient pool. The same bits
            /// as `bprop` into a pool zeroed by a network's `zero_grad` (to `−0`, which adds
            /// nothing, not even a sign) followed by `sgd_step`.
            ///
            /// # Panics
            /// If `w.len() != I * O`.
            #[inline(always)]
            pub fn bprop_sgd_n<const I: usize, const O: usize, const ACC: bool>(
                w: &mut [$t],
                x: &[$t; I],
                dy: &[$t; O],
                dx: &mut [$t; I],
                lr: $t,
            ) {
                assert_eq!(w.len(), I * O, "linear: W is not out × in");
                let rows = &mut w.as_chunks_mut::<I>().0[..O];
                let x = *x;
                let mut acc = if ACC { *dx } else { [$start; I] };
                for (&g, row) in dy.iter().zip(rows.iter_mut()) {
                    for j in 0..I {
                        acc[j] += row[j] * g;
                        row[j] -= lr * (g * x[j]);
                    }
                }
                *dx = acc;
            }

            /// [`bprop_params_n`] fused with a step of gradient descent (see [`bprop_sgd_n`]):
            /// `W −= lr · dy xᵀ`.
            ///
            /// # Panics
            /// If `w.len() != I * O`.
            #[inline(always)]
            pub fn bprop_params_sgd_n<const I: usize, const O: usize>(
                w: &mut [$t],
                x: &[$t; I],
                dy: &[$t; O],
                lr: $t,
            ) {
                assert_eq!(w.len(), I * O, "linear: W is not out × in");
                let rows = &mut w.as_chunks_mut::<I>().0[..O];
                let x = *x;
                for (&g, row) in dy.iter().zip(rows.iter_mut()) {
                    for j in 0..I {
                        row[j] -= lr * (g * x[j]);
                    }
                }
            }

            /// bprop: `dx = Wᵀ dy` (overwritten) and `dW += dy xᵀ` (accumulated).
            ///
            /// # Panics
            /// If the lengths do not fit `W: dy.len() × x.len()`.
            #[inline]
            pub fn bprop(w: &[$t], x: &[$t], dy: &[$t], dx: &mut [$t], dw: &mut [$t]) {
                bprop_impl(w, x, dy, dx, dw, false)
            }

            /// bprop for a state that feeds several modules: `dx += Wᵀ dy`, `dW += dy xᵀ`.
            ///
            /// # Panics
            /// If the lengths do not fit `W: dy.len() × x.len()`.
            #[inline]
            pub fn bprop_acc(w: &[$t], x: &[$t], dy: &[$t], dx: &mut [$t], dw: &mut [$t]) {
                bprop_impl(w, x, dy, dx, dw, true)
            }

            /// bprop of the parameters alone: `dW += dy xᵀ` (accumulated), and no `dx`. For a
            /// module reading a network input whose derivative is not wanted: it saves the
            /// `Wᵀ dy` half of [`bprop`], and adds into `dW` exactly what [`bprop`] adds.
            ///
            /// # Panics
            /// If `dw.len() != dy.len() * x.len()`.
            #[inline]
            pub fn bprop_params(x: &[$t], dy: &[$t], dw: &mut [$t]) {
                assert_eq!(dw.len(), x.len() * dy.len(), "linear: dW is not out × in");
                let n = x.len();
                for (&g, dw_row) in dy.iter().zip(dw.chunks_exact_mut(n)) {
                    for (dwij, xj) in dw_row.iter_mut().zip(x) {
                        *dwij += g * xj;
                    }
                }
            }

            #[cfg(feature = "std")]
            /// fprop for a minibatch of `rows` samples (row-major `x` and `y`): `Y = X Wᵀ`, one
            /// matrix product on the batch's reserved scratch space.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `W` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn fprop_batch(
                w: &[$t],
                x: &[$t],
                y: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                assert_eq!(w.len(), n_in * n_out, "linear: W is not out × in");
                gemm::$t::gemm(
                    rows,
                    n_in,
                    n_out,
                    x,
                    (n_in, 1),
                    w,
                    (1, n_in),
                    0.0,
                    y,
                    scratch,
                );
            }

            #[cfg(feature = "std")]
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn bprop_batch_impl(
                w: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
                accumulate: bool,
            ) {
                assert!(
                    w.len() == n_in * n_out && dw.len() == w.len(),
                    "linear: W is not out × in"
                );
                dx_batch(w, dy, dx, (n_in, n_out, rows), scratch, accumulate);
                dw_batch(x, dy, dw, n_in, n_out, rows, scratch);
            }

            #[cfg(feature = "std")]
            /// `dX = dY W` (or `+=`, `accumulate`): the product behind every minibatch bprop's
            /// `dX`.
            #[inline(always)]
            fn dx_batch(
                w: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                (n_in, n_out, rows): (usize, usize, usize),
                scratch: &mut GemmScratch<$t>,
                accumulate: bool,
            ) {
                let beta = if accumulate { 1.0 } else { 0.0 };
                gemm::$t::gemm(
                    rows,
                    n_out,
                    n_in,
                    dy,
                    (n_out, 1),
                    w,
                    (n_in, 1),
                    beta,
                    dx,
                    scratch,
                );
            }

            #[cfg(feature = "std")]
            /// `dW += dYᵀ X`: the one matrix product behind both [`bprop_batch`] and
            /// [`bprop_batch_params`], so they add the same values.
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn dw_batch(
                x: &[$t],
                dy: &[$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                gemm::$t::gemm(
                    n_out,
                    rows,
                    n_in,
                    dy,
                    (1, n_out),
                    x,
                    (n_in, 1),
                    1.0,
                    dw,
                    scratch,
                );
            }

            #[cfg(feature = "std")]
            /// bprop for a minibatch: `dX = dY W` (overwritten), `dW += dYᵀ X` (the sum over the
            /// batch).
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `W` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch(
                w: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                bprop_batch_impl(w, x, dy, dx, dw, n_in, n_out, rows, scratch, false)
            }

            #[cfg(feature = "std")]
            /// As [`bprop_batch`], but `dX += dY W`.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `W` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch_acc(
                w: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                bprop_batch_impl(w, x, dy, dx, dw, n_in, n_out, rows, scratch, true)
            }

            #[cfg(feature = "std")]
            /// bprop of the parameters alone for a minibatch: `dW += dYᵀ X` (the sum over the
            /// batch), and no `dX`. The same matrix product as the `dW` half of
            /// [`bprop_batch`]; the `dX = dY W` product it leaves out costs as much as the
            /// forward one.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `dW` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch_params(
                x: &[$t],
                dy: &[$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                assert_eq!(dw.len(), n_in * n_out, "linear: dW is not out × in");
                dw_batch(x, dy, dw, n_in, n_out, rows, scratch);
            }

            #[cfg(feature = "std")]
            /// [`fprop_batch`] fused with a pass into a second matrix: `Y = X Wᵀ` (bit for bit
            /// as [`fprop_batch`]; `Y` keeps it), and `f(col0, y_seg, z_seg)` on every final
            /// segment `y_seg = Y[r][col0 .. col0 + len]` with `z_seg` the same places of `Z`
            /// (row-major, `rows × n_out` like `Y`). A bias and an activation, `Z = tanh(Y + b)`,
            /// then read `Y` from the L1 cache instead of memory, and the caller needs no
            /// `unsafe` to write `Z` from the product's threads.
            ///
            /// ```
            /// use bpnet_runtime::{gemm::GemmScratch, linear::f32::fprop_batch_map};
            ///
            /// // Two samples, 3 inputs, 2 outputs: H = tanh(X Wᵀ + b).
            /// let (w, b) = ([0.5f32, -1.0, 0.25, 1.0, 0.0, -0.5], [0.1f32, -0.2]);
            /// let x = [1.0f32, 2.0, 3.0, -1.0, 0.0, 1.0];
            /// let (mut y, mut h) = ([0.0f32; 4], [0.0f32; 4]);
            /// let mut scratch = GemmScratch::new();
            /// fprop_batch_map(&w, &x, &mut y, &mut h, 3, 2, 2, &mut scratch, |col0, y, h| {
            ///     for (j, (h, y)) in h.iter_mut().zip(y).enumerate() {
            ///         *h = (y + b[col0 + j]).tanh();
            ///     }
            /// });
            /// assert_eq!(y, [-0.75, -0.5, -0.25, -1.5]);
            /// assert_eq!(h[0], (-0.75f32 + 0.1).tanh());
            /// ```
            ///
            /// # Panics
            /// As [`fprop_batch`]; if `rows` and `n_out` are not 0 and `Z` has fewer than
            /// `rows × n_out` values; or if `f` panics.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn fprop_batch_map<F>(
                w: &[$t],
                x: &[$t],
                y: &mut [$t],
                z: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                scratch: &mut GemmScratch<$t>,
                f: F,
            ) where
                F: Fn(usize, &[$t], &mut [$t]) + Sync,
            {
                assert_eq!(w.len(), n_in * n_out, "linear: W is not out × in");
                gemm::$t::gemm_zip(
                    rows,
                    n_in,
                    n_out,
                    x,
                    (n_in, 1),
                    w,
                    (1, n_in),
                    0.0,
                    y,
                    scratch,
                    true,
                    (z, n_out),
                    &|_, col0, y_seg: &mut [$t], z_seg: &mut [$t]| f(col0, y_seg, z_seg),
                );
            }

            /// The step of gradient descent [`bprop_batch_params_sgd`] fuses into the product:
            /// `w −= lr · g`, segment by segment. The same operations as a pool zeroed by
            /// `zero_grad` (to `−0`, which adds nothing) summed into and then `sgd_step`, so the
            /// same bits (a multiply, then a subtraction; no fused multiply-add).
            #[cfg(feature = "std")]
            #[inline(always)]
            pub(crate) fn sgd_segment(w: &mut [$t], g: &[$t], lr: $t) {
                for (w, &g) in w.iter_mut().zip(g) {
                    *w -= lr * g;
                }
            }

            #[cfg(feature = "std")]
            /// [`bprop_batch_params`] fused with a step of gradient descent, for a minibatch
            /// `train_sgd`: `W −= lr · G` with `G = dYᵀ X` (the sum over the `rows` samples),
            /// each block of `W` updated as soon as its block of `G` is final, while it is in
            /// the L1 cache: no zeroing of the gradient pool before, no pass over it after.
            /// `dw` (`out × in`) only holds `G` on its way: its values before are not read
            /// (nothing to zero), and after are unspecified.
            ///
            /// The same bits as `dw.fill(-0.0)` (as `zero_grad` clears a pool), [`bprop_batch_params`] into `dw`, then
            /// `sgd_step` of [`crate::pool`] (`w −= lr · dw`), on any number of threads.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows, or `W` or `dW` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch_params_sgd(
                w: &mut [$t],
                x: &[$t],
                dy: &[$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                lr: $t,
                scratch: &mut GemmScratch<$t>,
            ) {
                assert!(
                    w.len() == n_in * n_out && dw.len() == w.len(),
                    "linear: W is not out × in"
                );
                // G = dYᵀ X into `dw` with β = 0 (its old values unread): the first block of
                // the minibatch stores its sum where the pool zeroed to −0 added it to −0,
                // which is the same sum.
                gemm::$t::gemm_zip(
                    n_out,
                    rows,
                    n_in,
                    dy,
                    (1, n_out),
                    x,
                    (n_in, 1),
                    0.0,
                    dw,
                    scratch,
                    false,
                    (w, n_in),
                    &|_, _, g: &mut [$t], w: &mut [$t]| sgd_segment(w, g, lr),
                );
            }

            #[cfg(feature = "std")]
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn bprop_batch_sgd_impl(
                w: &mut [$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                lr: $t,
                scratch: &mut GemmScratch<$t>,
                accumulate: bool,
            ) {
                assert!(
                    w.len() == n_in * n_out && dw.len() == w.len(),
                    "linear: W is not out × in"
                );
                // dX = dY W with the weights before the step, then the step.
                dx_batch(w, dy, dx, (n_in, n_out, rows), scratch, accumulate);
                bprop_batch_params_sgd(w, x, dy, dw, n_in, n_out, rows, lr, scratch);
            }

            #[cfg(feature = "std")]
            /// [`bprop_batch`] fused with a step of gradient descent: `dX = dY W` (overwritten)
            /// with the weights before the step, then `W −= lr · dYᵀ X` as
            /// [`bprop_batch_params_sgd`] does it (`dw` its scratch space). The same bits, `dX`
            /// and `W`, as `dw.fill(-0.0)`, [`bprop_batch`], then `sgd_step`.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows, or `W` or `dW` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch_sgd(
                w: &mut [$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                lr: $t,
                scratch: &mut GemmScratch<$t>,
            ) {
                bprop_batch_sgd_impl(w, x, dy, dx, dw, n_in, n_out, rows, lr, scratch, false)
            }

            #[cfg(feature = "std")]
            /// As [`bprop_batch_sgd`], but `dX += dY W` (for a state that feeds several
            /// modules); the same bits as `dw.fill(-0.0)`, [`bprop_batch_acc`], then `sgd_step`.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows, or `W` or `dW` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bprop_batch_acc_sgd(
                w: &mut [$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                lr: $t,
                scratch: &mut GemmScratch<$t>,
            ) {
                bprop_batch_sgd_impl(w, x, dy, dx, dw, n_in, n_out, rows, lr, scratch, true)
            }

            #[inline(always)]
            fn bbprop_impl(
                w: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddw: &mut [$t],
                accumulate: bool,
            ) {
                assert_eq!(w.len(), x.len() * ddy.len(), "linear: W is not out × in");
                assert_eq!(ddw.len(), w.len(), "linear: ddW and W differ");
                assert_eq!(ddx.len(), x.len(), "linear: ddx and x differ");
                if !accumulate {
                    ddx.fill(0.0);
                }
                let n = x.len();
                if n == 0 {
                    return;
                }
                for ((&g, row), ddw_row) in ddy
                    .iter()
                    .zip(w.chunks_exact(n))
                    .zip(ddw.chunks_exact_mut(n))
                {
                    for (((ddxj, wij), ddwij), xj) in ddx.iter_mut().zip(row).zip(ddw_row).zip(x) {
                        *ddxj += wij * wij * g;
                        *ddwij += g * xj * xj;
                    }
                }
            }

            /// bbprop (diagonal Gauss–Newton second derivatives): `ddx = (W∘W)ᵀ ddy`
            /// (overwritten) and `ddW += ddy (x∘x)ᵀ` (accumulated), the Jacobians of [`bprop`]
            /// squared entry by entry.
            ///
            /// # Panics
            /// If the lengths do not fit `W: ddy.len() × x.len()`.
            #[inline]
            pub fn bbprop(w: &[$t], x: &[$t], ddy: &[$t], ddx: &mut [$t], ddw: &mut [$t]) {
                bbprop_impl(w, x, ddy, ddx, ddw, false)
            }

            /// As [`bbprop`], but `ddx += (W∘W)ᵀ ddy`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the lengths do not fit `W: ddy.len() × x.len()`.
            #[inline]
            pub fn bbprop_acc(w: &[$t], x: &[$t], ddy: &[$t], ddx: &mut [$t], ddw: &mut [$t]) {
                bbprop_impl(w, x, ddy, ddx, ddw, true)
            }

            /// bbprop of the parameters alone: `ddW += ddy (x∘x)ᵀ` (accumulated), and no `ddx`;
            /// adds into `ddW` exactly what [`bbprop`] adds.
            ///
            /// # Panics
            /// If `ddw.len() != ddy.len() * x.len()`.
            #[inline]
            pub fn bbprop_params(x: &[$t], ddy: &[$t], ddw: &mut [$t]) {
                assert_eq!(
                    ddw.len(),
                    x.len() * ddy.len(),
                    "linear: ddW is not out × in"
                );
                let n = x.len();
                if n == 0 {
                    return;
                }
                for (&g, ddw_row) in ddy.iter().zip(ddw.chunks_exact_mut(n)) {
                    for (ddwij, xj) in ddw_row.iter_mut().zip(x) {
                        *ddwij += g * xj * xj;
                    }
                }
            }

            /// The widths of a minibatch bbprop: `W` (and `ddW` if given) `n_out × n_in`, and at
            /// least `rows` rows in `x`, `ddy` and `ddx`.
            #[inline(always)]
            fn bbprop_batch_widths(
                w: usize,
                x: usize,
                ddy: usize,
                ddx: Option<usize>,
                n_in: usize,
                n_out: usize,
                rows: usize,
            ) {
                assert!(
                    n_in.checked_mul(n_out) == Some(w),
                    "linear: W (or ddW) is not out × in"
                );
                let fits = |len: usize, width: usize| {
                    rows.checked_mul(width).is_some_and(|need| len >= need)
                };
                assert!(
                    fits(x, n_in) && fits(ddy, n_out) && ddx.is_none_or(|l| fits(l, n_in)),
                    "linear: fewer than `rows` rows"
                );
            }

            /// `ddW += Σ_r ddY[r] (X[r]∘X[r])ᵀ`, row of `ddW` by row: the loop behind both
            /// [`bbprop_batch`] and [`bbprop_batch_params`], adding in the order of per-sample
            /// [`bbprop`] calls row after row (so the same bits).
            #[inline(always)]
            fn ddw_batch(
                x: &[$t],
                ddy: &[$t],
                ddw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
            ) {
                for o in 0..n_out {
                    let ddw_row = &mut ddw[o * n_in..][..n_in];
                    for r in 0..rows {
                        let g = ddy[r * n_out + o];
                        for (ddwij, xj) in ddw_row.iter_mut().zip(&x[r * n_in..][..n_in]) {
                            *ddwij += g * xj * xj;
                        }
                    }
                }
            }

            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn bbprop_batch_impl(
                w: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
                accumulate: bool,
            ) {
                assert_eq!(ddw.len(), w.len(), "linear: ddW and W differ");
                bbprop_batch_widths(
                    w.len(),
                    x.len(),
                    ddy.len(),
                    Some(ddx.len()),
                    n_in,
                    n_out,
                    rows,
                );
                // ddX[r] = (W∘W)ᵀ ddY[r], row by row, adding one row of W at a time.
                for r in 0..rows {
                    let ddx_row = &mut ddx[r * n_in..][..n_in];
                    if !accumulate {
                        ddx_row.fill(0.0);
                    }
                    for o in 0..n_out {
                        let g = ddy[r * n_out + o];
                        for (ddxj, wij) in ddx_row.iter_mut().zip(&w[o * n_in..][..n_in]) {
                            *ddxj += wij * wij * g;
                        }
                    }
                }
                ddw_batch(x, ddy, ddw, n_in, n_out, rows);
            }

            /// bbprop for a minibatch of `rows` samples (row-major `x`, `ddy`, `ddx`):
            /// `ddX[r] = (W∘W)ᵀ ddY[r]` (overwritten) and `ddW += Σ_r ddY[r] (X[r]∘X[r])ᵀ` (the
            /// sum over the batch). Plain loops, the same bits as [`bbprop`] row by row.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `W` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bbprop_batch(
                w: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(w, x, ddy, ddx, ddw, n_in, n_out, rows, false)
            }

            /// As [`bbprop_batch`], but `ddX += …` (accumulated).
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `W` is not `out × in`.
            #[allow(clippy::too_many_arguments)]
            #[inline]
            pub fn bbprop_batch_acc(
                w: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
            ) {
                bbprop_batch_impl(w, x, ddy, ddx, ddw, n_in, n_out, rows, true)
            }

            /// bbprop of the parameters alone for a minibatch: `ddW += Σ_r ddY[r] (X[r]∘X[r])ᵀ`,
            /// and no `ddX`; adds into `ddW` exactly what [`bbprop_batch`] adds.
            ///
            /// # Panics
            /// If the slices are shorter than `rows` rows or `ddW` is not `out × in`.
            #[inline]
            pub fn bbprop_batch_params(
                x: &[$t],
                ddy: &[$t],
                ddw: &mut [$t],
                n_in: usize,
                n_out: usize,
                rows: usize,
            ) {
                bbprop_batch_widths(ddw.len(), x.len(), ddy.len(), None, n_in, n_out, rows);
                ddw_batch(x, ddy, ddw, n_in, n_out, rows);
            }

            /// Fan-in scaled uniform initialisation: `U(−a, a)` with `a = √(3 / fan_in)`, so each
            /// weight has variance `1 / fan_in` (LeCun et al., "Efficient BackProp").
            pub fn init<R: Rng + ?Sized>(w: &mut [$t], fan_in: usize, rng: &mut R) {
                let a = crate::Float::sqrt(3.0 / fan_in.max(1) as $t);
                for v in w {
                    *v = rng.random_range(-a..=a);
                }
            }
        }
    };
}

linear_kernels!(f32, -0.0);
linear_kernels!(f64, 0.0);

#[cfg(test)]
mod tests {
    use crate::testing::{numeric_grad, rel_err};

    /// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
    const TOL: f64 = 1e-6;

    fn data() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let w = vec![0.3, -0.2, 0.5, 1.1, -0.7, 0.05];
        let x = vec![0.9, -1.3];
        let dy = vec![0.4, -0.6, 1.5];
        (w, x, dy)
    }

    #[test]
    fn fprop_is_w_times_x() {
        let (w, x, _) = data();
        let mut y = [0.0; 3];
        super::f64::fprop(&w, &x, &mut y);
        assert_eq!(
            y,
            [
                0.3 * 0.9 + 0.2 * 1.3,
                0.5 * 0.9 - 1.1 * 1.3,
                -0.7 * 0.9 - 0.05 * 1.3
            ]
        );
    }

    /// E = dy · (W x): its exact gradient is what bprop must return.
    fn energy(w: &[f64], x: &[f64], dy: &[f64]) -> f64 {
        let mut y = vec![0.0; dy.len()];
        super::f64::fprop(w, x, &mut y);
        y.iter().zip(dy).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn bprop_matches_finite_differences() {
        let (w, x, dy) = data();
        let mut dx = vec![7.0; 2];
        let mut dw = vec![0.0; 6];
        super::f64::bprop(&w, &x, &dy, &mut dx, &mut dw);
        let ndx = numeric_grad(&x, |x| energy(&w, x, &dy));
        let ndw = numeric_grad(&w, |w| energy(w, &x, &dy));
        assert!(rel_err(&dx, &ndx) < TOL, "dx {dx:?} vs {ndx:?}");
        assert!(rel_err(&dw, &ndw) < TOL, "dw {dw:?} vs {ndw:?}");

        // The accumulating variant adds onto what is there, for dx and for dW.
        let mut dx2 = vec![1.0; 2];
        super::f64::bprop_acc(&w, &x, &dy, &mut dx2, &mut dw);
        let want: Vec<f64> = ndx.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&dx2, &want) < TOL);
        let want: Vec<f64> = ndw.iter().map(|v| 2.0 * v).collect();
        assert!(rel_err(&dw, &want) < TOL);
    }

    #[test]
    fn f32_agrees_with_f64() {
        let (w, x, dy) = data();
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (mut y, mut dx, mut dw) = ([0.0f32; 3], [0.0f32; 2], [0.0f32; 6]);
        super::f32::fprop(&f(&w), &f(&x), &mut y);
        super::f32::bprop(&f(&w), &f(&x), &f(&dy), &mut dx, &mut dw);
        let mut y64 = [0.0; 3];
        super::f64::fprop(&w, &x, &mut y64);
        let up = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
        assert!(rel_err(&up(&y), &y64) < 1e-6);
        assert!(rel_err(&up(&dx), &numeric_grad(&x, |x| energy(&w, x, &dy))) < 1e-5);
        assert!(rel_err(&up(&dw), &numeric_grad(&w, |w| energy(w, &x, &dy))) < 1e-5);
    }

    /// The kernels monomorphic on the widths give the slice kernels' bits, the sign of a zero
    /// included: in `f32` a sum starts at −0.0 (a `dx` of zero terms of sign − is −0.0), in
    /// `f64` at +0.0 (as the minibatch's product).
    #[test]
    fn the_fixed_width_kernels_give_the_slice_kernels_bits() {
        use crate::testing::noise;
        macro_rules! check {
            ($t:ident, $i:literal, $o:literal, $neg:expr) => {{
                let w: Vec<$t> = noise($i * $o, 1);
                let w_pos: Vec<$t> = w.iter().map(|v| v.abs()).collect();
                let x: [$t; $i] = noise::<$t>($i, 2).try_into().unwrap();
                for (w, dy) in [(w, noise::<$t>($o, 3)), (w_pos, vec![-0.0; $o])] {
                    let dy: [$t; $o] = dy.try_into().unwrap();
                    let (mut y, mut y_n) = (vec![7.0; $o], [7.0; $o]);
                    super::$t::fprop(&w, &x, &mut y);
                    super::$t::fprop_n(&w, &x, &mut y_n);
                    let (mut dx, mut dw) = (vec![7.0; $i], vec![0.5; $i * $o]);
                    let (mut dx_n, mut dw_n) = ([7.0; $i], vec![0.5; $i * $o]);
                    super::$t::bprop(&w, &x, &dy, &mut dx, &mut dw);
                    super::$t::bprop_n::<$i, $o, false>(&w, &x, &dy, &mut dx_n, &mut dw_n);
                    let bits = |v: &[$t]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&y), bits(&y_n));
                    assert_eq!((bits(&dx), bits(&dw)), (bits(&dx_n), bits(&dw_n)));
                    if dy[0] == 0.0 {
                        // Wᵀ (−0) with W > 0: every product −0, and the sum the start value.
                        assert!(dx.iter().all(|v| *v == 0.0 && v.is_sign_negative() == $neg));
                    }
                }
            }};
        }
        check!(f32, 2, 8, true);
        check!(f32, 9, 3, true);
        check!(f32, 16, 17, true);
        check!(f64, 2, 8, false);
        check!(f64, 9, 3, false);
    }

    /// The batched kernels equal the per-sample ones row by row (dW: their sum).
    #[test]
    fn batch_equals_rows() {
        let (w, _, _) = data();
        let x = [0.9, -1.3, 0.2, 0.5, -0.7, 1.1];
        let dy = [0.4, -0.6, 1.5, 0.3, 0.2, -0.9, 1.0, 0.0, 0.5];
        let (mut y, mut dx, mut dw) = ([0.0; 9], [5.0; 6], [0.0; 6]);
        let mut scratch = crate::gemm::GemmScratch::new();
        super::f64::fprop_batch(&w, &x, &mut y, 2, 3, 3, &mut scratch);
        super::f64::bprop_batch(&w, &x, &dy, &mut dx, &mut dw, 2, 3, 3, &mut scratch);
        let mut dw_rows = [0.0; 6];
        for r in 0..3 {
            let mut yr = [0.0; 3];
            super::f64::fprop(&w, &x[2 * r..2 * r + 2], &mut yr);
            assert!(rel_err(&y[3 * r..3 * r + 3], &yr) < 1e-12);
            let mut dxr = [0.0; 2];
            super::f64::bprop(
                &w,
                &x[2 * r..2 * r + 2],
                &dy[3 * r..3 * r + 3],
                &mut dxr,
                &mut dw_rows,
            );
            assert!(rel_err(&dx[2 * r..2 * r + 2], &dxr) < 1e-12);
        }
        assert!(rel_err(&dw, &dw_rows) < 1e-12);
        let mut dx2 = [1.0; 6];
        super::f64::bprop_batch_acc(&w, &x, &dy, &mut dx2, &mut dw, 2, 3, 3, &mut scratch);
        let want: Vec<f64> = dx.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&dx2, &want) < 1e-12);
    }

    /// The parameters-only kernels add into `dW` exactly what the full ones add (bit for bit:
    /// the generated bprop switches between them, and training must not notice), leave `dx`
    /// alone, and accumulate like them.
    #[test]
    fn params_only_kernels_equal_the_dw_part() {
        let (w, x, dy) = data();
        let (mut dx, mut dw) = ([0.0; 2], [0.25; 6]);
        super::f64::bprop(&w, &x, &dy, &mut dx, &mut dw);
        let mut dw_only = [0.25; 6];
        super::f64::bprop_params(&x, &dy, &mut dw_only);
        assert_eq!(dw_only, dw);
        super::f64::bprop_acc(&w, &x, &dy, &mut dx, &mut dw);
        super::f64::bprop_params(&x, &dy, &mut dw_only);
        assert_eq!(dw_only, dw);

        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let (w32, x32, dy32) = (f(&w), f(&x), f(&dy));
        let (mut dx32, mut dw32, mut dw32_only) = ([0.0f32; 2], [0.5f32; 6], [0.5f32; 6]);
        super::f32::bprop(&w32, &x32, &dy32, &mut dx32, &mut dw32);
        super::f32::bprop_params(&x32, &dy32, &mut dw32_only);
        assert_eq!(dw32_only, dw32);

        // Minibatches, on shapes large enough for the packed product's blocking (f32 takes the
        // AVX-512 tile where there is one).
        let (n_in, n_out, rows) = (37, 19, 23);
        let val = |i: usize| ((i as f64) * 0.731).sin();
        let w: Vec<f64> = (0..n_in * n_out).map(val).collect();
        let x: Vec<f64> = (0..rows * n_in).map(|i| val(i + 1000)).collect();
        let dy: Vec<f64> = (0..rows * n_out).map(|i| val(i + 5000)).collect();
        let mut scratch = crate::gemm::GemmScratch::new();
        let mut dx = vec![0.0; rows * n_in];
        let (mut dw, mut dw_only) = (vec![0.125; n_in * n_out], vec![0.125; n_in * n_out]);
        super::f64::bprop_batch(
            &w,
            &x,
            &dy,
            &mut dx,
            &mut dw,
            n_in,
            n_out,
            rows,
            &mut scratch,
        );
        super::f64::bprop_batch_params(&x, &dy, &mut dw_only, n_in, n_out, rows, &mut scratch);
        assert_eq!(dw_only, dw);
        super::f64::bprop_batch_acc(
            &w,
            &x,
            &dy,
            &mut dx,
            &mut dw,
            n_in,
            n_out,
            rows,
            &mut scratch,
        );
        super::f64::bprop_batch_params(&x, &dy, &mut dw_only, n_in, n_out, rows, &mut scratch);
        assert_eq!(dw_only, dw);

        let (w, x, dy) = (f(&w), f(&x), f(&dy));
        let mut scratch = crate::gemm::GemmScratch::new();
        let mut dx = vec![0.0f32; rows * n_in];
        let (mut dw, mut dw_only) = (vec![0.125f32; n_in * n_out], vec![0.125f32; n_in * n_out]);
        super::f32::bprop_batch(
            &w,
            &x,
            &dy,
            &mut dx,
            &mut dw,
            n_in,
            n_out,
            rows,
            &mut scratch,
        );
        super::f32::bprop_batch_params(&x, &dy, &mut dw_only, n_in, n_out, rows, &mut scratch);
        assert_eq!(dw_only, dw);
        // And what they add is dW's share of the finite-difference check above: dYᵀ X.
        let mut want = vec![0.0f32; n_in * n_out];
        for r in 0..rows {
            super::f32::bprop_params(&x[r * n_in..][..n_in], &dy[r * n_out..][..n_out], &mut want);
        }
        let mut got = vec![0.0f32; n_in * n_out];
        super::f32::bprop_batch_params(&x, &dy, &mut got, n_in, n_out, rows, &mut scratch);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{g} vs {w}");
        }
    }

    /// bbprop against the Gauss–Newton diagonal from the finite-difference Jacobians of fprop,
    /// with respect to x and to W, for random positive `ddy`. Tolerance: relative 1e-6
    /// ([`rel_err`], floor 1e-3, so absolute 1e-9 for small entries); fprop is linear in each, so
    /// the central differences are exact up to rounding (about 1e-12 relative at step 1e-4).
    #[test]
    fn bbprop_is_the_gauss_newton_diagonal() {
        use crate::testing::gauss_newton_diag;
        let (w, x, _) = data();
        let ddy = crate::testing::positive(3, 11);
        let (mut ddx, mut ddw) = (vec![7.0; 2], vec![0.0; 6]);
        super::f64::bbprop(&w, &x, &ddy, &mut ddx, &mut ddw);
        let nddx = gauss_newton_diag(&x, &ddy, |x, y| super::f64::fprop(&w, x, y));
        let nddw = gauss_newton_diag(&w, &ddy, |w, y| super::f64::fprop(w, &x, y));
        assert!(rel_err(&ddx, &nddx) < TOL, "ddx {ddx:?} vs {nddx:?}");
        assert!(rel_err(&ddw, &nddw) < TOL, "ddW {ddw:?} vs {nddw:?}");

        // The accumulating variant adds onto ddx; both add onto ddW.
        let mut ddx2 = vec![1.0; 2];
        super::f64::bbprop_acc(&w, &x, &ddy, &mut ddx2, &mut ddw);
        let want: Vec<f64> = nddx.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&ddx2, &want) < TOL, "{ddx2:?} vs {want:?}");
        let want: Vec<f64> = nddw.iter().map(|v| 2.0 * v).collect();
        assert!(rel_err(&ddw, &want) < TOL, "{ddw:?} vs {want:?}");
    }

    /// The parameters-only bbprop adds into ddW exactly what the full ones add (bit for bit);
    /// `f32` agrees with `f64` to f32 precision (relative 1e-6: a few roundings of values of
    /// order 1).
    #[test]
    fn bbprop_params_and_f32() {
        use crate::testing::{to_f32, to_f64};
        let (w, x, _) = data();
        let ddy = crate::testing::positive(3, 12);
        let (mut ddx, mut ddw, mut ddw_only) = ([0.0; 2], [0.25; 6], [0.25; 6]);
        super::f64::bbprop(&w, &x, &ddy, &mut ddx, &mut ddw);
        super::f64::bbprop_params(&x, &ddy, &mut ddw_only);
        assert_eq!(ddw_only, ddw);
        super::f64::bbprop_acc(&w, &x, &ddy, &mut ddx, &mut ddw);
        super::f64::bbprop_params(&x, &ddy, &mut ddw_only);
        assert_eq!(ddw_only, ddw);

        let (w32, x32, ddy32) = (to_f32(&w), to_f32(&x), to_f32(&ddy));
        let (mut ddx32, mut ddw32, mut ddw32_only) = ([0.0f32; 2], [0.0f32; 6], [0.0f32; 6]);
        super::f32::bbprop(&w32, &x32, &ddy32, &mut ddx32, &mut ddw32);
        super::f32::bbprop_params(&x32, &ddy32, &mut ddw32_only);
        assert_eq!(ddw32_only, ddw32);
        let (mut ddx64, mut ddw64) = ([0.0; 2], [0.0; 6]);
        let (w, x, ddy) = (to_f64(&w32), to_f64(&x32), to_f64(&ddy32));
        super::f64::bbprop(&w, &x, &ddy, &mut ddx64, &mut ddw64);
        assert!(rel_err(&to_f64(&ddx32), &ddx64) < 1e-6);
        assert!(rel_err(&to_f64(&ddw32), &ddw64) < 1e-6);
    }

    /// The minibatch bbprop equals per-sample calls row by row (ddW: their sum), to the bit, for
    /// the overwriting, accumulating and parameters-only forms, in f64 and f32.
    #[test]
    fn bbprop_batch_equals_rows() {
        use crate::testing::{positive, to_f32};
        let (n_in, n_out, rows) = (5, 3, 4);
        let val = |i: usize| ((i as f64) * 0.731).sin();
        let w: Vec<f64> = (0..n_in * n_out).map(val).collect();
        let x: Vec<f64> = (0..rows * n_in).map(|i| val(i + 100)).collect();
        let ddy = positive(rows * n_out, 13);

        let (mut ddx, mut ddw) = (vec![5.0; rows * n_in], vec![0.5; n_in * n_out]);
        super::f64::bbprop_batch(&w, &x, &ddy, &mut ddx, &mut ddw, n_in, n_out, rows);
        let mut ddw_rows = vec![0.5; n_in * n_out];
        for r in 0..rows {
            let mut ddxr = vec![9.0; n_in];
            let (xr, ddyr) = (&x[r * n_in..][..n_in], &ddy[r * n_out..][..n_out]);
            super::f64::bbprop(&w, xr, ddyr, &mut ddxr, &mut ddw_rows);
            assert_eq!(ddx[r * n_in..][..n_in], ddxr, "row {r}");
        }
        assert_eq!(ddw, ddw_rows);
        assert!(ddx.iter().all(|&v| v > 0.0) && ddw.iter().all(|&v| v > 0.5));

        // Accumulating onto 1: the bits of per-sample bbprop_acc, and within rounding of 1 + ddx.
        let mut ddx2 = vec![1.0; rows * n_in];
        super::f64::bbprop_batch_acc(&w, &x, &ddy, &mut ddx2, &mut ddw, n_in, n_out, rows);
        for r in 0..rows {
            let mut ddxr = vec![1.0; n_in];
            let (xr, ddyr) = (&x[r * n_in..][..n_in], &ddy[r * n_out..][..n_out]);
            super::f64::bbprop_acc(&w, xr, ddyr, &mut ddxr, &mut ddw_rows);
            assert_eq!(ddx2[r * n_in..][..n_in], ddxr, "row {r}");
        }
        assert_eq!(ddw, ddw_rows);
        let want: Vec<f64> = ddx.iter().map(|v| v + 1.0).collect();
        assert!(rel_err(&ddx2, &want) < 1e-15);
        let mut ddw_only = vec![0.5; n_in * n_out];
        super::f64::bbprop_batch_params(&x, &ddy, &mut ddw_only, n_in, n_out, rows);
        super::f64::bbprop_batch_params(&x, &ddy, &mut ddw_only, n_in, n_out, rows);
        assert_eq!(ddw_only, ddw);

        // f32, with slices longer than `rows` rows (the extra row is left alone).
        let (w, ddy) = (to_f32(&w), to_f32(&ddy));
        let mut x = to_f32(&x);
        x.extend([3.0f32; 5]);
        let (mut ddx, mut ddw) = (vec![-1.0f32; (rows + 1) * n_in], vec![0.0f32; n_in * n_out]);
        super::f32::bbprop_batch(&w, &x, &ddy, &mut ddx, &mut ddw, n_in, n_out, rows);
        assert_eq!(ddx[rows * n_in..], [-1.0; 5]);
        let mut ddw_rows = vec![0.0f32; n_in * n_out];
        for r in 0..rows {
            let mut ddxr = vec![0.0f32; n_in];
            let (xr, ddyr) = (&x[r * n_in..][..n_in], &ddy[r * n_out..][..n_out]);
            super::f32::bbprop(&w, xr, ddyr, &mut ddxr, &mut ddw_rows);
            assert_eq!(ddx[r * n_in..][..n_in], ddxr, "row {r}");
        }
        assert_eq!(ddw, ddw_rows);
        let mut ddw_only = vec![0.0f32; n_in * n_out];
        super::f32::bbprop_batch_params(&x, &ddy, &mut ddw_only, n_in, n_out, rows);
        assert_eq!(ddw_only, ddw);

        // Empty shapes: nothing to do, and no output rows for ddx to be written into.
        super::f64::bbprop_batch(&[], &[], &[], &mut [], &mut [], 0, 0, 3);
        let mut ddx = [4.0; 6];
        super::f64::bbprop_batch(&[], &[0.0; 6], &[], &mut ddx, &mut [], 2, 0, 3);
        assert_eq!(ddx, [0.0; 6]);
    }

    #[test]
    #[should_panic(expected = "fewer than `rows` rows")]
    fn bbprop_batch_checks_the_rows() {
        let (w, _, _) = data();
        let (mut ddx, mut ddw) = ([0.0; 6], [0.0; 6]);
        super::f64::bbprop_batch(&w, &[0.0; 5], &[1.0; 9], &mut ddx, &mut ddw, 2, 3, 3);
    }

    #[test]
    #[should_panic(expected = "not out × in")]
    fn bbprop_batch_params_checks_the_shape() {
        super::f64::bbprop_batch_params(&[0.0; 6], &[1.0; 9], &mut [0.0; 5], 2, 3, 3);
    }

    #[test]
    fn init_is_fan_in_scaled_and_seeded() {
        use rand::SeedableRng;
        let mut w = vec![0.0f64; 4000];
        super::f64::init(&mut w, 12, &mut rand::rngs::StdRng::seed_from_u64(1));
        let a = (3.0f64 / 12.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= a));
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!((var - 1.0 / 12.0).abs() < 0.01, "variance {var}");
        let mut w2 = vec![0.0f64; 4000];
        super::f64::init(&mut w2, 12, &mut rand::rngs::StdRng::seed_from_u64(1));
        assert_eq!(w, w2);
    }

    /// Values with all their mantissa bits in use, in `[-1, 1)`.
    fn noise(len: usize, seed: u64) -> Vec<f64> {
        crate::testing::noise(len, seed)
    }

    /// The fused forward pass of a float type, against `fprop_batch` followed by the same pass:
    /// `fprop_batch_map` with `h = tanh(y + b)` gives `y` and `h` bit for bit (that the product
    /// finishes every value once is `gemm`'s own test); 784 inputs (several blocks of the
    /// product's `k`), 1 to 300 rows, 10 to 600 outputs, on 1 and 2 threads; what lies past the
    /// `rows × n_out` values of `y` and `h` stays.
    macro_rules! fused_forward_equals_forward_and_a_pass {
        ($t:ident, $name:ident) => {
            #[test]
            fn $name() {
                let cast = |v: Vec<f64>| v.into_iter().map(|v| v as $t).collect::<Vec<$t>>();
                let n_in = 784;
                let mut reference = crate::gemm::GemmScratch::new();
                let mut scratches = [1, 2].map(|threads| {
                    let mut s = crate::gemm::GemmScratch::new();
                    s.set_threads(threads);
                    s
                });
                for rows in [1, 7, 64, 300] {
                    for n_out in [10, 256, 600] {
                        let len = rows * n_out;
                        let w = cast(noise(n_in * n_out, 1));
                        let x = cast(noise(rows * n_in, 2));
                        let b = cast(noise(n_out, 3));
                        let mut y_want = vec![0.0; len];
                        super::$t::fprop_batch(
                            &w,
                            &x,
                            &mut y_want,
                            n_in,
                            n_out,
                            rows,
                            &mut reference,
                        );
                        let h_want: Vec<$t> = y_want
                            .iter()
                            .enumerate()
                            .map(|(i, y)| (y + b[i % n_out]).tanh())
                            .collect();
                        for s in &mut scratches {
                            let what = format!("{rows} × {n_out}, {} threads", s.threads());
                            let (mut y, mut h) = (vec![$t::NAN; len + 2], vec![$t::NAN; len + 2]);
                            super::$t::fprop_batch_map(
                                &w,
                                &x,
                                &mut y,
                                &mut h,
                                n_in,
                                n_out,
                                rows,
                                s,
                                |col0, y, h| {
                                    for (j, (h, y)) in h.iter_mut().zip(y).enumerate() {
                                        *h = (y + b[col0 + j]).tanh();
                                    }
                                },
                            );
                            let bits = |v: &[$t]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&y[..len]), bits(&y_want), "{what}: y");
                            assert_eq!(bits(&h[..len]), bits(&h_want), "{what}: h");
                            assert!(
                                y[len..].iter().chain(&h[len..]).all(|v| v.is_nan()),
                                "{what}"
                            );
                        }
                    }
                }
            }
        };
    }

    fused_forward_equals_forward_and_a_pass!(f32, fused_forward_equals_forward_and_a_pass_f32);
    fused_forward_equals_forward_and_a_pass!(f64, fused_forward_equals_forward_and_a_pass_f64);

    /// The fused backward steps of a float type against the unfused sequence they replace,
    /// `dw.fill(0.0)` (the product's sums are never −0, so a pool cleared to +0 or −0 adds
    /// alike), `bprop_batch_params` (or `bprop_batch`, `bprop_batch_acc`), then
    /// `pool::sgd_step`: `W` (and `dX`) bit for bit, for 1 to 300 rows (300: several blocks of
    /// the product's `k`, the update only after the last), 3 to 784 inputs, 1 to 256 outputs, on
    /// 1 and 2 threads (products split by rows and by columns). Inputs with zero columns and
    /// negative gradients make some products exactly −0 and some sums 0; `dw` starts as NaN (the
    /// fused steps must not read it).
    macro_rules! fused_sgd_equals_zero_bprop_and_step {
        ($t:ident, $name:ident) => {
            #[test]
            fn $name() {
                let cast = |v: Vec<f64>| v.into_iter().map(|v| v as $t).collect::<Vec<$t>>();
                let bits = |v: &[$t]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                let lr: $t = 0.37;
                let mut reference = crate::gemm::GemmScratch::new();
                let mut scratches = [1, 2].map(|threads| {
                    let mut s = crate::gemm::GemmScratch::new();
                    s.set_threads(threads);
                    s
                });
                let mut zeros = 0;
                for rows in [1, 5, 64, 300] {
                    for n_in in [3, 17, 784] {
                        for n_out in [1, 10, 256] {
                            let w = cast(noise(n_in * n_out, 4));
                            let dx0 = cast(noise(rows * n_in, 5));
                            // Columns of x that are zero (+0 and −0), columns of dy negative.
                            let mut x = cast(noise(rows * n_in, 6));
                            for (i, v) in x.iter_mut().enumerate() {
                                match i % n_in % 4 {
                                    0 => *v = 0.0,
                                    1 if i % 2 == 0 => *v = -0.0,
                                    _ => {}
                                }
                            }
                            let mut dy = cast(noise(rows * n_out, 7));
                            for (i, v) in dy.iter_mut().enumerate() {
                                if i % n_out % 3 == 0 {
                                    *v = -v.abs();
                                }
                            }
                            // 0: params only, 1: dX overwritten, 2: dX accumulated.
                            for variant in 0..3 {
                                let (mut w_want, mut dw, mut dx_want) =
                                    (w.clone(), vec![0.0; w.len()], dx0.clone());
                                let r = &mut reference;
                                match variant {
                                    0 => super::$t::bprop_batch_params(
                                        &x, &dy, &mut dw, n_in, n_out, rows, r,
                                    ),
                                    1 => super::$t::bprop_batch(
                                        &w, &x, &dy, &mut dx_want, &mut dw, n_in, n_out, rows, r,
                                    ),
                                    _ => super::$t::bprop_batch_acc(
                                        &w, &x, &dy, &mut dx_want, &mut dw, n_in, n_out, rows, r,
                                    ),
                                }
                                zeros += dw.iter().filter(|&&g| g == 0.0).count();
                                crate::pool::$t::sgd_step(&mut w_want, &dw, lr);
                                for s in &mut scratches {
                                    let what = format!(
                                        "{rows} rows, {n_in} -> {n_out}, variant {variant}, {} threads",
                                        s.threads()
                                    );
                                    let (mut w, mut dw, mut dx) =
                                        (w.clone(), vec![$t::NAN; w.len()], dx0.clone());
                                    match variant {
                                        0 => super::$t::bprop_batch_params_sgd(
                                            &mut w, &x, &dy, &mut dw, n_in, n_out, rows, lr, s,
                                        ),
                                        1 => super::$t::bprop_batch_sgd(
                                            &mut w, &x, &dy, &mut dx, &mut dw, n_in, n_out, rows,
                                            lr, s,
                                        ),
                                        _ => super::$t::bprop_batch_acc_sgd(
                                            &mut w, &x, &dy, &mut dx, &mut dw, n_in, n_out, rows,
                                            lr, s,
                                        ),
                                    }
                                    assert_eq!(bits(&w), bits(&w_want), "{what}: W");
                                    assert_eq!(bits(&dx), bits(&dx_want), "{what}: dX");
                                }
                            }
                        }
                    }
                }
                assert!(zeros > 0, "no gradient was zero: the −0 case went untested");
            }
        };
    }

    fused_sgd_equals_zero_bprop_and_step!(f32, fused_sgd_equals_zero_bprop_and_step_f32);
    fused_sgd_equals_zero_bprop_and_step!(f64, fused_sgd_equals_zero_bprop_and_step_f64);

    /// The fused update of one segment against a pool zeroed as `zero_grad` does (to −0) into
    /// which the gradient is added (as the GEMM's tile adds its sum into `C`), then `sgd_step`,
    /// bit for bit, for gradients and weights of both signs of zero. (The GEMM's sums start from
    /// +0 and so are never −0, which leaves the whole-step tests blind to the sign of the zero a
    /// pool is cleared to; a −0 gradient here is not.)
    #[test]
    fn the_fused_update_is_a_step_from_a_zeroed_pool() {
        let (w0, g) = (
            [-0.0, 0.0, -0.0, 0.0, 0.75, -0.5],
            [-0.0, -0.0, 0.0, 0.0, -0.0, 0.3],
        );
        for lr in [0.37, -0.37] {
            let mut want = w0;
            let mut pool = [-0.0f64; 6];
            for (p, g) in pool.iter_mut().zip(&g) {
                *p += g;
            }
            crate::pool::f64::sgd_step(&mut want, &pool, lr);
            let mut w = w0;
            super::f64::sgd_segment(&mut w, &g, lr);
            let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&w), bits(&want), "lr {lr}");
            let (mut w32, g32) = (w0.map(|v| v as f32), g.map(|v| v as f32));
            super::f32::sgd_segment(&mut w32, &g32, lr as f32);
            assert_eq!(
                w32.map(f32::to_bits),
                want.map(|v| (v as f32).to_bits()),
                "f32"
            );
        }
    }

    #[test]
    #[should_panic(expected = "not out × in")]
    fn fused_sgd_checks_the_shape() {
        let mut s = crate::gemm::GemmScratch::new();
        let (mut w, mut dw) = ([0.0; 6], [0.0; 5]);
        super::f64::bprop_batch_params_sgd(
            &mut w, &[0.0; 6], &[1.0; 9], &mut dw, 2, 3, 3, 0.1, &mut s,
        );
    }
}
