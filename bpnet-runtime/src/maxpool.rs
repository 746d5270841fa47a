//! Max pooling: each map is cut into `size × size` windows side by side ([`Window`]), and each
//! window becomes its largest value. No parameters.
//!
//! The derivative goes to the window's arg-max, the first in row-major order on ties, found
//! again from `x` (nothing is kept between fprop and bprop). A NaN in a window is its maximum
//! (the first NaN), so it propagates to the output and the derivative goes to it. bbprop passes
//! `ddy` to the same place (the Jacobian's entries are 0 and 1). As everywhere, the functions
//! without `_acc` overwrite `dx` (0 away from the arg-maxes) and the `_acc` ones add into it.

pub use crate::subsample::Window;

macro_rules! maxpool_kernels {
    ($t:ident) => {
        #[doc = concat!("Max pooling kernels for `", stringify!($t), "`.")]
        pub mod $t {
            use super::Window;

            /// The index of the window's maximum from `start`: the first NaN, else the first of
            /// the largest values.
            #[inline(always)]
            fn arg_max(g: &Window, x: &[$t], start: usize) -> usize {
                let mut best = start;
                for i in g.cells(start) {
                    let (v, m) = (x[i], x[best]);
                    if (v.is_nan() && !m.is_nan()) || v > m {
                        best = i;
                    }
                }
                best
            }

            /// fprop: `y` = the maximum of each window (overwritten).
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn fprop(g: &Window, x: &[$t], y: &mut [$t]) {
                g.check(x.len(), y.len());
                g.each(|k, _, start| y[k] = x[arg_max(g, x, start)]);
            }

            fn backward(g: &Window, x: &[$t], dy: &[$t], dx: &mut [$t], acc: bool) {
                g.check(x.len(), dy.len());
                g.check(dx.len(), dy.len());
                if !acc {
                    dx.fill(0.0);
                }
                g.each(|k, _, start| dx[arg_max(g, x, start)] += dy[k]);
            }

            /// bprop: `dy` to each window's arg-max, 0 elsewhere (`dx` overwritten).
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop(g: &Window, x: &[$t], dy: &[$t], dx: &mut [$t]) {
                backward(g, x, dy, dx, false)
            }

            /// As [`bprop`], but `dx += …`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bprop_acc(g: &Window, x: &[$t], dy: &[$t], dx: &mut [$t]) {
                backward(g, x, dy, dx, true)
            }

            /// bbprop: `ddy` to each window's arg-max, as [`bprop`] (the Jacobian squared is
            /// itself).
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop(g: &Window, x: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                backward(g, x, ddy, ddx, false)
            }

            /// As [`bbprop`], but `ddx += …`.
            ///
            /// # Panics
            /// If the lengths are not `g`'s.
            pub fn bbprop_acc(g: &Window, x: &[$t], ddy: &[$t], ddx: &mut [$t]) {
                backward(g, x, ddy, ddx, true)
            }

            /// `each` on each of `rows` rows (row-major).
            fn rows_of(
                each: fn(&Window, &[$t], &[$t], &mut [$t]),
                g: &Window,
                (x, dy, dx): (&[$t], &[$t], &mut [$t]),
                rows: usize,
            ) {
                let (n, m) = (g.in_len(), g.out_len());
                for (r, dx) in dx[..rows * n].chunks_exact_mut(n).enumerate() {
                    each(g, &x[r * n..(r + 1) * n], &dy[r * m..(r + 1) * m], dx);
                }
            }

            /// [`fprop`] on each of `rows` rows (row-major `x` and `y`).
            ///
            /// # Panics
            /// If `x` or `y` holds fewer than `rows` rows.
            pub fn fprop_batch(g: &Window, x: &[$t], y: &mut [$t], rows: usize) {
                let (n, m) = (g.in_len(), g.out_len());
                for (r, y) in y[..rows * m].chunks_exact_mut(m).enumerate() {
                    fprop(g, &x[r * n..(r + 1) * n], y);
                }
            }

            /// [`bprop`] on each of `rows` rows.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows.
            pub fn bprop_batch(g: &Window, x: &[$t], dy: &[$t], dx: &mut [$t], rows: usize) {
                rows_of(bprop, g, (x, dy, dx), rows)
            }

            /// [`bprop_acc`] on each of `rows` rows.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows.
            pub fn bprop_batch_acc(g: &Window, x: &[$t], dy: &[$t], dx: &mut [$t], rows: usize) {
                rows_of(bprop_acc, g, (x, dy, dx), rows)
            }

            /// [`bbprop`] on each of `rows` rows.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows.
            pub fn bbprop_batch(g: &Window, x: &[$t], ddy: &[$t], ddx: &mut [$t], rows: usize) {
                rows_of(bbprop, g, (x, ddy, ddx), rows)
            }

            /// [`bbprop_acc`] on each of `rows` rows.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows.
            pub fn bbprop_batch_acc(g: &Window, x: &[$t], ddy: &[$t], ddx: &mut [$t], rows: usize) {
                rows_of(bbprop_acc, g, (x, ddy, ddx), rows)
            }
        }
    };
}

maxpool_kernels!(f32);
maxpool_kernels!(f64);

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::testing::{gauss_newton_diag, noise, numeric_grad, positive, rel_err};

    /// Finite differences of a piecewise-linear function away from its kinks (noise values are
    /// distinct, at least about 1e-7 apart, against a step of 1e-5): exact up to rounding.
    const TOL: f64 = 1e-7;

    fn naive(g: &Window, x: &[f64]) -> Vec<f64> {
        let ([c, h, w], s) = (g.input(), g.size());
        let (oh, ow) = (h / s, w / s);
        let mut y = vec![f64::NEG_INFINITY; g.out_len()];
        for m in 0..c {
            for i in 0..oh {
                for j in 0..ow {
                    for u in 0..s {
                        for v in 0..s {
                            let k = (m * oh + i) * ow + j;
                            y[k] = y[k].max(x[(m * h + i * s + u) * w + j * s + v]);
                        }
                    }
                }
            }
        }
        y
    }

    fn windows() -> Vec<Window> {
        [([1, 2, 2], 2), ([3, 4, 6], 2), ([2, 6, 3], 3)]
            .iter()
            .map(|&(i, s)| Window::new(i, s).expect("a window"))
            .collect()
    }

    #[test]
    fn fprop_bprop_and_bbprop() {
        for g in windows() {
            let (x, dy) = (noise(g.in_len(), 1), noise(g.out_len(), 2));
            let mut y = vec![7.0; g.out_len()];
            super::f64::fprop(&g, &x, &mut y);
            assert_eq!(y, naive(&g, &x), "{g:?}");
            let mut dx = vec![7.0; g.in_len()];
            super::f64::bprop(&g, &x, &dy, &mut dx);
            let energy = |x: &[f64]| naive(&g, x).iter().zip(&dy).map(|(a, b)| a * b).sum();
            assert!(rel_err(&dx, &numeric_grad(&x, energy)) < TOL, "{g:?}: dx");
            let mut dx2 = vec![1.0; g.in_len()];
            super::f64::bprop_acc(&g, &x, &dy, &mut dx2);
            let plus_one: Vec<f64> = dx.iter().map(|v| v + 1.0).collect();
            assert_eq!(dx2, plus_one);
            let ddy = positive(g.out_len(), 3);
            let mut ddx = vec![7.0; g.in_len()];
            super::f64::bbprop(&g, &x, &ddy, &mut ddx);
            let want = gauss_newton_diag(&x, &ddy, |x, y| y.copy_from_slice(&naive(&g, x)));
            assert!(rel_err(&ddx, &want) < TOL, "{g:?}: ddx");
        }
    }

    /// Ties go to the first in row-major order; a NaN is the maximum and takes the derivative.
    #[test]
    fn ties_go_first_and_nan_propagates() {
        let g = Window::new([1, 2, 2], 2).expect("a window");
        let (mut y, mut dx) = ([0.0f32], [0.0f32; 4]);
        super::f32::fprop(&g, &[1.0, 3.0, 3.0, 2.0], &mut y);
        super::f32::bprop(&g, &[1.0, 3.0, 3.0, 2.0], &[5.0], &mut dx);
        assert_eq!((y, dx), ([3.0], [0.0, 5.0, 0.0, 0.0]));
        let x = [1.0, 9.0, f32::NAN, f32::NAN];
        super::f32::fprop(&g, &x, &mut y);
        super::f32::bprop(&g, &x, &[5.0], &mut dx);
        assert!(y[0].is_nan());
        assert_eq!(dx, [0.0, 0.0, 5.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "the output is not c × h/size × w/size")]
    fn a_wrong_output_length_panics() {
        let g = Window::new([1, 2, 2], 2).expect("a window");
        super::f32::fprop(&g, &[0.0; 4], &mut [0.0; 2]);
    }
}
