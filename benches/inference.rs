//! Speed of the inference form (`NameFrozen`, what a program without std runs) against
//! hand-written Rust with fixed-size arrays, measured in the same run.
//!
//! `cargo bench --bench inference` (under a minute once built). Three networks: the two the
//! embedded example deploys (`examples/embedded/src/nets.rs`: `Sine`, 1-16-1, and `Sunspots`, an
//! Elman network 1-8-1 run one step per call) and `Controller`, 8-32-32-2 with tanh. Each is
//! timed three ways: the inference form (`run`, `run_step`), the training network's `run` (the
//! same sweep; for `Sunspots`, `run_continued` with one step), and a reference written by hand
//! for that one network, in a baseline and an AVX2 build: `[f32; N]` arrays, loops
//! with constant trip counts, dot products in 8 partial sums, the runtime's rational tanh
//! (`bpnet::kernels::approx::tanh`), parameters in their own arrays.
//!
//! Before timing, every variant computes the outputs of all 1,024 inputs, and they must agree
//! with the inference form's within a relative 1e-5, or the bench stops (the references add in
//! the runtime's order, and today agree to the bit). The reference is also compiled for AVX2,
//! inlined into its loop, as the inference form's sweep is run: the ratio is taken against that
//! build. Timing: one warm-up round, then 21 rounds; in each, every
//! variant runs the 1,024 inputs in 8 slices, taking turns slice by slice (A B C, then C B A, …).
//! The table shows the median time per call over the rounds and the ratio inference form /
//! reference with the quartiles of the per-round ratios. The ratio is what matters.

// Indexed loops on purpose: this is the plain code the generated code is measured against.
#![allow(clippy::needless_range_loop)]

use bpnet::kernels::approx::tanh;
use bpnet::prelude::*;
use std::hint::black_box;
use std::time::Instant;

include!("../examples/embedded/src/nets.rs");

network! {
    /// A small controller: 8 sensor values to 2 commands.
    pub struct Controller {
        input  x: 8;
        target y: 2;
        s1     = l1: linear(x -> 32);
        h1     = t1: tanh(s1);
        s2     = l2: linear(h1 -> 32);
        h2     = t2: tanh(s2);
        out    = l3: linear(h2 -> 2);
        energy = euclidean(out, y);
    }
}

const INPUTS: usize = 1024;
const ROUNDS: usize = 21;
const SLICES: usize = 8;

/// `a · b` in 8 partial sums, as a careful author writes a dot product of known length (term `j`
/// into sum `j mod 8`, then `q_l = s_l + s_{l+4}` and `(q_0 + q_2) + (q_1 + q_3)`: the runtime's
/// order, so that a recurrent network's outputs do not drift apart over a thousand steps).
#[inline(always)]
fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    let mut s = [0.0f32; 8];
    let (ac, at) = a.as_chunks::<8>();
    let (bc, bt) = b.as_chunks::<8>();
    for (x, y) in ac.iter().zip(bc) {
        for l in 0..8 {
            s[l] += x[l] * y[l];
        }
    }
    for (l, (x, y)) in at.iter().zip(bt).enumerate() {
        s[l] += x * y;
    }
    let q = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    (q[0] + q[2]) + (q[1] + q[3])
}

/// `y = W x` with `W` as `O` rows of `I`, one row after the other (two rows interleaved, in plain
/// Rust, measured slower: 690 against 560 ns a call for `Controller`).
#[inline(always)]
fn matvec<const I: usize, const O: usize>(w: &[[f32; I]; O], x: &[f32; I]) -> [f32; O] {
    let mut y = [0.0f32; O];
    for (yo, row) in y.iter_mut().zip(w) {
        *yo = dot(row, x);
    }
    y
}

/// `tanh(x + b)`, element by element.
#[inline(always)]
fn tanh_bias<const N: usize>(x: &[f32; N], b: &[f32; N]) -> [f32; N] {
    let mut y = [0.0f32; N];
    for i in 0..N {
        y[i] = tanh(x[i] + b[i]);
    }
    y
}

/// `N` values from `p[at..]` (untimed: the references keep their parameters in arrays).
fn take<const N: usize>(p: &[f32], at: &mut usize) -> [f32; N] {
    let v = p[*at..*at + N].try_into().unwrap();
    *at += N;
    v
}

/// `O` rows of `I` values from `p[at..]`.
fn rows<const I: usize, const O: usize>(p: &[f32], at: &mut usize) -> [[f32; I]; O] {
    core::array::from_fn(|_| take::<I>(p, at))
}

/// Sine's parameters in arrays.
struct SineRef {
    w1: [f32; 16],
    b1: [f32; 16],
    w2: [f32; 16],
}

impl SineRef {
    fn new(p: &[f32]) -> Self {
        let at = &mut 0;
        Self {
            w1: take(p, at),
            b1: take(p, at),
            w2: take(p, at),
        }
    }

    #[inline(always)]
    fn run(&self, x: f32) -> f32 {
        let mut h = [0.0f32; 16];
        for i in 0..16 {
            h[i] = self.w1[i] * x;
        }
        dot(&self.w2, &tanh_bias(&h, &self.b1))
    }
}

/// Sunspots' parameters in arrays, and its recurrent state.
struct SunspotsRef {
    wx: [f32; 8],
    wh: [[f32; 8]; 8],
    b: [f32; 8],
    wo: [f32; 8],
    h: [f32; 8],
}

impl SunspotsRef {
    fn new(p: &[f32]) -> Self {
        let at = &mut 0;
        Self {
            wx: take(p, at),
            wh: rows(p, at),
            b: take(p, at),
            wo: take(p, at),
            h: [0.0; 8],
        }
    }

    #[inline(always)]
    fn step(&mut self, x: f32) -> f32 {
        let c = matvec(&self.wh, &self.h);
        let mut a = [0.0f32; 8];
        for i in 0..8 {
            a[i] = self.wx[i] * x + c[i];
        }
        self.h = tanh_bias(&a, &self.b);
        dot(&self.wo, &self.h)
    }
}

/// Controller's parameters in arrays.
struct ControllerRef {
    w1: [[f32; 8]; 32],
    b1: [f32; 32],
    w2: [[f32; 32]; 32],
    b2: [f32; 32],
    w3: [[f32; 32]; 2],
}

impl ControllerRef {
    fn new(p: &[f32]) -> Self {
        let at = &mut 0;
        Self {
            w1: rows(p, at),
            b1: take(p, at),
            w2: rows(p, at),
            b2: take(p, at),
            w3: rows(p, at),
        }
    }

    #[inline(always)]
    fn run(&self, x: &[f32; 8]) -> [f32; 2] {
        let h1 = tanh_bias(&matvec(&self.w1, x), &self.b1);
        let h2 = tanh_bias(&matvec(&self.w2, &h1), &self.b2);
        matvec(&self.w3, &h2)
    }
}

/// The references run as the inference form's sweep is (`bpnet::__private::wide_with`): `f`
/// compiled for AVX2 where the CPU has it (an `#[inline(always)]` closure is compiled into the
/// AVX2 function), as it is elsewhere.
mod avx2 {
    #[inline(always)]
    pub fn with<R>(f: impl FnOnce() -> R) -> R {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { inner(f) };
        }
        f()
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn inner<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}

/// One way of running a network over the inputs: returns the sum of the outputs of
/// `inputs[range]` (so that nothing is optimised away).
type Variant<'a> = Box<dyn FnMut(core::ops::Range<usize>) -> f64 + 'a>;

/// Every variant's outputs, then the median time per call and the per-round ratios to the first
/// variant.
fn bench(
    name: &str,
    outputs: &mut [Box<dyn FnMut() -> Vec<f32> + '_>],
    variants: &mut [Variant<'_>],
) {
    let want = outputs[0]();
    for (k, out) in outputs.iter_mut().enumerate().skip(1) {
        let got = out();
        let worst = want
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(1e-3))
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "{name}: variant {k} disagrees by {worst:e}");
        eprintln!("{name}: variant {k} agrees within {worst:.1e}");
    }
    let n = variants.len();
    let mut times = vec![Vec::new(); n];
    let slice = INPUTS / SLICES;
    for round in 0..=ROUNDS {
        let mut t = vec![0.0f64; n];
        for s in 0..SLICES {
            let order: Vec<usize> = if s % 2 == 0 {
                (0..n).collect()
            } else {
                (0..n).rev().collect()
            };
            for v in order {
                let start = Instant::now();
                black_box(variants[v](s * slice..(s + 1) * slice));
                t[v] += start.elapsed().as_secs_f64();
            }
        }
        if round > 0 {
            for v in 0..n {
                times[v].push(t[v] / INPUTS as f64 * 1e9);
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let quartiles = |v: &[f64]| -> (f64, f64, f64) {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 4], v[v.len() / 2], v[3 * v.len() / 4])
    };
    let reference = n - 1;
    let ratio = |v: usize| {
        let ratios: Vec<f64> = (0..ROUNDS)
            .map(|r| times[v][r] / times[reference][r])
            .collect();
        let (q1, q2, q3) = quartiles(&ratios);
        format!("**{q2:.2}×** ({q1:.2}–{q3:.2})")
    };
    let cells: Vec<String> = times
        .iter()
        .map(|t| format!("{:.1} ns", median(t)))
        .collect();
    println!(
        "| {name} | {} | {} | {} |",
        cells.join(" | "),
        ratio(0),
        ratio(1)
    );
}

fn main() {
    let mut rng = StdRng::seed_from_u64(16);
    let scalars: Vec<f32> = (0..INPUTS).map(|_| rng.random_range(-1.0..1.0)).collect();
    let vectors: Vec<[f32; 8]> = (0..INPUTS)
        .map(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    println!(
        "| network, per call | inference form | the same, called from an AVX2 loop | training \
         network's `run` | hand-written, fixed-size | the same, AVX2 | inference form / \
         hand-written AVX2 | called from an AVX2 loop / hand-written AVX2 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");

    // Sine: parameters away from the initialisation, so that every bias counts.
    let mut sine = Sine::new(&mut rng);
    for p in sine.params_mut() {
        *p += rng.random_range(-0.3..0.3);
    }
    let sine_params: [f32; Sine::PARAMS] = sine.params().try_into().unwrap();
    let sine_ref = SineRef::new(&sine_params);
    let frozen = std::cell::RefCell::new(Sine::frozen(&sine_params));
    let training = std::cell::RefCell::new(sine);
    bench(
        "Sine, 1-16-1 (`run`)",
        &mut [
            Box::new(|| {
                scalars
                    .iter()
                    .map(|&x| frozen.borrow_mut().run(&[x])[0])
                    .collect()
            }),
            Box::new(|| {
                scalars
                    .iter()
                    .map(|&x| training.borrow_mut().run(&[x])[0])
                    .collect()
            }),
            Box::new(|| scalars.iter().map(|&x| sine_ref.run(x)).collect()),
            Box::new(|| {
                avx2::with(
                    #[inline(always)]
                    || scalars.iter().map(|&x| sine_ref.run(x)).collect(),
                )
            }),
        ],
        &mut [
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                scalars[r]
                    .iter()
                    .map(|&x| f.run(black_box(&[x]))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                avx2::with(
                    #[inline(always)]
                    || {
                        scalars[r]
                            .iter()
                            .map(|&x| f.run(black_box(&[x]))[0] as f64)
                            .sum()
                    },
                )
            }),
            Box::new(|r| {
                let mut t = training.borrow_mut();
                scalars[r]
                    .iter()
                    .map(|&x| t.run(black_box(&[x]))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                scalars[r]
                    .iter()
                    .map(|&x| sine_ref.run(black_box(x)) as f64)
                    .sum()
            }),
            Box::new(|r| {
                avx2::with(
                    #[inline(always)]
                    || {
                        scalars[r]
                            .iter()
                            .map(|&x| sine_ref.run(black_box(x)) as f64)
                            .sum()
                    },
                )
            }),
        ],
    );

    // Sunspots, one step per call; each variant carries its own recurrent state across calls.
    let mut sunspots = Sunspots::new(&mut rng);
    for p in sunspots.params_mut() {
        *p += rng.random_range(-0.3..0.3);
    }
    let sun_params: [f32; Sunspots::PARAMS] = sunspots.params().try_into().unwrap();
    let frozen = std::cell::RefCell::new(Sunspots::frozen(&sun_params));
    let reference = std::cell::RefCell::new(SunspotsRef::new(&sun_params));
    let reference_avx2 = std::cell::RefCell::new(SunspotsRef::new(&sun_params));
    let training = std::cell::RefCell::new(sunspots);
    bench(
        "Sunspots, Elman 1-8-1 (`run_step`)",
        &mut [
            Box::new(|| {
                let mut f = Sunspots::frozen(&sun_params);
                scalars.iter().map(|&x| f.run_step(&[x])[0]).collect()
            }),
            Box::new(|| {
                let mut t = training.borrow_mut();
                t.reset();
                scalars
                    .iter()
                    .map(|&x| t.run_continued(&[[x]]).unwrap().last().unwrap()[0])
                    .collect()
            }),
            Box::new(|| {
                let mut r = SunspotsRef::new(&sun_params);
                scalars.iter().map(|&x| r.step(x)).collect()
            }),
            Box::new(|| {
                let mut r = SunspotsRef::new(&sun_params);
                avx2::with(
                    #[inline(always)]
                    || scalars.iter().map(|&x| r.step(x)).collect(),
                )
            }),
        ],
        &mut [
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                scalars[r]
                    .iter()
                    .map(|&x| f.run_step(black_box(&[x]))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                avx2::with(
                    #[inline(always)]
                    || {
                        scalars[r]
                            .iter()
                            .map(|&x| f.run_step(black_box(&[x]))[0] as f64)
                            .sum()
                    },
                )
            }),
            Box::new(|r| {
                let mut t = training.borrow_mut();
                scalars[r]
                    .iter()
                    .map(|&x| t.run_continued(black_box(&[[x]])).unwrap().last().unwrap()[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                let mut s = reference.borrow_mut();
                scalars[r]
                    .iter()
                    .map(|&x| s.step(black_box(x)) as f64)
                    .sum()
            }),
            Box::new(|r| {
                let mut s = reference_avx2.borrow_mut();
                avx2::with(
                    #[inline(always)]
                    || {
                        scalars[r]
                            .iter()
                            .map(|&x| s.step(black_box(x)) as f64)
                            .sum()
                    },
                )
            }),
        ],
    );

    // Controller.
    let mut controller = Controller::new(&mut rng);
    for p in controller.params_mut() {
        *p += rng.random_range(-0.1..0.1);
    }
    let ctl_params: [f32; Controller::PARAMS] = controller.params().try_into().unwrap();
    let ctl_ref = ControllerRef::new(&ctl_params);
    let frozen = std::cell::RefCell::new(Controller::frozen(&ctl_params));
    let training = std::cell::RefCell::new(controller);
    bench(
        "Controller, 8-32-32-2 (`run`)",
        &mut [
            Box::new(|| {
                vectors
                    .iter()
                    .flat_map(|x| *frozen.borrow_mut().run(x))
                    .collect()
            }),
            Box::new(|| {
                vectors
                    .iter()
                    .flat_map(|x| *training.borrow_mut().run(x))
                    .collect()
            }),
            Box::new(|| vectors.iter().flat_map(|x| ctl_ref.run(x)).collect()),
            Box::new(|| {
                avx2::with(
                    #[inline(always)]
                    || vectors.iter().flat_map(|x| ctl_ref.run(x)).collect(),
                )
            }),
        ],
        &mut [
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                vectors[r]
                    .iter()
                    .map(|x| f.run(black_box(x))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                let mut f = frozen.borrow_mut();
                avx2::with(
                    #[inline(always)]
                    || {
                        vectors[r]
                            .iter()
                            .map(|x| f.run(black_box(x))[0] as f64)
                            .sum()
                    },
                )
            }),
            Box::new(|r| {
                let mut t = training.borrow_mut();
                vectors[r]
                    .iter()
                    .map(|x| t.run(black_box(x))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                vectors[r]
                    .iter()
                    .map(|x| ctl_ref.run(black_box(x))[0] as f64)
                    .sum()
            }),
            Box::new(|r| {
                avx2::with(
                    #[inline(always)]
                    || {
                        vectors[r]
                            .iter()
                            .map(|x| ctl_ref.run(black_box(x))[0] as f64)
                            .sum()
                    },
                )
            }),
        ],
    );
}
