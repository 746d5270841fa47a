//! What fusing a pass into the matrix product's epilogue saves, on a 784-256 layer (`f32`, one
//! thread), for minibatches of 64 and 256 rows:
//!
//! - forward: `fprop_batch` then the separate bias + tanh pass (`tanh::f32::fprop_batch`),
//!   against `fprop_batch_map` doing bias + tanh in the epilogue;
//! - backward: zeroing the gradient, `bprop_batch_params`, then the separate `sgd_step`, against
//!   `bprop_batch_params_sgd`.
//!
//! Each also beside the bare product (`fprop_batch`; `bprop_batch_params` onto a gradient not
//! zeroed), the floor both variants share, and the zeroing and the `sgd_step` pass alone. The variants are timed in turn within each round
//! (each sample about 2 ms of calls), so a change in the machine's speed touches them all alike;
//! the figures are the median over the rounds and the fastest round. Before timing, the fused results are checked bit
//! for bit against the unfused ones, and the fused calls are checked to allocate nothing (on 1
//! and 2 threads).
//!
//! `cargo run --release -p bpnet-runtime --example epilogue_speed [rounds]` (default 101).

use bpnet_runtime::gemm::GemmScratch;
use bpnet_runtime::{approx, linear::f32 as linear, pool::f32 as pool, tanh::f32 as tanh};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts every allocation, on every thread (the product's helpers included).
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: as the caller guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Values with all their mantissa bits in use (an LCG), in `[-1, 1)`.
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// One layer's operands and results.
struct Layer {
    n_in: usize,
    n_out: usize,
    rows: usize,
    w: Vec<f32>,
    b: Vec<f32>,
    x: Vec<f32>,
    dy: Vec<f32>,
    y: Vec<f32>,
    h: Vec<f32>,
    dw: Vec<f32>,
    lr: f32,
}

impl Layer {
    fn new(n_in: usize, n_out: usize, rows: usize) -> Self {
        Self {
            n_in,
            n_out,
            rows,
            w: noise(n_in * n_out, 1).iter().map(|v| v * 0.05).collect(),
            b: noise(n_out, 2),
            x: noise(rows * n_in, 3),
            dy: noise(rows * n_out, 4),
            y: vec![0.0; rows * n_out],
            h: vec![0.0; rows * n_out],
            dw: vec![0.0; n_in * n_out],
            // Small, so that the weights stay put over the thousands of timed steps.
            lr: 1e-9,
        }
    }

    fn fprop(&mut self, s: &mut GemmScratch<f32>) {
        let Self {
            n_in, n_out, rows, ..
        } = *self;
        linear::fprop_batch(&self.w, &self.x, &mut self.y, n_in, n_out, rows, s);
    }

    fn fprop_then_tanh(&mut self, s: &mut GemmScratch<f32>) {
        self.fprop(s);
        tanh::fprop_batch(&self.b, &self.y, &mut self.h, self.rows);
    }

    fn fprop_map_tanh(&mut self, s: &mut GemmScratch<f32>) {
        let Self {
            n_in, n_out, rows, ..
        } = *self;
        let b = &self.b;
        let (w, x) = (&self.w, &self.x);
        linear::fprop_batch_map(
            w,
            x,
            &mut self.y,
            &mut self.h,
            n_in,
            n_out,
            rows,
            s,
            |col0, y, h| {
                // As `tanh::fprop_batch`: the bias, then the activation in a loop of its own.
                for ((h, y), b) in h.iter_mut().zip(y).zip(&b[col0..]) {
                    *h = y + b;
                }
                for h in h.iter_mut() {
                    *h = approx::tanh(*h);
                }
            },
        );
    }

    fn dw_only(&mut self, s: &mut GemmScratch<f32>) {
        let Self {
            n_in, n_out, rows, ..
        } = *self;
        linear::bprop_batch_params(&self.x, &self.dy, &mut self.dw, n_in, n_out, rows, s);
    }

    fn zero_dw_sgd(&mut self, s: &mut GemmScratch<f32>) {
        self.dw.fill(0.0);
        self.dw_only(s);
        pool::sgd_step(&mut self.w, &self.dw, self.lr);
    }

    fn dw_sgd_fused(&mut self, s: &mut GemmScratch<f32>) {
        let Self {
            n_in,
            n_out,
            rows,
            lr,
            ..
        } = *self;
        let (x, dy) = (&self.x, &self.dy);
        linear::bprop_batch_params_sgd(&mut self.w, x, dy, &mut self.dw, n_in, n_out, rows, lr, s);
    }
}

type Variant = (&'static str, fn(&mut Layer, &mut GemmScratch<f32>));

/// The fused variants give the unfused bits, and allocate nothing on 1 and 2 threads.
fn check(rows: usize) {
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (mut a, mut b) = (Layer::new(784, 256, rows), Layer::new(784, 256, rows));
    a.lr = 0.01;
    b.lr = 0.01;
    let mut s = GemmScratch::new();
    s.reserve(784, 784);
    a.fprop_then_tanh(&mut s);
    b.fprop_map_tanh(&mut s);
    assert_eq!(bits(&a.y), bits(&b.y), "y");
    assert_eq!(bits(&a.h), bits(&b.h), "h");
    a.zero_dw_sgd(&mut s);
    b.dw_sgd_fused(&mut s);
    assert_eq!(bits(&a.w), bits(&b.w), "w");
    for threads in [1, 2] {
        s.set_threads(threads);
        b.fprop_map_tanh(&mut s);
        b.dw_sgd_fused(&mut s);
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..3 {
            b.fprop_map_tanh(&mut s);
            b.dw_sgd_fused(&mut s);
        }
        let allocated = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert_eq!(allocated, 0, "{threads} threads: the fused calls allocated");
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(101);
    let variants: [Variant; 8] = [
        ("zero alone", |l, _| {
            l.dw.fill(0.0);
            black_box(&mut l.dw);
        }),
        ("sgd alone", |l, _| pool::sgd_step(&mut l.w, &l.dw, l.lr)),
        ("fprop alone", Layer::fprop),
        ("fprop + tanh pass", Layer::fprop_then_tanh),
        ("fprop_batch_map tanh", Layer::fprop_map_tanh),
        ("dW alone (no zeroing)", Layer::dw_only),
        ("zero + dW + sgd pass", Layer::zero_dw_sgd),
        ("bprop_batch_params_sgd", Layer::dw_sgd_fused),
    ];
    println!("784-256, f32, 1 thread; median µs per call over {rounds} rounds");
    for rows in [64, 256] {
        check(rows);
        let mut layer = Layer::new(784, 256, rows);
        let mut s = GemmScratch::new();
        s.reserve(784, 784);
        s.set_threads(1);
        // Calls per sample, from a warm-up: about 2 ms each.
        let reps: Vec<usize> = variants
            .iter()
            .map(|(_, f)| {
                let t = Instant::now();
                let mut n = 0;
                while t.elapsed().as_secs_f64() < 0.1 {
                    f(black_box(&mut layer), &mut s);
                    n += 1;
                }
                ((2e-3 / (t.elapsed().as_secs_f64() / n as f64)) as usize).max(1)
            })
            .collect();
        let mut times = vec![Vec::with_capacity(rounds); variants.len()];
        for round in 0..rounds {
            // In turn, from a different variant each round.
            for i in 0..variants.len() {
                let v = (i + round) % variants.len();
                let t = Instant::now();
                for _ in 0..reps[v] {
                    (variants[v].1)(black_box(&mut layer), &mut s);
                }
                times[v].push(t.elapsed().as_secs_f64() / reps[v] as f64 * 1e6);
            }
        }
        for t in &mut times {
            t.sort_by(f64::total_cmp);
        }
        let median: Vec<f64> = times.iter().map(|t| t[t.len() / 2]).collect();
        println!("rows {rows}:{:>33} {:>12}", "median", "fastest");
        for (i, (name, _)) in variants.iter().enumerate() {
            println!("  {name:<24} {:>9.1} µs {:>9.1} µs", median[i], times[i][0]);
        }
        let extra = |of: usize, floor: usize| median[of] - median[floor];
        println!(
            "  forward:  the tanh pass adds {:.1} µs, fused {:.1} µs (saves {:.1}%); backward: zero + sgd add {:.1} µs, fused {:.1} µs (saves {:.1}%)",
            extra(3, 2),
            extra(4, 2),
            100.0 * (median[3] - median[4]) / median[3],
            extra(6, 5),
            extra(7, 5),
            100.0 * (median[6] - median[7]) / median[6],
        );
    }
}
