//! The negative log-likelihood loss: `L = E_Y + (1/β) log Σ_j e^(−β E_j)` for a one-hot target of
//! class `Y` (`Σ_j y_j E_j` in place of `E_Y` in general), the energies turned into the
//! probabilities `p_j = e^(−β E_j) / Σ_i e^(−β E_i)` of a Gibbs distribution, and `L = −(1/β)
//! log p_Y`. `β > 0`, the inverse temperature, is 1 unless declared (`nll(e, y, beta = 2.0)`); as
//! `β` grows, `L` tends to the perceptron loss `E_Y − min_j E_j`.
//!
//! `∂L/∂E_j = y_j − p_j`: the correct answer's energy is pushed down, every answer's pulled up in
//! proportion to its probability. `∂L/∂y_j = E_j`.
//!
//! Computed stably: the lowest energy `m` is subtracted before the exponentials (each then in
//! `(0, 1]`), `L = Σ_j y_j (E_j − m) + (Σ_j y_j − 1) m + (1/β) log Σ_j e^(−β (E_j − m))`, so a
//! one-hot target never subtracts large numbers from each other either. bprop recomputes `p` from
//! the energies (nothing is kept from fprop).

use super::{Real, loss_kernels, put, shifted_sum};

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
fn grad<T: Real>(e: &[T], y: &[T], g: T, de: &mut [T], accumulate: bool, beta: T) {
    let (m, s) = shifted_sum(e, beta);
    for ((d, &ej), &yj) in de.iter_mut().zip(e).zip(y) {
        let p = (-beta * (ej - m)).exp() / s;
        put(d, (yj - p) * g, accumulate);
    }
}

#[inline(always)]
fn grad_target<T: Real>(e: &[T], _y: &[T], g: T, dy: &mut [T], accumulate: bool, _beta: T) {
    for (d, &ej) in dy.iter_mut().zip(e) {
        put(d, ej * g, accumulate);
    }
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
    use crate::loss::tests::check_loss;

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
}
