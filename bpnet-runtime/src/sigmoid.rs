//! The logistic sigmoid module with trainable biases, the lecture's other sigmoid:
//! `(X_out)_i = σ((X_in)_i + B_i)`, `σ(z) = 1 / (1 + e^(−z))`, with outputs in `(0, 1)`.
//!
//! bprop uses the saved output: `σ'(z) = y (1 − y)`. The API is the one of [`crate::tanh`].
//!
//! `f32` computes `σ(z) = ½ + ½ tanh(z / 2)` with the rational tanh of [`crate::approx::tanh`],
//! which vectorises: within 1.8e-7 of the exact value (plus the rounding of the last add);
//! `σ(z)` is exactly 0 or 1 beyond `|z| > 18`, where the exact value is within 1.6e-8 of them.
//! `f64` computes `1 / (1 + e^(−z))` with libm's `exp`.

use crate::bias_act::bias_activation_kernels;

#[inline(always)]
fn sigmoid_f32(z: f32) -> f32 {
    0.5 * crate::approx::tanh(0.5 * z) + 0.5
}

#[inline(always)]
fn sigmoid_f64(z: f64) -> f64 {
    1.0 / (1.0 + crate::Float::exp(-z))
}

#[inline(always)]
fn slope_f32(y: f32) -> f32 {
    y * (1.0 - y)
}

#[inline(always)]
fn slope_f64(y: f64) -> f64 {
    y * (1.0 - y)
}

/// The batch's pass, compiled for the CPU's widest vectors (`wide::map_f32`).
#[cfg(target_arch = "x86_64")]
fn wide_f32(y: &mut [f32]) -> bool {
    crate::wide::map_f32(y, sigmoid_f32)
}

#[cfg(target_arch = "x86_64")]
bias_activation_kernels!(
    f32,
    "sigmoid",
    super::sigmoid_f32,
    super::slope_f32,
    Some(super::wide_f32)
);
#[cfg(not(target_arch = "x86_64"))]
bias_activation_kernels!(f32, "sigmoid", super::sigmoid_f32, super::slope_f32, None);
bias_activation_kernels!(f64, "sigmoid", super::sigmoid_f64, super::slope_f64, None);

#[cfg(test)]
mod tests {
    crate::bias_act::bias_activation_tests!(crate::sigmoid, 3e-7);

    #[test]
    fn values() {
        let mut y = [0.0; 4];
        super::f64::fprop(&[0.0, 1.0, 0.0, -1.0], &[0.0, -1.0, 2.0, -40.0], &mut y);
        assert_eq!(y[0], 0.5);
        assert_eq!(y[1], 0.5);
        assert!((y[2] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-16);
        assert!(y[3] > 0.0 && y[3] < 1e-17);
        let mut y = [0.0f32; 3];
        super::f32::fprop(&[0.0; 3], &[0.0, 30.0, -30.0], &mut y);
        assert_eq!(y, [0.5, 1.0, 0.0]);
    }

    /// The second-derivative kernels.
    mod bbprop {
        // f32's σ is within 1.8e-7 (+ rounding), so f' = y (1 − y) within 2.4e-7 and f'² (at
        // most 1/16) within 2 · ¼ · 2.4e-7 ≈ 1.2e-7, plus rounding.
        crate::bias_act::bias_activation_bbprop_tests!(crate::sigmoid, 3e-7);
    }

    /// The bias-free kernels.
    mod nobias {
        // Tolerances of f32 against f64: the outputs' as in the tests above, and `dx`, `ddx` per
        // unit of `dy` those of the bbprop tests (the slope's error is at most the one of f'²).
        crate::bias_act::bias_activation_nobias_tests!(crate::sigmoid, 3e-7, 3e-7);
    }
}
