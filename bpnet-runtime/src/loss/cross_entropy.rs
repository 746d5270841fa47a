//! Softmax and cross-entropy over logits, for those who think in those terms: `L = −Σ_j y_j z_j +
//! log Σ_j e^(z_j) = −log softmax(z)_Y` for a one-hot target of class `Y`. It is the negative
//! log-likelihood ([`super::nll`]) of the energies `E = −z` at `β = 1`: the same loss, the same
//! gradient with the sign turned.
//!
//! `∂L/∂z_j = p_j − y_j` with `p = softmax(z)`, and `∂L/∂y_j = −z_j`. Second derivatives
//! (bbprop, with respect to the logits): `∂²L/∂z_j² = p_j (1 − p_j)`, and `∂²L/∂y_j² = 0`. Computed stably: the largest
//! logit `M` is subtracted before the exponentials, `L = Σ_j y_j (M − z_j) + (1 − Σ_j y_j) M +
//! log Σ_j e^(z_j − M)`.

use super::{Put, Real, gibbs_variance, linear_in_target, loss_kernels, shifted_sum};

#[inline(always)]
fn value<T: Real>(z: &[T], y: &[T]) -> T {
    let (big, s) = shifted_sum(z, -T::ONE);
    let (mut fit, mut mass) = (T::ZERO, T::ZERO);
    for (&zj, &yj) in z.iter().zip(y) {
        fit += yj * (big - zj);
        mass += yj;
    }
    fit + (T::ONE - mass) * big + s.ln()
}

#[inline(always)]
fn grad<T: Real>(z: &[T], y: &[T], g: T, dz: &mut [T], mode: Put<T>) {
    let (big, s) = shifted_sum(z, -T::ONE);
    for ((d, &zj), &yj) in dz.iter_mut().zip(z).zip(y) {
        let p = (zj - big).exp() / s;
        mode.put(d, (p - yj) * g);
    }
}

#[inline(always)]
fn grad_target<T: Real>(z: &[T], _y: &[T], g: T, dy: &mut [T], mode: Put<T>) {
    for (d, &zj) in dy.iter_mut().zip(z) {
        mode.put(d, -zj * g);
    }
}

/// `∂²L/∂z_j² = p_j (1 − p_j)`, times `g`.
#[inline(always)]
fn curv<T: Real>(z: &[T], _y: &[T], g: T, ddz: &mut [T], accumulate: bool) {
    gibbs_variance(z, -T::ONE, g, ddz, accumulate)
}

/// `∂²L/∂y_j² = 0`: `L` is linear in the target.
#[inline(always)]
fn curv_target<T: Real>(_z: &[T], _y: &[T], _g: T, ddy: &mut [T], accumulate: bool) {
    linear_in_target(ddy, accumulate)
}

loss_kernels!(
    f32,
    "cross_entropy",
    [],
    " The first argument holds logits (higher is better), not energies."
);
loss_kernels!(
    f64,
    "cross_entropy",
    [],
    " The first argument holds logits (higher is better), not energies."
);

#[cfg(test)]
mod tests {
    use crate::loss::tests::{check_loss, check_loss_curv, check_loss_inner};

    #[test]
    fn is_the_nll_of_minus_the_logits() {
        let z = [0.5, -1.0, 2.0, 0.25];
        let e: Vec<f64> = z.iter().map(|v| -v).collect();
        for y in [[0.0, 0.0, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4]] {
            let (mut a, mut b) = ([0.0], [0.0]);
            super::f64::fprop(&z, &y, &mut a);
            crate::loss::nll::f64::fprop(&e, &y, &mut b, 1.0);
            assert!((a[0] - b[0]).abs() < 1e-15, "{a:?} {b:?}");
            let (mut dz, mut de) = ([0.0; 4], [0.0; 4]);
            super::f64::bprop(&z, &y, &[1.0], &mut dz);
            crate::loss::nll::f64::bprop(&e, &y, &[1.0], &mut de, 1.0);
            for (p, q) in dz.iter().zip(&de) {
                assert!((p + q).abs() < 1e-15);
            }
        }
        let mut l = [0.0f32];
        super::f32::fprop(&[1000.0, -1000.0], &[0.0, 1.0], &mut l);
        assert_eq!(l, [2000.0]);
    }

    #[test]
    fn bprop_matches_finite_differences() {
        check_loss!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0]
        );
        check_loss!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8],
            [0.2, 0.5, 0.3]
        );
    }

    /// `p (1 − p)` against second differences in the logits; tolerance as for the nll at `β = 1`
    /// (`|L⁗| ≤ 1/4`, so truncation 2.1e-8, plus rounding 1.3e-8), `f32` within 3e-7 (as for the
    /// nll).
    #[test]
    fn bbprop_matches_finite_differences() {
        check_loss_curv!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0],
            6e-8,
            3e-7
        );
        check_loss_curv!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8],
            [0.2, 0.5, 0.3],
            6e-8,
            3e-7
        );
    }

    /// The curvature in the logits `z` is the nll's in the energies `−z` at `β = 1`, bit for bit,
    /// and does not depend on the target.
    #[test]
    fn bbprop_is_the_nll_of_minus_the_logits() {
        let z = [0.5, -1.0, 2.0, 0.25, 30.0];
        let e: Vec<f64> = z.iter().map(|v| -v).collect();
        let (mut ddz, mut dde, mut other) = ([0.0; 5], [0.0; 5], [0.0; 5]);
        super::f64::bbprop(&z, &[0.0, 0.0, 1.0, 0.0, 0.0], &[1.3], &mut ddz);
        crate::loss::nll::f64::bbprop(&e, &[0.0, 0.0, 1.0, 0.0, 0.0], &[1.3], &mut dde, 1.0);
        super::f64::bbprop(&z, &[0.2; 5], &[1.3], &mut other);
        assert_eq!(ddz, dde);
        assert_eq!(ddz, other);
        assert!(ddz.iter().all(|&v| v > 0.0), "{ddz:?}");
    }

    /// The variant for a loss whose output feeds another module: `ddl · (p_j − y_j)²` to the
    /// logits and `ddl · z_j²` to the target, against the squared finite-difference Jacobian
    /// (relative 1e-6, see [`crate::loss::tests::INNER_TOL`]); in the logits, the nll's of `−z`
    /// at `β = 1`.
    #[test]
    fn bbprop_inner_is_the_squared_jacobian() {
        check_loss_inner!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8, 2.0],
            [0.0, 1.0, 0.0, 0.0]
        );
        check_loss_inner!(
            crate::loss::cross_entropy,
            [0.3, -1.2, 0.8],
            [0.2, 0.5, 0.3]
        );
        let z = [0.5, -1.0, 2.0, 0.25];
        let e: Vec<f64> = z.iter().map(|v| -v).collect();
        let y = [0.0, 0.0, 1.0, 0.0];
        let (mut ddz, mut dde) = ([0.0; 4], [0.0; 4]);
        super::f64::bbprop_inner(&z, &y, &[1.3], &mut ddz);
        crate::loss::nll::f64::bbprop_inner(&e, &y, &[1.3], &mut dde, 1.0);
        assert!(
            crate::testing::rel_err(&ddz, &dde) < 1e-15,
            "{ddz:?} {dde:?}"
        );
    }
}
