//! Running a generated sweep with the CPU's wider vectors.
//!
//! The generated networks are compiled for the target's baseline (SSE2 on x86_64, 4 `f32` a
//! vector). [`wide_with`] runs a sweep inside a function compiled for AVX2 when the CPU has it, so
//! every kernel inlined into the sweep works on 8 `f32` at a time: the bias, the tanh, the
//! outer products of bprop, the update. The arithmetic is the same operations in the same order
//! (a multiply then an add, never a fused multiply-add, which would round once instead of
//! twice), so the results are the same bits either way. A person would not write this for
//! every network by hand; a generator can, and users need not build with
//! `-C target-cpu=native`. The generated code calls [`wide_with`], and contains no `unsafe`.

/// Runs `f(net, p, g)`, compiled for AVX2 where the CPU has it: a sweep over a network `net` and
/// its pools `p` and `g` (references: `&[F]`, `&mut [F]`, or `()`). `f` should be an
/// `#[inline(always)]` closure: its body is then compiled into the AVX2 function (a call to it
/// would be compiled for the baseline only). The network and the pools are handed to `f` as
/// arguments rather than captured: each is then an argument of the AVX2 function, which the
/// compiler knows points to memory no other argument reaches, so a parameter written between two
/// reads of a state does not make it read the state again from memory (with the references
/// captured by a closure, it did, on every module; XOR's fused step took 89 ns instead of 77).
///
/// ```
/// let (mut net, mut pool) = ([1.0f32; 4], [0.5f32; 4]);
/// let sum = bpnet_runtime::wide::wide_with(
///     &mut net,
///     &mut pool[..],
///     (),
///     #[inline(always)]
///     |n, p, ()| {
///         p[0] -= n[1];
///         n.iter().sum::<f32>()
///     },
/// );
/// assert_eq!((sum, pool[0]), (4.0, -0.5));
/// ```
#[inline(always)]
pub fn wide_with<S: ?Sized, P, G, R>(
    net: &mut S,
    p: P,
    g: G,
    f: impl FnOnce(&mut S, P, G) -> R,
) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU has AVX2.
        return unsafe { with_avx2_args(net, p, g, f) };
    }
    f(net, p, g)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn with_avx2_args<S: ?Sized, P, G, R>(
    net: &mut S,
    p: P,
    g: G,
    f: impl FnOnce(&mut S, P, G) -> R,
) -> R {
    f(net, p, g)
}

/// Whether the CPU has AVX2 (detected once, then a load of a cached value).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(test)]
mod tests {
    /// The same bits with and without AVX2: an update of the kind the sweeps make.
    #[test]
    fn the_same_bits_either_way() {
        let g: Vec<f32> = (0..101).map(|i| (i as f32 * 0.37).sin()).collect();
        let run = |wide: bool| {
            let mut w: Vec<f32> = (0..101).map(|i| (i as f32 * 0.11).cos()).collect();
            let step = |w: &mut Vec<f32>, g: &[f32]| {
                for (wi, gi) in w.iter_mut().zip(g) {
                    *wi -= 0.013 * (gi * 0.7);
                }
            };
            if wide {
                super::wide_with(&mut w, &g[..], (), |w, g, ()| step(w, g));
            } else {
                step(&mut w, &g);
            }
            w.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(true), run(false));
    }
}
