//! A fast `f32` tanh: a rational function the compiler can vectorise, in place of libm's
//! `tanhf`, which is a scalar call and was most of the time of a per-sample training step.
//!
//! `tanh(x) ≈ x · P(x²) / Q(x²)` with `P` of degree 6 and `Q` of degree 3 in `x²`, fitted on
//! `[0, 9]` for the least maximum relative error (Lawson's iteration on a linearised least-squares
//! fit; the fit alone errs by 7e-9). Evaluated in `f32` with separate multiplies and adds (no FMA,
//! so every CPU gives the same bits), its error against the exact tanh, measured over every `f32`
//! in `[0, 10]` (the function is odd), is at most **3.6e-7 absolute (3.54e-7 at x = 6.108), 5.93
//! units in the last place, 0.078 ULP on average**; it differs from libm's `tanhf` (under 1 ULP
//! itself) by at most 3.6e-7. The worst cases lie between |x| = 5 and 7.5, where the result is
//! within 1e-4 of ±1 and rounding cancels digits; the tests check that stretch value by value. Beyond `|x| > 9` the result is exactly ±1 (the
//! exact value rounds to ±1 in `f32` from 9.01 on), NaN stays NaN, and the function is odd, so
//! `tanh(-x) == -tanh(x)` bit for bit and `tanh(±0) = ±0`. See the tests below.
//!
//! `f64` networks keep libm's `tanh`: they are the ones gradients are checked with.

/// Beyond this |x| the result is ±1.
const LIMIT: f32 = 9.0;
/// `P(s) = Σ P[k] sᵏ`, `s = x²`.
const P: [f32; 7] = [
    1.0,
    0.130_840_27,
    0.003_103_975_4,
    1.115_450_7e-5,
    -2.022_602_2e-8,
    5.278_326_7e-11,
    -8.489_671_6e-14,
];
/// `Q(s) = Σ Q[k] sᵏ`.
const Q: [f32; 4] = [1.0, 0.464_173_56, 0.024_495_255, 2.546_173e-4];

/// tanh for `f32`, to 3.6e-7 (see the module documentation).
///
/// ```
/// let y = bpnet_runtime::approx::tanh(0.5);
/// assert!((y - 0.5f32.tanh()).abs() < 4e-7);
/// assert_eq!(bpnet_runtime::approx::tanh(20.0), 1.0);
/// ```
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    // Clamped so that P and Q stay finite; the result there is replaced below anyway.
    let c = x.clamp(-LIMIT, LIMIT);
    let s = c * c;
    let p = ((((((P[6] * s + P[5]) * s + P[4]) * s + P[3]) * s + P[2]) * s + P[1]) * s) + P[0];
    let q = (((Q[3] * s + Q[2]) * s + Q[1]) * s) + Q[0];
    // The fit overshoots 1 by an ULP in places; tanh never does.
    let y = (c * p / q).clamp(-1.0, 1.0);
    if x.abs() > LIMIT {
        1.0f32.copysign(x)
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::tanh;

    /// Units in the last place of the `f32` nearest to `v`.
    fn ulp(v: f64) -> f64 {
        let f = (v as f32).abs();
        (f32::from_bits(f.to_bits() + 1) - f) as f64
    }

    /// Every `f32` in `[5, 7.5]`, where the worst errors lie, and every 97th elsewhere in
    /// `[0, 10]` (and their negatives), against the exact tanh (libm's `f64` tanh, well within
    /// 0.5 ULP of `f32`) and against libm's `tanhf`.
    #[test]
    fn error_over_the_range() {
        let (mut max_abs, mut max_ulp, mut max_libm) = (0.0f64, 0.0f64, 0.0f32);
        let mut check = |x: f32| -> f64 {
            let y = tanh(x);
            let exact = (x as f64).tanh();
            let err = (y as f64 - exact).abs();
            max_abs = max_abs.max(err);
            let u = err / ulp(exact);
            max_ulp = max_ulp.max(u);
            max_libm = max_libm.max((y - x.tanh()).abs());
            u
        };
        // The mean over an even sample of the range.
        let (mut sum_ulp, mut n) = (0.0, 0usize);
        for bits in (0..=10.0f32.to_bits()).step_by(97) {
            let x = f32::from_bits(bits);
            sum_ulp += check(x) + check(-x);
            n += 2;
        }
        let mean = sum_ulp / n as f64;
        for bits in 5.0f32.to_bits()..=7.5f32.to_bits() {
            let x = f32::from_bits(bits);
            check(x);
            check(-x);
        }
        // The worst case, 3.54e-7 and 5.93 ULP at 6.108142, lies in the dense stretch.
        assert!(max_abs <= 3.6e-7, "max abs error {max_abs:e}");
        assert!(
            max_abs > 3.5e-7,
            "the worst case was not reached: {max_abs:e}"
        );
        assert!(max_ulp <= 6.0, "max error {max_ulp} ULP");
        assert!(max_libm <= 3.6e-7, "max difference from libm {max_libm:e}");
        assert!(mean <= 0.1, "mean error {mean} ULP");
    }

    /// Near zero tanh(x) = x: relative accuracy must hold where the absolute bound says nothing.
    #[test]
    fn relative_error_near_zero() {
        let mut x = f32::MIN_POSITIVE / 1024.0; // subnormal
        while x < 1.0 {
            let exact = (x as f64).tanh();
            let rel = ((tanh(x) as f64) - exact).abs() / exact;
            assert!(rel <= 2.5e-7, "tanh({x:e}): relative error {rel:e}");
            x *= 1.37;
        }
    }

    #[test]
    fn special_values() {
        assert!(tanh(f32::NAN).is_nan());
        assert!(tanh(-f32::NAN).is_nan());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh(f32::MAX), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        assert_eq!(tanh(9.5), 1.0);
        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        let tiny = f32::from_bits(1);
        assert_eq!(tanh(tiny), tiny);
        // Never outside [-1, 1].
        for bits in (0..=f32::INFINITY.to_bits()).step_by(4099) {
            let y = tanh(f32::from_bits(bits));
            assert!((-1.0..=1.0).contains(&y), "{y}");
        }
    }

    #[test]
    fn odd() {
        for bits in (0..=12.0f32.to_bits()).step_by(1009) {
            let x = f32::from_bits(bits);
            assert_eq!(tanh(-x).to_bits(), (-tanh(x)).to_bits(), "x = {x:e}");
        }
    }
}
