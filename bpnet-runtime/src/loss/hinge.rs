//! The margin (hinge) loss: `L = max(0, m + E_Y − min_{j≠Y} E_j)`, with `Y` the class of the
//! one-hot target (its largest component, the first of equal ones). The correct answer's energy
//! must be lower than every other answer's by the margin `m` (1 unless declared: `hinge(e, y,
//! margin = 0.5)`); until it is, it is pushed down and the most offending other answer's (the
//! lowest, the first of equal ones) pulled up.
//!
//! `∂L/∂E_Y = 1`, `∂L/∂E_J = −1` at that runner-up `J`, 0 elsewhere, while `L > 0`; every
//! derivative is 0 once the margin is met. **At the kink** (`m + E_Y − E_J = 0` exactly) the
//! subgradient taken is 0, the derivative on the side where the margin is met; where two other
//! answers tie for the lowest energy, the first one's. `∂L/∂y = 0`: the target picks a class.
//!
//! Second derivatives (bbprop) are all 0: `L` is piecewise linear in the energies (its curvature
//! is concentrated at the kink, where it has no second derivative), and constant in the target
//! almost everywhere. A network trained with the hinge loss alone therefore gets no curvature
//! from bbprop.
//!
//! A NaN energy or target gives a NaN loss (and no gradient), so training stops on it rather than
//! reading the loss as met.

use super::{Put, Real, linear_in_target, loss_kernels};
use crate::loss::argmax;

/// The correct class and the runner-up when the loss is positive.
#[inline(always)]
fn active<T: Real>(e: &[T], y: &[T], margin: T) -> Option<(usize, usize)> {
    assert!(e.len() >= 2, "hinge: needs at least two classes");
    let c = argmax(y);
    let mut j = if c == 0 { 1 } else { 0 };
    for (i, &ei) in e.iter().enumerate() {
        if i != c && ei < e[j] {
            j = i;
        }
    }
    (margin + e[c] - e[j] > T::ZERO).then_some((c, j))
}

#[inline(always)]
fn value<T: Real>(e: &[T], y: &[T], margin: T) -> T {
    if e.iter().chain(y).any(|v| v.is_nan()) {
        return T::from_f64(f64::NAN);
    }
    match active(e, y, margin) {
        Some((c, j)) => margin + e[c] - e[j],
        None => T::ZERO,
    }
}

#[inline(always)]
fn grad<T: Real>(e: &[T], y: &[T], g: T, de: &mut [T], mode: Put<T>, margin: T) {
    // Zeros everywhere (in the overwriting modes), then the two nonzero derivatives added in:
    // `x + (−g)` is `x − g` bit for bit.
    if mode.overwrites() {
        de.fill(T::ZERO);
    }
    if let Some((c, j)) = active(e, y, margin) {
        let add = mode.adding();
        add.put(&mut de[c], g);
        add.put(&mut de[j], -g);
    }
}

#[inline(always)]
fn grad_target<T: Real>(e: &[T], _y: &[T], _g: T, dy: &mut [T], mode: Put<T>, _m: T) {
    assert!(e.len() >= 2, "hinge: needs at least two classes");
    if mode.overwrites() {
        dy.fill(T::ZERO);
    }
}

/// `∂²L/∂E_j² = 0` away from the kink (`L` is piecewise linear; at the kink it has none, and 0 is
/// taken, as for the subgradient).
#[inline(always)]
fn curv<T: Real>(e: &[T], _y: &[T], _g: T, dde: &mut [T], accumulate: bool, _m: T) {
    assert!(e.len() >= 2, "hinge: needs at least two classes");
    if !accumulate {
        dde.fill(T::ZERO);
    }
}

/// `∂²L/∂y_j² = 0`.
#[inline(always)]
fn curv_target<T: Real>(e: &[T], _y: &[T], _g: T, ddy: &mut [T], accumulate: bool, _m: T) {
    assert!(e.len() >= 2, "hinge: needs at least two classes");
    linear_in_target(ddy, accumulate)
}

loss_kernels!(
    f32,
    "hinge",
    [margin],
    " Every function takes the margin `margin` (≥ 0) last. Needs at least two classes."
);
loss_kernels!(
    f64,
    "hinge",
    [margin],
    " Every function takes the margin `margin` (≥ 0) last. Needs at least two classes."
);

#[cfg(test)]
mod tests {
    use crate::loss::tests::{check_loss, check_loss_curv, check_loss_inner};

    fn hinge(e: &[f64], y: &[f64], m: f64) -> f64 {
        let mut l = [0.0];
        super::f64::fprop(e, y, &mut l, m);
        l[0]
    }

    #[test]
    fn margin_against_the_lowest_other_energy() {
        let y = [0.0, 1.0, 0.0];
        assert_eq!(hinge(&[0.5, 0.0, 2.0], &y, 1.0), 0.5);
        assert_eq!(hinge(&[1.5, 0.0, 2.0], &y, 1.0), 0.0);
        assert_eq!(hinge(&[1.5, 0.0, 2.0], &y, 2.0), 0.5);
        assert_eq!(hinge(&[-1.0, 0.0, 2.0], &y, 0.0), 1.0);
        assert!(hinge(&[f64::NAN, 0.0, 2.0], &y, 1.0).is_nan());
        // At the kink the subgradient is 0; just past it, +1 and −1.
        let mut de = [5.0; 3];
        super::f64::bprop(&[1.0, 0.0, 2.0], &y, &[1.0], &mut de, 1.0);
        assert_eq!(de, [0.0; 3]);
        super::f64::bprop(&[0.999, 0.0, 2.0], &y, &[1.0], &mut de, 1.0);
        assert_eq!(de, [-1.0, 1.0, 0.0]);
        // Two runners-up tie: the first.
        super::f64::bprop(&[0.5, 0.0, 0.5], &y, &[1.0], &mut de, 1.0);
        assert_eq!(de, [-1.0, 1.0, 0.0]);
    }

    #[test]
    #[should_panic(expected = "at least two classes")]
    fn one_class_is_refused() {
        hinge(&[1.0], &[1.0], 1.0);
    }

    #[test]
    fn bprop_matches_finite_differences() {
        // Away from the kink: the margin is violated, then met.
        check_loss!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 0.0, 1.0, 0.0],
            1.0
        );
        check_loss!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            0.5
        );
        check_loss!(crate::loss::hinge, [0.3, -1.2], [1.0, 0.0], 0.25);
    }

    /// Away from the kink (more than the step 1e-3 from it, and from a change of runner-up), `L`
    /// is linear: the second differences are rounding alone (5e-8 allowed), and bbprop writes
    /// exact zeros, in f32 too. Margin violated, then met.
    #[test]
    fn bbprop_matches_finite_differences() {
        check_loss_curv!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 0.0, 1.0, 0.0],
            5e-8,
            0.0,
            1.0
        );
        check_loss_curv!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            5e-8,
            0.0,
            0.5
        );
        check_loss_curv!(crate::loss::hinge, [0.3, -1.2], [1.0, 0.0], 5e-8, 0.0, 0.25);
    }

    #[test]
    #[should_panic(expected = "at least two classes")]
    fn bbprop_refuses_one_class() {
        super::f64::bbprop(&[1.0], &[1.0], &[1.0], &mut [0.0], 1.0);
    }

    /// The variant for a loss whose output feeds another module, away from the kink: `ddl` at
    /// the correct class and at the runner-up while the margin is violated, 0 elsewhere and once
    /// it is met, 0 to the target; against the squared finite-difference Jacobian (relative
    /// 1e-6, see [`crate::loss::tests::INNER_TOL`]). Exact zeros are written over what was there.
    #[test]
    fn bbprop_inner_is_the_squared_jacobian() {
        check_loss_inner!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 0.0, 1.0, 0.0],
            1.0
        );
        check_loss_inner!(
            crate::loss::hinge,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            0.5
        );
        check_loss_inner!(crate::loss::hinge, [0.3, -1.2], [1.0, 0.0], 0.25);
        let y = [0.0, 1.0, 0.0];
        let mut dd = [5.0; 3];
        super::f64::bbprop_inner(&[0.999, 0.0, 2.0], &y, &[1.5], &mut dd, 1.0);
        assert_eq!(dd, [1.5, 1.5, 0.0]);
        super::f64::bbprop_inner(&[1.5, 0.0, 2.0], &y, &[1.5], &mut dd, 1.0);
        assert_eq!(dd, [0.0; 3]);
        let mut dd = [5.0; 3];
        super::f64::bbprop_inner_acc(&[0.999, 0.0, 2.0], &y, &[1.5], &mut dd, 1.0);
        assert_eq!(dd, [6.5, 6.5, 5.0]);
        super::f64::bbprop_inner_target(&[0.999, 0.0, 2.0], &y, &[1.5], &mut dd, 1.0);
        assert_eq!(dd, [0.0; 3]);
    }

    #[test]
    #[should_panic(expected = "at least two classes")]
    fn bbprop_inner_refuses_one_class() {
        super::f64::bbprop_inner(&[1.0], &[1.0], &[1.0], &mut [0.0], 1.0);
    }
}
