//! Losses for classification, from the lecture's slide *gradient of the loss, gradient of the
//! energy*: the loss of a sample may depend on the energies of every possible answer,
//! `L(Yⁱ, E(W, 0, Xⁱ), …, E(W, k−1, Xⁱ))`, and its gradient reaches `W` through every one of them,
//! `∂L/∂W = Σ_Y ∂L/∂E(W, Y, Xⁱ) · ∂E(W, Y, Xⁱ)/∂W`. Each loss kernel computes `L` from a state of
//! `k` energies `e` (one per class, lower is better) and a target `y`, and its bprop gives
//! `∂L/∂E` for every class at once: the rest of the network back-propagates it as usual.
//!
//! The target is **one-hot**: `k` values, 1 at the correct class and 0 elsewhere. The losses are
//! written so that a one-hot target gives exactly the textbook formula with `Y` its class:
//!
//! | kernel | loss | `∂L/∂E_j` | `∂L/∂y_j` | `∂²L/∂E_j²` |
//! | --- | --- | --- | --- | --- |
//! | [`energy`] | `Σ_j y_j E_j` (`= E_Y`) | `y_j` | `E_j` | 0 |
//! | [`nll`] | `Σ_j y_j E_j + (1/β) log Σ_j e^(−β E_j)` | `y_j − p_j` | `E_j` | `β p_j (1 − p_j)` |
//! | [`hinge`] | `max(0, m + E_Y − min_{j≠Y} E_j)`, `Y` the largest `y_j` | `+1` at `Y`, `−1` at the runner-up, if `L > 0` | 0 | 0 (piecewise linear) |
//! | [`cross_entropy`] | `−Σ_j y_j z_j + log Σ_j e^(z_j)`: [`nll`] of `E = −z`, `β = 1` | `p_j − y_j` | `−z_j` | `p_j (1 − p_j)` (in `z`) |
//!
//! with `p = softmax(−β E)` (or `softmax(z)`), the probabilities the negative log-likelihood gives
//! the classes. A target that is a probability vector instead (soft labels, label smoothing) gives
//! the expected energy loss and the cross-entropy with those labels; the hinge loss always reads
//! the class of the largest component (the first of equal ones).
//!
//! Every kernel exists for `f32` and `f64` (`loss::nll::f32::fprop`, …), per sample and per
//! minibatch (one row of `k` values per sample), with `dE` overwritten (`bprop`) or accumulated
//! (`bprop_acc`), and `dy` likewise (`bprop_target`, `bprop_target_acc`), which generated networks
//! call only when input gradients are on. The log-sum-exp terms subtract the extreme energy first,
//! so no exponential overflows.
//!
//! For second-order training, `bbprop` (overwriting) and `bbprop_acc` (accumulating) give the
//! diagonal of the loss's own Hessian, `dde_j = ddl · ∂²L/∂E_j²` (the last column; its
//! off-diagonal terms are left out, as the diagonal Gauss–Newton sweep of *Efficient BackProp*
//! does), per sample and per minibatch (`bbprop_batch`, `bbprop_batch_acc`). Every loss is linear
//! in the target, so `bbprop_target` (and its `_acc` and minibatch forms) write zeros (add
//! nothing). `1 − p_j` is computed as the sum of the other probabilities, not by a subtraction,
//! so a confident class keeps its small curvature instead of rounding to 0.
//!
//! Those treat the loss as the network's energy (or a term added into it). A loss whose scalar
//! output feeds another, nonlinear module is an ordinary module inside the network, and the
//! Gauss–Newton sweep squares its Jacobian instead, dropping its own second derivatives:
//! `bbprop_inner` gives `dde_j = ddl · (∂L/∂E_j)²` and `bbprop_inner_target` gives
//! `ddy_j = ddl · (∂L/∂y_j)²` (the squares of exactly what `bprop` and `bprop_target` give with
//! `dl = 1`), with `_acc` and minibatch forms (`bbprop_inner_batch`, `bbprop_inner_target_batch`,
//! …) like the others. `network!` never calls these (its losses can only be, or be added into,
//! the energy): they are for hand-written modules that compute with a loss.
//!
//! After `run`, the network's output holds the energies (or logits): [`argmin`] (or [`argmax`])
//! is the predicted class, [`softmin`] (or [`softmax`]) the class probabilities.

pub mod cross_entropy;
pub mod energy;
pub mod hinge;
pub mod nll;

use crate::Float;

/// What the loss kernels need beyond [`Float`] (whose `exp` and `ln` they use), for `f32` and
/// `f64`.
pub(crate) trait Real: Float {
    fn is_nan(self) -> bool;
}

macro_rules! impl_real {
    ($t:ident) => {
        impl Real for $t {
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    };
}
impl_real!(f32);
impl_real!(f64);

/// The value `v_m` with the largest `−β v_m` and `Σ_j e^(−β (v_j − v_m))` (each term in
/// `(0, 1]`, one of them 1): for `β > 0` the lowest value, for `β = −1` the highest and
/// `Σ_j e^(v_j − max)`.
#[inline(always)]
pub(crate) fn shifted_sum<T: Real>(v: &[T], beta: T) -> (T, T) {
    let mut extreme = v[0];
    for &x in &v[1..] {
        if beta * x < beta * extreme {
            extreme = x;
        }
    }
    let s = v.iter().map(|&x| (-beta * (x - extreme)).exp()).sum();
    (extreme, s)
}

/// One kernel of a loss, per sample (`$one`: `$d` from the scalar `$g[0]`) and per minibatch
/// (`$batch`: `rows` rows of `k` values, row `r` from `$g[r]`), both through the same row
/// function `row(e, y, g, d)`. Used inside [`loss_kernels`], whose `widths` and `batch_impl` it
/// calls.
macro_rules! loss_kernel {
    (
        $t:ident, $name:literal, [$($p:ident),*], $one:ident, $batch:ident, ($g:ident, $d:ident),
        $doc:literal, $row:expr
    ) => {
        #[doc = $doc]
        ///
        /// # Panics
        #[doc = concat!("If the lengths differ or `", stringify!($g), "` is not one component.")]
        #[inline]
        pub fn $one(e: &[$t], y: &[$t], $g: &[$t], $d: &mut [$t] $(, $p: $t)*) {
            widths(e, y, $d);
            assert_eq!($g.len(), 1, concat!($name, ": the loss is a scalar"));
            ($row)(e, y, $g[0], $d)
        }

        #[doc = concat!(
            "[`", stringify!($one), "`] for a minibatch of `rows` rows of `k` values, row `r` \
             with `", stringify!($g), "[r]`."
        )]
        ///
        /// # Panics
        /// If `k` is 0 or a slice holds fewer than `rows` rows.
        #[inline]
        #[allow(clippy::too_many_arguments)]
        pub fn $batch(
            e: &[$t],
            y: &[$t],
            $g: &[$t],
            $d: &mut [$t],
            k: usize,
            rows: usize
            $(, $p: $t)*
        ) {
            batch_impl(e, y, $g, $d, k, rows, $row)
        }
    };
}

/// The per-type public kernels of one loss, from its generic row functions in the parent module:
/// `value(e, y, params…) -> L`, `grad(e, y, dl, de, mode, params…)` (dL/dE · dl, stored in the
/// [`Put`] mode `mode`: bprop, or its square times `ddl` for `bbprop_inner`),
/// `grad_target(e, y, dl, dy, mode, params…)` (dL/dy likewise), `curv(e, y, ddl, dde,
/// accumulate, params…)` (the diagonal of ∂²L/∂E²) and `curv_target(e, y, ddl, ddy, accumulate,
/// params…)` (the diagonal of ∂²L/∂y²).
macro_rules! loss_kernels {
    ($t:ident, $name:literal, [$($p:ident),*], $pdoc:literal) => {
        #[doc = concat!("The ", $name, " kernels for `", stringify!($t), "`.", $pdoc)]
        pub mod $t {
            #[inline(always)]
            fn widths(e: &[$t], y: &[$t], out: &[$t]) {
                assert!(
                    e.len() == y.len() && e.len() == out.len(),
                    concat!($name, ": widths differ")
                );
                assert!(!e.is_empty(), concat!($name, ": no class"));
            }

            #[doc = concat!(
                "fprop: `l[0]` = the ", $name, " loss of the energies `e` and the target `y`."
            )]
            ///
            /// # Panics
            /// If `e` and `y` differ in length or are empty, or `l` is not one component.
            #[inline]
            pub fn fprop(e: &[$t], y: &[$t], l: &mut [$t] $(, $p: $t)*) {
                widths(e, y, y);
                assert_eq!(l.len(), 1, concat!($name, ": the loss is a scalar"));
                l[0] = super::value(e, y $(, $p)*);
            }

            #[inline(always)]
            fn rows_of(e: &[$t], y: &[$t], out: &[$t], l: &[$t], k: usize, rows: usize) {
                assert!(k > 0, concat!($name, ": no class"));
                assert!(
                    e.len() >= rows * k
                        && y.len() >= rows * k
                        && out.len() >= rows * k
                        && l.len() >= rows,
                    concat!($name, ": fewer than `rows` rows")
                );
            }

            /// fprop for a minibatch: `l[r]` = the loss of row `r` of `e` and `y` (`rows` rows of
            /// `k` values).
            ///
            /// # Panics
            /// If `k` is 0 or a slice holds fewer than `rows` rows.
            #[inline]
            pub fn fprop_batch(
                e: &[$t],
                y: &[$t],
                l: &mut [$t],
                k: usize,
                rows: usize
                $(, $p: $t)*
            ) {
                rows_of(e, y, y, l, k, rows);
                for ((er, yr), lr) in e
                    .chunks_exact(k)
                    .zip(y.chunks_exact(k))
                    .zip(l.iter_mut())
                    .take(rows)
                {
                    *lr = super::value(er, yr $(, $p)*);
                }
            }

            /// A minibatch through one of the row functions (`row(e, y, dl, d)`), row by row
            /// with each row's `dl`.
            #[inline(always)]
            fn batch_impl(
                e: &[$t],
                y: &[$t],
                dl: &[$t],
                d: &mut [$t],
                k: usize,
                rows: usize,
                row: impl Fn(&[$t], &[$t], $t, &mut [$t]),
            ) {
                rows_of(e, y, d, dl, k, rows);
                for (((er, yr), g), dr) in e
                    .chunks_exact(k)
                    .zip(y.chunks_exact(k))
                    .zip(dl)
                    .zip(d.chunks_exact_mut(k))
                    .take(rows)
                {
                    row(er, yr, *g, dr);
                }
            }

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bprop, bprop_batch, (dl, de),
                "bprop to the energies: `de = dL/dE · dl[0]`, for every class (overwritten).",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad(e, y, g, d, $crate::loss::Put::Set $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bprop_acc, bprop_batch_acc, (dl, de),
                "As [`bprop`], but `de += dL/dE · dl[0]`.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad(e, y, g, d, $crate::loss::Put::Add $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bprop_target, bprop_target_batch, (dl, dy),
                "bprop to the target: `dy = dL/dy · dl[0]` (overwritten).",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad_target(e, y, g, d, $crate::loss::Put::Set $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bprop_target_acc, bprop_target_batch_acc, (dl, dy),
                "As [`bprop_target`], but `dy += dL/dy · dl[0]`.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad_target(e, y, g, d, $crate::loss::Put::Add $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop, bbprop_batch, (ddl, dde),
                "bbprop to the energies: `dde_j = ∂²L/∂E_j² · ddl[0]`, the diagonal of the loss's Hessian for every class (overwritten).",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::curv(e, y, g, d, false $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_acc, bbprop_batch_acc, (ddl, dde),
                "As [`bbprop`], but `dde_j += ∂²L/∂E_j² · ddl[0]`.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::curv(e, y, g, d, true $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_target, bbprop_target_batch, (ddl, ddy),
                "bbprop to the target: `ddy_j = ∂²L/∂y_j² · ddl[0]` (overwritten), that is 0: every loss here is linear in its target (the hinge loss piecewise constant).",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::curv_target(e, y, g, d, false $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_target_acc, bbprop_target_batch_acc, (ddl, ddy),
                "As [`bbprop_target`], but accumulated: adds 0.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::curv_target(e, y, g, d, true $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_inner, bbprop_inner_batch, (ddl, dde),
                "bbprop to the energies for a loss **whose output feeds another module**, not the network's energy: the Gauss–Newton term of a module inside the network, its Jacobian squared and its own second derivatives dropped, `dde_j = ddl[0] · (∂L/∂E_j)²` (overwritten), `∂L/∂E_j` exactly what [`bprop`] gives with `dl = 1`. Use [`bbprop`] when the loss is (or is added into) the energy.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad(e, y, 1.0, d, $crate::loss::Put::SetSquared(g) $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_inner_acc, bbprop_inner_batch_acc, (ddl, dde),
                "As [`bbprop_inner`] (the variant for a loss whose output feeds another module, not the energy), but `dde_j += ddl[0] · (∂L/∂E_j)²`.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad(e, y, 1.0, d, $crate::loss::Put::AddSquared(g) $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_inner_target, bbprop_inner_target_batch, (ddl, ddy),
                "bbprop to the target for a loss **whose output feeds another module**, not the network's energy: `ddy_j = ddl[0] · (∂L/∂y_j)²` (overwritten), `∂L/∂y_j` exactly what [`bprop_target`] gives with `dl = 1`. Use [`bbprop_target`] when the loss is (or is added into) the energy.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad_target(e, y, 1.0, d, $crate::loss::Put::SetSquared(g) $(, $p)*)
                }
            );

            $crate::loss::loss_kernel!(
                $t, $name, [$($p),*], bbprop_inner_target_acc, bbprop_inner_target_batch_acc, (ddl, ddy),
                "As [`bbprop_inner_target`] (the variant for a loss whose output feeds another module, not the energy), but `ddy_j += ddl[0] · (∂L/∂y_j)²`.",
                |e: &[$t], y: &[$t], g: $t, d: &mut [$t]| {
                    super::grad_target(e, y, 1.0, d, $crate::loss::Put::AddSquared(g) $(, $p)*)
                }
            );
        }
    };
}

pub(crate) use {loss_kernel, loss_kernels};

/// How a row function (`grad`, `grad_target`) stores each value `v` it computes into its output
/// slot `d`: the derivative itself, for bprop, or its square scaled by `ddl`, for the
/// Gauss–Newton bbprop of a loss whose output feeds another module (`bbprop_inner`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Put<T> {
    /// `d = v`.
    Set,
    /// `d += v`.
    Add,
    /// `d = s · v²`.
    SetSquared(T),
    /// `d += s · v²`.
    AddSquared(T),
}

impl<T: Real> Put<T> {
    /// Stores `v` into `d` in this mode.
    #[inline(always)]
    pub(crate) fn put(self, d: &mut T, v: T) {
        match self {
            Put::Set => *d = v,
            Put::Add => *d += v,
            Put::SetSquared(s) => *d = s * (v * v),
            Put::AddSquared(s) => *d += s * (v * v),
        }
    }

    /// Whether the output is overwritten (rather than added to).
    #[inline(always)]
    pub(crate) fn overwrites(self) -> bool {
        matches!(self, Put::Set | Put::SetSquared(_))
    }

    /// The accumulating mode that stores the same values: for a row function that clears its
    /// output first and then adds into it.
    #[inline(always)]
    pub(crate) fn adding(self) -> Self {
        match self {
            Put::Set => Put::Add,
            Put::SetSquared(s) => Put::AddSquared(s),
            m => m,
        }
    }
}

/// Writes (or adds) `scale · p_j (1 − p_j)` into `d[j]` for every class, with
/// `p = softmax(−β v)` (as in [`shifted_sum`]: `β > 0` for energies, `β = −1` for logits): the
/// variance of the class indicator, the diagonal of the log-sum-exp's Hessian. The extreme value
/// (the first of equal ones) has term 1 and `1 − p` there is the sum of the other terms over
/// their total, not `1 − p` rounded, so a confident class keeps its tiny curvature; elsewhere
/// `1 − p_j = (s − t_j) / s` with `s − t_j ≥ 1`, no cancellation either.
#[inline(always)]
pub(crate) fn gibbs_variance<T: Real>(v: &[T], beta: T, scale: T, d: &mut [T], accumulate: bool) {
    let mut m = 0;
    for (i, &x) in v.iter().enumerate().skip(1) {
        if beta * x < beta * v[m] {
            m = i;
        }
    }
    let term = |x: T| (-beta * (x - v[m])).exp();
    let rest: T = v
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != m)
        .map(|(_, &x)| term(x))
        .sum();
    let s = T::ONE + rest;
    let mode = if accumulate { Put::Add } else { Put::Set };
    for (j, (dj, &x)) in d.iter_mut().zip(v).enumerate() {
        let (t, others) = if j == m {
            (T::ONE, rest)
        } else {
            let t = term(x);
            (t, s - t)
        };
        mode.put(dj, scale * (t / s) * (others / s));
    }
}

/// `∂²L/∂y² = 0` for a loss linear in its target: writes zeros into `d` (adds nothing).
#[inline(always)]
pub(crate) fn linear_in_target<T: Real>(d: &mut [T], accumulate: bool) {
    if !accumulate {
        d.fill(T::ZERO);
    }
}

/// The index of the lowest value (the first of equal ones): the predicted class of a state of
/// energies. NaN is never chosen, unless every value is NaN (then 0).
///
/// ```
/// use bpnet_runtime::loss::argmin;
/// assert_eq!(argmin(&[0.7f32, -1.5, 2.0, -1.5]), 1);
/// ```
///
/// # Panics
/// If `v` is empty.
pub fn argmin<F: Float>(v: &[F]) -> usize {
    assert!(!v.is_empty(), "argmin of no values");
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        // `!(best <= best)` holds only for NaN: any number replaces a NaN.
        #[allow(clippy::eq_op)]
        if x < v[best] || (x == x && v[best] != v[best]) {
            best = i;
        }
    }
    best
}

/// The index of the highest value (the first of equal ones): the predicted class of a state of
/// logits. NaN is never chosen, unless every value is NaN (then 0).
///
/// ```
/// use bpnet_runtime::loss::argmax;
/// assert_eq!(argmax(&[0.7f64, 2.5, -2.0, 2.5]), 1);
/// ```
///
/// # Panics
/// If `v` is empty.
pub fn argmax<F: Float>(v: &[F]) -> usize {
    assert!(!v.is_empty(), "argmax of no values");
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        #[allow(clippy::eq_op)]
        if x > v[best] || (x == x && v[best] != v[best]) {
            best = i;
        }
    }
    best
}

/// The class probabilities of logits `z`: `p_j = e^(z_j) / Σ_i e^(z_i)` (computed in `f64`, the
/// largest logit subtracted first), those [`cross_entropy`] trains.
///
/// ```
/// use bpnet_runtime::loss::softmax;
/// let p = softmax(&[1.0f32, 1.0, 1000.0]);
/// assert_eq!(p, [0.0, 0.0, 1.0]);
/// ```
pub fn softmax<F: Float, const K: usize>(logits: &[F; K]) -> [F; K] {
    gibbs(logits, -1.0)
}

/// The class probabilities of energies `E` at inverse temperature `β`: `p_j = e^(−β E_j) /
/// Σ_i e^(−β E_i)` (computed in `f64`, the lowest energy subtracted first), those the negative
/// log-likelihood [`nll`] trains, declared with the same `β`.
///
/// ```
/// use bpnet_runtime::loss::softmin;
/// let p = softmin(&[0.0f64, 2.0_f64.ln()], 1.0);
/// assert!((p[0] - 2.0 / 3.0).abs() < 1e-15 && (p[1] - 1.0 / 3.0).abs() < 1e-15);
/// ```
pub fn softmin<F: Float, const K: usize>(energies: &[F; K], beta: F) -> [F; K] {
    gibbs(energies, beta.to_f64())
}

fn gibbs<F: Float, const K: usize>(v: &[F; K], beta: f64) -> [F; K] {
    if K == 0 {
        return [F::ZERO; K];
    }
    let v64 = v.map(|x| x.to_f64());
    let (extreme, s) = shifted_sum(&v64, beta);
    v64.map(|x| F::from_f64((-beta * (x - extreme)).exp() / s))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::{numeric_grad, rel_err};

    /// Relative tolerance of the finite-difference checks (central differences, f64, step 1e-5).
    pub const TOL: f64 = 1e-6;

    /// Checks a loss's f64 kernels on one sample: bprop to the energies and to the target
    /// against central differences of fprop, the accumulating forms, and a minibatch of the
    /// sample and two variants against the per-sample kernels.
    #[allow(clippy::type_complexity)]
    pub fn check_kernels(
        e: &[f64],
        y: &[f64],
        fprop: &dyn Fn(&[f64], &[f64], &mut [f64]),
        bprop: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64]); 4],
        batch: (
            &dyn Fn(&[f64], &[f64], &mut [f64], usize, usize),
            [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64], usize, usize); 4],
        ),
    ) {
        let k = e.len();
        let loss = |e: &[f64], y: &[f64]| {
            let mut l = [0.0];
            fprop(e, y, &mut l);
            l[0]
        };
        let dl = [1.7];
        let [de_k, de_acc, dy_k, dy_acc] = bprop;
        let (mut de, mut dy) = (vec![9.0; k], vec![9.0; k]);
        de_k(e, y, &dl, &mut de);
        dy_k(e, y, &dl, &mut dy);
        let nde: Vec<f64> = numeric_grad(e, |e| loss(e, y))
            .iter()
            .map(|g| g * 1.7)
            .collect();
        let ndy: Vec<f64> = numeric_grad(y, |y| loss(e, y))
            .iter()
            .map(|g| g * 1.7)
            .collect();
        assert!(rel_err(&de, &nde) < TOL, "dE: {de:?} vs {nde:?}");
        assert!(rel_err(&dy, &ndy) < TOL, "dy: {dy:?} vs {ndy:?}");
        de_acc(e, y, &dl, &mut de);
        dy_acc(e, y, &dl, &mut dy);
        let twice = |v: &[f64]| v.iter().map(|g| 2.0 * g).collect::<Vec<_>>();
        assert!(rel_err(&de, &twice(&nde)) < TOL);
        assert!(rel_err(&dy, &twice(&ndy)) < TOL);

        // A minibatch: the sample, its energies shifted and scaled, and reversed.
        let (fb, [de_b, de_b_acc, dy_b, dy_b_acc]) = batch;
        let mut es = e.to_vec();
        es.extend(e.iter().map(|v| 0.5 * v - 0.25));
        es.extend(e.iter().rev());
        let ys: Vec<f64> = y.iter().chain(y).chain(y).copied().collect();
        let mut ls = [0.0; 3];
        fb(&es, &ys, &mut ls, k, 3);
        let dls = [1.0, -0.5, 2.0];
        let (mut des, mut dys) = (vec![3.0; 3 * k], vec![3.0; 3 * k]);
        de_b(&es, &ys, &dls, &mut des, k, 3);
        dy_b(&es, &ys, &dls, &mut dys, k, 3);
        for r in 0..3 {
            let s = r * k..(r + 1) * k;
            assert_eq!(ls[r], loss(&es[s.clone()], y), "row {r}");
            let (mut der, mut dyr) = (vec![0.0; k], vec![0.0; k]);
            de_k(&es[s.clone()], y, &dls[r..r + 1], &mut der);
            dy_k(&es[s.clone()], y, &dls[r..r + 1], &mut dyr);
            assert_eq!(der, des[s.clone()], "dE of row {r}");
            assert_eq!(dyr, dys[s], "dy of row {r}");
        }
        let (d1, d2) = (des.clone(), dys.clone());
        de_b_acc(&es, &ys, &dls, &mut des, k, 3);
        dy_b_acc(&es, &ys, &dls, &mut dys, k, 3);
        assert_eq!(des, d1.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
        assert_eq!(dys, d2.iter().map(|v| 2.0 * v).collect::<Vec<_>>());
    }

    /// `check_kernels` with the f64 kernels of module `$m`, parameters `$p…` appended.
    macro_rules! check_loss {
        ($m:path, $e:expr, $y:expr $(, $p:expr)*) => {{
            use $m as k;
            $crate::loss::tests::check_kernels(
                &$e,
                &$y,
                &|e, y, l| k::f64::fprop(e, y, l $(, $p)*),
                [
                    &|e, y, dl, d| k::f64::bprop(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bprop_acc(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bprop_target(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bprop_target_acc(e, y, dl, d $(, $p)*),
                ],
                (
                    &|e, y, l, n, r| k::f64::fprop_batch(e, y, l, n, r $(, $p)*),
                    [
                        &|e, y, dl, d, n, r| k::f64::bprop_batch(e, y, dl, d, n, r $(, $p)*),
                        &|e, y, dl, d, n, r| k::f64::bprop_batch_acc(e, y, dl, d, n, r $(, $p)*),
                        &|e, y, dl, d, n, r| k::f64::bprop_target_batch(e, y, dl, d, n, r $(, $p)*),
                        &|e, y, dl, d, n, r| {
                            k::f64::bprop_target_batch_acc(e, y, dl, d, n, r $(, $p)*)
                        },
                    ],
                ),
            )
        }};
    }
    pub(crate) use check_loss;

    /// Checks a loss's second-derivative kernels on one sample: bbprop to the energies against
    /// `ddl` times second central differences of fprop (`tol`: the absolute error allowed, per
    /// unit of `ddl`, which the caller derives from the loss's fourth derivative), bbprop to the
    /// target against the same differences in `y` (0: every loss is linear in its target; the
    /// differences are then rounding alone, `≈ 4 ε max(1, |E|) / h² ≈ 4.4e-10 max(1, |E|)`, and
    /// 1e-8 times that scale is allowed), the accumulating forms, a minibatch of
    /// the sample and two variants against the per-sample kernels (bit for bit), and `f32`
    /// against `f64` on the same inputs (within `tol32` per unit of `ddl`).
    #[allow(clippy::type_complexity)]
    pub fn check_curvature(
        e: &[f64],
        y: &[f64],
        fprop: &dyn Fn(&[f64], &[f64], &mut [f64]),
        bbprop: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64]); 4],
        batch: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64], usize, usize); 4],
        bbprop32: [&dyn Fn(&[f32], &[f32], &[f32], &mut [f32]); 2],
        (tol, tol32): (f64, f64),
    ) {
        use crate::testing::{numeric_second, to_f32, to_f64};
        let k = e.len();
        let loss = |e: &[f64], y: &[f64]| {
            let mut l = [0.0];
            fprop(e, y, &mut l);
            l[0]
        };
        let ddl = 1.7;
        let [dde_k, dde_acc, ddy_k, ddy_acc] = bbprop;
        let (mut dde, mut ddy) = (vec![9.0; k], vec![9.0; k]);
        dde_k(e, y, &[ddl], &mut dde);
        ddy_k(e, y, &[ddl], &mut ddy);
        let ndde = numeric_second(e, |e| loss(e, y));
        let nddy = numeric_second(y, |y| loss(e, y));
        let scale = e.iter().fold(1.0, |m: f64, v| m.max(v.abs()));
        for j in 0..k {
            let want = ddl * ndde[j];
            assert!(
                (dde[j] - want).abs() <= tol * ddl,
                "ddE[{j}]: {} vs {want} (all: {dde:?} vs {ndde:?})",
                dde[j]
            );
            assert!(dde[j] >= 0.0, "ddE[{j}] = {} < 0", dde[j]);
            assert!((ddl * nddy[j]).abs() < 1e-8 * scale, "∂²L/∂y² {nddy:?}");
            assert_eq!(ddy[j], 0.0, "ddy {ddy:?}");
        }
        // The accumulating forms add onto what is there.
        let start: Vec<f64> = (0..k).map(|j| j as f64 - 0.5).collect();
        let (mut dde2, mut ddy2) = (start.clone(), start.clone());
        dde_acc(e, y, &[ddl], &mut dde2);
        ddy_acc(e, y, &[ddl], &mut ddy2);
        for j in 0..k {
            assert_eq!(dde2[j], start[j] + dde[j]);
            assert_eq!(ddy2[j], start[j]);
        }

        // A minibatch: the sample, its energies shifted and scaled, and reversed.
        let [dde_b, dde_b_acc, ddy_b, ddy_b_acc] = batch;
        let mut es = e.to_vec();
        es.extend(e.iter().map(|v| 0.5 * v - 0.25));
        es.extend(e.iter().rev());
        let ys: Vec<f64> = y.iter().chain(y).chain(y).copied().collect();
        let ddls = [1.0, 0.5, 2.0];
        let (mut ddes, mut ddys) = (vec![3.0; 3 * k], vec![3.0; 3 * k]);
        dde_b(&es, &ys, &ddls, &mut ddes, k, 3);
        ddy_b(&es, &ys, &ddls, &mut ddys, k, 3);
        assert_eq!(ddys, vec![0.0; 3 * k]);
        for r in 0..3 {
            let s = r * k..(r + 1) * k;
            let mut der = vec![0.0; k];
            dde_k(&es[s.clone()], y, &ddls[r..r + 1], &mut der);
            assert_eq!(der, ddes[s], "ddE of row {r}");
        }
        let (mut acc, mut ddys) = (vec![3.0; 3 * k], vec![3.0; 3 * k]);
        dde_b_acc(&es, &ys, &ddls, &mut acc, k, 3);
        ddy_b_acc(&es, &ys, &ddls, &mut ddys, k, 3);
        assert_eq!(acc, ddes.iter().map(|v| 3.0 + v).collect::<Vec<_>>());
        assert_eq!(ddys, vec![3.0; 3 * k]);

        // f32 against f64 on the same (f32) inputs.
        let (e32, y32) = (to_f32(e), to_f32(y));
        let (mut dde32, mut ddy32) = (vec![9.0f32; k], vec![9.0f32; k]);
        bbprop32[0](&e32, &y32, &[ddl as f32], &mut dde32);
        bbprop32[1](&e32, &y32, &[ddl as f32], &mut ddy32);
        let mut dde64 = vec![0.0; k];
        dde_k(
            &to_f64(&e32),
            &to_f64(&y32),
            &[ddl as f32 as f64],
            &mut dde64,
        );
        for j in 0..k {
            let err = (dde32[j] as f64 - dde64[j]).abs();
            assert!(
                err <= tol32 * ddl,
                "f32 ddE[{j}]: {} vs {}",
                dde32[j],
                dde64[j]
            );
        }
        assert_eq!(ddy32, vec![0.0f32; k]);
    }

    /// `check_curvature` with the kernels of module `$m`, parameters `$p…` appended, and
    /// tolerances `$tol` (f64 against finite differences) and `$tol32` (f32 against f64).
    macro_rules! check_loss_curv {
        ($m:path, $e:expr, $y:expr, $tol:expr, $tol32:expr $(, $p:expr)*) => {{
            use $m as k;
            $crate::loss::tests::check_curvature(
                &$e,
                &$y,
                &|e, y, l| k::f64::fprop(e, y, l $(, $p)*),
                [
                    &|e, y, dl, d| k::f64::bbprop(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_acc(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_target(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_target_acc(e, y, dl, d $(, $p)*),
                ],
                [
                    &|e, y, dl, d, n, r| k::f64::bbprop_batch(e, y, dl, d, n, r $(, $p)*),
                    &|e, y, dl, d, n, r| k::f64::bbprop_batch_acc(e, y, dl, d, n, r $(, $p)*),
                    &|e, y, dl, d, n, r| k::f64::bbprop_target_batch(e, y, dl, d, n, r $(, $p)*),
                    &|e, y, dl, d, n, r| {
                        k::f64::bbprop_target_batch_acc(e, y, dl, d, n, r $(, $p)*)
                    },
                ],
                [
                    &|e, y, dl, d| k::f32::bbprop(e, y, dl, d $(, $p as f32)*),
                    &|e, y, dl, d| k::f32::bbprop_target(e, y, dl, d $(, $p as f32)*),
                ],
                ($tol, $tol32),
            )
        }};
    }
    pub(crate) use check_loss_curv;

    /// Relative tolerance of [`check_inner`] against finite differences. The Jacobian comes
    /// from central differences at step 1e-4 ([`crate::testing::JACOBIAN_STEP`]), exact to
    /// `h² |L‴| / 6 ≈ 1.7e-9 |L‴|` (truncation; `|L‴| ≤ β²/(6√3) ≈ 0.1 β²` for the nll and
    /// cross-entropy, 0 for the energy and hinge losses away from the kink) plus `ε |L| / h ≈
    /// 2.2e-12 |L|` (rounding); squaring doubles the relative error. So 1e-6 relative (with
    /// [`rel_err`]'s floor of 1e-3) holds with a wide margin for `β ≤ 3` and `|L| ≤ 1e3`.
    pub const INNER_TOL: f64 = 1e-6;

    /// Checks a loss's `bbprop_inner*` kernels (the Gauss–Newton term of a loss whose output
    /// feeds another module) on one sample:
    /// - to the energies and to the target against `ddl · J_j²`, `J` the Jacobian of fprop from
    ///   central differences ([`numeric_jacobian`](crate::testing::numeric_jacobian), step 1e-4),
    ///   within [`INNER_TOL`] relative;
    /// - against the square of what bprop gives with `dl = 1`, times `ddl`, bit for bit;
    /// - the `_acc` forms add onto existing contents (bit for bit);
    /// - a minibatch of the sample and two variants equals the per-sample kernels bit for bit,
    ///   each row with its own `ddl`, leaving what is past the rows alone, and accumulates;
    /// - `f32` agrees with `f64` on the same (f32) inputs: `|a32 − a64| ≤ 1e-6 (ddl + |a64|)`.
    ///   `p_j` is within about 4.2e-7 relative in f32 (see the nll's bbprop test), so `y_j − p_j`
    ///   within 4.2e-7 absolute and its square within 8.4e-7 · ddl; `E_j²` within 2 f32
    ///   roundings (2.4e-7 relative); plus the rounding of the product with `ddl`.
    #[allow(clippy::type_complexity)]
    pub fn check_inner(
        e: &[f64],
        y: &[f64],
        fprop: &dyn Fn(&[f64], &[f64], &mut [f64]),
        bprop: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64]); 2],
        inner: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64]); 4],
        batch: [&dyn Fn(&[f64], &[f64], &[f64], &mut [f64], usize, usize); 4],
        inner32: [&dyn Fn(&[f32], &[f32], &[f32], &mut [f32]); 2],
    ) {
        use crate::testing::{numeric_jacobian, to_f32, to_f64};
        let k = e.len();
        let ddl = 1.7;
        let [de_k, dy_k] = bprop;
        let [dde_k, dde_acc, ddy_k, ddy_acc] = inner;
        let (mut dde, mut ddy) = (vec![9.0; k], vec![9.0; k]);
        dde_k(e, y, &[ddl], &mut dde);
        ddy_k(e, y, &[ddl], &mut ddy);

        // Independent: ddl times the squared finite-difference Jacobian of fprop.
        let je = numeric_jacobian(e, 1, |e, l| fprop(e, y, l));
        let jy = numeric_jacobian(y, 1, |y, l| fprop(e, y, l));
        let want_e: Vec<f64> = je.iter().map(|g| ddl * g * g).collect();
        let want_y: Vec<f64> = jy.iter().map(|g| ddl * g * g).collect();
        assert!(
            rel_err(&dde, &want_e) < INNER_TOL,
            "ddE: {dde:?} vs {want_e:?}"
        );
        assert!(
            rel_err(&ddy, &want_y) < INNER_TOL,
            "ddy: {ddy:?} vs {want_y:?}"
        );

        // Exactly the square of bprop's derivatives at dl = 1, times ddl.
        let (mut de1, mut dy1) = (vec![0.0; k], vec![0.0; k]);
        de_k(e, y, &[1.0], &mut de1);
        dy_k(e, y, &[1.0], &mut dy1);
        for j in 0..k {
            assert_eq!(dde[j], ddl * (de1[j] * de1[j]), "ddE[{j}] vs bprop");
            assert_eq!(ddy[j], ddl * (dy1[j] * dy1[j]), "ddy[{j}] vs bprop");
        }

        // The accumulating forms add onto what is there.
        let start: Vec<f64> = (0..k).map(|j| j as f64 - 0.5).collect();
        let (mut dde2, mut ddy2) = (start.clone(), start.clone());
        dde_acc(e, y, &[ddl], &mut dde2);
        ddy_acc(e, y, &[ddl], &mut ddy2);
        for j in 0..k {
            assert_eq!(dde2[j], start[j] + dde[j], "ddE acc [{j}]");
            assert_eq!(ddy2[j], start[j] + ddy[j], "ddy acc [{j}]");
        }

        // A minibatch: the sample, its energies shifted and scaled, and reversed; one slot past
        // the rows, which must stay as it is.
        let [dde_b, dde_b_acc, ddy_b, ddy_b_acc] = batch;
        let mut es = e.to_vec();
        es.extend(e.iter().map(|v| 0.5 * v - 0.25));
        es.extend(e.iter().rev());
        let ys: Vec<f64> = y.iter().chain(y).chain(y).copied().collect();
        let ddls = [1.0, 0.5, 2.0];
        let (mut ddes, mut ddys) = (vec![3.0; 3 * k + 1], vec![3.0; 3 * k + 1]);
        dde_b(&es, &ys, &ddls, &mut ddes, k, 3);
        ddy_b(&es, &ys, &ddls, &mut ddys, k, 3);
        for r in 0..3 {
            let s = r * k..(r + 1) * k;
            let (mut der, mut dyr) = (vec![0.0; k], vec![0.0; k]);
            dde_k(&es[s.clone()], y, &ddls[r..r + 1], &mut der);
            ddy_k(&es[s.clone()], y, &ddls[r..r + 1], &mut dyr);
            assert_eq!(der, ddes[s.clone()], "ddE of row {r}");
            assert_eq!(dyr, ddys[s], "ddy of row {r}");
        }
        assert_eq!((ddes[3 * k], ddys[3 * k]), (3.0, 3.0), "past the rows");
        let (mut acc_e, mut acc_y) = (vec![3.0; 3 * k + 1], vec![3.0; 3 * k + 1]);
        dde_b_acc(&es, &ys, &ddls, &mut acc_e, k, 3);
        ddy_b_acc(&es, &ys, &ddls, &mut acc_y, k, 3);
        let plus3 = |v: &[f64]| {
            let mut w: Vec<f64> = v[..3 * k].iter().map(|v| 3.0 + v).collect();
            w.push(3.0);
            w
        };
        assert_eq!(acc_e, plus3(&ddes));
        assert_eq!(acc_y, plus3(&ddys));

        // f32 against f64 on the same (f32) inputs.
        let (e32, y32) = (to_f32(e), to_f32(y));
        let (e64, y64) = (to_f64(&e32), to_f64(&y32));
        let ddl32 = ddl as f32;
        for (side, (k32, k64)) in [(inner32[0], dde_k), (inner32[1], ddy_k)]
            .into_iter()
            .enumerate()
        {
            let (mut a32, mut a64) = (vec![9.0f32; k], vec![0.0; k]);
            k32(&e32, &y32, &[ddl32], &mut a32);
            k64(&e64, &y64, &[ddl32 as f64], &mut a64);
            for j in 0..k {
                let err = (a32[j] as f64 - a64[j]).abs();
                assert!(
                    err <= 1e-6 * (ddl + a64[j].abs()),
                    "f32 {} [{j}]: {} vs {}",
                    ["ddE", "ddy"][side],
                    a32[j],
                    a64[j]
                );
            }
        }
    }

    /// `check_inner` with the kernels of module `$m`, parameters `$p…` appended.
    macro_rules! check_loss_inner {
        ($m:path, $e:expr, $y:expr $(, $p:expr)*) => {{
            use $m as k;
            $crate::loss::tests::check_inner(
                &$e,
                &$y,
                &|e, y, l| k::f64::fprop(e, y, l $(, $p)*),
                [
                    &|e, y, dl, d| k::f64::bprop(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bprop_target(e, y, dl, d $(, $p)*),
                ],
                [
                    &|e, y, dl, d| k::f64::bbprop_inner(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_inner_acc(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_inner_target(e, y, dl, d $(, $p)*),
                    &|e, y, dl, d| k::f64::bbprop_inner_target_acc(e, y, dl, d $(, $p)*),
                ],
                [
                    &|e, y, dl, d, n, r| k::f64::bbprop_inner_batch(e, y, dl, d, n, r $(, $p)*),
                    &|e, y, dl, d, n, r| {
                        k::f64::bbprop_inner_batch_acc(e, y, dl, d, n, r $(, $p)*)
                    },
                    &|e, y, dl, d, n, r| {
                        k::f64::bbprop_inner_target_batch(e, y, dl, d, n, r $(, $p)*)
                    },
                    &|e, y, dl, d, n, r| {
                        k::f64::bbprop_inner_target_batch_acc(e, y, dl, d, n, r $(, $p)*)
                    },
                ],
                [
                    &|e, y, dl, d| k::f32::bbprop_inner(e, y, dl, d $(, $p as f32)*),
                    &|e, y, dl, d| k::f32::bbprop_inner_target(e, y, dl, d $(, $p as f32)*),
                ],
            )
        }};
    }
    pub(crate) use check_loss_inner;

    #[test]
    fn argmin_argmax_and_nan() {
        assert_eq!(argmin(&[3.0f32]), 0);
        assert_eq!(argmin(&[f64::NAN, 2.0, 1.0]), 2);
        assert_eq!(argmax(&[f64::NAN, 2.0, 1.0, f64::NAN]), 1);
        assert_eq!(argmin(&[f32::NAN, f32::NAN]), 0);
        assert_eq!(argmax(&[-1.0f32, f32::NEG_INFINITY]), 0);
    }

    #[test]
    fn probabilities() {
        let p = softmax(&[0.5f64, -1.0, 2.0]);
        let z: f64 = [0.5f64, -1.0, 2.0].iter().map(|v| v.exp()).sum();
        assert!(
            rel_err(
                &p,
                &[0.5f64.exp() / z, (-1.0f64).exp() / z, 2.0f64.exp() / z]
            ) < 1e-15
        );
        // softmin at β is softmax of −βE, and no overflow far from zero.
        let q = softmin(&[-0.25f64, 0.5, -1.0], 2.0);
        assert!(rel_err(&q, &p) < 1e-15);
        let big = softmin(&[1e4f32, 1e4 + 1.0], 1.0);
        assert!(
            (big[0] - 1.0 / (1.0 + (-1.0f32).exp())).abs() < 1e-6,
            "{big:?}"
        );
        assert_eq!(softmax::<f32, 0>(&[]), []);
    }
}
