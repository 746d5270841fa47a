//! Speed of generated networks against hand-written Rust, measured in the same run.
//!
//! `cargo bench --bench speed` (about three minutes once built), or `BPNET_BENCH_QUICK=1 cargo
//! bench --bench speed` for a smoke run of under a minute. Arguments that do not start with `-`
//! select workloads by name (`cargo bench --bench speed -- elman`; `xor`, `small`, `digits`,
//! `deep`, `minibatch`, `lenet`, `elman`).
//!
//! Each workload trains a network declared with `network!` and two hand-written references for
//! the same fixed network (`speed/reference.rs`), from the same initial pool, on the same data in
//! the same order, with the same learning rate. One step is the lecture's training cycle:
//! `fprop; zero_grad; bprop; sgd_step` for the generated network (and, on a second row of each
//! per-sample workload, its fused `train_sgd`, the same parameters bit for bit), the same math
//! written out for the references. None computes dE/d(input): the generated network skips it
//! unless `set_input_grads(true)`, the references never compute it.
//!
//! The two references: "hand-written, fixed-size" is what a careful engineer writes for one
//! network (every width a const generic, `[f32; N]` arrays, loops with known trip counts, a dot
//! product in 8 partial sums, the runtime's rational tanh `bpnet::kernels::approx::tanh`, the
//! update fused into the backward pass); the ratios are taken against it. "hand-written, libm
//! tanhf" is the straightforward version (one running sum, `f32::tanh`). For minibatches both
//! call `matrixmultiply::sgemm` on buffers allocated once and differ in their tanh.
//!
//! `lenet` is LeNet-5 on 28 × 28 images (`Lenet5Net` below: C1 6 maps by 5 × 5 kernels padded by
//! 2, S2, C3 16 maps by 5 × 5 from every map, S4, then 400-120-84-10, tanh after all but the last,
//! Euclidean energy), on the minibatch workloads' synthetic images, against one reference a row
//! (no libm one). Per sample (the cycle, and `train_sgd`): the fixed-size reference, its
//! convolutions weight by weight over whole output rows (the loops over a row vectorise), in the
//! runtime's order for the forward sums and dE/dx, with a partial sum per output column for dW.
//! On minibatches of 64 (`train_sgd_batch`, one thread): a reference that does each convolution
//! by im2col into a patch matrix allocated once and one `matrixmultiply::sgemm` for the whole
//! batch, forward, dW and (for C3) the patches' derivatives, the rest in plain loops. Under the
//! table, each LeNet row's conv GFLOP/s: the convolutions' floating-point operations a step (2
//! per multiply-add of the forward sums, as many for dW, and for C3 as many for dE/dx; whole
//! kernels, C1's padding included: 1.91 MFLOP a sample), over the median time of the whole step.
//! That is a lower bound of the convolutions' own rate: the step also runs the subsampling, the
//! tanh and the fully connected layers (the convolutions are 84% of the step's multiply-adds).
//!
//! Before any timing, every variant trains the exact trajectory that is timed (from the initial
//! pool, the same number of steps) and must end at the same parameters and the same loss as the
//! generated network, or the bench stops: nobody benchmarks a broken program. The same-tanh
//! references must agree within a relative 1e-3 (1e-5 for the minibatch workload), and today agree
//! to the last bit: they add in the kernels' order, and matrixmultiply adds the terms of each
//! product in the runtime's order too (in blocks of 256 along the inner dimension, one fused
//! multiply-add after the other; seen with its AVX-512 and its AVX2 kernel). The libm references
//! drift by up to 1e-6 (their tanh differs by up to 3.6e-7) and must agree within 1e-5, loss and
//! parameters, for every workload (`LIBM_TOLERANCE` says what was measured). LeNet's references
//! add in orders of their own, and must agree within 1e-5 per sample and 1e-4 on minibatches, a
//! bound no summation order comes near (`LENET_TOLERANCE` and `LENET_BATCH_TOLERANCE` say what
//! was measured).
//!
//! Timing: one untimed warm-up round, then `ROUNDS` rounds; in each round every variant is reset
//! to the initial pool (untimed) and trains the same steps (timed) in ten slices, the variants
//! taking turns slice by slice (A B C, then C B A, …) so that frequency drift and bursts of load
//! fall on all of them. The table shows the median time per step over the rounds, and for each
//! reference the ratio generated / reference with the quartiles of the per-round ratios (the
//! noise). Absolute times depend on the machine; the ratio is what matters.
//!
//! Environment: `BPNET_BENCH_QUICK=1` (smoke run), `BPNET_BENCH_ROUNDS=N`,
//! `BPNET_BENCH_VERBOSE=1` (every round's time).

use bpnet::prelude::*;
use std::hint::black_box;
use std::time::Instant;

#[path = "speed/reference.rs"]
mod reference;

use reference::{FixedSize, Libm};

// ---------------------------------------------------------------------------------------------
// The networks, as a user declares them.

network! {
    /// A 2-8-1 tanh net for XOR.
    pub struct XorNet {
        input  x: 2;
        target y: 1;
        s1     = l1: linear(x -> 8);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 1);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A small 8-16-4 tanh net.
    pub struct SmallNet {
        input  x: 8;
        target y: 4;
        s1     = l1: linear(x -> 16);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 4);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A 64-32-10 tanh net for 8×8 digit images.
    pub struct DigitsNet {
        input  x: 64;
        target y: 10;
        s1     = l1: linear(x -> 32);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A three-layer 32-64-64-8 tanh net.
    pub struct DeepNet {
        input  x: 32;
        target y: 8;
        s1     = l1: linear(x -> 64);
        h1     = t1: tanh(s1);
        s2     = l2: linear(h1 -> 64);
        h2     = t2: tanh(s2);
        s3     = l3: linear(h2 -> 8);
        out    = t3: tanh(s3);
        energy = euclidean(out, y);
    }
}

network! {
    /// A 784-256-10 tanh net, trained on minibatches.
    pub struct MinibatchNet {
        input  x: 784;
        target y: 10;
        s1     = l1: linear(x -> 256);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A 784-512-10 tanh net, trained on minibatches.
    pub struct WideNet {
        input  x: 784;
        target y: 10;
        s1     = l1: linear(x -> 512);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A three-layer 784-1024-1024-10 tanh net, trained on minibatches.
    pub struct Deep3Net {
        input  x: 784;
        target y: 10;
        s1     = l1: linear(x -> 1024);
        h1     = t1: tanh(s1);
        s2     = l2: linear(h1 -> 1024);
        h2     = t2: tanh(s2);
        s3     = l3: linear(h2 -> 10);
        out    = t3: tanh(s3);
        energy = euclidean(out, y);
    }
}

network! {
    /// An Elman net, input 4, hidden 32, output 1, unfolded over 16 steps.
    pub struct ElmanNet {
        unfold 16 {
            input  x: 4;
            target y: 1;
            s      = wx: linear(x -> 32);
            c      = wh: linear(h[t - 1] -> 32);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

network! {
    /// An Elman net, input 4, hidden 16, output 1, unfolded over 64 steps.
    pub struct LongElmanNet {
        unfold 64 {
            input  x: 4;
            target y: 1;
            s      = wx: linear(x -> 16);
            c      = wh: linear(h[t - 1] -> 16);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

network! {
    /// LeNet-5 on 28 × 28 images: two convolutions of 5 × 5 kernels (the first padded by 2, the
    /// second from every map to every map), each followed by LeNet's subsampling, then three
    /// fully connected layers; tanh after each but the last. The tanh have no biases of their own:
    /// the convolutions, subsamplings and linear layers have theirs.
    pub struct Lenet5Net {
        input  x: [1, 28, 28];
        target y: 10;
        c1: [6, 28, 28] = k1: conv(x, maps = 6, kernel = 5, padding = 2);
        h1     = t1: tanh(c1, bias = false);
        s2: [6, 14, 14] = p2: subsample(h1, size = 2);
        g2     = t2: tanh(s2, bias = false);
        c3: [16, 10, 10] = k3: conv(g2, maps = 16, kernel = 5);
        h3     = t3: tanh(c3, bias = false);
        s4: [16, 5, 5] = p4: subsample(h3, size = 2);
        g4     = t4: tanh(s4, bias = false);
        c5     = l5: linear(g4 -> 120, bias = true);
        h5     = t5: tanh(c5, bias = false);
        f6     = l6: linear(h5 -> 84, bias = true);
        h6     = t6: tanh(f6, bias = false);
        out    = l7: linear(h6 -> 10, bias = true);
        energy = euclidean(out, y);
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// Rounds of timing (the median is reported).
const ROUNDS: usize = 11;
/// Rounds in quick mode.
const QUICK_ROUNDS: usize = 5;
/// Turns the variants take in a round.
const SLICES: usize = 10;
/// Relative difference allowed between the final losses and parameters of the generated network
/// and a reference with the runtime's tanh (the same math).
const TOLERANCE: f64 = 1e-3;
/// The same for the minibatch workload, stricter: its reference adds in matrixmultiply's order,
/// and a different order moved its final parameters by about 2e-7 (measured by splitting a
/// product in two), while an error of 0.1% in its learning rate moves them by 2.4e-5 (3.6e-5 in
/// the quick run).
const MINIBATCH_TOLERANCE: f64 = 1e-5;
/// For the references with libm's `tanhf`, every workload. Its tanh differs from the runtime's by
/// up to 3.6e-7, so its trajectory drifts from the generated network's; measured on the timed
/// trajectories (full run; quick run in brackets), the relative differences of the final loss and
/// parameters are: xor 1.7e-11 and 1.0e-6 (2.8e-11, 9.7e-7), digits 1.6e-7 and 9.5e-7 (1.2e-7,
/// 3.8e-7), minibatch 1.5e-7 and 3.0e-7 (1.2e-7, 1.2e-7), elman 4.5e-8 and 2.4e-7 (2.8e-8,
/// 1.4e-7). Small enough to compare the parameters too: 1e-5 is ten times the largest drift, and
/// still below the effect of an error of 0.1% in the learning rate of the same-tanh reference
/// (measured by scaling it by 1.001): final parameters moved by 1.4e-4 (xor), 1.2e-4 (digits),
/// 2.4e-5 (minibatch) and 8.8e-5 (elman), 1.4e-4, 1.3e-4, 3.6e-5 and 7.1e-5 in the quick run. (The
/// loss of xor, trained to 1e-13, shows nothing; its parameters do.)
const LIBM_TOLERANCE: f64 = 1e-5;
/// Training steps a round of the LeNet-5 per-sample rows, full run and quick run (two epochs of
/// its 64 samples: the least the check takes). About 20 s for the two rows in the full run.
const LENET_STEPS: (usize, usize) = (320, 128);
/// The same for its minibatch row (two epochs of 2 batches of 64 in the quick run). About 25 s
/// in the full run with the generated row-by-row convolutions.
const LENET_BATCH_STEPS: (usize, usize) = (12, 4);
/// Relative difference allowed between LeNet-5 and its fixed-size reference, which sums each
/// kernel weight's gradient in its own order (a partial sum per output column, added over the
/// rows, then the columns: the loop vectorises), where the runtime adds the rows' sums one by one.
/// Measured on the timed trajectories (full run; quick run in brackets), the final parameters
/// differ by 5.2e-7 (2.7e-7) of the largest and the losses by 6.5e-8 (4.3e-8): 1e-5 is twenty
/// times that, and a twentieth of the effect of an error of 0.1% in the reference's learning rate
/// (parameters moved by 1.9e-4, 4.6e-4 in the quick run). A missing gradient, S2's six biases
/// left alone, moved them by 0.2.
const LENET_TOLERANCE: f64 = 1e-5;
/// The same for the minibatch row, whose reference adds in matrixmultiply's order (and im2col's)
/// against the runtime's row by row, and must keep agreeing when the runtime's order changes
/// (an im2col + GEMM path for the convolutions of a minibatch): a relative 1e-4 of the largest
/// parameter, after the timed trajectory. Measured (full run; quick run in brackets): sgemm
/// against the row-by-row kernels 1.1e-7 (9.6e-8) and losses 5.3e-8 (0); the reference against
/// itself on each batch's rows in reverse order (every sum over the batch in another order)
/// 1.3e-7 (8.6e-8); so 1e-4 is about 800 times what a summation order does here. It lets an
/// error of 0.1% in the learning rate pass (1.9e-5, 6.4e-5) but stops one of 1% (1.9e-4, 6.3e-4)
/// and a missing gradient (S2's biases left alone: 6.4e-2, 3.9e-2).
const LENET_BATCH_TOLERANCE: f64 = 1e-4;
/// Final losses are compared relative to at least this fraction of the first epoch's loss.
const LOSS_FLOOR: f64 = 1e-3;

/// How long and how carefully to measure.
struct Config {
    quick: bool,
    /// Print every round's time (`BPNET_BENCH_VERBOSE=1`).
    verbose: bool,
    rounds: usize,
    filters: Vec<String>,
}

impl Config {
    fn from_env() -> Self {
        let quick = std::env::var("BPNET_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        // `cargo bench` passes `--bench`; other flags are ignored too.
        let filters = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let rounds = std::env::var("BPNET_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .filter(|&r| r > 0)
            .unwrap_or(if quick { QUICK_ROUNDS } else { ROUNDS });
        Self {
            quick,
            verbose: std::env::var("BPNET_BENCH_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0"),
            rounds,
            filters,
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Training steps per timed round: `full`, or a tenth of it in quick mode (at least `min`).
    fn steps(&self, full: usize, min: usize) -> usize {
        if self.quick {
            (full / 10).max(min)
        } else {
            full
        }
    }
}

/// One way of training a workload's network: the generated one or a hand-written reference.
trait Trainer {
    /// The column it goes to.
    fn label(&self) -> &'static str;
    /// Back to the initial pool and the first sample.
    fn reset(&mut self);
    /// `steps` training steps, continuing through the data; returns the sum of their energies.
    fn train(&mut self, steps: usize) -> f64;
    /// The current parameters, in the generated network's pool layout.
    fn pool(&self) -> Vec<f32>;
}

/// What the correctness check found for one variant against the generated network.
struct Agreement {
    label: &'static str,
    loss: f64,
    loss_diff: f64,
    param_diff: f64,
    /// The relative difference the check allowed.
    tolerance: f64,
}

/// A line of the table.
struct Row {
    workload: String,
    steps: usize,
    first_loss: f64,
    last_loss: f64,
    agreements: Vec<Agreement>,
    /// One per variant, the generated network's first.
    timings: Vec<Timing>,
    /// Floating-point operations per step, the same for every variant, for the GFLOP/s line (the
    /// minibatch workload).
    flops_per_step: Option<f64>,
    /// For a minibatch workload: its batch, its first hidden width and its threads, to find its
    /// GEMM limit.
    gemm: Option<(usize, usize, usize)>,
    /// For a minibatch workload: its GEMM limit, measured in the same rounds as its steps.
    limit: Option<Limit>,
    /// The generated network's ns per step in each round.
    generated_rounds: Vec<f64>,
    /// Floating-point operations of the convolutions per step (the LeNet workload), for its
    /// conv-GFLOP/s line.
    conv_flops: Option<f64>,
}

/// The time per step of one variant.
struct Timing {
    /// The variant.
    label: &'static str,
    /// Median over the rounds.
    ns: f64,
    /// The first and third quartiles of the ratio generated / this variant over the rounds.
    ratio_quartiles: (f64, f64),
}

/// Trains every variant over the timed trajectory (`steps` steps from the initial pool) and
/// compares each with the first: the final parameters (largest difference relative to the
/// largest parameter) and the mean energy of the last `epoch` steps (difference relative to the
/// larger of the two, or to `LOSS_FLOOR` times the first epoch's when both are below that: a net
/// trained to an energy of 1e-13, as XOR is, leaves its last digits to rounding), within
/// `tolerances` (one per variant after the first). Exits on disagreement. Returns the mean energy
/// of the first and of the last `epoch` steps of the first variant.
fn check(
    workload: &str,
    steps: usize,
    epoch: usize,
    tolerances: &[f64],
    variants: &mut [&mut dyn Trainer],
) -> (f64, f64, Vec<Agreement>) {
    assert!(
        steps >= 2 * epoch,
        "{workload}: a round must cover two epochs"
    );
    assert_eq!(
        tolerances.len() + 1,
        variants.len(),
        "{workload}: one tolerance per variant after the first"
    );
    let mut results = Vec::new();
    for v in variants.iter_mut() {
        v.reset();
        let first = v.train(epoch) / epoch as f64;
        v.train(steps - 2 * epoch);
        let last = v.train(epoch) / epoch as f64;
        results.push((v.label(), first, last, v.pool()));
    }
    let (_, first, last, ref pool) = results[0];
    let scale = pool.iter().fold(0.0f64, |m, p| m.max(f64::from(p.abs())));
    let mut agreements = Vec::new();
    let mut broken = Vec::new();
    for ((label, _, loss, other), &tolerance) in results[1..].iter().zip(tolerances) {
        let worst = pool
            .iter()
            .zip(other)
            .fold(0.0f64, |m, (a, b)| m.max(f64::from((a - b).abs())));
        let a = Agreement {
            label,
            loss: *loss,
            loss_diff: (last - loss).abs() / last.abs().max(loss.abs()).max(LOSS_FLOOR * first),
            param_diff: worst / scale,
            tolerance,
        };
        // Written so that a NaN fails too.
        if !(a.loss_diff < tolerance && a.param_diff < tolerance && loss.is_finite()) {
            broken.push(format!(
                "  {label}: final loss {loss:.6e} vs generated {last:.6e} (relative difference \
                 {:.2e}), parameters differ by up to {:.2e} of the largest (tolerance \
                 {tolerance:.0e})",
                a.loss_diff, a.param_diff
            ));
        }
        agreements.push(a);
    }
    if !last.is_finite() {
        broken.push(format!("  generated: final loss {last}"));
    }
    if !broken.is_empty() {
        eprintln!(
            "\n{workload}: the variants disagree after {steps} steps; nobody benchmarks a broken \
             program.\n{}",
            broken.join("\n")
        );
        std::process::exit(1);
    }
    (first, last, agreements)
}

/// Median of `v` (not empty).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per step of each variant in each of `rounds` rounds of `steps` steps, after a warm-up
/// round: `result[variant][round]`, the variants of `main` then those of `extra`. Every round
/// starts all variants from the initial pool (untimed), then runs the steps in `SLICES` slices,
/// the variants taking turns slice by slice (A B C, C B A, …) so that a burst of load or a change
/// of clock falls on all of them.
fn time(
    steps: usize,
    rounds: usize,
    main: &mut [&mut dyn Trainer],
    extra: &mut [&mut dyn Trainer],
) -> Vec<Vec<f64>> {
    let n = main.len() + extra.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..=rounds {
        for v in main.iter_mut() {
            v.reset();
        }
        for v in extra.iter_mut() {
            v.reset();
        }
        let mut ns = vec![0u128; n];
        for slice in 0..SLICES {
            let todo = steps * (slice + 1) / SLICES - steps * slice / SLICES;
            for k in 0..n {
                let i = if slice % 2 == 0 { k } else { n - 1 - k };
                let start = Instant::now();
                match i.checked_sub(main.len()) {
                    None => black_box(main[i].train(black_box(todo))),
                    Some(e) => black_box(extra[e].train(black_box(todo))),
                };
                ns[i] += start.elapsed().as_nanos();
            }
        }
        if round > 0 {
            for (s, t) in samples.iter_mut().zip(ns) {
                s.push(t as f64 / steps as f64);
            }
        }
    }
    samples
}

/// Checks, then times, one workload.
fn run(
    cfg: &Config,
    workload: &str,
    steps: usize,
    epoch: usize,
    tolerances: &[f64],
    variants: &mut [&mut dyn Trainer],
) -> Row {
    run_with(cfg, workload, (steps, epoch), tolerances, variants, &mut []).0
}

/// [`run`], with `extra` timed in the same rounds and slices as the variants (and not checked):
/// returns the row and the ns per step of each of `extra` in each round.
fn run_with(
    cfg: &Config,
    workload: &str,
    (steps, epoch): (usize, usize),
    tolerances: &[f64],
    variants: &mut [&mut dyn Trainer],
    extra: &mut [&mut dyn Trainer],
) -> (Row, Vec<Vec<f64>>) {
    eprint!("{workload}: checking…");
    let (first_loss, last_loss, agreements) = check(workload, steps, epoch, tolerances, variants);
    eprint!(" timing…");
    let mut samples = time(steps, cfg.rounds, variants, extra);
    let extra_samples = samples.split_off(variants.len());
    eprintln!(" done");
    if cfg.verbose {
        for (v, s) in variants.iter().zip(&samples) {
            let s: Vec<String> = s.iter().map(|ns| format!("{ns:.0}")).collect();
            eprintln!("  {:<24} ns/step by round: {}", v.label(), s.join(" "));
        }
    }
    let generated = &samples[0];
    let timings = samples
        .iter()
        .zip(variants.iter())
        .map(|(s, v)| {
            // The ratio of each round, generated / this variant: its spread shows the noise.
            let mut ratios: Vec<f64> = generated.iter().zip(s).map(|(g, h)| g / h).collect();
            ratios.sort_by(f64::total_cmp);
            let n = ratios.len();
            Timing {
                label: v.label(),
                ns: median(s),
                ratio_quartiles: (ratios[n / 4], ratios[(3 * n) / 4]),
            }
        })
        .collect();
    let row = Row {
        workload: workload.to_string(),
        steps,
        first_loss,
        last_loss,
        agreements,
        timings,
        flops_per_step: None,
        gemm: None,
        limit: None,
        generated_rounds: samples[0].clone(),
        conv_flops: None,
    };
    (row, extra_samples)
}

// ---------------------------------------------------------------------------------------------
// Data (synthetic and deterministic).

/// One sample of a per-sample workload: inputs and targets.
type Sample<const I: usize, const O: usize> = ([f32; I], [f32; O]);

/// XOR, inputs ±1, targets ±0.8 (reachable by tanh).
fn xor_data() -> Vec<Sample<2, 1>> {
    vec![
        ([-1.0, -1.0], [-0.8]),
        ([-1.0, 1.0], [0.8]),
        ([1.0, -1.0], [0.8]),
        ([1.0, 1.0], [-0.8]),
    ]
}

/// 512 synthetic 8×8 "digits": ten random prototype images, each sample a prototype with noise,
/// values in [0, 1]; targets 0.8 for the class and −0.8 for the others.
fn digits_data() -> Vec<Sample<64, 10>> {
    let mut rng = StdRng::seed_from_u64(64);
    let prototypes: Vec<[f32; 64]> = (0..10)
        .map(|_| std::array::from_fn(|_| if rng.random_bool(0.35) { 1.0 } else { 0.0 }))
        .collect();
    (0..512)
        .map(|_| {
            let class = rng.random_range(0..10);
            let x = std::array::from_fn(|j| {
                (prototypes[class][j] + rng.random_range(-0.4f32..0.4)).clamp(0.0, 1.0)
            });
            let y = std::array::from_fn(|k| if k == class { 0.8 } else { -0.8 });
            (x, y)
        })
        .collect()
}

/// 512 samples of a random smooth function: inputs uniform in [−1, 1], targets `0.8·tanh(A x)`
/// for a fixed random `A` (entries uniform in ±2/√I).
fn teacher_data<const I: usize, const O: usize>(seed: u64) -> Vec<Sample<I, O>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let scale = 2.0 / (I as f32).sqrt();
    let a: Vec<[f32; I]> = (0..O)
        .map(|_| std::array::from_fn(|_| rng.random_range(-scale..scale)))
        .collect();
    (0..512)
        .map(|_| {
            let x: [f32; I] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
            let y = std::array::from_fn(|k| {
                0.8 * a[k].iter().zip(&x).map(|(w, v)| w * v).sum::<f32>().tanh()
            });
            (x, y)
        })
        .collect()
}

/// A minibatch: inputs and their targets, one row per sample, and the learning rate for its
/// size (the gradient of a batch is the sum over its samples: a per-sample rate divided by the
/// batch).
struct Batch {
    xs: Vec<[f32; reference::IN]>,
    ys: Vec<[f32; reference::OUT]>,
    lr: f32,
}

/// 512 synthetic 28×28 "images" in 8 batches of 64, made as the digits: ten random prototypes,
/// each sample a prototype with noise, values in [0, 1]; targets 0.8 for the class and −0.8 for
/// the others.
fn minibatch_data(batch: usize) -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(784);
    let prototypes: Vec<[f32; reference::IN]> = (0..10)
        .map(|_| std::array::from_fn(|_| if rng.random_bool(0.25) { 1.0 } else { 0.0 }))
        .collect();
    (0..512 / batch)
        .map(|_| {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for _ in 0..batch {
                let class = rng.random_range(0..10);
                xs.push(std::array::from_fn(|j| {
                    (prototypes[class][j] + rng.random_range(-0.4f32..0.4)).clamp(0.0, 1.0)
                }));
                ys.push(std::array::from_fn(|k| if k == class { 0.8 } else { -0.8 }));
            }
            Batch {
                xs,
                ys,
                lr: 0.01 / batch as f32,
            }
        })
        .collect()
}

/// A sequence of `T` steps: 4 inputs and 1 target per step.
type Sequence<const T: usize> = ([[f32; 4]; T], [[f32; 1]; T]);

/// 64 sequences of `T` steps: inputs uniform in [−1, 1], the target a function of the inputs of
/// this step and the two before (so the hidden state has something to remember).
fn elman_data<const T: usize>(seed: u64) -> Vec<Sequence<T>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..64)
        .map(|_| {
            let xs: [[f32; 4]; T] =
                std::array::from_fn(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)));
            let at =
                |t: usize, back: usize, j: usize| t.checked_sub(back).map_or(0.0, |s| xs[s][j]);
            let ys = std::array::from_fn(|t| {
                [0.5 * (at(t, 0, 0) + 0.8 * at(t, 1, 1) - 0.6 * at(t, 2, 2)).tanh()]
            });
            (xs, ys)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The variants of each workload.

/// What the harness needs of a network, generated or hand-written, besides its training step.
trait Pooled {
    /// Sets the parameters from a pool in the generated network's layout.
    fn load(&mut self, pool: &[f32]);
    /// The parameters as a pool in the generated network's layout.
    fn pool(&self) -> Vec<f32>;
}

/// One training step on one sample `D` (one sequence, for the Elman nets; one batch for the
/// minibatch net) with learning rate `lr`; returns its energy.
trait Step<D> {
    fn train_on(&mut self, sample: &D, lr: f32) -> f32;
}

/// A network (generated or hand-written) with its initial pool, its data and where it is in it.
struct Variant<'d, N, D> {
    label: &'static str,
    net: N,
    init: Vec<f32>,
    data: &'d [D],
    lr: f32,
    next: usize,
}

impl<'d, N: Pooled, D> Variant<'d, N, D> {
    fn new(label: &'static str, mut net: N, init: &[f32], data: &'d [D], lr: f32) -> Self {
        net.load(init);
        Self {
            label,
            net,
            init: init.to_vec(),
            data,
            lr,
            next: 0,
        }
    }
}

impl<N: Pooled + Step<D>, D> Trainer for Variant<'_, N, D> {
    fn label(&self) -> &'static str {
        self.label
    }

    fn reset(&mut self) {
        self.net.load(&self.init);
        self.next = 0;
    }

    fn train(&mut self, steps: usize) -> f64 {
        let mut total = 0.0;
        for _ in 0..steps {
            total += f64::from(self.net.train_on(&self.data[self.next], self.lr));
            self.next += 1;
            if self.next == self.data.len() {
                self.next = 0;
            }
        }
        total
    }

    fn pool(&self) -> Vec<f32> {
        self.net.pool()
    }
}

/// [`Pooled`] for generated networks.
macro_rules! pooled_generated {
    ($($net:ty),*) => {$(
        impl Pooled for $net {
            fn load(&mut self, pool: &[f32]) {
                self.params_mut().copy_from_slice(pool);
            }
            fn pool(&self) -> Vec<f32> {
                self.params().to_vec()
            }
        }
    )*};
}

pooled_generated!(
    XorNet,
    SmallNet,
    DigitsNet,
    DeepNet,
    MinibatchNet,
    WideNet,
    Deep3Net,
    ElmanNet,
    LongElmanNet,
    Lenet5Net
);

/// [`Pooled`] and [`Step`] for a hand-written reference `$net<F, widths…>` on samples `$sample`.
macro_rules! reference_impls {
    ($net:ident < $($w:ident),* >, $sample:ty, |$s:ident, $x:ident, $y:ident, $lr:ident| $step:expr) => {
        impl<F: reference::Flavor, $(const $w: usize),*> Pooled for reference::$net<F, $($w),*> {
            fn load(&mut self, pool: &[f32]) {
                *self = Self::from_pool(pool);
            }
            fn pool(&self) -> Vec<f32> {
                self.to_pool()
            }
        }
        impl<F: reference::Flavor, $(const $w: usize),*> Step<$sample>
            for reference::$net<F, $($w),*>
        {
            fn train_on(&mut self, ($x, $y): &$sample, $lr: f32) -> f32 {
                let $s = self;
                $step
            }
        }
    };
}

reference_impls!(Mlp2<I, H, O>, Sample<I, O>, |s, x, y, lr| s.step(x, y, lr));
reference_impls!(Mlp3<I, H1, H2, O>, Sample<I, O>, |s, x, y, lr| s.step(x, y, lr));
reference_impls!(Elman<I, H, T>, ([[f32; I]; T], [[f32; 1]; T]), |s, x, y, lr| s.step(x, y, lr));

impl<F: reference::Flavor> Pooled for reference::Lenet5<F> {
    fn load(&mut self, pool: &[f32]) {
        *self = Self::from_pool(pool);
    }
    fn pool(&self) -> Vec<f32> {
        self.to_pool()
    }
}

impl<F: reference::Flavor> Step<Sample<{ reference::IN }, { reference::OUT }>>
    for reference::Lenet5<F>
{
    fn train_on(&mut self, (x, y): &Sample<{ reference::IN }, { reference::OUT }>, lr: f32) -> f32 {
        self.step(x, y, lr)
    }
}

impl<F: reference::Flavor> Pooled for reference::LenetBatch<F> {
    fn load(&mut self, pool: &[f32]) {
        *self = Self::from_pool(pool, self.batch());
    }
    fn pool(&self) -> Vec<f32> {
        self.to_pool()
    }
}

impl<F: reference::Flavor> Step<Batch> for reference::LenetBatch<F> {
    fn train_on(&mut self, b: &Batch, _: f32) -> f32 {
        self.step(&b.xs, &b.ys, b.lr)
    }
}

impl<F: reference::Flavor> Pooled for reference::Minibatch<F> {
    fn load(&mut self, pool: &[f32]) {
        *self = Self::from_pool(pool, self.widths(), self.batch());
    }
    fn pool(&self) -> Vec<f32> {
        self.to_pool()
    }
}

/// [`Step`] for a generated per-sample network: the lecture's cycle.
macro_rules! per_sample_step {
    ($($net:ty: $sample:ty),* $(,)?) => {$(
        impl Step<$sample> for $net {
            fn train_on(&mut self, (x, y): &$sample, lr: f32) -> f32 {
                let e = self.fprop(x, y);
                self.zero_grad();
                self.bprop();
                self.sgd_step(lr);
                e
            }
        }
    )*};
}

per_sample_step!(
    XorNet: Sample<2, 1>,
    SmallNet: Sample<8, 4>,
    DigitsNet: Sample<64, 10>,
    DeepNet: Sample<32, 8>,
    Lenet5Net: Sample<{ reference::IN }, { reference::OUT }>,
);

/// A generated per-sample network trained with its fused `train_sgd` (one sweep, the same
/// parameters bit for bit as the cycle) instead of the lecture's four calls.
struct Fused<N>(N);

impl<N: Pooled> Pooled for Fused<N> {
    fn load(&mut self, pool: &[f32]) {
        self.0.load(pool);
    }
    fn pool(&self) -> Vec<f32> {
        self.0.pool()
    }
}

/// [`Step`] for [`Fused`].
macro_rules! fused_step {
    ($($net:ty: $sample:ty),* $(,)?) => {$(
        impl Step<$sample> for Fused<$net> {
            fn train_on(&mut self, (x, y): &$sample, lr: f32) -> f32 {
                self.0.train_sgd(x, y, lr)
            }
        }
    )*};
}

fused_step!(
    XorNet: Sample<2, 1>,
    SmallNet: Sample<8, 4>,
    DigitsNet: Sample<64, 10>,
    DeepNet: Sample<32, 8>,
    Lenet5Net: Sample<{ reference::IN }, { reference::OUT }>,
);

/// [`Step`] for a generated unfolded network: fprop over the whole sequence, BPTT, update.
macro_rules! sequence_step {
    ($($net:ty: $t:literal),* $(,)?) => {$(
        impl Step<Sequence<$t>> for $net {
            fn train_on(&mut self, (xs, ys): &Sequence<$t>, lr: f32) -> f32 {
                let e = self.fprop(xs, ys).expect("a sequence of the unfolded length");
                self.zero_grad();
                self.bprop();
                self.sgd_step(lr);
                e
            }
        }
    )*};
}

sequence_step!(ElmanNet: 16, LongElmanNet: 64);

impl<F: reference::Flavor> Step<Batch> for reference::Minibatch<F> {
    fn train_on(&mut self, b: &Batch, _: f32) -> f32 {
        self.step(&b.xs, &b.ys, b.lr)
    }
}

const GENERATED: &str = "generated";
const HAND_FIXED: &str = "hand-written, fixed-size";
const HAND_LIBM: &str = "hand-written, libm tanhf";

// ---------------------------------------------------------------------------------------------
// The workloads.

/// A reference's constructor from the generated network's initial pool.
type FromPool<R> = fn(&[f32]) -> R;

/// A per-sample or sequence workload: the generated network `net` against the fixed-size and the
/// libm references built from its initial pool by `reference`, trained with rate `lr` on `data`.
fn per_sample<N, R1, R2, D>(
    cfg: &Config,
    name: &str,
    (full, min): (usize, usize),
    net: N,
    (fixed, libm): (FromPool<R1>, FromPool<R2>),
    data: &[D],
    lr: f32,
) -> Row
where
    N: Pooled + Step<D>,
    R1: Pooled + Step<D>,
    R2: Pooled + Step<D>,
{
    let init = net.pool();
    run(
        cfg,
        name,
        cfg.steps(full, min),
        data.len(),
        &[TOLERANCE, LIBM_TOLERANCE],
        &mut [
            &mut Variant::new(GENERATED, net, &init, data, lr),
            &mut Variant::new(HAND_FIXED, fixed(&init), &init, data, lr),
            &mut Variant::new(HAND_LIBM, libm(&init), &init, data, lr),
        ],
    )
}

/// A per-sample workload twice: the lecture's cycle, then the fused `train_sgd`.
fn both<N, R1, R2, D>(
    cfg: &Config,
    name: &str,
    steps: (usize, usize),
    net: N,
    references: (FromPool<R1>, FromPool<R2>),
    data: &[D],
    lr: f32,
) -> Vec<Row>
where
    N: Pooled + Step<D> + Clone,
    Fused<N>: Step<D>,
    R1: Pooled + Step<D>,
    R2: Pooled + Step<D>,
{
    let fused = Fused(net.clone());
    vec![
        per_sample(
            cfg,
            &format!("{name}, per sample"),
            steps,
            net,
            references,
            data,
            lr,
        ),
        per_sample(
            cfg,
            &format!("{name}, train_sgd"),
            steps,
            fused,
            references,
            data,
            lr,
        ),
    ]
}

fn xor(cfg: &Config) -> Vec<Row> {
    use reference::Mlp2;
    both(
        cfg,
        "xor 2-8-1",
        (200_000, 1_000),
        XorNet::new(&mut StdRng::seed_from_u64(1)),
        (
            Mlp2::<FixedSize, 2, 8, 1>::from_pool,
            Mlp2::<Libm, 2, 8, 1>::from_pool,
        ),
        &xor_data(),
        0.1,
    )
}

fn small(cfg: &Config) -> Vec<Row> {
    use reference::Mlp2;
    both(
        cfg,
        "small 8-16-4",
        (100_000, 1_024),
        SmallNet::new(&mut StdRng::seed_from_u64(5)),
        (
            Mlp2::<FixedSize, 8, 16, 4>::from_pool,
            Mlp2::<Libm, 8, 16, 4>::from_pool,
        ),
        &teacher_data::<8, 4>(8),
        0.05,
    )
}

fn digits(cfg: &Config) -> Vec<Row> {
    use reference::Mlp2;
    both(
        cfg,
        "digits 64-32-10",
        (10_240, 1_024),
        DigitsNet::new(&mut StdRng::seed_from_u64(2)),
        (
            Mlp2::<FixedSize, 64, 32, 10>::from_pool,
            Mlp2::<Libm, 64, 32, 10>::from_pool,
        ),
        &digits_data(),
        0.01,
    )
}

fn deep(cfg: &Config) -> Vec<Row> {
    use reference::Mlp3;
    both(
        cfg,
        "deep 32-64-64-8",
        (10_240, 1_024),
        DeepNet::new(&mut StdRng::seed_from_u64(6)),
        (
            Mlp3::<FixedSize, 32, 64, 64, 8>::from_pool,
            Mlp3::<Libm, 32, 64, 64, 8>::from_pool,
        ),
        &teacher_data::<32, 8>(32),
        0.01,
    )
}

fn elman(cfg: &Config) -> Row {
    use reference::Elman;
    per_sample(
        cfg,
        "elman 4-32-1 x16, BPTT",
        (1_280, 128),
        ElmanNet::new(&mut StdRng::seed_from_u64(3)),
        (
            Elman::<FixedSize, 4, 32, 16>::from_pool,
            Elman::<Libm, 4, 32, 16>::from_pool,
        ),
        &elman_data::<16>(16),
        0.005,
    )
}

fn long_elman(cfg: &Config) -> Row {
    use reference::Elman;
    per_sample(
        cfg,
        "elman 4-16-1 x64, BPTT",
        (1_280, 128),
        LongElmanNet::new(&mut StdRng::seed_from_u64(7)),
        (
            Elman::<FixedSize, 4, 16, 64>::from_pool,
            Elman::<Libm, 4, 16, 64>::from_pool,
        ),
        &elman_data::<64>(64),
        0.002,
    )
}

/// Floating-point operations of a matrix product `m × k` by `k × n`.
fn gemm_flops(m: usize, k: usize, n: usize) -> f64 {
    2.0 * (m * k * n) as f64
}

/// What the minibatch workloads need of a generated network beyond training.
trait BatchNet: Pooled + Step<Batch> {
    fn reserve(&mut self, batch: usize);
    fn threads(&mut self, threads: usize);
}

/// [`BatchNet`] for generated networks.
macro_rules! batch_net {
    ($($net:ty),*) => {$(
        impl BatchNet for $net {
            fn reserve(&mut self, batch: usize) {
                self.reserve_batch(batch).expect("the batch fits in memory");
            }
            fn threads(&mut self, threads: usize) {
                self.set_batch_threads(threads).expect("the threads start");
            }
        }
        impl Step<Batch> for $net {
            fn train_on(&mut self, b: &Batch, _: f32) -> f32 {
                let e = self
                    .fprop_batch(&b.xs, &b.ys)
                    .expect("a batch within the reserved capacity");
                self.zero_grad();
                self.bprop_batch();
                self.sgd_step(b.lr);
                e
            }
        }
    )*};
}

batch_net!(MinibatchNet, WideNet, Deep3Net, Lenet5Net);

/// A generated network trained on minibatches with its fused `train_sgd_batch` (the same
/// parameters bit for bit as the cycle) instead of the four calls.
struct FusedBatch<N>(N);

impl<N: Pooled> Pooled for FusedBatch<N> {
    fn load(&mut self, pool: &[f32]) {
        self.0.load(pool);
    }
    fn pool(&self) -> Vec<f32> {
        self.0.pool()
    }
}

/// [`BatchNet`] for [`FusedBatch`].
macro_rules! fused_batch_net {
    ($($net:ty),*) => {$(
        impl BatchNet for FusedBatch<$net> {
            fn reserve(&mut self, batch: usize) {
                self.0.reserve(batch);
            }
            fn threads(&mut self, threads: usize) {
                self.0.threads(threads);
            }
        }
        impl Step<Batch> for FusedBatch<$net> {
            fn train_on(&mut self, b: &Batch, _: f32) -> f32 {
                self.0
                    .train_sgd_batch(&b.xs, &b.ys, b.lr)
                    .expect("a batch within the reserved capacity")
            }
        }
    )*};
}

fused_batch_net!(MinibatchNet, WideNet, Deep3Net, Lenet5Net);

/// Floating-point operations of the matrix products of one minibatch step of a tanh net of
/// `widths` on `batch` rows, the same for every variant (none computes dE/d(input)); the
/// elementwise work (bias, tanh, energy, update) is not counted. Per layer: the forward product
/// `H·Wᵀ` and `dW = Gᵀ·H` (as much again), and below the top layer `dH = G·W`.
fn step_flops(widths: &[usize], batch: usize) -> f64 {
    let layers = widths.len() - 1;
    (0..layers)
        .map(|l| {
            let f = gemm_flops(batch, widths[l], widths[l + 1]);
            if l > 0 { 3.0 * f } else { 2.0 * f }
        })
        .sum()
}

/// A minibatch workload: the generated network `net` (of layer `widths`) on batches of `batch`,
/// its large products split across `threads` threads (`set_batch_threads`); the references stay
/// on one thread. `fused`: the name says the network is trained with `train_sgd_batch`.
fn minibatch<N: BatchNet>(
    cfg: &Config,
    mut net: N,
    widths: &[usize],
    batch: usize,
    threads: usize,
    fused: bool,
) -> Row {
    use reference::Minibatch;
    let data = minibatch_data(batch);
    net.reserve(batch);
    net.threads(threads);
    let init = net.pool();
    let shape: Vec<String> = widths.iter().map(|w| w.to_string()).collect();
    let how = if fused { ", train_sgd_batch" } else { "" };
    let name = format!("{}, B={batch}, {threads}T{how}", shape.join("-"));
    // About 0.4 GFLOP a round.
    let steps = ((4e8 / step_flops(widths, batch)) as usize / 8).max(4) * 8;
    // The GEMM limit, in the same rounds: the first layer's forward product alone, by
    // matrixmultiply and bpnet on one thread (one-thread rows) or by bpnet on the row's threads.
    let (m, k, n) = (batch, widths[0], widths[1]);
    let mut products: Vec<Product> = if threads == 1 {
        vec![
            Product::new(LIMIT_MM, (m, k, n), None),
            Product::new(LIMIT_OURS_1T, (m, k, n), Some(1)),
        ]
    } else {
        vec![Product::new(LIMIT_OURS_2T, (m, k, n), Some(threads))]
    };
    let mut extra: Vec<&mut dyn Trainer> =
        products.iter_mut().map(|p| p as &mut dyn Trainer).collect();
    let (mut row, product_ns) = run_with(
        cfg,
        &name,
        (cfg.steps(steps, (steps / 10).max(16)), data.len()),
        &[MINIBATCH_TOLERANCE, LIBM_TOLERANCE],
        &mut [
            &mut Variant::new(GENERATED, net, &init, &data, 0.0),
            &mut Variant::new(
                HAND_FIXED,
                Minibatch::<FixedSize>::from_pool(&init, widths, batch),
                &init,
                &data,
                0.0,
            ),
            &mut Variant::new(
                HAND_LIBM,
                Minibatch::<Libm>::from_pool(&init, widths, batch),
                &init,
                &data,
                0.0,
            ),
        ],
        &mut extra,
    );
    row.limit = Some(Limit::from_rounds(
        &products,
        &product_ns,
        step_flops(widths, batch),
        &row.generated_rounds,
    ));
    row.flops_per_step = Some(step_flops(widths, batch));
    row.gemm = Some((batch, widths[1], threads));
    row
}

/// LeNet-5's inputs and targets, one sample.
type LenetSample = Sample<{ reference::IN }, { reference::OUT }>;
/// Rows of LeNet-5's minibatches.
const LENET_BATCH: usize = 64;
/// LeNet-5's minibatches: the first of `minibatch_data`'s (their learning rate 0.01 over the
/// batch).
const LENET_BATCHES: usize = 2;
/// LeNet-5's samples for the per-sample rows: the first batch's.
const LENET_SAMPLES: usize = 64;
/// LeNet-5's per-sample learning rate, the batches' times their rows.
const LENET_LR: f32 = 0.01;

/// Floating-point operations of LeNet-5's convolutions for one sample, the same for every variant:
/// 2 per multiply-add of each convolution's forward sums, as many again for its dW, and for C3 as
/// many again for dE/d(its input) (C1's input needs none). Counted over whole kernels, padding
/// included: the zeros around C1's input are 8% of its terms, which the direct loops skip and
/// im2col multiplies.
fn lenet_conv_flops() -> f64 {
    let macs = |maps_in: usize, maps: usize, kernel: usize, side: usize| {
        (maps_in * maps * kernel * kernel * side * side) as f64
    };
    2.0 * (2.0 * macs(1, 6, 5, 28) + 3.0 * macs(6, 16, 5, 10))
}

/// LeNet-5 trained one sample a step: the generated network `net` (the lecture's cycle or the
/// fused `train_sgd`) against the fixed-size reference.
fn lenet_per_sample<N: Pooled + Step<LenetSample>>(
    cfg: &Config,
    name: &str,
    net: N,
    data: &[LenetSample],
) -> Row {
    use reference::{FixedSize, Lenet5};
    let init = net.pool();
    let mut row = run(
        cfg,
        name,
        cfg.steps(LENET_STEPS.0, LENET_STEPS.1),
        data.len(),
        &[LENET_TOLERANCE],
        &mut [
            &mut Variant::new(GENERATED, net, &init, data, LENET_LR),
            &mut Variant::new(
                HAND_FIXED,
                Lenet5::<FixedSize>::from_pool(&init),
                &init,
                data,
                LENET_LR,
            ),
        ],
    );
    row.conv_flops = Some(lenet_conv_flops());
    row
}

/// LeNet-5 on 28 × 28 images (the minibatch workloads' synthetic images): per sample, the cycle
/// and `train_sgd` against the fixed-size reference; on minibatches of 64, `train_sgd_batch` (on
/// one thread) against the im2col + sgemm reference.
fn lenet(cfg: &Config) -> Vec<Row> {
    use reference::{FixedSize, LenetBatch};
    let batches: Vec<Batch> = minibatch_data(LENET_BATCH)
        .into_iter()
        .take(LENET_BATCHES)
        .collect();
    let samples: Vec<LenetSample> = batches
        .iter()
        .flat_map(|b| b.xs.iter().copied().zip(b.ys.iter().copied()))
        .take(LENET_SAMPLES)
        .collect();
    let new = || Lenet5Net::new(&mut StdRng::seed_from_u64(12));
    let mut rows = vec![
        lenet_per_sample(cfg, "lenet-5, per sample", new(), &samples),
        lenet_per_sample(cfg, "lenet-5, train_sgd", Fused(new()), &samples),
    ];
    let mut net = FusedBatch(new());
    net.reserve(LENET_BATCH);
    net.threads(1);
    let init = net.pool();
    let mut row = run(
        cfg,
        &format!("lenet-5, B={LENET_BATCH}, 1T, train_sgd_batch"),
        cfg.steps(LENET_BATCH_STEPS.0, LENET_BATCH_STEPS.1),
        batches.len(),
        &[LENET_BATCH_TOLERANCE],
        &mut [
            &mut Variant::new(GENERATED, net, &init, &batches, 0.0),
            &mut Variant::new(
                HAND_FIXED,
                LenetBatch::<FixedSize>::from_pool(&init, LENET_BATCH),
                &init,
                &batches,
                0.0,
            ),
        ],
    );
    row.conv_flops = Some(LENET_BATCH as f64 * lenet_conv_flops());
    rows.push(row);
    rows
}

/// Minibatches of sequences: the Elman 4-32-1 net over 16 steps, 32 sequences a batch, one
/// training step per batch (`fprop_batch; zero_grad; bprop_batch; sgd_step`). Returns the time
/// per sequence (ns), best round; the single-sequence step is the `elman 4-32-1 x16` row.
fn sequence_batch(cfg: &Config) -> f64 {
    let data = elman_data::<16>(16);
    let (xs, ys): (Vec<_>, Vec<_>) = data.iter().cloned().unzip();
    let mut net = ElmanNet::new(&mut StdRng::seed_from_u64(3));
    net.reserve_batch(32).expect("the batch fits in memory");
    let steps = cfg.steps(200, 20);
    let mut best = f64::INFINITY;
    for round in 0..=cfg.rounds {
        let start = Instant::now();
        for s in 0..steps {
            let r = (s % 2) * 32..(s % 2) * 32 + 32;
            black_box(
                net.fprop_batch(&xs[r.clone()], &ys[r])
                    .expect("32 sequences"),
            );
            net.zero_grad();
            net.bprop_batch();
            net.sgd_step(0.005 / 32.0);
        }
        if round > 0 {
            best = best.min(start.elapsed().as_nanos() as f64 / (steps * 32) as f64);
        }
    }
    best
}

const LIMIT_MM: &str = "matrixmultiply, 1 thread";
const LIMIT_OURS_1T: &str = "bpnet, 1 thread";
const LIMIT_OURS_2T: &str = "bpnet, 2 threads";

/// The GEMM limit of this machine, as a variant timed with the steps: the first layer's forward
/// product `X·Wᵀ` alone (`batch × 784` by `784 × hidden`, `W` read transposed as the step reads
/// it), once per "step", by matrixmultiply on one thread (a BLAS-class kernel, the practical
/// limit of one core) or by bpnet's product on a number of threads. Timed in the same rounds and
/// slices as the steps, so that the machine's changes of speed (seen on this virtual machine: the
/// limit measured apart moved the fractions by 20 points) fall on both.
struct Product {
    label: &'static str,
    shape: (usize, usize, usize),
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    /// bpnet's product and its threads, or matrixmultiply (`None`).
    ours: Option<bpnet::kernels::gemm::GemmScratch<f32>>,
}

impl Product {
    fn new(label: &'static str, (m, k, n): (usize, usize, usize), threads: Option<usize>) -> Self {
        let mut rng = StdRng::seed_from_u64(9);
        let mut fill =
            |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let ours = threads.map(|t| {
            let mut scratch = bpnet::kernels::gemm::GemmScratch::new();
            scratch.reserve(k, n);
            scratch.set_threads(t);
            scratch
        });
        Self {
            label,
            shape: (m, k, n),
            a: fill(m * k),
            b: fill(n * k),
            c: vec![0.0; m * n],
            ours,
        }
    }

    fn flops(&self) -> f64 {
        let (m, k, n) = self.shape;
        gemm_flops(m, k, n)
    }

    fn product(&mut self) {
        let (m, k, n) = self.shape;
        let (a, b, c) = (&self.a, &self.b, &mut self.c);
        match &mut self.ours {
            Some(scratch) => {
                bpnet::kernels::gemm::f32::gemm(m, k, n, a, (k, 1), b, (1, k), 0.0, c, scratch)
            }
            // SAFETY: a is m × k (strides k, 1), b holds W (n × k), read as k × n through strides
            // (1, k), c is m × n; all inside their vectors, c borrowed mutably alone.
            None => unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    k as isize,
                    1,
                    b.as_ptr(),
                    1,
                    k as isize,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            },
        }
    }
}

impl Trainer for Product {
    fn label(&self) -> &'static str {
        self.label
    }
    fn reset(&mut self) {}
    fn train(&mut self, steps: usize) -> f64 {
        for _ in 0..steps {
            self.product();
        }
        f64::from(self.c[0])
    }
    fn pool(&self) -> Vec<f32> {
        Vec::new()
    }
}

/// A minibatch row's GEMM limit and its step's fraction of it.
struct Limit {
    shape: (usize, usize, usize),
    /// Each product's label and GFLOP/s (median round).
    rates: Vec<(&'static str, f64)>,
    /// The step's GFLOP/s (products only) over the limit's, round by round (the limit of a round
    /// is its fastest product): first quartile, median, third quartile.
    fraction: (f64, f64, f64),
}

impl Limit {
    /// From the ns per product of each of `products` in each round, and the generated step's
    /// (`flops` a step) in the same rounds.
    fn from_rounds(products: &[Product], ns: &[Vec<f64>], flops: f64, step_ns: &[f64]) -> Self {
        let rate = |p: &Product, ns: f64| p.flops() / ns;
        let mut fractions: Vec<f64> = step_ns
            .iter()
            .enumerate()
            .map(|(r, step)| {
                let limit = products
                    .iter()
                    .zip(ns)
                    .map(|(p, ns)| rate(p, ns[r]))
                    .fold(0.0, f64::max);
                flops / step / limit
            })
            .collect();
        fractions.sort_by(f64::total_cmp);
        let q = fractions.len();
        Self {
            shape: products[0].shape,
            rates: products
                .iter()
                .zip(ns)
                .map(|(p, ns)| (p.label, rate(p, median(ns))))
                .collect(),
            fraction: (fractions[q / 4], median(&fractions), fractions[(3 * q) / 4]),
        }
    }
}

/// The minibatch steps' rates against the GEMM limit measured in the same rounds, on the first
/// layer's product: one core's is the faster of matrixmultiply and bpnet's product on one thread;
/// two cores' is bpnet's product on two threads (matrixmultiply is built without threads here).
fn print_limits(rows: &[Row]) {
    let limited: Vec<(&Row, &Limit)> = rows
        .iter()
        .filter_map(|r| r.limit.as_ref().map(|l| (r, l)))
        .collect();
    if limited.is_empty() {
        return;
    }
    println!();
    println!(
        "GEMM limit, the first layer's forward product X·Wᵀ alone, timed in the same rounds as \
         the steps (GFLOP/s, median round), and the steps' rate (products only) as a fraction of \
         it (median round, quartiles):"
    );
    for (r, l) in limited {
        let (m, k, n) = l.shape;
        let rates: Vec<String> = l
            .rates
            .iter()
            .map(|(label, rate)| format!("{label} {rate:.1}"))
            .collect();
        let (lo, mid, hi) = l.fraction;
        let step = r.flops_per_step.unwrap_or(f64::NAN) / r.timings[0].ns;
        println!(
            "  {:<28} {m}×{k}·{k}×{n}: {}; step {step:.1}: {:.1}% ({:.1}-{:.1})",
            r.workload,
            rates.join(", "),
            100.0 * mid,
            100.0 * lo,
            100.0 * hi
        );
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cpu}, nproc {cores}")
}

/// Under the table.
const NOTES: &str = "\
ratio = generated / hand-written time per step (median / median): below 1 the generated
network is faster; quartiles: the first and third quartile of the ratios of the rounds (the
noise). Absolute times depend on the machine and its load; the ratio is what matters.
No variant computes dE/dx of the network's input. \"fixed-size\": const widths, 8 partial sums,
the runtime's rational tanh, the update fused (the same math); \"libm tanhf\": one running sum
and f32::tanh, the straightforward code (its trajectory drifts by about 1e-6 and is checked
with a tolerance of its own). \"per sample\" rows train with fprop, zero_grad, bprop, sgd_step;
\"train_sgd\" rows with the generated fused step (the same parameters, bit for bit).
lenet-5: one reference a row; on minibatches its convolutions are im2col + sgemm.";

fn print(rows: &[Row], cfg: &Config) {
    println!();
    println!(
        "bpnet speed: generated networks vs hand-written Rust (f32, plain SGD), median of {} \
         rounds{}",
        cfg.rounds,
        if cfg.quick {
            " (QUICK: smoke run only)"
        } else {
            ""
        }
    );
    println!("machine: {}", machine());
    println!();
    // A group of three columns per reference, headed by its label.
    let labels: Vec<&str> = rows
        .first()
        .map(|r| r.timings[1..].iter().map(|t| t.label).collect())
        .unwrap_or_default();
    let mut head = format!("{:<28} {:>7} {:>10}", "", "steps", "generated");
    let mut sub = format!("{:<28} {:>7} {:>10}", "workload", "/round", "ns/step");
    for label in &labels {
        head += &format!("   {label:>28}");
        sub += &format!("   {:>10} {:>6} {:>11}", "ns/step", "ratio", "quartiles");
    }
    println!("{head}");
    println!("{sub}");
    for r in rows {
        let g = r.timings[0].ns;
        let mut line = format!("{:<28} {:>7} {:>10.1}", r.workload, r.steps, g);
        for t in &r.timings[1..] {
            let (lo, hi) = t.ratio_quartiles;
            line += &format!(
                "   {:>10.1} {:>5.2}x {:>11}",
                t.ns,
                g / t.ns,
                format!("{lo:.2}-{hi:.2}")
            );
        }
        println!("{line}");
    }
    for r in rows {
        if let Some(flops) = r.conv_flops {
            let rates: Vec<String> = r
                .timings
                .iter()
                .map(|t| format!("{} {:.2}", t.label, flops / t.ns))
                .collect();
            println!(
                "{}, conv GFLOP/s (a lower bound: the whole step's time) at {:.2} MFLOP of \
                 convolutions a step: {}",
                r.workload,
                flops / 1e6,
                rates.join("; ")
            );
        }
    }
    for r in rows {
        if let Some(flops) = r.flops_per_step {
            let rates: Vec<String> = r
                .timings
                .iter()
                .map(|t| format!("{} {:.1}", t.label, flops / t.ns))
                .collect();
            println!(
                "{}, GFLOP/s at {:.1} MFLOP/step: {}",
                r.workload,
                flops / 1e6,
                rates.join("; ")
            );
        }
    }
    println!();
    println!("{NOTES}");
    println!();
    println!("check, on the timed trajectory (loss: mean energy over the first / last epoch):");
    for r in rows {
        println!(
            "  {}: loss {:.4e} -> {:.4e} in {} steps",
            r.workload, r.first_loss, r.last_loss, r.steps
        );
        for a in &r.agreements {
            println!(
                "    {:<26} final loss {:.6e}, rel. difference {:.1e}; parameters: {:.1e} \
                 (tolerance {:.0e})",
                a.label, a.loss, a.loss_diff, a.param_diff, a.tolerance
            );
        }
    }
}

/// A workload's runs, by name.
type Workloads = fn(&Config) -> Vec<Row>;

fn main() {
    let cfg = Config::from_env();
    let mut rows = Vec::new();
    let per_sample: [(&str, Workloads); 4] = [
        ("xor", xor),
        ("small", small),
        ("digits", digits),
        ("deep", deep),
    ];
    for (name, workload) in per_sample {
        if cfg.wants(name) {
            rows.extend(workload(&cfg));
        }
    }
    if cfg.wants("minibatch") {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads: Vec<usize> = if cores >= 2 { vec![1, 2] } else { vec![1] };
        let seed = |s| StdRng::seed_from_u64(s);
        macro_rules! shape {
            ($net:ident, $seed:expr, $widths:expr, $batch:expr) => {
                for &t in &threads {
                    rows.push(minibatch(
                        &cfg,
                        $net::new(&mut seed($seed)),
                        &$widths,
                        $batch,
                        t,
                        false,
                    ));
                    rows.push(minibatch(
                        &cfg,
                        FusedBatch($net::new(&mut seed($seed))),
                        &$widths,
                        $batch,
                        t,
                        true,
                    ));
                }
            };
        }
        shape!(MinibatchNet, 4, [784, 256, 10], 64);
        shape!(MinibatchNet, 4, [784, 256, 10], 256);
        shape!(WideNet, 10, [784, 512, 10], 256);
        shape!(Deep3Net, 11, [784, 1024, 1024, 10], 128);
    }
    if cfg.wants("lenet") {
        rows.extend(lenet(&cfg));
    }
    let mut per_sequence = None;
    if cfg.wants("elman") {
        rows.push(elman(&cfg));
        rows.push(long_elman(&cfg));
        per_sequence = Some(sequence_batch(&cfg));
    }
    if rows.is_empty() {
        eprintln!("no workload matches {:?}", cfg.filters);
        std::process::exit(2);
    }
    print(&rows, &cfg);
    print_limits(&rows);
    if let Some(ns) = per_sequence {
        let single = rows.iter().find(|r| r.workload.starts_with("elman 4-32-1"));
        println!();
        println!(
            "elman 4-32-1 x16 on minibatches of 32 sequences: {ns:.0} ns per sequence, against \
             {:.0} ns for one sequence alone (generated, the row above)",
            single.map_or(f64::NAN, |r| r.timings[0].ns)
        );
    }
}
