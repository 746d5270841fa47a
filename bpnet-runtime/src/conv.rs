//! 2-D convolution, the trainable front-end of LeNet: `C_in` input maps of `h × w` become `C_out`
//! output maps, each the sum over the input maps of a `kh × kw` kernel slid over its map (with a
//! stride and zero padding on each side), plus one bias per output map:
//!
//! `y[o][i][j] = b[o] + Σ_c Σ_u Σ_v W[o][c][u][v] · x[c][i·sh + u − ph][j·sw + v − pw]`
//!
//! (a value outside the map reads as 0). Maps are stored flat, row-major (`x[c][r][s]` at
//! `(c·h + r)·w + s`), so a convolution reads and writes the same flat states as every other
//! module. Its parameters are `W` then `b`, `W` in PyTorch's `Conv2d` layout
//! `[C_out, C_in, kh, kw]`, so weights move between the two.
//!
//! The loops go weight by weight over whole rows of the output, which vectorises over `j` for a
//! stride of 1; each output value sums its terms in the order `(u, v, c)` after the bias (kernel
//! positions outermost, so that each window's bounds are worked out once), and a weight's
//! gradient sums its row's terms in eight partial sums, which vectorises too. bprop
//! gives `dx` (overwritten, or added with `_acc`), `dW` and `db` (always added); bbprop gives the
//! diagonal Gauss–Newton terms with the squares of the same coefficients.
//!
//! A minibatch goes through the matrix product: each row's patches unfolded into a matrix
//! ("im2col"), its room reserved by [`reserve`]. Its second-order kernels are the
//! per-sample ones on each row, with the same bits.

mod fixed;
#[cfg(feature = "std")]
mod unfold;
pub use fixed::{MAX_STACK, bprop_n, bprop_params_n, fprop_n};
#[cfg(feature = "std")]
pub use unfold::reserve;

/// The shape of a convolution: what it reads, what it makes, its kernel, stride and padding.
/// Made by [`Geom::new`], which refuses a kernel that does not fit, so every `Geom` is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geom {
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: [usize; 2],
    pad: [usize; 2],
}

/// Whether a kernel of `k` fits `n` values padded by `p` on each side (without overflow).
const fn fits(k: usize, n: usize, p: usize) -> bool {
    match p.checked_mul(2) {
        Some(p2) => match n.checked_add(p2) {
            Some(padded) => k <= padded,
            None => false,
        },
        None => false,
    }
}

/// The product of `v`, if it fits `usize`.
const fn product(v: &[usize]) -> Option<usize> {
    let (mut acc, mut i) = (1usize, 0);
    while i < v.len() {
        acc = match acc.checked_mul(v[i]) {
            Some(a) => a,
            None => return None,
        };
        i += 1;
    }
    Some(acc)
}

impl Geom {
    /// The geometry of `c_out` maps made from `[c_in, h, w]` by `[kh, kw]` kernels with
    /// `stride` (down, across) and `pad` zeros (above and below, left and right), if it is one:
    /// every size and stride at least 1, the kernel within the padded map, and the sizes
    /// without overflow.
    ///
    /// ```
    /// use bpnet_runtime::conv::Geom;
    /// // LeNet-5's C1: 1 map of 32 × 32, 6 maps of 28 × 28 by 5 × 5 kernels.
    /// let c1 = Geom::new([1, 32, 32], 6, [5, 5], [1, 1], [0, 0]).unwrap();
    /// assert_eq!((c1.out_h(), c1.out_w(), c1.params()), (28, 28, 156));
    /// assert!(Geom::new([1, 4, 4], 6, [5, 5], [1, 1], [0, 0]).is_none());
    /// ```
    pub const fn new(
        [c_in, h, w]: [usize; 3],
        c_out: usize,
        [kh, kw]: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    ) -> Option<Self> {
        if c_in == 0 || h == 0 || w == 0 || c_out == 0 || kh == 0 || kw == 0 {
            return None;
        }
        if stride[0] == 0 || stride[1] == 0 || !fits(kh, h, pad[0]) || !fits(kw, w, pad[1]) {
            return None;
        }
        let g = Self {
            c_in,
            h,
            w,
            c_out,
            kh,
            kw,
            stride,
            pad,
        };
        // Every length the kernels use, without overflow.
        let (ins, outs) = (
            product(&[c_in, h, w]),
            product(&[c_out, g.out_h(), g.out_w()]),
        );
        match (ins, outs, product(&[c_out, c_in, kh, kw])) {
            (Some(_), Some(_), Some(weights)) if weights.checked_add(c_out).is_some() => Some(g),
            _ => None,
        }
    }

    /// Input maps, their height and width.
    pub const fn input(&self) -> [usize; 3] {
        [self.c_in, self.h, self.w]
    }

    /// Output maps.
    pub const fn maps(&self) -> usize {
        self.c_out
    }

    /// Kernel height and width.
    pub const fn kernel(&self) -> [usize; 2] {
        [self.kh, self.kw]
    }

    /// Stride down and across.
    pub const fn stride(&self) -> [usize; 2] {
        self.stride
    }

    /// Zeros above and below, left and right.
    pub const fn pad(&self) -> [usize; 2] {
        self.pad
    }

    /// Height of the output maps: `(h + 2·ph − kh) / sh + 1`.
    pub const fn out_h(&self) -> usize {
        (self.h + 2 * self.pad[0] - self.kh) / self.stride[0] + 1
    }

    /// Width of the output maps: `(w + 2·pw − kw) / sw + 1`.
    pub const fn out_w(&self) -> usize {
        (self.w + 2 * self.pad[1] - self.kw) / self.stride[1] + 1
    }

    /// The output's shape: `[c_out, out_h, out_w]`.
    pub const fn output(&self) -> [usize; 3] {
        [self.c_out, self.out_h(), self.out_w()]
    }

    /// Values read: `c_in · h · w`.
    pub const fn in_len(&self) -> usize {
        self.c_in * self.h * self.w
    }

    /// Values made: `c_out · out_h · out_w`.
    pub const fn out_len(&self) -> usize {
        self.c_out * self.out_h() * self.out_w()
    }

    /// Kernel weights: `c_out · c_in · kh · kw`.
    pub const fn weights(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }

    /// Parameters: the weights, then one bias per output map.
    pub const fn params(&self) -> usize {
        self.weights() + self.c_out
    }

    /// The output rows (or columns) that kernel row (or column) `u` reads inside the map, for
    /// `n_out` outputs over `n` inputs: those with `0 ≤ i·s + u − p < n`.
    fn inside(n_out: usize, n: usize, s: usize, p: usize, u: usize) -> core::ops::Range<usize> {
        let lo = p.saturating_sub(u).div_ceil(s);
        // i·s + u < n + p  ⇔  i < (n + p − u) / s rounded up.
        let hi = (n + p).saturating_sub(u).div_ceil(s).min(n_out);
        lo..hi.max(lo)
    }

    /// For kernel position `(u, v)`: the output rows and columns that read inside the map.
    fn window(&self, u: usize, v: usize) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
        let rows = Self::inside(self.out_h(), self.h, self.stride[0], self.pad[0], u);
        let cols = Self::inside(self.out_w(), self.w, self.stride[1], self.pad[1], v);
        (rows, cols)
    }

    /// Terms each output value sums, one per kernel tap `(c, u, v)`: `c_in · kh · kw`.
    pub const fn taps(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// The loops every kernel shares: for each output map `o < maps`, kernel tap `(c, u, v)`
    /// (index `t`, row-major) and output row `i` whose input row `r = i·sh + u − ph` is inside
    /// the map, `f(o, t, q0, x0, n)`: the `n` output positions inside the map are `q0 + s` (of
    /// one map, row-major), and read `x[x0 + s·sw]`, `s < n`. Kernel positions `(u, v)` are the
    /// outer loops, so that each window's bounds are worked out once.
    #[inline(always)]
    fn each_tap_row(&self, maps: usize, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
        let ow = self.out_w();
        for u in 0..self.kh {
            for v in 0..self.kw {
                let (rows, cols) = self.window(u, v);
                if rows.is_empty() || cols.is_empty() {
                    continue;
                }
                // Input column of the first output column: j·sw + v − pw ≥ 0.
                let s0 = cols.start * self.stride[1] + v - self.pad[1];
                for o in 0..maps {
                    for c in 0..self.c_in {
                        let t = (c * self.kh + u) * self.kw + v;
                        for i in rows.clone() {
                            let r = i * self.stride[0] + u - self.pad[0];
                            let (q0, x0) = (i * ow + cols.start, (c * self.h + r) * self.w + s0);
                            f(o, t, q0, x0, cols.len());
                        }
                    }
                }
            }
        }
    }

    /// Whether every window lies inside the map (no padding read).
    #[cfg(feature = "std")]
    const fn unpadded(&self) -> bool {
        self.pad[0] == 0 && self.pad[1] == 0
    }

    /// Panics unless the lengths are this geometry's.
    #[track_caller]
    fn check(&self, p: usize, x: usize, y: usize) {
        assert_eq!(p, self.params(), "conv: the parameters are not W then b");
        assert_eq!(x, self.in_len(), "conv: the input is not c_in × h × w");
        assert_eq!(
            y,
            self.out_len(),
            "conv: the output is not c_out × out_h × out_w"
        );
    }
}

/// The minibatch forms of a kernel module with parameters, for the float `$t` and the geometry
/// `$g`: each per-sample kernel (`fprop`, `bprop[_acc]`, `bbprop[_acc]`, `b[b]prop_params`, in
/// scope) on each of `rows` rows, row-major, with the same bits, the parameter derivatives summed
/// over the rows in order. `subsample` takes them all; `conv` only the second-order ones
/// (`@second`: `bbprop_batch[_acc]`, `bbprop_batch_params`), its first-order ones going through
/// the matrix product (`unfold`).
macro_rules! batch_rows {
    ($t:ident, $g:ty) => {
        /// [`fprop`] on each of `rows` rows (row-major `x` and `y`): the same bits.
        ///
        /// # Panics
        /// If `x` or `y` holds fewer than `rows` rows, or `p` is not `g`'s.
        pub fn fprop_batch(g: &$g, p: &[$t], x: &[$t], y: &mut [$t], rows: usize) {
            let (n, m) = (g.in_len(), g.out_len());
            for (r, y) in y[..rows * m].chunks_exact_mut(m).enumerate() {
                fprop(g, p, row(x, n, r), y);
            }
        }

        /// [`bprop`] on each of `rows` rows: `dx` overwritten, `dp` summed over the rows.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
        pub fn bprop_batch(
            g: &$g,
            p: &[$t],
            x: &[$t],
            dy: &[$t],
            dx: &mut [$t],
            dp: &mut [$t],
            rows: usize,
        ) {
            rows_of(bprop, g, p, x, dy, dx, dp, rows)
        }

        /// [`bprop_acc`] on each of `rows` rows.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
        pub fn bprop_batch_acc(
            g: &$g,
            p: &[$t],
            x: &[$t],
            dy: &[$t],
            dx: &mut [$t],
            dp: &mut [$t],
            rows: usize,
        ) {
            rows_of(bprop_acc, g, p, x, dy, dx, dp, rows)
        }

        /// [`bprop_params`] on each of `rows` rows, summed.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `dp` is not `g`'s.
        pub fn bprop_batch_params(g: &$g, x: &[$t], dy: &[$t], dp: &mut [$t], rows: usize) {
            let (n, m) = (g.in_len(), g.out_len());
            for r in 0..rows {
                bprop_params(g, row(x, n, r), row(dy, m, r), dp);
            }
        }

        $crate::conv::batch_rows!(@second $t, $g);
    };
    (@second $t:ident, $g:ty) => {
        /// Row `r` of a minibatch's values, `n` values a row.
        #[inline(always)]
        fn row(v: &[$t], n: usize, r: usize) -> &[$t] {
            &v[r * n..(r + 1) * n]
        }

        /// A per-sample backward kernel.
        type Backward = fn(&$g, &[$t], &[$t], &[$t], &mut [$t], &mut [$t]);

        /// `each` on each of `rows` rows, its parameter derivatives summed over them.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        fn rows_of(
            each: Backward,
            g: &$g,
            p: &[$t],
            x: &[$t],
            dy: &[$t],
            dx: &mut [$t],
            dp: &mut [$t],
            rows: usize,
        ) {
            let (n, m) = (g.in_len(), g.out_len());
            for (r, dx) in dx[..rows * n].chunks_exact_mut(n).enumerate() {
                each(g, p, row(x, n, r), row(dy, m, r), dx, dp);
            }
        }

        /// [`bbprop`] on each of `rows` rows.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
        pub fn bbprop_batch(
            g: &$g,
            p: &[$t],
            x: &[$t],
            ddy: &[$t],
            ddx: &mut [$t],
            ddp: &mut [$t],
            rows: usize,
        ) {
            rows_of(bbprop, g, p, x, ddy, ddx, ddp, rows)
        }

        /// [`bbprop_acc`] on each of `rows` rows.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
        pub fn bbprop_batch_acc(
            g: &$g,
            p: &[$t],
            x: &[$t],
            ddy: &[$t],
            ddx: &mut [$t],
            ddp: &mut [$t],
            rows: usize,
        ) {
            rows_of(bbprop_acc, g, p, x, ddy, ddx, ddp, rows)
        }

        /// [`bbprop_params`] on each of `rows` rows, summed.
        ///
        /// # Panics
        /// If a minibatch holds fewer than `rows` rows, or `ddp` is not `g`'s.
        pub fn bbprop_batch_params(g: &$g, x: &[$t], ddy: &[$t], ddp: &mut [$t], rows: usize) {
            let (n, m) = (g.in_len(), g.out_len());
            for r in 0..rows {
                bbprop_params(g, row(x, n, r), row(ddy, m, r), ddp);
            }
        }
    };
}
pub(crate) use batch_rows;

macro_rules! conv_kernels {
    ($t:ident) => {
        #[doc = concat!("2-D convolution kernels for `", stringify!($t), "`.")]
        pub mod $t {
            use super::Geom;
            use rand::{Rng, RngExt};

            /// The loop nest every kernel shares: for each weight `W[o][c][u][v]` (index `k`)
            /// and each output row `i` whose input row `r = i·sh + u − ph` is inside the map,
            /// `f(k, y0, x0, n)`: the `n` output columns inside the map are `y[y0 + t]`, and read
            /// `x[x0 + t·sw]`, `t < n`.
            #[inline(always)]
            fn each_row(g: &Geom, mut f: impl FnMut(usize, usize, usize, usize)) {
                let (taps, ohw) = (g.taps(), g.out_h() * g.out_w());
                g.each_tap_row(g.c_out, |o, t, q0, x0, n| {
                    f(o * taps + t, o * ohw + q0, x0, n)
                });
            }

            /// fprop: `y[o] = b[o] + Σ W ⋆ x` (overwritten).
            ///
            /// # Panics
            /// If the lengths are not `g`'s (`p`: its parameters, `x` its input, `y` its output).
            pub fn fprop(g: &Geom, p: &[$t], x: &[$t], y: &mut [$t]) {
                g.check(p.len(), x.len(), y.len());
                let (w, b) = p.split_at(g.weights());
                let ohw = g.out_h() * g.out_w();
                for (ym, &bo) in y.chunks_exact_mut(ohw).zip(b) {
                    ym.fill(bo);
                }
                let sw = g.stride[1];
                each_row(g, |k, y0, x0, n| {
                    let (wk, y) = (w[k], &mut y[y0..y0 + n]);
                    if sw == 1 {
                        // Contiguous: the loop the compiler vectorises.
                        for (yv, xv) in y.iter_mut().zip(&x[x0..x0 + n]) {
                            *yv += wk * xv;
                        }
                    } else {
                        for (t, yv) in y.iter_mut().enumerate() {
                            *yv += wk * x[x0 + t * sw];
                        }
                    }
                });
            }

            /// The parameter derivatives: `dW += Σ dy ⋆ x`, `db += Σ dy` (accumulated).
            fn params_impl(g: &Geom, x: &[$t], dy: &[$t], dp: &mut [$t], square: bool) {
                let (dw, db) = dp.split_at_mut(g.weights());
                let ohw = g.out_h() * g.out_w();
                for (dym, dbo) in dy.chunks_exact(ohw).zip(db) {
                    *dbo += dym.iter().sum::<$t>();
                }
                let sw = g.stride[1];
                each_row(g, |k, y0, x0, n| {
                    let dy = &dy[y0..y0 + n];
                    let f = |xv: $t| if square { xv * xv } else { xv };
                    // Eight partial sums (lane `t mod 8`), added in lane order: a sum the
                    // compiler vectorises, the same on every path.
                    let mut lanes: [$t; 8] = [0.0; 8];
                    if sw == 1 {
                        let (d8, d_tail) = dy.as_chunks::<8>();
                        let (x8, x_tail) = x[x0..x0 + n].as_chunks::<8>();
                        for (d, xs) in d8.iter().zip(x8) {
                            for l in 0..8 {
                                lanes[l] += d[l] * f(xs[l]);
                            }
                        }
                        for (l, (d, &xv)) in d_tail.iter().zip(x_tail).enumerate() {
                            lanes[l] += d * f(xv);
                        }
                    } else {
                        for (t, d) in dy.iter().enumerate() {
                            lanes[t % 8] += d * f(x[x0 + t * sw]);
                        }
                    }
                    dw[k] += lanes.iter().sum::<$t>();
                });
            }

            /// The input derivatives: `dx (+)= Σ_o Wᵀ ⋆ dy` (with `W∘W` when `square`).
            fn input_impl(g: &Geom, p: &[$t], dy: &[$t], dx: &mut [$t], acc: bool, square: bool) {
                if !acc {
                    dx.fill(0.0);
                }
                let w = &p[..g.weights()];
                let sw = g.stride[1];
                each_row(g, |k, y0, x0, n| {
                    let (wk, dy) = (if square { w[k] * w[k] } else { w[k] }, &dy[y0..y0 + n]);
                    if sw == 1 {
                        for (d, dyv) in dx[x0..x0 + n].iter_mut().zip(dy) {
                            *d += wk * dyv;
                        }
                    } else {
                        for (t, dyv) in dy.iter().enumerate() {
                            dx[x0 + t * sw] += wk * dyv;
                        }
                    }
                });
            }

            /// bprop: `dx = Σ_o Wᵀ ⋆ dy` (overwritten), `dW += Σ dy ⋆ x`, `db += Σ dy` (`dp`:
            /// the parameter derivatives, `W` then `b`, accumulated).
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop(g: &Geom, p: &[$t], x: &[$t], dy: &[$t], dx: &mut [$t], dp: &mut [$t]) {
                g.check(p.len(), x.len(), dy.len());
                g.check(dp.len(), dx.len(), dy.len());
                input_impl(g, p, dy, dx, false, false);
                params_impl(g, x, dy, dp, false);
            }

            /// As [`bprop`], but `dx += …`, for a state that feeds several modules.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop_acc(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dp: &mut [$t],
            ) {
                g.check(p.len(), x.len(), dy.len());
                g.check(dp.len(), dx.len(), dy.len());
                input_impl(g, p, dy, dx, true, false);
                params_impl(g, x, dy, dp, false);
            }

            /// bprop of the parameters alone (an input whose gradient is not wanted): adds
            /// into `dp` exactly what [`bprop`] adds.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop_params(g: &Geom, x: &[$t], dy: &[$t], dp: &mut [$t]) {
                g.check(dp.len(), x.len(), dy.len());
                params_impl(g, x, dy, dp, false);
            }

            /// bbprop (diagonal Gauss–Newton): `ddx = Σ_o (W∘W)ᵀ ⋆ ddy` (overwritten),
            /// `ddW += Σ ddy ⋆ (x∘x)`, `ddb += Σ ddy`: [`bprop`]'s coefficients squared.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddp: &mut [$t],
            ) {
                g.check(p.len(), x.len(), ddy.len());
                g.check(ddp.len(), ddx.len(), ddy.len());
                input_impl(g, p, ddy, ddx, false, true);
                params_impl(g, x, ddy, ddp, true);
            }

            /// As [`bbprop`], but `ddx += …`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop_acc(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddp: &mut [$t],
            ) {
                g.check(p.len(), x.len(), ddy.len());
                g.check(ddp.len(), ddx.len(), ddy.len());
                input_impl(g, p, ddy, ddx, true, true);
                params_impl(g, x, ddy, ddp, true);
            }

            /// bbprop of the parameters alone: adds into `ddp` exactly what [`bbprop`] adds.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop_params(g: &Geom, x: &[$t], ddy: &[$t], ddp: &mut [$t]) {
                g.check(ddp.len(), x.len(), ddy.len());
                params_impl(g, x, ddy, ddp, true);
            }

            crate::conv::batch_rows!(@second $t, Geom);
            #[cfg(feature = "std")]
            pub use super::unfold::$t::{
                bprop_batch, bprop_batch_acc, bprop_batch_params, fprop_batch,
            };

            /// Fan-in scaled uniform weights, `U(±√(3 / (c_in·kh·kw)))` (variance one over the
            /// terms each output sums), and zero biases.
            ///
            /// # Panics
            /// If `p` is not `g`'s parameters.
            pub fn init<R: Rng + ?Sized>(g: &Geom, p: &mut [$t], rng: &mut R) {
                assert_eq!(p.len(), g.params(), "conv: the parameters are not W then b");
                let (w, b) = p.split_at_mut(g.weights());
                let a = crate::Float::sqrt(3.0 / (g.c_in * g.kh * g.kw) as $t);
                for v in w {
                    *v = rng.random_range(-a..=a);
                }
                b.fill(0.0);
            }
        }
    };
}

conv_kernels!(f32);
conv_kernels!(f64);

#[cfg(test)]
mod tests {
    use super::Geom;
    use crate::testing::{gauss_newton_diag, noise, numeric_grad, positive, rel_err, to_f32};

    /// Relative tolerance of the finite-difference checks. The kernels are linear in `x` and in
    /// the parameters, so central differences (f64, step 1e-5 for gradients, 1e-4 for the
    /// Jacobians of bbprop) are exact up to rounding, about `ε |E| / h ≈ 1e-10`.
    const TOL: f64 = 1e-7;

    /// One and several maps, square and rectangular kernels and maps, strides 1, 2 and 3 (unequal
    /// down and across), padding 0, 1 and 2 (unequal), a 1 × 1 kernel, a kernel as tall as the
    /// padded map, rows of more than eight values, and padding as wide as the kernel (columns
    /// of patches that read only zeros).
    pub(super) fn geoms() -> Vec<Geom> {
        [
            ([1, 5, 5], 1, [3, 3], [1, 1], [0, 0]),
            ([2, 6, 5], 3, [3, 2], [1, 1], [1, 0]),
            ([3, 7, 6], 2, [2, 3], [2, 1], [0, 2]),
            ([1, 8, 8], 4, [5, 5], [2, 2], [2, 2]),
            ([2, 4, 5], 2, [6, 3], [3, 2], [1, 1]),
            ([1, 3, 3], 2, [1, 1], [1, 1], [0, 0]),
            ([2, 5, 11], 2, [3, 3], [1, 1], [1, 1]),
            ([1, 4, 6], 2, [3, 1], [1, 1], [1, 1]),
        ]
        .iter()
        .map(|&(i, o, k, s, p)| Geom::new(i, o, k, s, p).expect("a geometry"))
        .collect()
    }

    /// The definition, term by term, reading zeros outside the map, in f64.
    fn naive(g: &Geom, p: &[f64], x: &[f64]) -> Vec<f64> {
        let ([c_in, h, w], [kh, kw]) = (g.input(), g.kernel());
        let ([sh, sw], [ph, pw]) = (g.stride(), g.pad());
        let (oh, ow) = (g.out_h(), g.out_w());
        let mut y = vec![0.0; g.out_len()];
        for o in 0..g.maps() {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = p[g.weights() + o];
                    for c in 0..c_in {
                        for u in 0..kh {
                            for v in 0..kw {
                                let r = (i * sh + u).checked_sub(ph).filter(|&r| r < h);
                                let q = (j * sw + v).checked_sub(pw).filter(|&q| q < w);
                                if let (Some(r), Some(q)) = (r, q) {
                                    s += p[((o * c_in + c) * kh + u) * kw + v]
                                        * x[(c * h + r) * w + q];
                                }
                            }
                        }
                    }
                    y[(o * oh + i) * ow + j] = s;
                }
            }
        }
        y
    }

    /// Parameters, an input and an output derivative for `g`.
    fn data(g: &Geom, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let p = noise(g.params(), seed);
        (p, noise(g.in_len(), seed + 1), noise(g.out_len(), seed + 2))
    }

    /// `E = dy · y(p, x)`: its exact gradient is what bprop must return.
    fn energy(g: &Geom, p: &[f64], x: &[f64], dy: &[f64]) -> f64 {
        naive(g, p, x).iter().zip(dy).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn fprop_is_the_definition() {
        for g in geoms() {
            let (p, x, _) = data(&g, 1);
            let mut y = vec![7.0; g.out_len()];
            super::f64::fprop(&g, &p, &x, &mut y);
            assert!(rel_err(&y, &naive(&g, &p, &x)) < 1e-13, "{g:?}");
        }
    }

    #[test]
    fn bprop_matches_finite_differences() {
        for g in geoms() {
            let (p, x, dy) = data(&g, 2);
            let (mut dx, mut dp) = (vec![7.0; g.in_len()], vec![0.0; g.params()]);
            super::f64::bprop(&g, &p, &x, &dy, &mut dx, &mut dp);
            let ndx = numeric_grad(&x, |x| energy(&g, &p, x, &dy));
            let ndp = numeric_grad(&p, |p| energy(&g, p, &x, &dy));
            assert!(rel_err(&dx, &ndx) < TOL, "{g:?}: dx");
            assert!(rel_err(&dp, &ndp) < TOL, "{g:?}: dp");
            // `_acc` adds into dx; the parameter derivatives always add.
            let mut dx2 = vec![1.0; g.in_len()];
            super::f64::bprop_acc(&g, &p, &x, &dy, &mut dx2, &mut dp);
            let plus_one: Vec<f64> = ndx.iter().map(|v| v + 1.0).collect();
            let twice: Vec<f64> = ndp.iter().map(|v| 2.0 * v).collect();
            assert!(rel_err(&dx2, &plus_one) < TOL, "{g:?}: dx, acc");
            assert!(rel_err(&dp, &twice) < TOL, "{g:?}: dp, acc");
            // `_params` adds exactly what bprop adds.
            let (mut once, mut alone) = (vec![0.0; g.params()], vec![0.0; g.params()]);
            super::f64::bprop(&g, &p, &x, &dy, &mut dx2, &mut once);
            super::f64::bprop_params(&g, &x, &dy, &mut alone);
            assert_eq!(once, alone, "{g:?}: params alone");
        }
    }

    #[test]
    fn bbprop_is_the_gauss_newton_diagonal() {
        for g in geoms() {
            let (p, x, _) = data(&g, 3);
            let ddy = positive(g.out_len(), 4);
            let (mut ddx, mut ddp) = (vec![7.0; g.in_len()], vec![0.0; g.params()]);
            super::f64::bbprop(&g, &p, &x, &ddy, &mut ddx, &mut ddp);
            let want_x = gauss_newton_diag(&x, &ddy, |x, y| y.copy_from_slice(&naive(&g, &p, x)));
            let want_p = gauss_newton_diag(&p, &ddy, |p, y| y.copy_from_slice(&naive(&g, p, &x)));
            assert!(rel_err(&ddx, &want_x) < TOL, "{g:?}: ddx");
            assert!(rel_err(&ddp, &want_p) < TOL, "{g:?}: ddp");
            let mut ddx2 = vec![1.0; g.in_len()];
            super::f64::bbprop_acc(&g, &p, &x, &ddy, &mut ddx2, &mut ddp);
            let plus_one: Vec<f64> = want_x.iter().map(|v| v + 1.0).collect();
            let twice: Vec<f64> = want_p.iter().map(|v| 2.0 * v).collect();
            assert!(rel_err(&ddx2, &plus_one) < TOL, "{g:?}: ddx, acc");
            assert!(rel_err(&ddp, &twice) < TOL, "{g:?}: ddp, acc");
            let (mut once, mut alone) = (vec![0.0; g.params()], vec![0.0; g.params()]);
            super::f64::bbprop(&g, &p, &x, &ddy, &mut ddx2, &mut once);
            super::f64::bbprop_params(&g, &x, &ddy, &mut alone);
            assert_eq!(once, alone, "{g:?}: params alone");
        }
    }

    /// The second-order minibatch kernels are the per-sample ones row by row, bit for bit (f32),
    /// the parameter derivatives summed in row order; rows past `rows` are not touched. (The
    /// first-order ones go through the matrix product: `unfold`'s tests.)
    #[test]
    fn a_second_order_minibatch_is_its_rows() {
        use super::f32 as k;
        let g = geoms()[2];
        let (n, m, np, rows) = (g.in_len(), g.out_len(), g.params(), 3);
        let p: Vec<f32> = noise(np, 5);
        let (x, dy): (Vec<f32>, Vec<f32>) = (noise(4 * n, 6), noise(4 * m, 7));
        type Batch = fn(&Geom, &[f32], &[f32], &[f32], &mut [f32], &mut [f32], usize);
        type Sample = fn(&Geom, &[f32], &[f32], &[f32], &mut [f32], &mut [f32]);
        let pairs: [(Batch, Sample, &str); 2] = [
            (k::bbprop_batch, k::bbprop, "bbprop"),
            (k::bbprop_batch_acc, k::bbprop_acc, "bbprop_acc"),
        ];
        for (batch, sample, name) in pairs {
            let (mut dx, mut dp) = (noise::<f32>(4 * n, 8), noise::<f32>(np, 9));
            let (mut want_dx, mut want_dp) = (dx.clone(), dp.clone());
            batch(&g, &p, &x, &dy, &mut dx, &mut dp, rows);
            for r in 0..rows {
                let (xr, dyr) = (&x[r * n..][..n], &dy[r * m..][..m]);
                sample(&g, &p, xr, dyr, &mut want_dx[r * n..][..n], &mut want_dp);
            }
            assert_eq!((dx, dp), (want_dx, want_dp), "{name}");
        }
        let (mut dp, mut want) = (noise::<f32>(np, 10), noise::<f32>(np, 10));
        k::bbprop_batch_params(&g, &x, &dy, &mut dp, rows);
        for r in 0..rows {
            k::bbprop_params(&g, &x[r * n..][..n], &dy[r * m..][..m], &mut want);
        }
        assert_eq!(dp, want, "bbprop_params");
    }

    #[test]
    fn f32_agrees_with_f64() {
        for g in geoms() {
            let (p, x, dy) = data(&g, 11);
            let (mut y, mut dx, mut dp) = (
                vec![0.0f32; g.out_len()],
                vec![0.0f32; g.in_len()],
                vec![0.0f32; g.params()],
            );
            let (p32, x32) = (to_f32(&p), to_f32(&x));
            super::f32::fprop(&g, &p32, &x32, &mut y);
            super::f32::bprop(&g, &p32, &x32, &to_f32(&dy), &mut dx, &mut dp);
            let (mut y64, mut dx64, mut dp64) = (
                vec![0.0; g.out_len()],
                vec![0.0; g.in_len()],
                vec![0.0; g.params()],
            );
            super::f64::fprop(&g, &p, &x, &mut y64);
            super::f64::bprop(&g, &p, &x, &dy, &mut dx64, &mut dp64);
            // Largest difference over the largest value: sums of a few dozen f32 products.
            let off = |a: &[f32], b: &[f64]| {
                let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let diff = a
                    .iter()
                    .zip(b)
                    .fold(0.0f64, |m, (a, b)| m.max((*a as f64 - b).abs()));
                diff / scale
            };
            assert!(off(&y, &y64) < 1e-6, "{g:?}: y");
            assert!(off(&dx, &dx64) < 1e-6, "{g:?}: dx");
            assert!(off(&dp, &dp64) < 1e-6, "{g:?}: dp");
        }
    }

    /// A kernel larger than the padded map, a zero size or stride, and sizes whose lengths
    /// overflow are not geometries; a kernel exactly as large as the padded map is.
    #[test]
    fn only_fitting_geometries_are_made() {
        let g = |i, o, k, s, p| Geom::new(i, o, k, s, p);
        assert!(g([1, 4, 4], 6, [5, 5], [1, 1], [0, 0]).is_none());
        assert!(g([1, 4, 4], 6, [4, 7], [1, 1], [0, 1]).is_none());
        assert!(g([1, 4, 4], 6, [6, 6], [1, 1], [1, 1]).is_some_and(|g| g.out_len() == 6));
        assert!(g([0, 4, 4], 1, [1, 1], [1, 1], [0, 0]).is_none());
        assert!(g([1, 4, 4], 0, [1, 1], [1, 1], [0, 0]).is_none());
        assert!(g([1, 4, 4], 1, [1, 1], [0, 1], [0, 0]).is_none());
        assert!(g([1, 4, 4], 1, [0, 1], [1, 1], [0, 0]).is_none());
        // A stride so large that a kernel column reads nothing: no output column at all for it.
        let wide = g([1, 1, 1], 1, [1, 3], [1, usize::MAX], [0, 2]).expect("a geometry");
        let mut y = vec![0.0f32; wide.out_len()];
        super::f32::fprop(&wide, &[1.0, 2.0, 3.0, 0.5], &[4.0], &mut y);
        assert_eq!(y, [0.5 + 3.0 * 4.0]);
        let big = usize::MAX / 2;
        assert!(g([big, big, 2], 1, [1, 1], [1, 1], [0, 0]).is_none());
        assert!(g([1, 4, 4], 1, [1, 1], [1, 1], [big, 0]).is_none());
        assert!(g([3, 4, 4], big, [2, 2], [1, 1], [0, 0]).is_none());
    }

    #[test]
    #[should_panic(expected = "conv: the input is not c_in × h × w")]
    fn a_wrong_input_length_panics() {
        let g = geoms()[0];
        let mut y = vec![0.0; g.out_len()];
        super::f32::fprop(&g, &vec![0.0; g.params()], &[0.0; 24], &mut y);
    }

    /// Weights inside `±√(3 / fan_in)` and not all equal, biases zero.
    #[test]
    fn init_is_fan_in_scaled_with_zero_biases() {
        use rand::SeedableRng;
        let g = geoms()[3];
        let mut p = vec![1.0f64; g.params()];
        super::f64::init(&g, &mut p, &mut rand::rngs::StdRng::seed_from_u64(1));
        let a = (3.0f64 / 25.0).sqrt();
        let (w, b) = p.split_at(g.weights());
        assert!(w.iter().all(|v| v.abs() <= a) && w.iter().any(|&v| v != w[0]));
        assert!(w.iter().any(|v| v.abs() > a / 2.0), "spread over the range");
        assert!(b.iter().all(|&v| v == 0.0));
    }
}
