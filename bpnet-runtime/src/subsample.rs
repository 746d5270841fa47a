//! LeNet-5's subsampling: each map is cut into `size × size` windows side by side, and each
//! window becomes one value, its sum times a trainable coefficient plus a trainable bias, one of
//! each per map:
//!
//! `y[c][i][j] = a[c] · Σ_u Σ_v x[c][i·size + u][j·size + v] + b[c]`
//!
//! With `a = 1 / size²` (its initial value) that is the average over the window. The parameters
//! are `a` then `b` (`weight [C]`, `bias [C]` in a saved file). Maps are stored flat, row-major,
//! as [`crate::conv`]'s. Each window is summed in row-major order from 0; the derivative kernels
//! follow the conventions of the others (`dx` overwritten or, with `_acc`, added; parameter
//! derivatives added), and a minibatch is the per-sample call on each row.
//!
//! [`Window`] is also the geometry of [`crate::maxpool`].

/// Maps cut into windows: `c` maps of `h × w`, windows of `size × size`, side by side. Made by
/// [`Window::new`], which refuses a size that does not divide the map, so every `Window` is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    c: usize,
    h: usize,
    w: usize,
    size: usize,
}

impl Window {
    /// The windows of `size × size` over `[c, h, w]`, if `size ≥ 1` divides both `h` and `w`
    /// (and the lengths `c·h·w` and `2·c` fit `usize`).
    ///
    /// ```
    /// use bpnet_runtime::subsample::Window;
    /// // LeNet-5's S2: 6 maps of 28 × 28 into 14 × 14.
    /// let s2 = Window::new([6, 28, 28], 2).unwrap();
    /// assert_eq!(s2.output(), [6, 14, 14]);
    /// assert!(Window::new([6, 7, 7], 2).is_none());
    /// ```
    pub const fn new([c, h, w]: [usize; 3], size: usize) -> Option<Self> {
        if c == 0 || h == 0 || w == 0 || size == 0 || h % size != 0 || w % size != 0 {
            return None;
        }
        // The lengths of the maps and of the parameters (two per map), without overflow.
        match (c.checked_mul(h), c.checked_mul(2)) {
            (Some(ch), Some(_)) if ch.checked_mul(w).is_some() => Some(Self { c, h, w, size }),
            _ => None,
        }
    }

    /// The maps read: `[c, h, w]`.
    pub const fn input(&self) -> [usize; 3] {
        [self.c, self.h, self.w]
    }

    /// The window's side.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// The maps made: `[c, h / size, w / size]`.
    pub const fn output(&self) -> [usize; 3] {
        [self.c, self.h / self.size, self.w / self.size]
    }

    /// Values read: `c · h · w`.
    pub const fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Values made: `c · (h / size) · (w / size)`.
    pub const fn out_len(&self) -> usize {
        self.c * (self.h / self.size) * (self.w / self.size)
    }

    /// For each output value `k` (row-major), `f(k, map, start)`: `start` is the index of its
    /// window's top-left input; the window's rows are `w` apart.
    #[inline(always)]
    pub(crate) fn each(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = (self.h / self.size, self.w / self.size);
        for m in 0..self.c {
            for i in 0..oh {
                for j in 0..ow {
                    let start = (m * self.h + i * self.size) * self.w + j * self.size;
                    f((m * oh + i) * ow + j, m, start);
                }
            }
        }
    }

    /// The input indices of the window from `start`, row by row.
    #[inline(always)]
    pub(crate) fn cells(&self, start: usize) -> impl Iterator<Item = usize> + use<> {
        let (size, w) = (self.size, self.w);
        (0..size).flat_map(move |u| (0..size).map(move |v| start + u * w + v))
    }

    /// The rows of the window of `x` from `start`, each `size` values (slices, so that a
    /// window's sum is a loop over contiguous values).
    #[inline(always)]
    pub(crate) fn rows<'a, T>(&self, x: &'a [T], start: usize) -> impl Iterator<Item = &'a [T]> {
        let (size, w) = (self.size, self.w);
        (0..size).map(move |u| &x[start + u * w..][..size])
    }

    /// Panics unless the lengths are this window's.
    #[track_caller]
    pub(crate) fn check(&self, x: usize, y: usize) {
        assert_eq!(x, self.in_len(), "the input is not c × h × w");
        assert_eq!(y, self.out_len(), "the output is not c × h/size × w/size");
    }
}

macro_rules! subsample_kernels {
    ($t:ident) => {
        #[doc = concat!("Subsampling kernels for `", stringify!($t), "`.")]
        pub mod $t {
            use super::Window;

            /// The sum of a window (of squares when `square`), in row-major order from 0.
            #[inline(always)]
            fn sum(g: &Window, x: &[$t], start: usize, square: bool) -> $t {
                /// With the window's side a constant: loops the compiler unrolls.
                #[inline(always)]
                fn sized<const S: usize>(w: usize, x: &[$t], start: usize, square: bool) -> $t {
                    let mut s: $t = 0.0;
                    for u in 0..S {
                        let row: &[$t; S] = x[start + u * w..][..S].try_into().expect("S values");
                        for &v in row {
                            s += if square { v * v } else { v };
                        }
                    }
                    s
                }
                match g.size {
                    2 => sized::<2>(g.w, x, start, square),
                    3 => sized::<3>(g.w, x, start, square),
                    _ => {
                        let mut s: $t = 0.0;
                        for row in g.rows(x, start) {
                            for &v in row {
                                s += if square { v * v } else { v };
                            }
                        }
                        s
                    }
                }
            }

            #[track_caller]
            fn check(g: &Window, p: usize, x: usize, y: usize) {
                assert_eq!(
                    p,
                    2 * g.input()[0],
                    "subsample: the parameters are not a then b"
                );
                g.check(x, y);
            }

            /// fprop: `y = a · (window sum) + b`, per map (overwritten).
            ///
            /// # Panics
            /// If the lengths are not `g`'s (`p`: `a` then `b`, one of each per map).
            pub fn fprop(g: &Window, p: &[$t], x: &[$t], y: &mut [$t]) {
                check(g, p.len(), x.len(), y.len());
                let (a, b) = p.split_at(g.input()[0]);
                g.each(|k, m, start| y[k] = a[m] * sum(g, x, start, false) + b[m]);
            }

            /// The parameter derivatives: `da += Σ dy · (window sum)`, `db += Σ dy` (of the
            /// squares, for bbprop, when `square`).
            fn params_impl(g: &Window, x: &[$t], dy: &[$t], dp: &mut [$t], square: bool) {
                let (da, db) = dp.split_at_mut(g.input()[0]);
                g.each(|k, m, start| {
                    let s = sum(g, x, start, false);
                    da[m] += dy[k] * if square { s * s } else { s };
                    db[m] += dy[k];
                });
            }

            /// The input derivatives: each value of a window gets `a · dy` (`a² · ddy` when
            /// `square`).
            fn input_impl(g: &Window, p: &[$t], dy: &[$t], dx: &mut [$t], acc: bool, square: bool) {
                g.each(|k, m, start| {
                    let a = if square { p[m] * p[m] } else { p[m] };
                    let d = a * dy[k];
                    let set = |v: &mut $t| *v = if acc { *v + d } else { d };
                    if g.size == 2 {
                        // The common window, unrolled.
                        for u in 0..2 {
                            let row = &mut dx[start + u * g.w..][..2];
                            set(&mut row[0]);
                            set(&mut row[1]);
                        }
                        return;
                    }
                    for u in 0..g.size {
                        dx[start + u * g.w..][..g.size].iter_mut().for_each(set);
                    }
                });
            }

            /// bprop: `dx = a · dy` over each window (overwritten), `da += Σ dy · (window sum)`,
            /// `db += Σ dy` (`dp`: `da` then `db`, accumulated).
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop(g: &Window, p: &[$t], x: &[$t], dy: &[$t], dx: &mut [$t], dp: &mut [$t]) {
                check(g, p.len(), x.len(), dy.len());
                check(g, dp.len(), dx.len(), dy.len());
                input_impl(g, p, dy, dx, false, false);
                params_impl(g, x, dy, dp, false);
            }

            /// As [`bprop`], but `dx += …`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop_acc(
                g: &Window,
                p: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dp: &mut [$t],
            ) {
                check(g, p.len(), x.len(), dy.len());
                check(g, dp.len(), dx.len(), dy.len());
                input_impl(g, p, dy, dx, true, false);
                params_impl(g, x, dy, dp, false);
            }

            /// bprop of the parameters alone: adds into `dp` exactly what [`bprop`] adds.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop_params(g: &Window, x: &[$t], dy: &[$t], dp: &mut [$t]) {
                check(g, dp.len(), x.len(), dy.len());
                params_impl(g, x, dy, dp, false);
            }

            /// bbprop (diagonal Gauss–Newton): `ddx = a² · ddy` over each window
            /// (overwritten), `dda += Σ ddy · (window sum)²`, `ddb += Σ ddy`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop(
                g: &Window,
                p: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddp: &mut [$t],
            ) {
                check(g, p.len(), x.len(), ddy.len());
                check(g, ddp.len(), ddx.len(), ddy.len());
                input_impl(g, p, ddy, ddx, false, true);
                params_impl(g, x, ddy, ddp, true);
            }

            /// As [`bbprop`], but `ddx += …`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop_acc(
                g: &Window,
                p: &[$t],
                x: &[$t],
                ddy: &[$t],
                ddx: &mut [$t],
                ddp: &mut [$t],
            ) {
                check(g, p.len(), x.len(), ddy.len());
                check(g, ddp.len(), ddx.len(), ddy.len());
                input_impl(g, p, ddy, ddx, true, true);
                params_impl(g, x, ddy, ddp, true);
            }

            /// bbprop of the parameters alone: adds into `ddp` exactly what [`bbprop`] adds.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop_params(g: &Window, x: &[$t], ddy: &[$t], ddp: &mut [$t]) {
                check(g, ddp.len(), x.len(), ddy.len());
                params_impl(g, x, ddy, ddp, true);
            }

            crate::conv::batch_rows!($t, Window);

            /// The average to start from: `a = 1 / size²`, `b = 0`.
            ///
            /// # Panics
            /// If `p` is not `g`'s parameters.
            pub fn init(g: &Window, p: &mut [$t]) {
                let c = g.input()[0];
                assert_eq!(p.len(), 2 * c, "subsample: the parameters are not a then b");
                let (a, b) = p.split_at_mut(c);
                a.fill(1.0 / (g.size() * g.size()) as $t);
                b.fill(0.0);
            }
        }
    };
}

subsample_kernels!(f32);
subsample_kernels!(f64);

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::testing::{gauss_newton_diag, noise, numeric_grad, positive, rel_err};

    /// Relative tolerance of the finite-difference checks: the kernels are linear in `x` and in
    /// `(a, b)` separately, bilinear in `(a, x)`, so central differences in f64 are exact up to
    /// rounding and the second-order term, far below this.
    const TOL: f64 = 1e-7;

    fn windows() -> Vec<Window> {
        [
            ([1, 2, 2], 2),
            ([3, 4, 6], 2),
            ([2, 6, 3], 3),
            ([2, 3, 5], 1),
        ]
        .iter()
        .map(|&(i, s)| Window::new(i, s).expect("a window"))
        .collect()
    }

    /// The definition, in f64.
    fn naive(g: &Window, p: &[f64], x: &[f64]) -> Vec<f64> {
        let ([c, h, w], s) = (g.input(), g.size());
        let (oh, ow) = (h / s, w / s);
        let mut y = vec![0.0; g.out_len()];
        for m in 0..c {
            for i in 0..oh {
                for j in 0..ow {
                    let mut sum = 0.0;
                    for u in 0..s {
                        for v in 0..s {
                            sum += x[(m * h + i * s + u) * w + j * s + v];
                        }
                    }
                    y[(m * oh + i) * ow + j] = p[m] * sum + p[c + m];
                }
            }
        }
        y
    }

    fn energy(g: &Window, p: &[f64], x: &[f64], dy: &[f64]) -> f64 {
        naive(g, p, x).iter().zip(dy).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn fprop_is_the_definition() {
        for g in windows() {
            let (p, x) = (noise(2 * g.input()[0], 1), noise(g.in_len(), 2));
            let mut y = vec![7.0; g.out_len()];
            super::f64::fprop(&g, &p, &x, &mut y);
            assert!(rel_err(&y, &naive(&g, &p, &x)) < 1e-14, "{g:?}");
        }
    }

    #[test]
    fn bprop_and_bbprop_match_finite_differences() {
        for g in windows() {
            let np = 2 * g.input()[0];
            let (p, x, dy) = (noise(np, 3), noise(g.in_len(), 4), noise(g.out_len(), 5));
            let (mut dx, mut dp) = (vec![7.0; g.in_len()], vec![0.0; np]);
            super::f64::bprop(&g, &p, &x, &dy, &mut dx, &mut dp);
            let ndx = numeric_grad(&x, |x| energy(&g, &p, x, &dy));
            let ndp = numeric_grad(&p, |p| energy(&g, p, &x, &dy));
            assert!(rel_err(&dx, &ndx) < TOL, "{g:?}: dx");
            assert!(rel_err(&dp, &ndp) < TOL, "{g:?}: dp");
            let mut dx2 = vec![1.0; g.in_len()];
            super::f64::bprop_acc(&g, &p, &x, &dy, &mut dx2, &mut dp);
            let plus_one: Vec<f64> = ndx.iter().map(|v| v + 1.0).collect();
            assert!(rel_err(&dx2, &plus_one) < TOL, "{g:?}: dx, acc");
            let mut alone = vec![0.0; np];
            super::f64::bprop_params(&g, &x, &dy, &mut alone);
            assert!(rel_err(&alone, &ndp) < TOL, "{g:?}: params alone");

            let ddy = positive(g.out_len(), 6);
            let (mut ddx, mut ddp) = (vec![7.0; g.in_len()], vec![0.0; np]);
            super::f64::bbprop(&g, &p, &x, &ddy, &mut ddx, &mut ddp);
            let want_x = gauss_newton_diag(&x, &ddy, |x, y| y.copy_from_slice(&naive(&g, &p, x)));
            let want_p = gauss_newton_diag(&p, &ddy, |p, y| y.copy_from_slice(&naive(&g, p, &x)));
            assert!(rel_err(&ddx, &want_x) < TOL, "{g:?}: ddx");
            assert!(rel_err(&ddp, &want_p) < TOL, "{g:?}: ddp");
            let mut ddx2 = vec![1.0; g.in_len()];
            super::f64::bbprop_acc(&g, &p, &x, &ddy, &mut ddx2, &mut ddp);
            let plus_one: Vec<f64> = want_x.iter().map(|v| v + 1.0).collect();
            assert!(rel_err(&ddx2, &plus_one) < TOL, "{g:?}: ddx, acc");
            let mut alone = vec![0.0; np];
            super::f64::bbprop_params(&g, &x, &ddy, &mut alone);
            assert!(rel_err(&alone, &want_p) < TOL, "{g:?}: ddp alone");
        }
    }

    /// A size that does not divide the map, or a zero, is not a window.
    #[test]
    fn only_dividing_windows_are_made() {
        assert!(Window::new([6, 7, 7], 2).is_none());
        assert!(Window::new([6, 8, 7], 2).is_none());
        assert!(Window::new([6, 8, 8], 0).is_none());
        assert!(Window::new([0, 8, 8], 2).is_none());
        assert!(Window::new([usize::MAX, 2, 2], 2).is_none());
        assert!(Window::new([usize::MAX / 2 + 1, 1, 1], 1).is_none());
        assert_eq!(
            Window::new([6, 8, 8], 8).map(|g| g.output()),
            Some([6, 1, 1])
        );
    }

    /// Starts as the average over each window.
    #[test]
    fn init_averages() {
        let g = windows()[1];
        let mut p = vec![9.0f32; 6];
        super::f32::init(&g, &mut p);
        assert_eq!(p, [0.25, 0.25, 0.25, 0.0, 0.0, 0.0]);
        let x = vec![2.0f32; g.in_len()];
        let mut y = vec![0.0f32; g.out_len()];
        super::f32::fprop(&g, &p, &x, &mut y);
        assert!(y.iter().all(|&v| v == 2.0));
    }
}
