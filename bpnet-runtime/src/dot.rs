//! The dot product of the per-sample Linear fprop, in 8 partial sums.
//!
//! `Σ_j a_j b_j` with term `j` added into partial sum `j mod 8` (the terms after the last
//! multiple of 8 into the first sums), then the sums added pairwise: `q_l = s_l + s_{l+4}`, then
//! `(q_0 + q_2) + (q_1 + q_3)`. A single running sum fixes the order of every addition, and the
//! compiler may not reorder floating-point additions, so it stays one scalar addition after the
//! other; 8 sums fill vector registers. The order is the definition: every `f32` path below
//! (SSE on x86_64, plain arrays elsewhere) gives the same bits, which the tests check. `f64`
//! keeps one running sum (see [`mod@f64`]).
//!
//! The `f32` partial sums start at `−0.0`, the additive identity: `−0 + p` is `p` for every `p`,
//! so the compiler drops the first addition of each sum, where `+0 + p` is an addition it must
//! keep (it turns `p = −0` into `+0`). On XOR's 2-8-1 step that is one addition less in each
//! of fprop's two products, on a chain of dependent operations. The result differs from sums
//! started at `+0.0` only in the sign of a zero sum.
//!
//! Written with explicit SSE for `f32` on x86_64 because the compiler, left to vectorise the
//! plain version after unrolling a layer's rows, packed it two lanes wide or across rows
//! (measured: the 64-32-10 step's fprop took twice the hand-written one's).

/// `Σ_j a_j b_j` in 8 partial sums, as plain arrays: the definition.
#[inline(always)]
fn dot_lanes<T>(a: &[T], b: &[T]) -> T
where
    T: Copy
        + Default
        + core::ops::Add<Output = T>
        + core::ops::Mul<Output = T>
        + core::ops::Neg<Output = T>,
{
    let mut s = [-T::default(); 8];
    let (ac, at) = a.as_chunks::<8>();
    let (bc, bt) = b.as_chunks::<8>();
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..8 {
            s[l] = s[l] + x[l] * y[l];
        }
    }
    for (l, (x, y)) in at.iter().zip(bt).enumerate() {
        s[l] = s[l] + *x * *y;
    }
    reduce(s)
}

/// `(q_0 + q_2) + (q_1 + q_3)` with `q_l = s_l + s_{l+4}`.
#[inline(always)]
fn reduce<T: Copy + core::ops::Add<Output = T>>(s: [T; 8]) -> T {
    let q = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    (q[0] + q[2]) + (q[1] + q[3])
}

/// The `f32` dot products.
pub mod f32 {
    /// `Σ_j a_j b_j` over the shorter of the two, in 8 partial sums (see the module docs).
    ///
    /// ```
    /// let a = [1.0f32; 10];
    /// let b: Vec<f32> = (0..10).map(|j| j as f32).collect();
    /// assert_eq!(bpnet_runtime::dot::f32::dot(&a, &b), 45.0);
    /// ```
    #[inline(always)]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        {
            let [s] = super::sse::dots([a], b);
            s
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            super::dot_lanes(a, b)
        }
    }

    /// [`dot`] of rows of a known length `N`: below 8 terms, as plain arrays, which the compiler
    /// vectorises across a layer's rows (a vector loop over 8 terms has nothing to do there).
    #[inline(always)]
    pub fn dot_n<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
        if N < 8 {
            super::dot_lanes(a, b)
        } else {
            dot(a, b)
        }
    }

    /// The dots of two rows with the same `b`, each the same bits as [`dot`]: two chains of
    /// additions in flight instead of one, which a single dot's latency leaves idle.
    #[inline(always)]
    pub fn dot2(a0: &[f32], a1: &[f32], b: &[f32]) -> (f32, f32) {
        #[cfg(target_arch = "x86_64")]
        {
            let [s0, s1] = super::sse::dots([a0, a1], b);
            (s0, s1)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            (super::dot_lanes(a0, b), super::dot_lanes(a1, b))
        }
    }
}

/// The `f64` dot products: one running sum, from the first term to the last. `f64` networks are
/// the ones gradients are checked with, and this order is the one of the `f64` matrix product
/// of the minibatch path (no fused multiply-add there either), so a sample gives the same bits
/// alone and in a minibatch.
pub mod f64 {
    /// `Σ_j a_j b_j` over the shorter of the two, one running sum.
    #[inline(always)]
    pub fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).fold(0.0, |s, (x, y)| s + x * y)
    }

    /// [`dot`] of rows of a known length.
    #[inline(always)]
    pub fn dot_n<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
        dot(a, b)
    }

    /// The dots of two rows with the same `b`, each the same bits as [`dot`].
    #[inline(always)]
    pub fn dot2(a0: &[f64], a1: &[f64], b: &[f64]) -> (f64, f64) {
        (dot(a0, b), dot(a1, b))
    }
}

#[cfg(target_arch = "x86_64")]
mod sse {
    use core::arch::x86_64::_mm_storeu_ps;
    use core::arch::x86_64::{__m128, _mm_add_ps, _mm_loadu_ps, _mm_mul_ps, _mm_set1_ps};

    /// The dots of `R` rows with `b`, over the shortest length, interleaved: partial sums
    /// `0..4` of row `r` in `lo[r]`, `4..8` in `hi[r]`.
    #[inline(always)]
    pub(super) fn dots<const R: usize>(rows: [&[f32]; R], b: &[f32]) -> [f32; R] {
        let n = rows.iter().fold(b.len(), |n, r| n.min(r.len()));
        let full = n / 8 * 8;
        // SAFETY: SSE is part of x86_64; every load reads 4 values at `j` or `j + 4` with
        // `j + 8 <= full <= n`, inside each row and `b`.
        let (lo, hi) = unsafe {
            let mut lo: [__m128; R] = [_mm_set1_ps(-0.0); R];
            let mut hi: [__m128; R] = [_mm_set1_ps(-0.0); R];
            let mut j = 0;
            while j < full {
                let b0 = _mm_loadu_ps(b.as_ptr().add(j));
                let b1 = _mm_loadu_ps(b.as_ptr().add(j + 4));
                for r in 0..R {
                    let a = rows[r].as_ptr().add(j);
                    lo[r] = _mm_add_ps(lo[r], _mm_mul_ps(_mm_loadu_ps(a), b0));
                    hi[r] = _mm_add_ps(hi[r], _mm_mul_ps(_mm_loadu_ps(a.add(4)), b1));
                }
                j += 8;
            }
            (lo, hi)
        };
        let mut out = [0.0f32; R];
        for r in 0..R {
            let mut s = [-0.0f32; 8];
            // SAFETY: SSE is part of x86_64; `s` has room for the 8 values stored.
            unsafe {
                _mm_storeu_ps(s.as_mut_ptr(), lo[r]);
                _mm_storeu_ps(s.as_mut_ptr().add(4), hi[r]);
            }
            for l in 0..n - full {
                s[l] += rows[r][full + l] * b[full + l];
            }
            out[r] = super::reduce(s);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::dot_lanes;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    /// Every length from 0 to 80: the `f32` paths give the definition's bits, one row or two.
    #[test]
    fn the_paths_agree_bit_for_bit() {
        let mut rng = StdRng::seed_from_u64(8);
        for n in 0..=80 {
            let v = |rng: &mut StdRng| -> Vec<f32> {
                (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
            };
            let (a0, a1, b) = (v(&mut rng), v(&mut rng), v(&mut rng));
            let want0 = dot_lanes(&a0, &b);
            let want1 = dot_lanes(&a1, &b);
            assert_eq!(
                super::f32::dot(&a0, &b).to_bits(),
                want0.to_bits(),
                "n = {n}"
            );
            let (g0, g1) = super::f32::dot2(&a0, &a1, &b);
            assert_eq!(
                (g0.to_bits(), g1.to_bits()),
                (want0.to_bits(), want1.to_bits()),
                "n = {n}"
            );
        }
    }

    /// The `f32` sums start at −0.0: a sum of negative zeros is −0.0 on every path and length
    /// (started at +0.0, it would be +0.0), and a sum of zeros of both signs is +0.0.
    #[test]
    fn a_sum_of_negative_zeros_is_negative_zero() {
        for n in [1, 2, 7, 8, 9, 17] {
            let (a, b) = (vec![-0.0f32; n], vec![1.0f32; n]);
            assert!(dot_lanes(&a, &b).is_sign_negative(), "n = {n}");
            assert!(super::f32::dot(&a, &b).is_sign_negative(), "n = {n}");
            let (g0, g1) = super::f32::dot2(&a, &a, &b);
            assert!(g0.is_sign_negative() && g1.is_sign_negative(), "n = {n}");
            let mut mixed = a.clone();
            mixed[n - 1] = 0.0;
            assert!(super::f32::dot(&mixed, &b).is_sign_positive(), "n = {n}");
        }
        let (a, b) = ([-0.0f32; 3], [2.0f32; 3]);
        assert!(super::f32::dot_n(&a, &b).is_sign_negative());
    }

    /// The definition is the dot product, and its order is the one documented: the 8 sums
    /// differ from one running sum on values where the order shows.
    #[test]
    fn the_definition_is_the_dot_product_in_eight_sums() {
        let mut rng = StdRng::seed_from_u64(9);
        for n in [1, 7, 8, 9, 33, 64] {
            let a: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot_lanes(&a, &b) - exact).abs() < 1e-12, "n = {n}");
            assert_eq!(super::f64::dot(&a, &b), exact, "n = {n}: one running sum");
        }
        // ±1e8 in sum 0, ones elsewhere: one running sum loses the 7 ones added to 1e8 (1e8 + 1
        // rounds to 1e8 in f32) and keeps the 8 after −1e8; the 8 sums keep all 15.
        let mut a = vec![1.0f32; 17];
        a[0] = 1e8;
        a[8] = -1e8;
        let b = vec![1.0f32; 17];
        let running: f32 = a.iter().sum();
        assert_eq!(running, 8.0);
        assert_eq!(super::f32::dot(&a, &b), 15.0);
    }
}
