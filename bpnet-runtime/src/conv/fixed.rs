//! The per-sample convolution of stride 1 with its row lengths as constants, as the careful
//! author of one network writes it: each input map copied into a zero-padded map on the stack
//! (`HP × WP`), and each output row summed in an array of `OW` values that stays in registers
//! over the kernel's taps, so the inner loops have known trip counts and vectorise. The input's
//! derivative is the same correlation of `dy` (padded to `HQ × WQ`) with the kernels turned
//! round. The network's macro calls these where the stride is 1, the padding less than the
//! kernel and the padded maps small ([`MAX_STACK`] bytes); the other kernels take any geometry.

use super::Geom;
use crate::Float;

/// The most bytes of a padded map these kernels put on the stack (16K values of `f32`, 8K of
/// `f64`); checked while the caller compiles. (An unoptimised build may keep the three maps of a
/// step, and those of every convolution of a sweep, side by side in one frame.)
///
/// ```compile_fail
/// use bpnet_runtime::conv::{Geom, fprop_n};
/// // 132 × 132 values of f32 are 68 KiB: refused while compiling.
/// let g = Geom::new([1, 128, 128], 1, [5, 5], [1, 1], [2, 2]).unwrap();
/// let (p, x, mut y) = (vec![0.0f32; g.params()], vec![0.0; g.in_len()], vec![0.0; g.out_len()]);
/// fprop_n::<f32, 132, 132, 128>(&g, &p, &x, &mut y);
/// ```
pub const MAX_STACK: usize = 64 * 1024;

/// Fails to compile unless an `h × w` map of `F` fits [`MAX_STACK`].
const fn fits_stack<F>(h: usize, w: usize) -> bool {
    match h.checked_mul(w) {
        Some(n) => match n.checked_mul(size_of::<F>()) {
            Some(bytes) => bytes <= MAX_STACK,
            None => false,
        },
        None => false,
    }
}

/// Panics unless `g` has stride 1 and its padded input and its output rows are `HP × WP` and
/// `OW` wide.
#[track_caller]
fn check_forward<const HP: usize, const WP: usize, const OW: usize>(g: &Geom) {
    assert!(
        g.stride == [1, 1] && HP == g.h + 2 * g.pad[0] && WP == g.w + 2 * g.pad[1],
        "conv: not a convolution of stride 1 over {HP} × {WP} padded maps"
    );
    assert_eq!(OW, g.out_w(), "conv: output rows are not {OW} wide");
}

/// Copies map `src` (`h × w`) into `dst` at row `top`, column `left` (the rest stays as it is:
/// zeros), each value through `f`.
#[inline(always)]
fn pad_into<F: Float, const HP: usize, const WP: usize>(
    dst: &mut [[F; WP]; HP],
    src: &[F],
    [h, w]: [usize; 2],
    [top, left]: [usize; 2],
    f: impl Fn(F) -> F,
) {
    for (row, s) in dst[top..top + h].iter_mut().zip(src.chunks_exact(w)) {
        for (d, &v) in row[left..left + w].iter_mut().zip(s) {
            *d = f(v);
        }
    }
}

/// fprop of a convolution of stride 1 (see [`Geom`]): `y[o] = b[o] + Σ_c W[o][c] ⋆ x[c]`,
/// overwritten, each value's terms added in the order `(c, u, v)` after the bias.
/// `HP × WP`: the padded input map, `OW` the output's rows.
///
/// ```
/// use bpnet_runtime::conv::{Geom, fprop_n};
/// // LeNet-5's C1 on 28 × 28 digits padded by 2.
/// let g = Geom::new([1, 28, 28], 6, [5, 5], [1, 1], [2, 2]).unwrap();
/// let (p, x) = (vec![0.01f32; g.params()], vec![1.0f32; g.in_len()]);
/// let mut y = vec![0.0; g.out_len()];
/// fprop_n::<_, 32, 32, 28>(&g, &p, &x, &mut y);
/// // Inside the map: 25 taps of 0.01 and a bias of 0.01.
/// assert!((y[28 * 14 + 14] - 0.26).abs() < 1e-6);
/// ```
///
/// # Panics
/// If `g` has another stride or other sizes, or the lengths are not `g`'s.
#[inline(always)]
pub fn fprop_n<F: Float, const HP: usize, const WP: usize, const OW: usize>(
    g: &Geom,
    p: &[F],
    x: &[F],
    y: &mut [F],
) {
    const {
        assert!(
            fits_stack::<F>(HP, WP),
            "conv: a padded map too large for the stack"
        )
    };
    g.check(p.len(), x.len(), y.len());
    check_forward::<HP, WP, OW>(g);
    let (w, b) = p.split_at(g.weights());
    let (oh, taps) = (g.out_h(), g.kh * g.kw);
    for (ym, &bo) in y.chunks_exact_mut(oh * OW).zip(b) {
        ym.fill(bo);
    }
    let mut xp = [[F::ZERO; WP]; HP];
    for (c, xc) in x.chunks_exact(g.h * g.w).enumerate() {
        pad_into(&mut xp, xc, [g.h, g.w], g.pad, |v| v);
        for (o, ym) in y.chunks_exact_mut(oh * OW).enumerate() {
            let wk = &w[(o * g.c_in + c) * taps..][..taps];
            for (i, yr) in ym.chunks_exact_mut(OW).enumerate() {
                let mut acc: [F; OW] = [F::ZERO; OW];
                acc.copy_from_slice(yr);
                for (u, wu) in wk.chunks_exact(g.kw).enumerate() {
                    let xr = &xp[i + u];
                    for (v, &wv) in wu.iter().enumerate() {
                        let xs = &xr[v..v + OW];
                        for j in 0..OW {
                            acc[j] += wv * xs[j];
                        }
                    }
                }
                yr.copy_from_slice(&acc);
            }
        }
    }
}

/// bprop of a convolution of stride 1: `dx = Σ_o Wᵀ ⋆ dy`, overwritten or added (`acc`), `dW +=
/// Σ dy ⋆ x` and `db += Σ dy` (accumulated); with `square`, bbprop's Gauss–Newton terms (`W∘W`,
/// `x∘x`). `HP × WP` and `OW` as [`fprop_n`]'s; `HQ × WQ = (h + kh − 1) × (w + kw − 1)` the
/// padded `dy`, `W` the input's rows. A weight's gradient sums its terms in `OW` partial sums.
///
/// # Panics
/// If `g` has another stride or other sizes, as much padding as its kernel or more, or the
/// lengths are not `g`'s.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn bprop_n<
    F: Float,
    const HP: usize,
    const WP: usize,
    const OW: usize,
    const HQ: usize,
    const WQ: usize,
    const W: usize,
>(
    g: &Geom,
    p: &[F],
    x: &[F],
    dy: &[F],
    dx: &mut [F],
    dp: &mut [F],
    acc: bool,
    square: bool,
) {
    const {
        assert!(
            fits_stack::<F>(HQ, WQ),
            "conv: a padded map too large for the stack"
        )
    };
    g.check(p.len(), dx.len(), dy.len());
    // Checked before anything is written.
    let top = g.kh.checked_sub(1 + g.pad[0]);
    let left = g.kw.checked_sub(1 + g.pad[1]);
    let (Some(top), Some(left)) = (top, left) else {
        panic!("conv: more padding than the kernel less one");
    };
    assert!(
        HQ == g.h + g.kh - 1 && WQ == g.w + g.kw - 1 && W == g.w,
        "conv: dy padded is not {HQ} × {WQ}, or rows not {W} wide"
    );
    check_forward::<HP, WP, OW>(g);
    bprop_params_n::<F, HP, WP, OW>(g, x, dy, dp, square);
    input::<F, HQ, WQ, W>(g, p, dy, dx, [top, left], (acc, square));
}

/// The parameters' part of [`bprop_n`] alone (an input whose gradient is not wanted): adds into
/// `dp` exactly what it adds.
///
/// # Panics
/// If `g` has another stride or other sizes, or the lengths are not `g`'s.
#[inline(always)]
pub fn bprop_params_n<F: Float, const HP: usize, const WP: usize, const OW: usize>(
    g: &Geom,
    x: &[F],
    dy: &[F],
    dp: &mut [F],
    square: bool,
) {
    const {
        assert!(
            fits_stack::<F>(HP, WP),
            "conv: a padded map too large for the stack"
        )
    };
    g.check(dp.len(), x.len(), dy.len());
    check_forward::<HP, WP, OW>(g);
    params::<F, HP, WP, OW>(g, x, dy, dp, square);
}

/// `dW += Σ dy ⋆ x`, `db += Σ dy` (`x∘x` when `square`).
#[inline(always)]
fn params<F: Float, const HP: usize, const WP: usize, const OW: usize>(
    g: &Geom,
    x: &[F],
    dy: &[F],
    dp: &mut [F],
    square: bool,
) {
    let (oh, taps) = (g.out_h(), g.kh * g.kw);
    let (dw, db) = dp.split_at_mut(g.weights());
    for (dym, dbo) in dy.chunks_exact(oh * OW).zip(db) {
        *dbo += dym.iter().fold(F::ZERO, |s, &v| s + v);
    }
    let mut xp = [[F::ZERO; WP]; HP];
    for (c, xc) in x.chunks_exact(g.h * g.w).enumerate() {
        pad_into(&mut xp, xc, [g.h, g.w], g.pad, |v| {
            if square { v * v } else { v }
        });
        for (o, dym) in dy.chunks_exact(oh * OW).enumerate() {
            let dwk = &mut dw[(o * g.c_in + c) * taps..][..taps];
            for (u, dwu) in dwk.chunks_exact_mut(g.kw).enumerate() {
                for (v, d) in dwu.iter_mut().enumerate() {
                    let rows = dym.as_chunks::<OW>().0.iter().zip(&xp[u..]);
                    *d += tap_gradient::<F, OW>(
                        rows.map(|(dyr, xr)| (dyr, xr[v..v + OW].try_into().expect("OW values"))),
                    );
                }
            }
        }
    }
}

/// One weight's gradient, `Σ_i Σ_j dy[i][j] · x[i][j]` over `rows` of `(dy, x)`: in `OW` partial
/// sums (column by column) for rows of at most 16 values, which stay in registers; in eight
/// (column `j mod 8`) for longer ones, where `OW` would not; added in lane order at the end.
#[inline(always)]
fn tap_gradient<'a, F: Float, const OW: usize>(
    rows: impl Iterator<Item = (&'a [F; OW], &'a [F; OW])>,
) -> F {
    if OW <= 16 {
        let mut lanes = [F::ZERO; OW];
        for (dyr, xs) in rows {
            for j in 0..OW {
                lanes[j] += dyr[j] * xs[j];
            }
        }
        return lanes.iter().fold(F::ZERO, |s, &v| s + v);
    }
    let mut lanes = [F::ZERO; 8];
    for (dyr, xs) in rows {
        let ((d8, d_tail), (x8, x_tail)) = (dyr.as_chunks::<8>(), xs.as_chunks::<8>());
        for (d, x) in d8.iter().zip(x8) {
            for l in 0..8 {
                lanes[l] += d[l] * x[l];
            }
        }
        for (l, (d, x)) in d_tail.iter().zip(x_tail).enumerate() {
            lanes[l] += *d * *x;
        }
    }
    lanes.iter().fold(F::ZERO, |s, &v| s + v)
}

/// `dx (+)= Σ_o Wᵀ ⋆ dy`: `dy` padded by `k − 1 − p` (`top`, `left`; the sizes checked by
/// [`bprop_n`]) correlated with the kernels turned round
/// (`W∘W` when `square`).
#[inline(always)]
fn input<F: Float, const HQ: usize, const WQ: usize, const W: usize>(
    g: &Geom,
    p: &[F],
    dy: &[F],
    dx: &mut [F],
    [top, left]: [usize; 2],
    (acc, square): (bool, bool),
) {
    let (kh, kw) = (g.kh, g.kw);
    if !acc {
        dx.fill(F::ZERO);
    }
    let (oh, ow, taps) = (g.out_h(), g.out_w(), kh * kw);
    let w = &p[..g.weights()];
    let mut dq = [[F::ZERO; WQ]; HQ];
    for (o, dym) in dy.chunks_exact(oh * ow).enumerate() {
        pad_into(&mut dq, dym, [oh, ow], [top, left], |v| v);
        for (c, dxm) in dx.chunks_exact_mut(g.h * W).enumerate() {
            let wk = &w[(o * g.c_in + c) * taps..][..taps];
            for (r, dxr) in dxm.chunks_exact_mut(W).enumerate() {
                let mut sum: [F; W] = [F::ZERO; W];
                sum.copy_from_slice(dxr);
                for u in 0..kh {
                    let dr = &dq[r + u];
                    for v in 0..kw {
                        // Tap (u, v) of the kernel turned round: W[o][c][kh−1−u][kw−1−v].
                        let wv = wk[(kh - 1 - u) * kw + kw - 1 - v];
                        let wv = if square { wv * wv } else { wv };
                        let ds = &dr[v..v + W];
                        for s in 0..W {
                            sum[s] += wv * ds[s];
                        }
                    }
                }
                dxr.copy_from_slice(&sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Geom, f64 as k64};
    use crate::testing::{noise, scaled_off as off, to_f64};

    /// The fixed kernels of float `$t` against the kernels of any geometry in `f64`,
    /// within `$tol` of the largest value: fprop, bprop overwriting and adding, the parameters
    /// alone, and bbprop (squared). The same terms in another order: rounding alone.
    macro_rules! case {
        ($t:ident, $tol:expr, $g:expr; $hp:literal, $wp:literal, $ow:literal, $hq:literal, $wq:literal, $w:literal) => {{
            let g: Geom = $g;
            let (n, m, np) = (g.in_len(), g.out_len(), g.params());
            let (p, x, dy) = (noise::<$t>(np, 1), noise::<$t>(n, 2), noise::<$t>(m, 3));
            let (p64, x64, dy64) = (to_f64(&p), to_f64(&x), to_f64(&dy));
            let mut y = vec![0.0 as $t; m];
            super::fprop_n::<$t, $hp, $wp, $ow>(&g, &p, &x, &mut y);
            let mut want = vec![0.0; m];
            k64::fprop(&g, &p64, &x64, &mut want);
            assert!(off(&to_f64(&y), &want) < $tol, "{g:?}: fprop");
            for (acc, square) in [(false, false), (true, false), (false, true), (true, true)] {
                let (mut dx, mut dp) = (noise::<$t>(n, 4), noise::<$t>(np, 5));
                let (mut want_dx, mut want_dp) = (to_f64(&dx), to_f64(&dp));
                #[rustfmt::skip]
                super::bprop_n::<$t, $hp, $wp, $ow, $hq, $wq, $w>(&g, &p, &x, &dy, &mut dx, &mut dp, acc, square);
                match (acc, square) {
                    (false, false) => k64::bprop(&g, &p64, &x64, &dy64, &mut want_dx, &mut want_dp),
                    (true, false) => k64::bprop_acc(&g, &p64, &x64, &dy64, &mut want_dx, &mut want_dp),
                    (false, true) => k64::bbprop(&g, &p64, &x64, &dy64, &mut want_dx, &mut want_dp),
                    (true, true) => k64::bbprop_acc(&g, &p64, &x64, &dy64, &mut want_dx, &mut want_dp),
                }
                assert!(off(&to_f64(&dx), &want_dx) < $tol, "{g:?} {acc} {square}: dx");
                assert!(off(&to_f64(&dp), &want_dp) < $tol, "{g:?} {acc} {square}: dp");
                let mut alone = noise::<$t>(np, 5);
                super::bprop_params_n::<$t, $hp, $wp, $ow>(&g, &x, &dy, &mut alone, square);
                let mut want = to_f64(&noise::<$t>(np, 5));
                if square {
                    k64::bbprop_params(&g, &x64, &dy64, &mut want);
                } else {
                    k64::bprop_params(&g, &x64, &dy64, &mut want);
                }
                assert!(off(&to_f64(&alone), &want) < $tol, "{g:?} {square}: params alone");
            }
        }};
    }

    fn geom(i: [usize; 3], o: usize, k: [usize; 2], p: [usize; 2]) -> Geom {
        Geom::new(i, o, k, [1, 1], p).expect("a geometry")
    }

    /// One and several maps, square and rectangular kernels and maps, padding 0 to 2 (unequal),
    /// a 1 × 1 kernel, rows narrower and wider than a vector, LeNet-5's C1 and C3.
    #[test]
    fn fixed_kernels_agree_with_any_geometry() {
        {
            let tol = 1e-13;
            case!(f64, tol, geom([1, 5, 5], 1, [3, 3], [0, 0]); 5, 5, 3, 7, 7, 5);
            case!(f64, tol, geom([2, 6, 5], 3, [3, 2], [1, 0]); 8, 5, 4, 8, 6, 5);
            case!(f64, tol, geom([1, 3, 3], 2, [1, 1], [0, 0]); 3, 3, 3, 3, 3, 3);
            case!(f64, tol, geom([3, 9, 12], 4, [2, 3], [1, 2]); 11, 16, 14, 10, 14, 12);
            case!(f64, tol, geom([1, 28, 28], 6, [5, 5], [2, 2]); 32, 32, 28, 32, 32, 28);
            case!(f64, tol, geom([6, 14, 14], 16, [5, 5], [0, 0]); 14, 14, 10, 18, 18, 14);
        }
        // Sums of up to 150 f32 products of values below 1.
        case!(f32, 1e-5, geom([1, 28, 28], 6, [5, 5], [2, 2]); 32, 32, 28, 32, 32, 28);
        case!(f32, 1e-5, geom([6, 14, 14], 16, [5, 5], [0, 0]); 14, 14, 10, 18, 18, 14);
    }

    /// The fixed kernels against finite differences on their own fprop (f64): bprop's `dx` and
    /// `dp` against the gradient of `Σ dy · y` (step 1e-5, relative 1e-7: `y` is linear in `x`
    /// and in the parameters, so the differences are exact up to rounding), bbprop's against
    /// the Gauss–Newton diagonal of the finite-difference Jacobians (each value reaches each
    /// output by at most one weight, so the diagonal is exact).
    #[test]
    fn fixed_kernels_match_finite_differences() {
        use crate::testing::{gauss_newton_diag, numeric_grad, positive, rel_err};
        let g = geom([2, 6, 5], 3, [3, 2], [1, 0]);
        let (n, m, np) = (g.in_len(), g.out_len(), g.params());
        let (p, x, dy) = (noise::<f64>(np, 7), noise::<f64>(n, 8), noise::<f64>(m, 9));
        let fwd = |p: &[f64], x: &[f64], y: &mut [f64]| super::fprop_n::<f64, 8, 5, 4>(&g, p, x, y);
        let energy = |p: &[f64], x: &[f64]| {
            let mut y = vec![0.0; m];
            fwd(p, x, &mut y);
            y.iter().zip(&dy).map(|(a, b)| a * b).sum::<f64>()
        };
        let (mut dx, mut dp) = (vec![7.0; n], vec![0.0; np]);
        super::bprop_n::<f64, 8, 5, 4, 8, 6, 5>(&g, &p, &x, &dy, &mut dx, &mut dp, false, false);
        assert!(
            rel_err(&dx, &numeric_grad(&x, |x| energy(&p, x))) < 1e-7,
            "dx"
        );
        assert!(
            rel_err(&dp, &numeric_grad(&p, |p| energy(p, &x))) < 1e-7,
            "dp"
        );

        let ddy = positive(m, 10);
        let (mut ddx, mut ddp) = (vec![7.0; n], vec![0.0; np]);
        super::bprop_n::<f64, 8, 5, 4, 8, 6, 5>(&g, &p, &x, &ddy, &mut ddx, &mut ddp, false, true);
        let gn_x = gauss_newton_diag(&x, &ddy, |x, y| fwd(&p, x, y));
        let gn_p = gauss_newton_diag(&p, &ddy, |p, y| fwd(p, &x, y));
        assert!(rel_err(&ddx, &gn_x) < 1e-7, "ddx");
        assert!(rel_err(&ddp, &gn_p) < 1e-7, "ddp");
    }

    #[test]
    #[should_panic(expected = "not a convolution of stride 1 over 8 × 8 padded maps")]
    fn wrong_sizes_panic() {
        let g = geom([1, 5, 5], 1, [3, 3], [0, 0]);
        let (p, x, mut y) = (vec![0.0f32; g.params()], vec![0.0f32; 25], vec![0.0f32; 9]);
        super::fprop_n::<f32, 8, 8, 3>(&g, &p, &x, &mut y);
    }

    #[test]
    #[should_panic(expected = "more padding than the kernel less one")]
    fn too_much_padding_panics_in_bprop() {
        let g = geom([1, 3, 3], 1, [1, 1], [1, 1]);
        let (p, x, dy) = (vec![0.0f32; g.params()], vec![0.0f32; 9], vec![0.0f32; 25]);
        let (mut dx, mut dp) = (vec![0.0f32; 9], vec![0.0f32; g.params()]);
        super::bprop_n::<f32, 5, 5, 5, 3, 3, 3>(&g, &p, &x, &dy, &mut dx, &mut dp, false, false);
    }
}
