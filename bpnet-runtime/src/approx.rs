//! A fast `f32` tanh: a rational function the compiler can vectorise, in place of libm's
//! `tanhf`, which is a scalar call and was most of the time of a per-sample training step.
//!
//! `tanh(x) ≈ x · P(x²) / Q(x²)` with `P` of degree 6 and `Q` of degree 3 in `x²`, fitted on
//! `[0, 9]` for the least maximum relative error (Lawson's iteration on a linearised least-squares
//! fit; the fit alone errs by 7e-9). Evaluated in `f32` with separate multiplies and adds (no FMA,
//! so every CPU gives the same bits), its error against the exact tanh, over every 97th `f32` in
//! `[-10, 10]`, is at most **3.3e-7 absolute, 6 units in the last place, 0.08 ULP on average**
//! (libm's `tanhf` errs by under 1 ULP). The worst cases lie near `|x| = 7`, where the result is
//! within 2e-6 of ±1 and rounding cancels digits. Beyond `|x| > 9` the result is exactly ±1 (the
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

/// tanh for `f32`, to 3.3e-7 (see the module documentation).
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

    /// Every 97th `f32` in `[0, 10]` (and its negative), against the exact tanh (libm's `f64`
    /// tanh, 0.5 ULP of `f32` or better) and against libm's `tanhf`.
    #[test]
    fn error_over_the_range() {
        let end = 10.0f32.to_bits();
        let (mut max_abs, mut max_ulp, mut sum_ulp, mut n) = (0.0f64, 0.0f64, 0.0f64, 0usize);
        for bits in (0..=end).step_by(97) {
            let x = f32::from_bits(bits);
            for x in [x, -x] {
                let y = tanh(x);
                let exact = (x as f64).tanh();
                let err = (y as f64 - exact).abs();
                max_abs = max_abs.max(err);
                let u = err / ulp(exact);
                max_ulp = max_ulp.max(u);
                sum_ulp += u;
                n += 1;
                assert!(
                    (y - x.tanh()).abs() <= 4e-7,
                    "tanh({x:e}) = {y:e}, libm {:e}",
                    x.tanh()
                );
            }
        }
        let mean = sum_ulp / n as f64;
        assert!(max_abs <= 3.3e-7, "max abs error {max_abs:e}");
        assert!(max_ulp <= 6.0, "max error {max_ulp} ULP");
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
