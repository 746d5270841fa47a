//! The two element types a network can be declared with.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type of a network: `f32` (the default) or `f64`.
///
/// Sealed: the kernels are compiled once, in the runtime, for exactly these two types. It has the
/// arithmetic and the few functions a module's fprop and bprop need (`exp`, `ln`, `tanh`,
/// `sqrt`, `abs`, `max`, `min`, `powi`), each the standard library's for `f32` and `f64`, so a
/// module generic over the element type computes in it, without going through `f64`:
///
/// ```
/// # extern crate bpnet_runtime as bpnet;
/// use bpnet::Float;
///
/// /// The logistic function, in `f32` or `f64`.
/// fn sigmoid<F: Float>(x: F) -> F {
///     F::ONE / (F::ONE + (-x).exp())
/// }
/// assert_eq!(sigmoid(0.0f32), 0.5);
/// assert!((sigmoid(2.0f64) - 0.8807970779778823).abs() < 1e-15);
/// ```
pub trait Float:
    sealed::Sealed
    + Copy
    + Default
    + PartialEq
    + PartialOrd
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Machine epsilon of the type.
    const EPSILON: Self;
    /// The type's name, as written in Rust.
    const NAME: &'static str;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// `false` for NaN and the infinities.
    fn is_finite(self) -> bool;
    /// `e` to the power `self`.
    fn exp(self) -> Self;
    /// The natural logarithm (NaN for negative values, −∞ for 0).
    fn ln(self) -> Self;
    /// The hyperbolic tangent (the standard library's, not the kernels' rational approximation).
    fn tanh(self) -> Self;
    /// The square root (NaN for negative values).
    fn sqrt(self) -> Self;
    /// The absolute value.
    fn abs(self) -> Self;
    /// The larger of the two; if one is NaN, the other.
    fn max(self, other: Self) -> Self;
    /// The smaller of the two; if one is NaN, the other.
    fn min(self, other: Self) -> Self;
    /// `self` to the integer power `n`.
    fn powi(self, n: i32) -> Self;
    /// `ln(1 + self)`, accurate for small values.
    fn ln_1p(self) -> Self;
}

/// Whether [`Float`]'s `exp`, `ln`, `tanh`, `sqrt`, `ln_1p` and `powi` are `libm`'s (without std,
/// or with the `libm` feature) rather than std's. Both are compiled in every build with std, the
/// other behind this constant, so that the tests check the choice itself.
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) const LIBM: bool = cfg!(any(feature = "libm", not(feature = "std")));

/// `x` to the power `n` without std, by repeated squaring: the algorithm of compiler-rt's
/// `__powisf2`, which std's `powi` calls, so that the two builds agree.
#[inline]
fn powi_by_squaring<F: Float>(mut x: F, n: i32) -> F {
    let mut b = n.unsigned_abs();
    let mut r = F::ONE;
    loop {
        if b & 1 == 1 {
            r *= x;
        }
        b /= 2;
        if b == 0 {
            break;
        }
        x *= x;
    }
    if n < 0 { F::ONE / r } else { r }
}

macro_rules! impl_float {
    ($t:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const EPSILON: Self = $t::EPSILON;
            const NAME: &'static str = stringify!($t);
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::exp(self);
                }
                libm::Libm::<$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::ln(self);
                }
                libm::Libm::<$t>::log(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::tanh(self);
                }
                libm::Libm::<$t>::tanh(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::sqrt(self);
                }
                libm::Libm::<$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                $t::min(self, other)
            }
            #[inline(always)]
            fn powi(self, n: i32) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::powi(self, n);
                }
                powi_by_squaring(self, n)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                #[cfg(feature = "std")]
                if !LIBM {
                    return $t::ln_1p(self);
                }
                libm::Libm::<$t>::log1p(self)
            }
        }
    };
}
impl_float!(f32);
impl_float!(f64);

#[cfg(test)]
mod tests {
    use super::Float;

    /// Each function through the trait, generic code as a module's, against the inherent method
    /// of the concrete type (bit for bit: the same function).
    fn functions<F: Float>(x: F, y: F) -> [F; 8] {
        [
            x.exp(),
            x.abs().ln(),
            x.tanh(),
            x.abs().sqrt(),
            x.abs(),
            x.max(y),
            x.min(y),
            x.powi(3),
        ]
    }

    #[cfg(not(feature = "libm"))]
    #[test]
    fn the_functions_are_the_standard_ones_in_both_types() {
        for (x, y) in [(-1.25f64, 0.5f64), (0.75, -2.0), (3.0, 3.0)] {
            let want = [
                x.exp(),
                x.abs().ln(),
                x.tanh(),
                x.abs().sqrt(),
                x.abs(),
                x.max(y),
                x.min(y),
                x.powi(3),
            ];
            assert_eq!(functions(x, y), want);
            let (a, b) = (x as f32, y as f32);
            let want32 = [
                a.exp(),
                a.abs().ln(),
                a.tanh(),
                a.abs().sqrt(),
                a.abs(),
                a.max(b),
                a.min(b),
                a.powi(3),
            ];
            assert_eq!(functions(a, b), want32);
        }
        assert_eq!(Float::max(f64::NAN, 1.0), 1.0);
        assert_eq!(Float::min(2.0f32, f32::NAN), 2.0);
        assert!((Float::ln(Float::exp(0.3f64)) - 0.3).abs() < 1e-15);
    }

    /// The functions are libm's exactly when [`super::LIBM`] says so (the `libm` feature, or no
    /// std), so that a network trained with the feature gives the bits of one deployed without
    /// std; otherwise the system's. On 2,000 values, where the two differ on some (checked, so
    /// that this test sees a wrong choice).
    #[test]
    fn the_functions_are_libm_s_exactly_when_chosen() {
        let xs = (0..2000).map(|i| (i as f64 - 1000.0) * 0.0173 + 1e-3);
        let mut differ = false;
        for x in xs {
            let (y, a) = (x as f32, x.abs());
            let triples = [
                (Float::exp(x), libm::exp(x), x.exp()),
                (Float::ln(a), libm::log(a), a.ln()),
                (Float::tanh(x), libm::tanh(x), x.tanh()),
                (Float::ln_1p(a), libm::log1p(a), a.ln_1p()),
                (Float::exp(y) as f64, libm::expf(y) as f64, y.exp() as f64),
                (
                    Float::tanh(y) as f64,
                    libm::tanhf(y) as f64,
                    y.tanh() as f64,
                ),
            ];
            for (got, libm, system) in triples {
                let want = if super::LIBM { libm } else { system };
                assert_eq!(got.to_bits(), want.to_bits(), "{x}");
                differ |= system.to_bits() != libm.to_bits();
            }
        }
        // glibc's functions are not musl's (of which `libm` is a port): there, a wrong choice
        // shows.
        if cfg!(target_env = "gnu") {
            assert!(differ, "the system's functions gave libm's bits everywhere");
        }
    }

    /// The `powi` of builds without std (or with `libm`) gives std's bits.
    #[test]
    fn powi_by_squaring_is_std_s() {
        for x in [-1.25f64, 0.75, 3.0, 1.1, -0.3, 7.5e-3] {
            for n in -9..=9 {
                let got = super::powi_by_squaring(x, n);
                assert_eq!(got.to_bits(), x.powi(n).to_bits(), "{x}^{n}");
                let y = x as f32;
                let got = super::powi_by_squaring(y, n);
                assert_eq!(got.to_bits(), y.powi(n).to_bits(), "{y}^{n}");
            }
        }
    }
}
