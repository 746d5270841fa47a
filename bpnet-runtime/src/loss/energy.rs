//! The energy loss, the lecture's `L_energy(W, Yⁱ, Xⁱ) = E(W, Yⁱ, Xⁱ)`: the energy of the correct
//! answer, `L = Σ_j y_j E_j = E_Y` for a one-hot target `y` of class `Y`.
//!
//! `∂L/∂E_j = y_j` (only the correct answer's energy is pushed down) and `∂L/∂y_j = E_j`. `L` is
//! linear in both, so its second derivatives (bbprop) are all 0.
//!
//! It has no term that pulls the other answers' energies up: it suits architectures whose energies
//! cannot all go down together (distances to fixed class codes, bounded outputs); with energies
//! free to fall, training makes every answer's energy low and the machine collapses. The
//! negative log-likelihood ([`super::nll`]) and the hinge loss ([`super::hinge`]) add that term.

use super::{Put, Real, linear_in_target, loss_kernels};

#[inline(always)]
fn value<T: Real>(e: &[T], y: &[T]) -> T {
    e.iter().zip(y).map(|(&ej, &yj)| yj * ej).sum()
}

#[inline(always)]
fn grad<T: Real>(_e: &[T], y: &[T], g: T, de: &mut [T], mode: Put<T>) {
    for (d, &yj) in de.iter_mut().zip(y) {
        mode.put(d, yj * g);
    }
}

#[inline(always)]
fn grad_target<T: Real>(e: &[T], _y: &[T], g: T, dy: &mut [T], mode: Put<T>) {
    for (d, &ej) in dy.iter_mut().zip(e) {
        mode.put(d, ej * g);
    }
}

/// `∂²L/∂E_j² = 0`: `L` is linear in the energies.
#[inline(always)]
fn curv<T: Real>(_e: &[T], _y: &[T], _g: T, dde: &mut [T], accumulate: bool) {
    if !accumulate {
        dde.fill(T::ZERO);
    }
}

/// `∂²L/∂y_j² = 0`: `L` is linear in the target.
#[inline(always)]
fn curv_target<T: Real>(_e: &[T], _y: &[T], _g: T, ddy: &mut [T], accumulate: bool) {
    linear_in_target(ddy, accumulate)
}

loss_kernels!(f32, "energy", [], "");
loss_kernels!(f64, "energy", [], "");

#[cfg(test)]
mod tests {
    use crate::loss::tests::{check_loss, check_loss_curv, check_loss_inner};

    #[test]
    fn the_energy_of_the_correct_answer() {
        let mut l = [0.0];
        super::f64::fprop(&[0.5, -2.0, 3.0], &[0.0, 0.0, 1.0], &mut l);
        assert_eq!(l, [3.0]);
        let mut l = [0.0f32];
        super::f32::fprop(&[0.5, -2.0, 3.0], &[0.0, 1.0, 0.0], &mut l);
        assert_eq!(l, [-2.0]);
    }

    #[test]
    fn bprop_matches_finite_differences() {
        check_loss!(
            crate::loss::energy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0]
        );
        // Soft labels.
        check_loss!(crate::loss::energy, [0.3, -1.2, 0.8], [0.2, 0.5, 0.3]);
    }

    /// `L` is linear: every second difference is rounding alone (`4 ε |L| / h² ≈ 1e-9` for
    /// `|L| ≤ 2` at step 1e-3; 5e-8 allowed), and bbprop writes exact zeros, in f32 too.
    #[test]
    fn bbprop_matches_finite_differences() {
        check_loss_curv!(
            crate::loss::energy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            5e-8,
            0.0
        );
        check_loss_curv!(
            crate::loss::energy,
            [0.3, -1.2, 0.8],
            [0.2, 0.5, 0.3],
            5e-8,
            0.0
        );
    }

    /// The variant for a loss whose output feeds another module: `ddl · y_j²` to the energies
    /// and `ddl · E_j²` to the target, against the squared finite-difference Jacobian (relative
    /// 1e-6, see [`crate::loss::tests::INNER_TOL`]), one-hot and soft labels.
    #[test]
    fn bbprop_inner_is_the_squared_jacobian() {
        check_loss_inner!(
            crate::loss::energy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0]
        );
        check_loss_inner!(crate::loss::energy, [0.3, -1.2, 0.8], [0.2, 0.5, 0.3]);
        let mut dd = [9.0; 3];
        super::f64::bbprop_inner_target(&[0.5, -2.0, 3.0], &[0.0, 0.0, 1.0], &[2.0], &mut dd);
        assert_eq!(dd, [0.5, 8.0, 18.0]);
    }
}
