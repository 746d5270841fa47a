//! The convolution of a minibatch through the matrix product ("im2col"): each row's patches are
//! unfolded into a matrix `P` of `taps = c_in·kh·kw` rows by `out_h·out_w` columns (`P[t][q]`
//! the value tap `t` reads for output position `q`, 0 in the padding), so that
//!
//! - fprop is `Y = W·P + b` (`W` the `c_out × taps` weights, as the pool holds them),
//! - the weights' gradient `dW += dY·Pᵀ`, the biases' `db += Σ_q dY`,
//! - the input's is `dP = Wᵀ·dY`, folded back onto the map (`dx[…] += dP[t][q]`).
//!
//! `P` lives in the scratch space's work room, reserved with the minibatch ([`reserve`]), so a
//! step allocates nothing. (The room is taken out of the scratch space for the call and put back
//! at its end; a panic in between, which only wrong lengths cause, loses the room: the next call
//! makes it again.) The products of one row are small (LeNet-5's C3: 16 × 150 × 100), below
//! the size at which a product is split across threads, so they are not noted for the default
//! number of threads. The products add their terms in the matrix product's order, not the
//! per-sample kernels' `(c, u, v)` order: a row's values agree with the per-sample kernels to
//! rounding, not bit for bit. The second-order kernels (`bbprop…`) stay row by row.

use super::Geom;
use crate::gemm::GemmScratch;
use crate::{Error, Float};

/// Makes room in `scratch` for the products and the unfolded patches of `g`'s minibatch
/// kernels, so that they allocate nothing; [`Error::Alloc`] if the system refuses.
///
/// ```
/// use bpnet_runtime::{conv::{Geom, reserve}, gemm::GemmScratch};
/// let c3 = Geom::new([6, 14, 14], 16, [5, 5], [1, 1], [0, 0]).unwrap();
/// let mut scratch = GemmScratch::<f32>::new();
/// reserve(&c3, &mut scratch)?;
/// # Ok::<(), bpnet_runtime::Error>(())
/// ```
pub fn reserve<F: Float>(g: &Geom, scratch: &mut GemmScratch<F>) -> Result<(), Error> {
    let (taps, ohw) = (g.taps(), g.out_h() * g.out_w());
    // fprop (k = taps, n = positions), dW (k = positions, n = taps), dP (k = maps).
    scratch.try_reserve(taps, ohw)?;
    scratch.try_reserve(ohw, taps)?;
    scratch.try_reserve(g.maps(), ohw)?;
    let len = taps.checked_mul(ohw).ok_or(Error::Alloc {
        what: "the unfolded patches of a convolution",
        bytes: None,
    })?;
    scratch.try_reserve_work(len)
}

macro_rules! unfold_kernels {
    ($t:ident) => {
        #[doc = concat!("The minibatch convolution kernels for `", stringify!($t), "`.")]
        pub mod $t {
            use super::Geom;
            use crate::gemm::$t::{gemm, gemm_then};
            use crate::gemm::GemmScratch;

            /// `dst = src` for a row of a few dozen values: eight at a time, in line (a call of
            /// `memcpy` per row, a few thousand a sample, took as long as the copying).
            #[inline(always)]
            fn copy_row(dst: &mut [$t], src: &[$t]) {
                let (d8, d_tail) = dst.as_chunks_mut::<8>();
                let (s8, s_tail) = src.as_chunks::<8>();
                for (d, s) in d8.iter_mut().zip(s8) {
                    *d = *s;
                }
                for (d, s) in d_tail.iter_mut().zip(s_tail) {
                    *d = *s;
                }
            }

            /// `pt = P`, the patches of one sample `x` (`taps × positions`, row-major).
            fn unfold(g: &Geom, x: &[$t], pt: &mut [$t]) {
                let ohw = g.out_h() * g.out_w();
                if !g.unpadded() {
                    // This convolution's part of the room (which is the largest one's).
                    pt[..g.taps() * ohw].fill(0.0);
                }
                let sw = g.stride[1];
                g.each_tap_row(1, |_, t, q0, x0, n| {
                    let dst = &mut pt[t * ohw + q0..][..n];
                    if sw == 1 {
                        copy_row(dst, &x[x0..x0 + n]);
                    } else {
                        for (s, d) in dst.iter_mut().enumerate() {
                            *d = x[x0 + s * sw];
                        }
                    }
                });
            }

            /// `dx += fold(dp)`: each patch value back onto the input it was read from.
            fn fold(g: &Geom, dp: &[$t], dx: &mut [$t]) {
                let ohw = g.out_h() * g.out_w();
                let sw = g.stride[1];
                g.each_tap_row(1, |_, t, q0, x0, n| {
                    let src = &dp[t * ohw + q0..][..n];
                    if sw == 1 {
                        for (d, s) in dx[x0..x0 + n].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (s, v) in src.iter().enumerate() {
                            dx[x0 + s * sw] += v;
                        }
                    }
                });
            }

            /// Panics unless the minibatch holds `rows` rows of `g`'s lengths.
            #[track_caller]
            fn check(g: &Geom, p: usize, x: usize, y: usize, rows: usize) {
                let fits = |len: usize, n: usize| rows.checked_mul(n).is_some_and(|v| v <= len);
                assert_eq!(p, g.params(), "conv: the parameters are not W then b");
                assert!(fits(x, g.in_len()), "conv: fewer than `rows` input rows");
                assert!(fits(y, g.out_len()), "conv: fewer than `rows` output rows");
            }

            /// fprop on each of `rows` rows (row-major `x` and `y`): `Y = W·P + b` per row.
            ///
            /// # Panics
            /// If `x` or `y` holds fewer than `rows` rows, or `p` is not `g`'s.
            pub fn fprop_batch(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                y: &mut [$t],
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                check(g, p.len(), x.len(), y.len(), rows);
                let (n, m, taps, ohw) = (g.in_len(), g.out_len(), g.taps(), g.out_h() * g.out_w());
                let (w, b) = p.split_at(g.weights());
                let add_bias = |o: usize, _: usize, seg: &mut [$t]| {
                    for v in seg {
                        *v += b[o];
                    }
                };
                let mut pt = scratch.take_work(taps * ohw);
                for (xr, yr) in x.chunks_exact(n).zip(y[..rows * m].chunks_exact_mut(m)) {
                    unfold(g, xr, &mut pt);
                    #[rustfmt::skip]
                    gemm_then(g.c_out, taps, ohw, w, (taps, 1), &pt, (ohw, 1), 0.0, yr, scratch,
                              &add_bias);
                }
                scratch.put_work(pt);
            }

            /// The rows' backward: `dW += dY·Pᵀ` and `db += Σ dY` always, and with `dx` the
            /// input's derivative, overwritten or added (`acc`).
            #[allow(clippy::too_many_arguments)]
            fn backward(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                dy: &[$t],
                mut dx: Option<(&mut [$t], bool)>,
                dp: &mut [$t],
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                check(g, dp.len(), x.len(), dy.len(), rows);
                let (n, m, taps, ohw) = (g.in_len(), g.out_len(), g.taps(), g.out_h() * g.out_w());
                let (dw, db) = dp.split_at_mut(g.weights());
                let mut pt = scratch.take_work(taps * ohw);
                for (r, (xr, dyr)) in x.chunks_exact(n).zip(dy.chunks_exact(m)).take(rows).enumerate() {
                    unfold(g, xr, &mut pt);
                    // dW (maps × taps) += dY (maps × positions) · Pᵀ (P read by columns).
                    gemm(g.c_out, ohw, taps, dyr, (ohw, 1), &pt, (1, ohw), 1.0, dw, scratch);
                    for (dbo, dym) in db.iter_mut().zip(dyr.chunks_exact(ohw)) {
                        *dbo += dym.iter().sum::<$t>();
                    }
                    if let Some((dx, acc)) = dx.as_mut() {
                        // dP (taps × positions) = Wᵀ · dY, then folded onto the row's input.
                        let w = &p[..g.weights()];
                        gemm(taps, g.c_out, ohw, w, (1, taps), dyr, (ohw, 1), 0.0, &mut pt, scratch);
                        let dxr = &mut dx[r * n..][..n];
                        if !*acc {
                            dxr.fill(0.0);
                        }
                        fold(g, &pt, dxr);
                    }
                }
                scratch.put_work(pt);
            }

            /// bprop on each of `rows` rows: `dx` overwritten, `dp` (`dW` then `db`) summed
            /// over the rows.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
            #[allow(clippy::too_many_arguments)]
            pub fn bprop_batch(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dp: &mut [$t],
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                check(g, p.len(), dx.len(), dy.len(), rows);
                backward(g, p, x, dy, Some((dx, false)), dp, rows, scratch)
            }

            /// As [`bprop_batch`], but `dx += …`.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows, or `p` is not `g`'s.
            #[allow(clippy::too_many_arguments)]
            pub fn bprop_batch_acc(
                g: &Geom,
                p: &[$t],
                x: &[$t],
                dy: &[$t],
                dx: &mut [$t],
                dp: &mut [$t],
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                check(g, p.len(), dx.len(), dy.len(), rows);
                backward(g, p, x, dy, Some((dx, true)), dp, rows, scratch)
            }

            /// The parameters' part of [`bprop_batch`] alone (an input whose gradient is not
            /// wanted): adds into `dp` exactly what it adds.
            ///
            /// # Panics
            /// If a minibatch holds fewer than `rows` rows, or `dp` is not `g`'s.
            pub fn bprop_batch_params(
                g: &Geom,
                x: &[$t],
                dy: &[$t],
                dp: &mut [$t],
                rows: usize,
                scratch: &mut GemmScratch<$t>,
            ) {
                backward(g, &[], x, dy, None, dp, rows, scratch)
            }
        }
    };
}

unfold_kernels!(f32);
unfold_kernels!(f64);

#[cfg(test)]
mod tests {
    use super::super::tests::geoms;
    use super::reserve;
    use crate::gemm::GemmScratch;
    use crate::testing::{noise, scaled_off as off, to_f64};

    /// For every geometry, on 3 rows of a buffer of 4: each minibatch kernel of float `$t`
    /// against the per-sample `f64` kernels on each row, within `$tol` of the largest value (the
    /// same terms in another order: rounding alone). The fourth row is not touched, and the
    /// work room reserved by `reserve` is the one used (not grown).
    macro_rules! against_rows {
        ($t:ident, $tol:expr) => {{
            use crate::conv::f64 as one;
            use crate::conv::$t as k;
            for (i, g) in geoms().into_iter().enumerate() {
                let (n, m, np, rows) = (g.in_len(), g.out_len(), g.params(), 3);
                let (p, x, dy) = (
                    noise::<$t>(np, 1),
                    noise::<$t>(4 * n, 2),
                    noise::<$t>(4 * m, 3),
                );
                let (p64, x64, dy64) = (to_f64(&p), to_f64(&x), to_f64(&dy));
                let mut scratch = GemmScratch::<$t>::new();
                reserve(&g, &mut scratch).unwrap();
                let room = scratch.take_work(0);
                let at = room.as_ptr();
                scratch.put_work(room);

                let mut y = vec![9.0 as $t; 4 * m];
                k::fprop_batch(&g, &p, &x, &mut y, rows, &mut scratch);
                let mut want = vec![0.0f64; 4 * m];
                for r in 0..rows {
                    one::fprop(&g, &p64, &x64[r * n..][..n], &mut want[r * m..][..m]);
                }
                let y64 = to_f64(&y);
                assert!(
                    off(&y64[..rows * m], &want[..rows * m]) < $tol,
                    "{i}: fprop"
                );
                assert!(
                    y[rows * m..].iter().all(|&v| v == 9.0),
                    "{i}: fprop past the rows"
                );

                for acc in [false, true] {
                    let (mut dx, mut dp) = (noise::<$t>(4 * n, 4), noise::<$t>(np, 5));
                    let (mut want_dx, mut want_dp) = (to_f64(&dx), to_f64(&dp));
                    if acc {
                        k::bprop_batch_acc(&g, &p, &x, &dy, &mut dx, &mut dp, rows, &mut scratch);
                    } else {
                        k::bprop_batch(&g, &p, &x, &dy, &mut dx, &mut dp, rows, &mut scratch);
                    }
                    for r in 0..rows {
                        let (xr, dyr) = (&x64[r * n..][..n], &dy64[r * m..][..m]);
                        let dxr = &mut want_dx[r * n..][..n];
                        if acc {
                            one::bprop_acc(&g, &p64, xr, dyr, dxr, &mut want_dp);
                        } else {
                            one::bprop(&g, &p64, xr, dyr, dxr, &mut want_dp);
                        }
                    }
                    let (dx64, dp64) = (to_f64(&dx), to_f64(&dp));
                    assert!(
                        off(&dx64[..rows * n], &want_dx[..rows * n]) < $tol,
                        "{i} {acc}: dx"
                    );
                    assert_eq!(
                        dx64[rows * n..],
                        want_dx[rows * n..],
                        "{i}: dx past the rows"
                    );
                    assert!(off(&dp64, &want_dp) < $tol, "{i} {acc}: dp");
                }

                let mut dp = noise::<$t>(np, 6);
                let mut want_dp = to_f64(&dp);
                k::bprop_batch_params(&g, &x, &dy, &mut dp, rows, &mut scratch);
                for r in 0..rows {
                    let (xr, dyr) = (&x64[r * n..][..n], &dy64[r * m..][..m]);
                    one::bprop_params(&g, xr, dyr, &mut want_dp);
                }
                assert!(off(&to_f64(&dp), &want_dp) < $tol, "{i}: params alone");
                let room = scratch.take_work(0);
                assert_eq!(room.as_ptr(), at, "{i}: the work room moved");
            }
        }};
    }

    #[test]
    fn f64_minibatch_is_its_rows_to_rounding() {
        against_rows!(f64, 1e-13);
    }

    #[test]
    fn f32_minibatch_is_its_rows_to_rounding() {
        // Sums of up to a few hundred f32 products of values below 1.
        against_rows!(f32, 1e-5);
    }

    /// Without a reservation the kernels make their room (and still agree): the reservation
    /// is an optimisation, not a precondition.
    #[test]
    fn an_unreserved_scratch_grows() {
        let g = geoms()[3];
        let (n, m, np) = (g.in_len(), g.out_len(), g.params());
        let (p, x) = (noise::<f64>(np, 1), noise::<f64>(2 * n, 2));
        let (mut y, mut want) = (vec![0.0; 2 * m], vec![0.0; 2 * m]);
        crate::conv::f64::fprop_batch(&g, &p, &x, &mut y, 2, &mut GemmScratch::new());
        for r in 0..2 {
            crate::conv::f64::fprop(&g, &p, &x[r * n..][..n], &mut want[r * m..][..m]);
        }
        assert!(off(&y, &want) < 1e-13);
    }

    #[test]
    #[should_panic(expected = "fewer than `rows` input rows")]
    fn too_few_rows_panics() {
        let g = geoms()[0];
        let p = vec![0.0f32; g.params()];
        let (x, mut y) = (vec![0.0f32; g.in_len()], vec![0.0f32; 2 * g.out_len()]);
        crate::conv::f32::fprop_batch(&g, &p, &x, &mut y, 2, &mut GemmScratch::new());
    }
}
