//! A packed matrix product for minibatches: `C = β·C + A·B` on row-major or transposed operands,
//! with its packing buffers reserved in advance, so a training step allocates nothing.
//!
//! The classic blocking (Goto): panels of `B` packed `NR` columns wide, blocks of `A` packed `MR`
//! rows tall, and an `MR × NR` register tile accumulated over `KC` steps. For `f32` on a CPU with
//! AVX-512 the tile is written with intrinsics (16 accumulators of 16 lanes); elsewhere it is
//! plain Rust.

use crate::Float;

const KC: usize = 256;
const MC: usize = 64;
const NC: usize = 2048;
const MAX_MR: usize = 8;
const MAX_NR: usize = 32;

/// Packing buffers for the products of a minibatch, reserved with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GemmScratch<F> {
    a: Vec<F>,
    b: Vec<F>,
}

impl<F: Float> GemmScratch<F> {
    /// Empty buffers (they grow on first use unless reserved).
    pub fn new() -> Self {
        Self {
            a: Vec::new(),
            b: Vec::new(),
        }
    }

    /// Makes room for products with up to `k` inner and `n` output columns, so that the
    /// products allocate nothing.
    pub fn reserve(&mut self, k: usize, n: usize) {
        let kc = k.clamp(1, KC);
        let nc = n.clamp(1, NC).div_ceil(MAX_NR) * MAX_NR;
        let (a, b) = (MC.div_ceil(MAX_MR) * MAX_MR * kc, kc * nc);
        if self.a.len() < a {
            self.a.resize(a, F::ZERO);
        }
        if self.b.len() < b {
            self.b.resize(b, F::ZERO);
        }
    }
}

/// The `f32` tile with AVX-512: `c[i][j] += Σ_p a[p][i] · b[p][j]` for an 8 × 32 tile.
///
/// # Safety
/// The CPU has AVX-512F; `a` holds `kc·8` and `b` `kc·32` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn tile_f32_avx512(kc: usize, a: &[f32], b: &[f32]) -> [[f32; 32]; 8] {
    use std::arch::x86_64::*;
    debug_assert!(a.len() >= kc * 8 && b.len() >= kc * 32);
    let mut acc = [[_mm512_setzero_ps(); 2]; 8];
    let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
    for _ in 0..kc {
        // SAFETY: within the kc·8 and kc·32 values the caller guarantees.
        unsafe {
            let b0 = _mm512_loadu_ps(pb);
            let b1 = _mm512_loadu_ps(pb.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*pa.add(i));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            pa = pa.add(8);
            pb = pb.add(32);
        }
    }
    let mut out = [[0.0f32; 32]; 8];
    for (o, row) in out.iter_mut().zip(&acc) {
        // SAFETY: `o` has 32 values.
        unsafe {
            _mm512_storeu_ps(o.as_mut_ptr(), row[0]);
            _mm512_storeu_ps(o.as_mut_ptr().add(16), row[1]);
        }
    }
    out
}

macro_rules! gemm_impl {
    ($t:ident, $mr:expr, $nr:expr, $fast:expr) => {
        #[doc = concat!("The matrix product for `", stringify!($t), "`.")]
        pub mod $t {
            use super::{GemmScratch, KC, MC, NC};

            const MR: usize = $mr;
            const NR: usize = $nr;

            /// The tile in plain Rust.
            #[inline(always)]
            fn tile(kc: usize, a: &[$t], b: &[$t]) -> [[$t; NR]; MR] {
                let mut acc = [[0.0; NR]; MR];
                for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
                    for i in 0..MR {
                        for j in 0..NR {
                            acc[i][j] += ap[i] * bp[j];
                        }
                    }
                }
                acc
            }

            #[inline]
            fn run_tile(kc: usize, a: &[$t], b: &[$t]) -> [[$t; NR]; MR] {
                let fast: Option<fn(usize, &[$t], &[$t]) -> Option<[[$t; NR]; MR]>> = $fast;
                if let Some(f) = fast
                    && let Some(t) = f(kc, a, b)
                {
                    return t;
                }
                tile(kc, a, b)
            }

            /// `C = β·C + A·B`: `A` is `m × k` with element `(i, p)` at `a[i·rsa + p·csa]`, `B`
            /// is `k × n` with element `(p, j)` at `b[p·rsb + j·csb]`, `C` is `m × n` row-major.
            /// `β` is 0 (overwrite) or 1 (accumulate).
            ///
            /// # Panics
            /// If an operand is too short for its shape and strides.
            #[allow(clippy::too_many_arguments)]
            pub fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                (rsa, csa): (usize, usize),
                b: &[$t],
                (rsb, csb): (usize, usize),
                beta: $t,
                c: &mut [$t],
                scratch: &mut GemmScratch<$t>,
            ) {
                if m == 0 || n == 0 {
                    return;
                }
                assert!(c.len() >= m * n, "gemm: C is too short");
                let c = &mut c[..m * n];
                if beta == 0.0 {
                    c.fill(0.0);
                }
                if k == 0 {
                    return;
                }
                assert!(
                    a.len() > (m - 1) * rsa + (k - 1) * csa,
                    "gemm: A is too short"
                );
                assert!(
                    b.len() > (k - 1) * rsb + (n - 1) * csb,
                    "gemm: B is too short"
                );
                scratch.reserve(k, n);
                let GemmScratch { a: apack, b: bpack } = scratch;
                for jc in (0..n).step_by(NC) {
                    let nc = NC.min(n - jc);
                    let strips_n = nc.div_ceil(NR);
                    for pc in (0..k).step_by(KC) {
                        let kc = KC.min(k - pc);
                        for s in 0..strips_n {
                            let dst = &mut bpack[s * kc * NR..(s + 1) * kc * NR];
                            for p in 0..kc {
                                let row = (pc + p) * rsb;
                                for jj in 0..NR {
                                    let j = s * NR + jj;
                                    dst[p * NR + jj] =
                                        if j < nc { b[row + (jc + j) * csb] } else { 0.0 };
                                }
                            }
                        }
                        for ic in (0..m).step_by(MC) {
                            let mc = MC.min(m - ic);
                            let strips_m = mc.div_ceil(MR);
                            for s in 0..strips_m {
                                let dst = &mut apack[s * kc * MR..(s + 1) * kc * MR];
                                for p in 0..kc {
                                    let col = (pc + p) * csa;
                                    for ii in 0..MR {
                                        let i = s * MR + ii;
                                        dst[p * MR + ii] =
                                            if i < mc { a[(ic + i) * rsa + col] } else { 0.0 };
                                    }
                                }
                            }
                            for si in 0..strips_m {
                                let ap = &apack[si * kc * MR..(si + 1) * kc * MR];
                                for sj in 0..strips_n {
                                    let bp = &bpack[sj * kc * NR..(sj + 1) * kc * NR];
                                    let acc = run_tile(kc, ap, bp);
                                    let rows = MR.min(mc - si * MR);
                                    let cols = NR.min(nc - sj * NR);
                                    for (ii, acc_row) in acc.iter().enumerate().take(rows) {
                                        let start = (ic + si * MR + ii) * n + jc + sj * NR;
                                        for (cv, av) in
                                            c[start..start + cols].iter_mut().zip(acc_row)
                                        {
                                            *cv += av;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
fn fast_f32(kc: usize, a: &[f32], b: &[f32]) -> Option<[[f32; 32]; 8]> {
    if std::arch::is_x86_feature_detected!("avx512f") && a.len() >= kc * 8 && b.len() >= kc * 32 {
        // SAFETY: the CPU has AVX-512F and the strips have the lengths the tile reads.
        Some(unsafe { tile_f32_avx512(kc, a, b) })
    } else {
        None
    }
}
#[cfg(not(target_arch = "x86_64"))]
fn fast_f32(_: usize, _: &[f32], _: &[f32]) -> Option<[[f32; 32]; 8]> {
    None
}

gemm_impl!(f32, 8, 32, Some(super::fast_f32));
gemm_impl!(f64, 8, 16, None);

#[cfg(test)]
mod tests {
    use super::GemmScratch;

    fn naive(
        m: usize,
        k: usize,
        n: usize,
        a: &[f64],
        sa: (usize, usize),
        b: &[f64],
        sb: (usize, usize),
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * sa.0 + p * sa.1] * b[p * sb.0 + j * sb.1];
                }
            }
        }
        c
    }

    /// Shapes on and off the tile sizes, transposed operands, β = 0 and 1, both float types.
    #[test]
    fn equals_the_definition() {
        let mut s64 = GemmScratch::new();
        let mut s32 = GemmScratch::new();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 16, 32),
            (9, 300, 17),
            (65, 257, 33),
            (64, 784, 40),
        ] {
            let a: Vec<f64> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f64 - 6.0) / 8.0)
                .collect();
            let b: Vec<f64> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f64 - 5.0) / 4.0)
                .collect();
            let (a32, b32): (Vec<f32>, Vec<f32>) = (
                a.iter().map(|&v| v as f32).collect(),
                b.iter().map(|&v| v as f32).collect(),
            );
            for (sa, sb) in [((k, 1), (n, 1)), ((1, m), (1, k))] {
                let want = naive(m, k, n, &a, sa, &b, sb);
                let mut c = vec![9.0; m * n];
                super::f64::gemm(m, k, n, &a, sa, &b, sb, 0.0, &mut c, &mut s64);
                let mut c32 = vec![9.0f32; m * n];
                super::f32::gemm(m, k, n, &a32, sa, &b32, sb, 0.0, &mut c32, &mut s32);
                for ((x, x32), y) in c.iter().zip(&c32).zip(&want) {
                    assert!((x - y).abs() < 1e-9, "{m}x{k}x{n}: {x} vs {y}");
                    assert!(
                        (*x32 as f64 - y).abs() < 1e-3 * y.abs().max(1.0),
                        "f32 {m}x{k}x{n}"
                    );
                }
                super::f64::gemm(m, k, n, &a, sa, &b, sb, 1.0, &mut c, &mut s64);
                for (x, y) in c.iter().zip(&want) {
                    assert!((x - 2.0 * y).abs() < 1e-9);
                }
            }
        }
    }
}
