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

/// `f` on every value of `y`, in place, compiled for the widest vectors the CPU has: AVX-512
/// (16 `f32` a vector), else AVX2 (8); false, and `y` untouched, on a CPU with neither. For the
/// elementwise passes of a minibatch (an activation over a whole batch). `f` is inlined into the
/// wide function: the same operations in the same order as the plain loop, so the same bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn map_f32(y: &mut [f32], f: impl Fn(f32) -> f32) -> bool {
    if cpu_has!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        unsafe { map_avx512(y, f) };
        true
    } else if avx2() {
        // SAFETY: the CPU has AVX2.
        unsafe { map_avx2(y, f) };
        true
    } else {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn map_avx512(y: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in y {
        *v = f(*v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn map_avx2(y: &mut [f32], f: impl Fn(f32) -> f32) {
    for v in y {
        *v = f(*v);
    }
}

/// Whether the CPU has AVX2 (detected once, then a load of a cached value).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn avx2() -> bool {
    cpu_has!("avx2")
}

#[cfg(test)]
mod tests {
    /// `map_f32` gives the plain loop's bits (on this CPU's widest vectors), for the rational
    /// tanh and a rational sigmoid, over a range of values, signed zeros, tiny and huge ones.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn map_gives_the_plain_loop_s_bits() {
        let edges = [0.0, -0.0, 1e-30, -1e-30, 1e30, -1e30, 9.0, -9.0];
        let x: Vec<f32> = (0..1037)
            .map(|i| (i as f32 - 518.0) * 0.0173)
            .chain(edges)
            .collect();
        let sigmoid = |v: f32| 0.5 + 0.5 * crate::approx::tanh(0.5 * v);
        for f in [crate::approx::tanh as fn(f32) -> f32, sigmoid] {
            let mut y = x.clone();
            let wide = super::map_f32(&mut y, f);
            assert_eq!(wide, std::arch::is_x86_feature_detected!("avx2"));
            let plain: Vec<u32> = x.iter().map(|&v| f(v).to_bits()).collect();
            assert_eq!(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), plain);
        }
    }

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
