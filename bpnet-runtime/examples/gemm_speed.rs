//! GFLOP/s of `gemm::f32::gemm` on the products of a 784-256-10 minibatch step (B = 64), on one
//! and two threads, beside `matrixmultiply::sgemm` (one thread) on the same shapes and strides.
//! Each figure is the best of 5 rounds, each round the median of 101 samples of about 2 ms: other
//! processes on a shared machine only ever slow a round down. The last columns are the fastest
//! single sample, steadier still when other processes take turns on the cores (two threads of
//! ours need both at once).
//!
//! `cargo run --release -p bpnet-runtime --example gemm_speed [filter]` (only the products whose
//! name contains `filter`, e.g. to profile one).

use bpnet_runtime::gemm::{GemmScratch, f32::gemm};
use std::hint::black_box;
use std::time::Instant;

/// One product: `m × k` by `k × n`, with the strides of its operands.
struct Shape {
    name: &'static str,
    m: usize,
    k: usize,
    n: usize,
    sa: (usize, usize),
    sb: (usize, usize),
}

/// The median and the least, over `samples` samples, of the seconds one call of `f` takes (each
/// sample times enough calls to last about 2 ms), after a warm-up.
fn median_seconds(mut f: impl FnMut()) -> (f64, f64) {
    let start = Instant::now();
    let mut warm = 0u32;
    while start.elapsed().as_secs_f64() < 0.2 || warm < 20 {
        f();
        warm += 1;
    }
    let per = start.elapsed().as_secs_f64() / f64::from(warm);
    let reps = ((2e-3 / per).ceil() as usize).max(1);
    let samples = 101;
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[samples / 2], times[0])
}

/// GFLOP/s for `flops` per call: the best, over 5 rounds in turn, of each round's median time,
/// and of the fastest sample.
fn gflops(flops: f64, fs: &mut [&mut dyn FnMut()]) -> Vec<(f64, f64)> {
    let mut best = vec![(f64::INFINITY, f64::INFINITY); fs.len()];
    for _ in 0..5 {
        for (f, best) in fs.iter_mut().zip(&mut best) {
            let (median, least) = median_seconds(f);
            *best = (best.0.min(median), best.1.min(least));
        }
    }
    let rate = |t: f64| flops / t * 1e-9;
    best.iter().map(|&(m, l)| (rate(m), rate(l))).collect()
}

fn main() {
    let (b, i, h, o) = (64, 784, 256, 10);
    let shapes = [
        // H = X·W1ᵀ, W1 stored h × i.
        Shape {
            name: "fwd1 X·W1ᵀ",
            m: b,
            k: i,
            n: h,
            sa: (i, 1),
            sb: (1, i),
        },
        // dW1 = G1ᵀ·X, G1 stored b × h.
        Shape {
            name: "dW1 G1ᵀ·X",
            m: h,
            k: b,
            n: i,
            sa: (1, h),
            sb: (i, 1),
        },
        // dH = G2·W2, W2 stored o × h.
        Shape {
            name: "dH G2·W2",
            m: b,
            k: o,
            n: h,
            sa: (o, 1),
            sb: (h, 1),
        },
        // Y = H·W2ᵀ.
        Shape {
            name: "fwd2 H·W2ᵀ",
            m: b,
            k: h,
            n: o,
            sa: (h, 1),
            sb: (1, h),
        },
        // dW2 = G2ᵀ·H.
        Shape {
            name: "dW2 G2ᵀ·H",
            m: o,
            k: b,
            n: h,
            sa: (1, o),
            sb: (h, 1),
        },
    ];
    println!(
        "{:<12} {:>14} {:>9} {:>9} {:>9} {:>6} | fastest: {:>7} {:>7} {:>7} {:>6}",
        "product",
        "m×k×n",
        "ours 1t",
        "ours 2t",
        "mm 1t",
        "2t/1t",
        "ours 1t",
        "ours 2t",
        "mm 1t",
        "2t/1t"
    );
    let filter = std::env::args().nth(1).unwrap_or_default();
    for s in shapes.iter().filter(|s| s.name.contains(&filter)) {
        let Shape {
            m, k, n, sa, sb, ..
        } = *s;
        let a: Vec<f32> = (0..m * k)
            .map(|v| ((v * 7 % 13) as f32 - 6.0) / 8.0)
            .collect();
        let bm: Vec<f32> = (0..k * n)
            .map(|v| ((v * 5 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let mut scratches = [1, 2].map(|threads| {
            let mut scratch = GemmScratch::new();
            scratch.reserve(k, n);
            scratch.set_threads(threads);
            scratch
        });
        let (c1, c2, c3) = (&mut c.clone(), &mut c.clone(), &mut c);
        let [s1, s2] = &mut scratches;
        let ours = |c: &mut Vec<f32>, scratch: &mut GemmScratch<f32>| {
            gemm(m, k, n, black_box(&a), sa, &bm, sb, 0.0, c, scratch);
            black_box(c);
        };
        let mut one = || ours(c1, s1);
        let mut two = || ours(c2, s2);
        let mut mm = || {
            // SAFETY: the operands hold the m × k, k × n and m × n values their strides span.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    black_box(a.as_ptr()),
                    sa.0 as isize,
                    sa.1 as isize,
                    bm.as_ptr(),
                    sb.0 as isize,
                    sb.1 as isize,
                    0.0,
                    c3.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            black_box(&mut *c3);
        };
        let g = gflops(flops, &mut [&mut one, &mut two, &mut mm]);
        let (one, two, mm) = (g[0], g[1], g[2]);
        println!(
            "{:<12} {:>14} {:>9.1} {:>9.1} {:>9.1} {:>6.2} |          {:>7.1} {:>7.1} {:>7.1} {:>6.2}",
            s.name,
            format!("{m}×{k}×{n}"),
            one.0,
            two.0,
            mm.0,
            two.0 / one.0,
            one.1,
            two.1,
            mm.1,
            two.1 / one.1,
        );
    }
}
