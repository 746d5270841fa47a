//! The negative log-likelihood loss: `L = E_Y + (1/β) log Σ_j e^(−β E_j)` for a one-hot target of
//! class `Y` (`Σ_j y_j E_j` in place of `E_Y` in general), the energies turned into the
//! probabilities `p_j = e^(−β E_j) / Σ_i e^(−β E_i)` of a Gibbs distribution, and `L = −(1/β)
//! log p_Y`. `β > 0`, the inverse temperature, is 1 unless declared (`nll(e, y, beta = 2.0)`); as
//! `β` grows, `L` tends to the perceptron loss `E_Y − min_j E_j`.
//!
//! `∂L/∂E_j = y_j − p_j`: the correct answer's energy is pushed down, every answer's pulled up in
//! proportion to its probability. `∂L/∂y_j = E_j`.
//!
//! Second derivatives (bbprop): `∂²L/∂E_j² = β p_j (1 − p_j)` (the diagonal of the Hessian; its
//! off-diagonal terms are `−β p_i p_j`), largest for the classes the model is unsure of, and
//! `∂²L/∂y_j² = 0`.
//!
//! Computed stably: the lowest energy `m` is subtracted before the exponentials (each then in
//! `(0, 1]`), `L = Σ_j y_j (E_j − m) + (Σ_j y_j − 1) m + (1/β) log Σ_j e^(−β (E_j − m))`, so a
//! one-hot target never subtracts large numbers from each other either. bprop recomputes `p` from
//! the energies (nothing is kept from fprop).

use super::{Put, Real, gibbs_variance, linear_in_target, loss_kernels, shifted_sum};

#[inline(always)]
fn value<T: Real>(e: &[T], y: &[T], beta: T) -> T {
    let (m, s) = shifted_sum(e, beta);
    let (mut fit, mut mass) = (T::ZERO, T::ZERO);
    for (&ej, &yj) in e.iter().zip(y) {
        fit += yj * (ej - m);
        mass += yj;
    }
    fit + (mass - T::ONE) * m + s.ln() / beta
}

#[inline(always)]
fn grad<T: Real>(e: &[T], y: &[T], g: T, de: &mut [T], mode: Put<T>, beta: T) {
    let (m, s) = shifted_sum(e, beta);
    for ((d, &ej), &yj) in de.iter_mut().zip(e).zip(y) {
        let p = (-beta * (ej - m)).exp() / s;
        mode.put(d, (yj - p) * g);
    }
}

#[inline(always)]
fn grad_target<T: Real>(e: &[T], _y: &[T], g: T, dy: &mut [T], mode: Put<T>, _beta: T) {
    for (d, &ej) in dy.iter_mut().zip(e) {
        mode.put(d, ej * g);
    }
}

/// `∂²L/∂E_j² = β p_j (1 − p_j)`, times `g`.
#[inline(always)]
fn curv<T: Real>(e: &[T], _y: &[T], g: T, dde: &mut [T], accumulate: bool, beta: T) {
    gibbs_variance(e, beta, beta * g, dde, accumulate)
}

/// `∂²L/∂y_j² = 0`: `L` is linear in the target.
#[inline(always)]
fn curv_target<T: Real>(_e: &[T], _y: &[T], _g: T, ddy: &mut [T], accumulate: bool, _beta: T) {
    linear_in_target(ddy, accumulate)
}

loss_kernels!(
    f32,
    "nll",
    [beta],
    " Every function takes the inverse temperature `beta` (> 0) last."
);
loss_kernels!(
    f64,
    "nll",
    [beta],
    " Every function takes the inverse temperature `beta` (> 0) last."
);

#[cfg(test)]
mod tests {
    use crate::loss::tests::{check_loss, check_loss_curv, check_loss_inner};

    fn nll(e: &[f64], y: &[f64], beta: f64) -> f64 {
        let mut l = [0.0];
        super::f64::fprop(e, y, &mut l, beta);
        l[0]
    }

    #[test]
    fn minus_the_log_probability_of_the_correct_answer() {
        let e = [0.5, -1.0, 2.0];
        for beta in [1.0f64, 0.5, 3.0] {
            let z: f64 = e.iter().map(|v: &f64| (-beta * v).exp()).sum();
            let want = -((-beta * e[1]).exp() / z).ln() / beta;
            let got = nll(&e, &[0.0, 1.0, 0.0], beta);
            assert!((got - want).abs() < 1e-15, "β = {beta}: {got} vs {want}");
        }
        // Equal energies: log k.
        assert!((nll(&[7.0; 4], &[0.0, 0.0, 0.0, 1.0], 1.0) - 4f64.ln()).abs() < 1e-15);
    }

    /// Energies far from zero (where `e^(−E)` overflows or underflows) give the same loss as the
    /// same energies shifted to zero, and no NaN or infinity; a large β nears the perceptron loss.
    #[test]
    fn stable_far_from_zero() {
        let e = [1.0, 3.0, 0.5];
        let y = [1.0, 0.0, 0.0];
        let at_zero = nll(&e, &y, 1.0);
        for shift in [1000.0, -1000.0, 1e6] {
            let far: Vec<f64> = e.iter().map(|v| v + shift).collect();
            let l = nll(&far, &y, 1.0);
            assert!(
                (l - at_zero).abs() < 1e-9,
                "shift {shift}: {l} vs {at_zero}"
            );
        }
        let mut l = [0.0f32];
        super::f32::fprop(&[-200.0, 300.0, 100.0], &[0.0, 1.0, 0.0], &mut l, 1.0);
        assert_eq!(l, [500.0]);
        let mut de = [0.0f32; 3];
        super::f32::bprop(
            &[-200.0, 300.0, 100.0],
            &[0.0, 1.0, 0.0],
            &[1.0],
            &mut de,
            1.0,
        );
        assert_eq!(de, [-1.0, 1.0, 0.0]);
        assert!((nll(&e, &[0.0, 1.0, 0.0], 1e3) - 2.5).abs() < 1e-3);
    }

    #[test]
    fn bprop_matches_finite_differences() {
        check_loss!(
            crate::loss::nll,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            1.0
        );
        check_loss!(
            crate::loss::nll,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 0.0, 0.0, 1.0],
            2.5
        );
        // Soft labels.
        check_loss!(crate::loss::nll, [0.3, -1.2, 0.8], [0.2, 0.5, 0.3], 0.7);
    }

    /// Tolerance of the second differences (step `h` = 1e-3) of the nll at `β`, per unit of
    /// `ddl`: truncation `h² |L⁗| / 12` with `L⁗ = β³ p (1 − p) (1 − 6p + 6p²)`, at most `β³ / 4`
    /// (so `2.1e-8 β³`), plus rounding `≈ 4 · 10 ε |L| / h² ≈ 1.3e-8` for `|L| ≤ 3`.
    fn tol(beta: f64) -> f64 {
        3e-8 * beta.powi(3) + 3e-8
    }

    /// `β p (1 − p)` against second differences; `f32` within `3e-7 β`: `p` and `1 − p` each
    /// within about `(k + 3)` f32 roundings (`k + 3 ≤ 7`, so `4.2e-7` relative), their product
    /// within `8.4e-7` relative, times at most `β / 4`.
    #[test]
    fn bbprop_matches_finite_differences() {
        for (e, y, beta) in [
            (&[0.3, -1.2, 0.8, 2.0][..], &[0.0, 1.0, 0.0, 0.0][..], 1.0),
            (&[0.3, -1.2, 0.8, 2.0], &[0.0, 0.0, 0.0, 1.0], 2.5),
            (&[0.3, -1.2, 0.8], &[0.2, 0.5, 0.3], 0.7),
            (&[1000.3, 1000.0, 999.5], &[1.0, 0.0, 0.0], 1.5),
        ] {
            let (e, y): (Vec<f64>, Vec<f64>) = (e.to_vec(), y.to_vec());
            check_loss_curv!(crate::loss::nll, e, y, tol(beta), 3e-7 * beta, beta);
        }
    }

    /// The curvature of a confident class (`1 − p` far below the float's epsilon) is not lost
    /// to rounding: `p_0 (1 − p_0) = p_1 (1 − p_1) = e^(−βΔ) / (1 + e^(−βΔ))²`.
    #[test]
    fn bbprop_of_a_confident_class() {
        let mut dd = [0.0; 2];
        super::f64::bbprop(&[0.0, 20.0], &[1.0, 0.0], &[1.0], &mut dd, 2.0);
        let t = (-40.0f64).exp();
        let want = 2.0 * t / ((1.0 + t) * (1.0 + t));
        for v in dd {
            assert!((v - want).abs() <= 1e-12 * want, "{dd:?} vs {want}");
        }
        let mut dd = [0.0f32; 3];
        super::f32::bbprop(&[5.0, -15.0, 40.0], &[0.0, 1.0, 0.0], &[1.0], &mut dd, 1.0);
        let t = (-20.0f64).exp();
        let want = t / ((1.0 + t) * (1.0 + t));
        for v in &dd[..2] {
            assert!((*v as f64 - want).abs() <= 1e-5 * want, "{dd:?} vs {want}");
        }
        assert!(dd[2] >= 0.0 && (dd[2] as f64) < 1e-20, "{dd:?}");
    }

    /// The variant for a loss whose output feeds another module: `ddl · (y_j − p_j)²` to the
    /// energies and `ddl · E_j²` to the target, against the squared finite-difference Jacobian
    /// (relative 1e-6, see [`crate::loss::tests::INNER_TOL`]), at several β, soft labels, and
    /// far from zero.
    #[test]
    fn bbprop_inner_is_the_squared_jacobian() {
        for (e, y, beta) in [
            (&[0.3, -1.2, 0.8, 2.0][..], &[0.0, 1.0, 0.0, 0.0][..], 1.0),
            (&[0.3, -1.2, 0.8, 2.0], &[0.0, 0.0, 0.0, 1.0], 2.5),
            (&[0.3, -1.2, 0.8], &[0.2, 0.5, 0.3], 0.7),
            (&[1000.3, 1000.0, 999.5], &[1.0, 0.0, 0.0], 1.5),
        ] {
            let (e, y): (Vec<f64>, Vec<f64>) = (e.to_vec(), y.to_vec());
            check_loss_inner!(crate::loss::nll, e, y, beta);
        }
    }
}
