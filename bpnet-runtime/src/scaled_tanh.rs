//! LeCun's scaled tanh with trainable biases: `(X_out)_i = A tanh(S ((X_in)_i + B_i))` with
//! `A = 1.7159` and `S = 2/3` (*Efficient BackProp*, 1998). The constants make `f(±1) ≈ ±1` and
//! the gain largest around there, so it is meant for targets of ±1: they lie inside the range
//! `(−A, A)`, where the derivative is not yet small, instead of at its asymptotes.
//!
//! bprop uses the saved output: `f'(z) = A S (1 − tanh²) = (S / A) (A² − y²)`. The API is the
//! one of [`crate::tanh`].
//!
//! `f32` computes the tanh with [`crate::approx::tanh`] (within 3.6e-7, so the output within
//! 6.2e-7 of `A tanh`), `f64` with libm's `tanh`.

use crate::bias_act::bias_activation_kernels;

/// The amplitude `A`.
pub const AMPLITUDE: f64 = 1.7159;
/// The input scale `S`.
pub const SCALE: f64 = 2.0 / 3.0;

#[inline(always)]
fn scaled_tanh_f32(z: f32) -> f32 {
    AMPLITUDE as f32 * crate::approx::tanh(SCALE as f32 * z)
}

#[inline(always)]
fn scaled_tanh_f64(z: f64) -> f64 {
    AMPLITUDE * crate::Float::tanh(SCALE * z)
}

#[inline(always)]
fn slope_f32(y: f32) -> f32 {
    const A2: f32 = (AMPLITUDE * AMPLITUDE) as f32;
    const S_OVER_A: f32 = (SCALE / AMPLITUDE) as f32;
    S_OVER_A * (A2 - y * y)
}

#[inline(always)]
fn slope_f64(y: f64) -> f64 {
    const A2: f64 = AMPLITUDE * AMPLITUDE;
    const S_OVER_A: f64 = SCALE / AMPLITUDE;
    S_OVER_A * (A2 - y * y)
}

/// The batch's pass, compiled for the CPU's widest vectors (`wide::map_f32`).
#[cfg(target_arch = "x86_64")]
fn wide_f32(y: &mut [f32]) -> bool {
    crate::wide::map_f32(y, scaled_tanh_f32)
}

#[cfg(target_arch = "x86_64")]
bias_activation_kernels!(
    f32,
    "scaled_tanh",
    super::scaled_tanh_f32,
    super::slope_f32,
    Some(super::wide_f32)
);
#[cfg(not(target_arch = "x86_64"))]
bias_activation_kernels!(
    f32,
    "scaled_tanh",
    super::scaled_tanh_f32,
    super::slope_f32,
    None
);
bias_activation_kernels!(
    f64,
    "scaled_tanh",
    super::scaled_tanh_f64,
    super::slope_f64,
    None
);

#[cfg(test)]
mod tests {
    crate::bias_act::bias_activation_tests!(crate::scaled_tanh, 1e-6);

    use super::{AMPLITUDE, SCALE};

    #[test]
    fn values() {
        let mut y = [0.0; 3];
        super::f64::fprop(&[0.0, 0.5, -0.5], &[0.0, 0.5, -0.5], &mut y);
        assert_eq!(y[0], 0.0);
        // f(1) ≈ 1 and f(−1) ≈ −1: what the constants are for.
        assert!((y[1] - 1.0).abs() < 2e-4, "{}", y[1]);
        assert_eq!(y[2], -y[1]);
        assert_eq!(y[1], AMPLITUDE * crate::Float::tanh(SCALE));
        let mut y = [0.0f32; 2];
        super::f32::fprop(&[0.0; 2], &[40.0, -40.0], &mut y);
        assert_eq!(y, [AMPLITUDE as f32, -AMPLITUDE as f32]);
    }

    /// The second-derivative kernels.
    mod bbprop {
        // f32's output is within 6.2e-7, so f' = (S/A)(A² − y²) within 8.3e-7 and f'² (f' at
        // most A S ≈ 1.14) within 2 · 1.14 · 8.3e-7 ≈ 1.9e-6, plus rounding.
        crate::bias_act::bias_activation_bbprop_tests!(crate::scaled_tanh, 3e-6);
    }

    /// The bias-free kernels.
    mod nobias {
        // Tolerances of f32 against f64: the outputs' as in the tests above, and `dx`, `ddx` per
        // unit of `dy` those of the bbprop tests (the slope's error is at most the one of f'²).
        crate::bias_act::bias_activation_nobias_tests!(crate::scaled_tanh, 1e-6, 3e-6);
    }
}
