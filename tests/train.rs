//! Optimizers (`bpnet::optim`) and the trainer (`bpnet::train`).
//!
//! Optimizers: each against updates computed by hand on a tiny pool over several steps (the
//! numbers are chosen so that SGD's are exact in binary; Adam's were worked out from the formulas
//! in its documentation), schedules, scaled gradients, `step` on a generated network, and then on
//! problems where a broken optimizer falls short: an ill-conditioned quadratic (momentum and Adam
//! must reach a loss plain SGD cannot), XOR from 20 seeds and a small regression from 5.
//!
//! Trainer: the shuffle (deterministic per seed, a permutation, the documented procedure), the
//! cycle it runs (bit for bit the hand-written one), minibatches, early stopping on a scripted
//! validation loss, NaN and infinity detection (which step, which sample, parameters untouched),
//! errors of the network, the history and the callbacks.

use bpnet::optim::{Adam, Optimizer, Schedule, Sgd};
use bpnet::prelude::*;
use bpnet::train::{
    Columns, Control, Failure, History, Phase, StepCheck, StepReport, StopReason, TrainError,
    Trainer,
};
use bpnet::{ModuleInfo, Network, StateInfo};
use std::cell::{Cell, RefCell};

network! {
    /// The XOR net of `examples/xor.rs`.
    #[bpnet(float = f64)]
    pub struct Xor {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// The same in f32.
    pub struct Xor32 {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A 1-8-1 regression net with a linear output.
    #[bpnet(float = f64)]
    pub struct Fit {
        input  x: 1;
        target y: 1;
        h      = l1: linear(x -> 8);
        a      = t1: tanh(h);
        o      = l2: linear(a -> 1);
        energy = euclidean(o, y);
    }
}

network! {
    /// A small Elman net: fprop returns a `Result`.
    #[bpnet(float = f64)]
    pub struct Elman {
        unfold 8 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

const XOR: [([f64; 2], [f64; 1]); 4] = [
    ([-1.0, -1.0], [-0.8]),
    ([-1.0, 1.0], [0.8]),
    ([1.0, -1.0], [0.8]),
    ([1.0, 1.0], [-0.8]),
];

/// XOR solved: every output on the target's side of zero and within 0.2 of it.
fn xor_correct(net: &mut Xor, (x, y): &([f64; 2], [f64; 1])) -> bool {
    let out = net.run(x)[0];
    out.signum() == y[0].signum() && (out - y[0]).abs() < 0.2
}

/// `trainer` run on minibatches of `batch` XOR pairs (`fprop_batch` and `bprop_batch`).
fn xor_batches<O: Optimizer<f64>>(
    trainer: Trainer<'_, Xor, O, ([f64; 2], [f64; 1])>,
    batch: usize,
) -> Result<History, TrainError> {
    let mut columns = Columns::new();
    trainer.fit_batches(
        batch,
        |net, b| {
            let (xs, ys) = columns.split(b);
            net.fprop_batch(xs, ys)
        },
        |net| net.bprop_batch(),
    )
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "{what}: got {got:?}, want {want:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Optimizers against updates computed by hand.

#[test]
fn plain_sgd_is_the_lectures_update_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(3);
    let (mut a, mut b) = (
        Xor32::new(&mut rng),
        Xor32::new(&mut StdRng::seed_from_u64(3)),
    );
    let mut opt = Sgd::new(0.1f32);
    for (x, y) in XOR.iter().cycle().take(12) {
        let (x, y) = (x.map(|v| v as f32), y.map(|v| v as f32));
        for net in [&mut a, &mut b] {
            net.fprop(&x, &y);
            net.zero_grad();
            net.bprop();
        }
        a.sgd_step(0.1);
        opt.step(&mut b);
    }
    assert_eq!(a.params(), b.params());
    assert!(opt.velocity().is_empty(), "no velocity without momentum");
    // And by hand: w − η·g with η = 0.5.
    let mut w = [1.0f64, -2.0];
    let mut opt = Sgd::new(0.5);
    opt.update(&mut w, &[2.0, -4.0]);
    assert_eq!(w, [0.0, 0.0]);
    opt.update(&mut w, &[2.0, 0.0]);
    assert_eq!(w, [-1.0, 0.0]);
}

/// η = 0.5, μ = 0.5 on w = [1, −2] with gradients [2, −4], [2, 0], [−2, 4].
const GRADS: [[f64; 2]; 3] = [[2.0, -4.0], [2.0, 0.0], [-2.0, 4.0]];

#[test]
fn sgd_momentum_velocity_evolves_as_computed_by_hand() {
    let mut opt = Sgd::new(0.5).momentum(0.5);
    let mut w = [1.0, -2.0];
    // v = μv + g; w −= ηv
    let want = [
        ([2.0, -4.0], [0.0, 0.0]),    // v = [2, −4];            w = [1 − 1, −2 + 2]
        ([3.0, -2.0], [-1.5, 1.0]),   // v = [1 + 2, −2 + 0];    w = [0 − 1.5, 0 + 1]
        ([-0.5, 3.0], [-1.25, -0.5]), // v = [1.5 − 2, −1 + 4]; w = [−1.5 + 0.25, 1 − 1.5]
    ];
    for (g, (v, after)) in GRADS.iter().zip(want) {
        opt.update(&mut w, g);
        assert_eq!((opt.velocity(), &w[..]), (&v[..], &after[..]));
    }
    assert_eq!(opt.steps(), 3);
}

#[test]
fn sgd_nesterov_looks_ahead_as_computed_by_hand() {
    let mut opt = Sgd::new(0.5).momentum(0.5).nesterov(true);
    let mut w = [1.0, -2.0];
    // v = μv + g; w −= η(g + μv)
    let want = [
        ([2.0, -4.0], [-0.5, 1.0]),     // g + μv = [3, −6]
        ([3.0, -2.0], [-2.25, 1.5]),    // g + μv = [3.5, −1]
        ([-0.5, 3.0], [-1.125, -1.25]), // g + μv = [−2.25, 5.5]
    ];
    for (g, (v, after)) in GRADS.iter().zip(want) {
        opt.update(&mut w, g);
        assert_eq!((opt.velocity(), &w[..]), (&v[..], &after[..]));
    }
}

#[test]
fn sgd_weight_decay_adds_lambda_w_to_the_gradient() {
    // No momentum: d = g + λw, w −= ηd, with η = λ = 0.5.
    let mut opt = Sgd::new(0.5).weight_decay(0.5);
    let mut w = [1.0, -2.0];
    opt.update(&mut w, &[0.0, 0.0]); // w = 0.75 w
    assert_eq!(w, [0.75, -1.5]);
    opt.update(&mut w, &[1.0, 1.0]); // d = [1.375, 0.25]
    assert_eq!(w, [0.0625, -1.625]);

    // With momentum μ = 0.5: v = μv + g + λw.
    let mut opt = Sgd::new(0.5).momentum(0.5).weight_decay(0.5);
    let mut w = [1.0, -2.0];
    opt.update(&mut w, &GRADS[0]); // d = v = [2.5, −5]
    assert_eq!((opt.velocity(), w), (&[2.5, -5.0][..], [-0.25, 0.5]));
    opt.update(&mut w, &GRADS[1]); // d = [1.875, 0.25], v = [3.125, −2.25]
    assert_eq!((opt.velocity(), w), (&[3.125, -2.25][..], [-1.8125, 1.625]));
}

#[test]
fn adam_moments_and_bias_correction_as_computed_by_hand() {
    // β₁ = 0.5, β₂ = 0.75, ε ≈ 0 (the smallest normal: below every ulp here), η = 0.1;
    // parameter a sees 2, −1, 4, parameter b −3 three times.
    let mut opt = Adam::new(0.1).betas(0.5, 0.75).eps(f64::MIN_POSITIVE);
    let mut w = [1.0, -2.0];
    // t = 1: m = [1, −1.5], v = [1, 2.25]; m̂ = [2, −3], v̂ = [4, 9]: each moves by η against g.
    opt.update(&mut w, &[2.0, -3.0]);
    assert_eq!(
        (opt.first_moment(), opt.second_moment()),
        (&[1.0, -1.5][..], &[1.0, 2.25][..])
    );
    assert_close("t = 1", &w, &[0.9, -1.9], 1e-15);
    // t = 2: m = [0, −2.25], v = [1, 3.9375]: a does not move; b, whose gradient is steady,
    // moves by η again (m̂ = −3, v̂ = 9).
    opt.update(&mut w, &[-1.0, -3.0]);
    assert_eq!(
        (opt.first_moment(), opt.second_moment()),
        (&[0.0, -2.25][..], &[1.0, 3.9375][..])
    );
    assert_close("t = 2", &w, &[0.9, -1.8], 1e-15);
    // t = 3: m = [2, −2.625], v = [4.75, 5.203125]; for a, m̂ = 2/0.875 = 2.2857…,
    // v̂ = 4.75/0.578125 = 8.2162…, step 0.1 · 2.2857/2.8664 = 0.0797418.
    opt.update(&mut w, &[4.0, -3.0]);
    assert_eq!(
        (opt.first_moment(), opt.second_moment()),
        (&[2.0, -2.625][..], &[4.75, 5.203125][..])
    );
    assert_close("t = 3", &w, &[0.820_258_204_008_644_6, -1.7], 1e-14);
    assert_eq!(opt.steps(), 3);
}

#[test]
fn adamw_decays_outside_the_moments_and_l2_inside() {
    // Parameter a has gradient 0, parameter b gradient 0.5; λ = 0.5, η = 0.1, default betas.
    let grads = [0.0, 0.5];
    let mut adamw = Adam::adamw(0.1, 0.5);
    let mut w = [2.0, -1.0];
    adamw.update(&mut w, &grads); // a: 2·(1 − 0.05) = 1.9, no moment; b: shrunk, then −η·1
    assert_close("AdamW t = 1", &w, &[1.9, -1.049_999_998], 1e-12);
    adamw.update(&mut w, &grads);
    assert_close("AdamW t = 2", &w, &[1.805, -1.097_499_996_1], 1e-12);
    assert_eq!(
        adamw.first_moment()[0],
        0.0,
        "decoupled decay stays out of the moments"
    );

    let mut l2 = Adam::new(0.1).weight_decay(0.5);
    let mut w = [2.0, -1.0];
    l2.update(&mut w, &grads); // a: g = λw = 1; b: g = 0.5 − 0.5 = 0, so b does not move
    assert_close("L2 t = 1", &w, &[1.900_000_001, -1.0], 1e-12);
    l2.update(&mut w, &grads);
    assert_close("L2 t = 2", &w, &[1.800_166_487_631_876, -1.0], 1e-12);
    assert_close(
        "L2 moment",
        l2.first_moment(),
        &[0.185_000_000_05, 0.0],
        1e-12,
    );
}

#[test]
fn schedules_set_the_rate_of_each_update() {
    // Step decay: halved every two updates. Gradient 1, so w falls by the rate.
    let mut opt = Sgd::new(1.0).schedule(Schedule::Step {
        every: 2,
        gamma: 0.5,
    });
    let mut w = [0.0];
    let mut rates = Vec::new();
    for _ in 0..5 {
        rates.push(opt.learning_rate());
        opt.update(&mut w, &[1.0]);
    }
    assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.25]);
    assert_eq!(w, [-3.25]);

    // Adam with a steady gradient moves by the rate itself: exponential decay shows in w.
    let mut opt = Adam::new(0.1).schedule(Schedule::Exponential { gamma: 0.5 });
    let mut w = [0.0];
    let mut moves = Vec::new();
    for _ in 0..4 {
        let before = w[0];
        opt.update(&mut w, &[2.0]);
        moves.push(before - w[0]);
    }
    assert_close("Adam moves", &moves, &[0.1, 0.05, 0.025, 0.0125], 1e-8);

    let cosine = Sgd::new(2.0f64).schedule(Schedule::Cosine {
        steps: 10,
        floor: 0.0,
    });
    let inverse = Adam::new(2.0f64).schedule(Schedule::InverseTime { decay: 1.0 });
    let (mut c, mut i) = (cosine, inverse);
    for _ in 0..5 {
        c.update(&mut [0.0], &[1.0]);
        i.update(&mut [0.0], &[1.0]);
    }
    assert!(
        (c.learning_rate() - 1.0).abs() < 1e-12,
        "halfway: half the rate"
    );
    assert!((i.learning_rate() - 2.0 / 6.0).abs() < 1e-12);
    c.set_learning_rate(4.0);
    assert!((c.learning_rate() - 2.0).abs() < 1e-12);
    assert_eq!(c.base_learning_rate(), 4.0);
}

#[test]
fn a_scaled_update_is_the_update_of_the_scaled_gradient() {
    let g = [0.3, -1.7, 2.5];
    let scaled = g.map(|v| v * 0.25);
    type Maker = fn() -> Box<dyn Optimizer<f64>>;
    let makers: [Maker; 3] = [
        || {
            Box::new(
                Sgd::new(0.1)
                    .momentum(0.9)
                    .nesterov(true)
                    .weight_decay(0.01),
            )
        },
        || Box::new(Adam::new(0.1).weight_decay(0.1)),
        || Box::new(Adam::adamw(0.1, 0.1)),
    ];
    for make in makers {
        let (mut a, mut b) = (make(), make());
        let (mut wa, mut wb) = ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]);
        for _ in 0..3 {
            a.update_scaled(&mut wa, &g, 0.25);
            b.update(&mut wb, &scaled);
        }
        assert_eq!(bits(&wa), bits(&wb));
        assert_ne!(wa, [1.0, 2.0, 3.0]);
    }
}

#[test]
fn step_on_a_network_is_update_on_its_pools() {
    let mut net = Xor::new(&mut StdRng::seed_from_u64(5));
    let mut params = net.params().to_vec();
    let (mut a, mut b) = (Adam::new(0.05), Adam::new(0.05));
    for (x, y) in XOR.iter().cycle().take(10) {
        net.fprop(x, y);
        net.zero_grad();
        net.bprop();
        let grads = net.grads().to_vec();
        a.step(&mut net);
        b.update(&mut params, &grads);
        assert_eq!(bits(net.params()), bits(&params));
    }
    assert_eq!(a.first_moment().len(), Xor::PARAMS);
    // A half-scaled step is the step of the half gradient.
    let (mut c, mut d) = (Sgd::new(0.1).momentum(0.9), Sgd::new(0.1).momentum(0.9));
    let mut twin = Xor::new(&mut StdRng::seed_from_u64(5));
    net = Xor::new(&mut StdRng::seed_from_u64(5));
    for (x, y) in XOR {
        for n in [&mut net, &mut twin] {
            n.fprop(&x, &y);
            n.zero_grad();
            n.bprop();
        }
        c.step_scaled(&mut net, 0.5);
        let half: Vec<f64> = twin.grads().iter().map(|g| g * 0.5).collect();
        d.update(twin.params_mut(), &half);
    }
    assert_eq!(bits(net.params()), bits(twin.params()));
}

#[test]
#[should_panic(
    expected = "the optimizer's state was made for a pool of 17 parameters, but this pool has 28"
)]
fn one_optimizer_for_two_networks_panics() {
    let mut opt = Adam::new(0.01);
    let mut small = Xor::new(&mut StdRng::seed_from_u64(0));
    let mut other = Elman::new(&mut StdRng::seed_from_u64(0));
    assert_eq!((Xor::PARAMS, Elman::PARAMS), (17, 28));
    opt.step(&mut small);
    opt.step(&mut other);
}

#[test]
#[should_panic(expected = "Sgd: the parameter pool has 3 values but the gradient pool has 2")]
fn pools_of_different_lengths_panic() {
    Sgd::new(0.1).update(&mut [0.0f32; 3], &[0.0; 2]);
}

#[test]
fn f32_pools_follow_the_f64_ones() {
    let (mut a32, mut a64) = (Adam::new(0.01f32), Adam::new(0.01f64));
    let (mut s32, mut s64) = (
        Sgd::new(0.05f32).momentum(0.9),
        Sgd::new(0.05f64).momentum(0.9),
    );
    let (mut w32, mut w64) = ([0.5f32, -1.0, 2.0], [0.5f64, -1.0, 2.0]);
    let (mut v32, mut v64) = (w32, w64);
    for t in 0..50 {
        let g64 = w64.map(|w| w - 0.1 * t as f64);
        let g32 = g64.map(|g| g as f32);
        a32.update(&mut w32, &g32);
        a64.update(&mut w64, &g64);
        let h64 = v64.map(|v| v + 1.0);
        s32.update(&mut v32, &h64.map(|g| g as f32));
        s64.update(&mut v64, &h64);
    }
    for i in 0..3 {
        assert!((w32[i] as f64 - w64[i]).abs() < 1e-5, "{w32:?} vs {w64:?}");
        assert!(
            (v32[i] as f64 - v64[i]).abs() < 1e-4 * v64[i].abs().max(1.0),
            "{v32:?} vs {v64:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Optimizers on problems: a broken one falls short.

/// `E = ½ Σ aᵢ (wᵢ − cᵢ)²` with curvatures 1 and 0.01 (condition number 100), from w = [3, 3],
/// after `steps` updates.
fn quadratic(opt: &mut dyn Optimizer<f64>, steps: usize) -> f64 {
    let (a, c) = ([1.0, 0.01], [0.5, -2.0]);
    let mut w = [3.0, 3.0];
    for _ in 0..steps {
        let g = [a[0] * (w[0] - c[0]), a[1] * (w[1] - c[1])];
        opt.update(&mut w, &g);
    }
    (0..2).map(|i| 0.5 * a[i] * (w[i] - c[i]).powi(2)).sum()
}

#[test]
fn momentum_and_adam_reach_what_plain_sgd_cannot_on_an_ill_conditioned_quadratic() {
    // Plain SGD is stable only for η < 2 (the curvature 1), where the flat direction shrinks by
    // at most 1 − 0.02 per update: after 200 updates its energy is above 1e-5 at any stable rate.
    for lr in [0.5, 1.0, 1.5, 1.9] {
        let e = quadratic(&mut Sgd::new(lr), 200);
        assert!(e > 1e-5, "plain SGD at {lr}: {e}");
    }
    let mut good: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("momentum", Box::new(Sgd::new(1.0).momentum(0.9))),
        (
            "Nesterov",
            Box::new(Sgd::new(1.0).momentum(0.9).nesterov(true)),
        ),
        ("Adam", Box::new(Adam::new(0.1))),
        ("AdamW", Box::new(Adam::adamw(0.1, 1e-4))),
    ];
    for (name, opt) in &mut good {
        let e = quadratic(&mut **opt, 200);
        assert!(e < 1e-7, "{name}: {e}");
    }
}

/// How many of seeds 0..20 solve XOR within `epochs` epochs of the trainer with `opt()`.
fn xor_wins<O: Optimizer<f64>>(opt: impl Fn() -> O, epochs: usize) -> usize {
    (0..20u64)
        .filter(|&seed| {
            let mut net = Xor::new(&mut StdRng::seed_from_u64(seed));
            let mut opt = opt();
            Trainer::new(&mut net, &mut opt, &XOR)
                .epochs(epochs)
                .seed(seed)
                .fit(|net, (x, y)| net.fprop(x, y))
                .unwrap();
            XOR.iter().all(|s| xor_correct(&mut net, s))
        })
        .count()
}

#[test]
fn momentum_and_adam_solve_xor_from_most_seeds() {
    // Measured: within 30 epochs plain SGD (η = 0.1) solves XOR from 5 of the 20 seeds,
    // momentum and Nesterov (μ = 0.9) from 19; within 60, Adam (η = 0.05) from all 20.
    let plain = xor_wins(|| Sgd::new(0.1), 30);
    let momentum = xor_wins(|| Sgd::new(0.1).momentum(0.9), 30);
    let nesterov = xor_wins(|| Sgd::new(0.1).momentum(0.9).nesterov(true), 30);
    let adam = xor_wins(|| Adam::new(0.05), 60);
    let adamw = xor_wins(|| Adam::adamw(0.05, 0.01), 60);
    assert!(plain <= 10, "plain SGD: {plain} of 20");
    assert!(momentum >= 17, "momentum: {momentum} of 20");
    assert!(nesterov >= 17, "Nesterov: {nesterov} of 20");
    assert!(adam >= 18, "Adam: {adam} of 20");
    assert!(adamw >= 18, "AdamW: {adamw} of 20");
}

/// Samples of a function of one variable.
type Points = Vec<([f64; 1], [f64; 1])>;

/// y = sin(3x) on [−1, 1]: 60 training points and 20 held out (every fourth).
fn sine() -> (Points, Points) {
    let points = (0..80).map(|i| {
        let x = i as f64 / 40.0 - 1.0;
        ([x], [(3.0 * x).sin()])
    });
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (i, p) in points.enumerate() {
        if i % 4 == 0 {
            val.push(p)
        } else {
            train.push(p)
        }
    }
    (train, val)
}

/// The validation loss after training a fresh `Fit` from `seed` in minibatches of 8.
fn sine_fit<O: Optimizer<f64>>(seed: u64, mut opt: O, epochs: usize) -> f64 {
    let (train, val) = sine();
    let mut net = Fit::new(&mut StdRng::seed_from_u64(seed));
    net.reserve_batch(8).unwrap();
    let mut columns = Columns::new();
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(epochs)
        .seed(seed)
        .validation(&val)
        .fit_batches(
            8,
            |net, batch| {
                let (xs, ys) = columns.split(batch);
                net.fprop_batch(xs, ys)
            },
            |net| net.bprop_batch(),
        )
        .unwrap();
    history.last().unwrap().val_loss.unwrap()
}

#[test]
fn minibatch_regression_reaches_a_small_validation_loss_from_every_seed() {
    // The variance of sin(3x) over the points is about 0.5, so predicting the mean scores
    // ≈ 0.25 per sample and the initial nets 0.08 to 1.0 (seeds 0 to 9). Measured after 200
    // epochs: at most 3.9e-3 (Adam) and 4.4e-3 (momentum) over seeds 0 to 4.
    for seed in 0..5 {
        let adam = sine_fit(seed, Adam::new(0.02), 200);
        assert!(adam < 1e-2, "Adam, seed {seed}: {adam}");
        let momentum = sine_fit(seed, Sgd::new(0.1).momentum(0.9), 200);
        assert!(momentum < 1e-2, "momentum, seed {seed}: {momentum}");
    }
    // With a zero rate the same measure stays far above the threshold (so it can fail).
    assert!(sine_fit(0, Sgd::new(0.0), 3) > 0.05);
}

// ---------------------------------------------------------------------------------------------
// The trainer: order, cycle, batches.

/// Samples with their index, so closures can see which sample they got.
fn indexed(n: usize) -> Vec<(usize, [f64; 2], [f64; 1])> {
    (0..n)
        .map(|i| {
            let (x, y) = XOR[i % 4];
            (i, x, y)
        })
        .collect()
}

/// The order in which `fit` visits the samples, epoch by epoch.
fn visits(n: usize, epochs: usize, seed: u64, shuffle: bool) -> Vec<Vec<usize>> {
    let data = indexed(n);
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    let mut opt = Sgd::new(0.1);
    let seen = RefCell::new(Vec::new());
    let history = Trainer::new(&mut net, &mut opt, &data)
        .epochs(epochs)
        .seed(seed)
        .shuffle(shuffle)
        .fit(|net, (i, x, y)| {
            seen.borrow_mut().push(*i);
            net.fprop(x, y)
        })
        .unwrap();
    assert_eq!(history.epochs.len(), epochs);
    seen.into_inner().chunks(n).map(<[usize]>::to_vec).collect()
}

#[test]
fn shuffling_is_deterministic_per_seed_and_permutes_every_epoch() {
    let a = visits(10, 4, 7, true);
    assert_eq!(a, visits(10, 4, 7, true), "same seed, same orders");
    assert_ne!(a, visits(10, 4, 8, true), "another seed, other orders");
    let identity: Vec<usize> = (0..10).collect();
    for order in &a {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, identity, "each epoch sees every sample once");
        assert_ne!(order, &identity);
    }
    assert!(
        a.windows(2).all(|w| w[0] != w[1]),
        "each epoch its own order: {a:?}"
    );
    assert_eq!(visits(10, 2, 7, false), [identity.clone(), identity]);
}

#[test]
fn the_shuffle_is_the_documented_one() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut order: Vec<usize> = (0..9).collect();
    let mut want = Vec::new();
    for _ in 0..3 {
        order.shuffle(&mut rng);
        want.push(order.clone());
    }
    assert_eq!(visits(9, 3, 11, true), want);
}

#[test]
fn the_trainer_runs_the_four_line_cycle_bit_for_bit() {
    let data = indexed(6);
    let mut net = Xor::new(&mut StdRng::seed_from_u64(2));
    let mut opt = Sgd::new(0.1).momentum(0.9);
    let history = Trainer::new(&mut net, &mut opt, &data)
        .epochs(5)
        .seed(4)
        .fit(|net, (_, x, y)| net.fprop(x, y))
        .unwrap();

    let mut by_hand = Xor::new(&mut StdRng::seed_from_u64(2));
    let mut opt2 = Sgd::new(0.1).momentum(0.9);
    let mut rng = StdRng::seed_from_u64(4);
    let mut order: Vec<usize> = (0..6).collect();
    let mut losses = Vec::new();
    for _ in 0..5 {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for &i in &order {
            let (_, x, y) = &data[i];
            total += by_hand.fprop(x, y);
            by_hand.zero_grad();
            by_hand.bprop();
            opt2.step(&mut by_hand);
        }
        losses.push(total / 6.0);
    }
    assert_eq!(bits(net.params()), bits(by_hand.params()));
    assert_eq!(bits(opt.velocity()), bits(opt2.velocity()));
    assert_eq!(bits(&history.train_losses()), bits(&losses));
}

#[test]
fn minibatches_are_consecutive_runs_of_the_shuffled_order_with_the_mean_gradient() {
    let data: Vec<([f64; 2], [f64; 1])> = indexed(10).into_iter().map(|(_, x, y)| (x, y)).collect();
    for mean in [true, false] {
        let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
        net.reserve_batch(4).unwrap();
        let mut opt = Adam::new(0.01).weight_decay(0.01);
        let sizes = RefCell::new(Vec::new());
        let mut columns = Columns::new();
        let history = Trainer::new(&mut net, &mut opt, &data)
            .epochs(3)
            .seed(9)
            .mean_gradient(mean)
            .fit_batches(
                4,
                |net, batch| {
                    sizes.borrow_mut().push(batch.len());
                    let (xs, ys) = columns.split(batch);
                    net.fprop_batch(xs, ys)
                },
                |net| net.bprop_batch(),
            )
            .unwrap();
        assert_eq!(sizes.into_inner(), [4, 4, 2].repeat(3));
        assert_eq!(history.last().unwrap().steps, 9);

        let mut by_hand = Xor::new(&mut StdRng::seed_from_u64(1));
        by_hand.reserve_batch(4).unwrap();
        let mut opt2 = Adam::new(0.01).weight_decay(0.01);
        let mut rng = StdRng::seed_from_u64(9);
        let mut order: Vec<usize> = (0..10).collect();
        let mut losses = Vec::new();
        for _ in 0..3 {
            order.shuffle(&mut rng);
            let mut total = 0.0;
            for chunk in order.chunks(4) {
                let xs: Vec<[f64; 2]> = chunk.iter().map(|&i| data[i].0).collect();
                let ys: Vec<[f64; 1]> = chunk.iter().map(|&i| data[i].1).collect();
                total += by_hand.fprop_batch(&xs, &ys).unwrap();
                by_hand.zero_grad();
                by_hand.bprop_batch();
                let scale = if mean { 1.0 / chunk.len() as f64 } else { 1.0 };
                opt2.step_scaled(&mut by_hand, scale);
            }
            losses.push(total / 10.0);
        }
        assert_eq!(bits(net.params()), bits(by_hand.params()), "mean: {mean}");
        assert_eq!(bits(&history.train_losses()), bits(&losses));
    }
}

#[test]
fn an_unfolded_network_trains_on_sequences() {
    let wave = |phase: f64| -> (Vec<[f64; 1]>, Vec<[f64; 1]>) {
        let s = |t: usize| [(t as f64 * 0.6 + phase).sin()];
        ((0..8).map(s).collect(), (1..9).map(s).collect())
    };
    let data: Vec<_> = (0..6).map(|i| wave(i as f64)).collect();
    let mut net = Elman::new(&mut StdRng::seed_from_u64(0));
    let mut opt = Adam::new(0.02);
    let history = Trainer::new(&mut net, &mut opt, &data)
        .epochs(60)
        .fit(|net, (xs, ys)| net.fprop(xs, ys))
        .unwrap();
    let losses = history.train_losses();
    assert!(losses[59] < 0.2 * losses[0], "{losses:?}");

    // A sequence longer than the net is unfolded over: the network's error, with its sample.
    let mut long = data.clone();
    long[3].0.push([0.0]);
    long[3].1.push([0.0]);
    let err = Trainer::new(&mut net, &mut opt, &long)
        .shuffle(false)
        .fit(|net, (xs, ys)| net.fprop(xs, ys))
        .unwrap_err();
    assert_eq!((err.epoch, err.step, err.sample), (1, Some(4), Some(3)));
    assert!(matches!(
        err.failure,
        Failure::Network(bpnet::Error::TooLong { found: 9, .. })
    ));
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_boxed_or_borrowed_dyn_optimizer_drives_the_trainer() {
    let mut net = Xor::new(&mut StdRng::seed_from_u64(3));
    let mut boxed: Box<dyn Optimizer<f64>> = Box::new(Adam::new(0.05));
    Trainer::new(&mut net, &mut boxed, &XOR)
        .epochs(60)
        .seed(3)
        .fit(|net, (x, y)| net.fprop(x, y))
        .unwrap();
    assert_eq!(boxed.steps(), 240);
    let borrowed: &mut dyn Optimizer<f64> = &mut *boxed;
    Trainer::new(&mut net, borrowed, &XOR)
        .epochs(60)
        .seed(4)
        .fit(|net, (x, y)| net.fprop(x, y))
        .unwrap();
    assert!(XOR.iter().all(|s| xor_correct(&mut net, s)));
}

#[test]
fn an_f32_network_trains_too() {
    let data: Vec<([f32; 2], [f32; 1])> = XOR
        .iter()
        .map(|(x, y)| (x.map(|v| v as f32), y.map(|v| v as f32)))
        .collect();
    let mut net = Xor32::new(&mut StdRng::seed_from_u64(1));
    let mut opt = Sgd::new(0.1f32).momentum(0.9);
    let history = Trainer::new(&mut net, &mut opt, &data)
        .epochs(60)
        .accuracy(|net, (x, y)| net.run(x)[0] * y[0] > 0.0)
        .fit(|net, (x, y)| net.fprop(x, y))
        .unwrap();
    assert_eq!(
        history.last().unwrap().train_accuracy,
        Some(1.0),
        "{history:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A hand-written network for scripted tests: E = ½‖w − target‖², two one-parameter "modules".

#[derive(Clone, Debug)]
struct Sample {
    id: usize,
    target: [f64; 2],
    /// bprop writes an infinite gradient for parameter 1.
    poison: bool,
}

fn samples(ids: std::ops::Range<usize>) -> Vec<Sample> {
    ids.map(|id| Sample {
        id,
        target: [id as f64, -(id as f64)],
        poison: false,
    })
    .collect()
}

struct Toy {
    w: Vec<f64>,
    g: Vec<f64>,
    target: [f64; 2],
    poison: bool,
}

impl Toy {
    fn new() -> Self {
        Toy {
            w: vec![0.5, -0.5],
            g: vec![0.0; 2],
            target: [0.0; 2],
            poison: false,
        }
    }
    fn fprop(&mut self, s: &Sample) -> f64 {
        self.target = s.target;
        self.poison = s.poison;
        self.energy()
    }
}

impl Network for Toy {
    type Float = f64;
    const PARAMS: usize = 2;
    const MODULES: &'static [ModuleInfo] = &[
        ModuleInfo {
            name: "a",
            kind: "toy",
            offset: 0,
            len: 1,
            inputs: &[],
            output: "e",
            children: &[],
            tensors: &[],
        },
        ModuleInfo {
            name: "b",
            kind: "toy",
            offset: 1,
            len: 1,
            inputs: &[],
            output: "e",
            children: &[],
            tensors: &[],
        },
    ];
    const STATES: &'static [StateInfo] = &[];
    fn params(&self) -> &[f64] {
        &self.w
    }
    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.w
    }
    fn grads(&self) -> &[f64] {
        &self.g
    }
    fn energy(&self) -> f64 {
        self.w
            .iter()
            .zip(self.target)
            .map(|(w, t)| 0.5 * (w - t).powi(2))
            .sum()
    }
    fn zero_grad(&mut self) {
        self.g.fill(0.0);
    }
    fn bprop(&mut self) {
        for ((g, w), t) in self.g.iter_mut().zip(&self.w).zip(self.target) {
            *g += w - t;
        }
        if self.poison {
            self.g[1] = f64::INFINITY;
        }
    }
    fn sgd_step(&mut self, lr: f64) {
        bpnet::kernels::pool::f64::sgd_step(&mut self.w, &self.g, lr);
    }
    fn set_input_grads(&mut self, _on: bool) {}
    fn input_grads(&self) -> bool {
        false
    }
}

/// A fprop closure whose energy is scripted: training samples give `train[epoch − 1]`,
/// validation samples (id ≥ 100) `val[epoch − 1]`; the epoch is counted by validation calls.
fn scripted<'a>(
    train: &'a [f64],
    val: &'a [f64],
    epoch: &'a Cell<usize>,
) -> impl FnMut(&mut Toy, &Sample) -> f64 + 'a {
    move |net, s| {
        net.fprop(s);
        if s.id >= 100 {
            epoch.set(epoch.get() + 1);
            val[epoch.get() - 1]
        } else {
            train[epoch.get()]
        }
    }
}

#[test]
fn early_stopping_stops_at_the_right_epoch_on_a_scripted_validation_loss() {
    let val_loss = [
        5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5,
    ];
    let train_loss = [1.0; 13];
    let (train, val) = (samples(0..3), samples(100..101));
    for (patience, stop, best) in [(3, 6, 3), (4, 11, 7), (1, 4, 3)] {
        for restore in [false, true] {
            let mut net = Toy::new();
            let mut opt = Sgd::new(0.1);
            let epoch = Cell::new(0);
            let mut snapshots = Vec::new();
            let history = Trainer::new(&mut net, &mut opt, &train)
                .epochs(13)
                .validation(&val)
                .early_stopping(patience)
                .restore_best(restore)
                .on_epoch(|_, net: &Toy| snapshots.push(net.params().to_vec()))
                .fit(scripted(&train_loss, &val_loss, &epoch))
                .unwrap();
            let what = format!("patience {patience}, restore {restore}");
            assert_eq!(history.epochs.len(), stop, "{what}");
            assert_eq!(history.stop, StopReason::EarlyStopping, "{what}");
            assert_eq!(history.best_epoch, Some(best), "{what}");
            assert_eq!(history.best().unwrap().val_loss, Some(val_loss[best - 1]));
            assert_eq!(history.restored_best, restore, "{what}");
            let want = if restore { best } else { stop };
            assert_eq!(net.params(), snapshots[want - 1], "{what}");
            assert_ne!(snapshots[best - 1], snapshots[stop - 1]);
        }
    }
}

#[test]
fn an_improvement_smaller_than_min_delta_is_none() {
    let val_loss = [1.0, 0.95, 0.91, 0.5, 0.4];
    let (train, val) = (samples(0..2), samples(100..101));
    let run = |min_delta| {
        let (mut net, mut opt, epoch) = (Toy::new(), Sgd::new(0.1), Cell::new(0));
        Trainer::new(&mut net, &mut opt, &train)
            .epochs(5)
            .validation(&val)
            .early_stopping(2)
            .min_delta(min_delta)
            .fit(scripted(&[1.0; 5], &val_loss, &epoch))
            .unwrap()
    };
    let strict = run(0.1);
    assert_eq!((strict.epochs.len(), strict.best_epoch), (3, Some(1)));
    let improved: Vec<bool> = strict.epochs.iter().map(|e| e.improved).collect();
    assert_eq!(improved, [true, false, false]);
    let lax = run(0.0);
    assert_eq!(
        (lax.epochs.len(), lax.best_epoch, lax.stop),
        (5, Some(5), StopReason::Completed)
    );
}

#[test]
fn without_validation_early_stopping_watches_the_training_loss() {
    let train_loss = [3.0, 2.0, 2.5, 2.5, 1.0];
    let train = samples(0..1);
    let (mut net, mut opt, epoch) = (Toy::new(), Sgd::new(0.1), Cell::new(0));
    // No validation calls: count the epochs in the callback instead.
    let count = &epoch;
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(5)
        .early_stopping(2)
        .on_epoch(|e, _| count.set(e.epoch))
        .fit(scripted(&train_loss, &[], &epoch))
        .unwrap();
    assert_eq!((history.epochs.len(), history.best_epoch), (4, Some(2)));
    assert_eq!(history.train_losses(), [3.0, 2.0, 2.5, 2.5]);
    assert!(history.val_losses().is_empty());
    assert_eq!(history.epochs[1].monitored_loss(), 2.0);
}

#[test]
fn the_history_records_losses_accuracies_rates_and_steps() {
    let (train, val) = (samples(0..4), samples(100..103));
    let mut net = Toy::new();
    let mut opt = Sgd::new(1.0).schedule(Schedule::Step {
        every: 4,
        gamma: 0.5,
    });
    // Energies: sample id + 1 for training (mean 2.5), 1, 2, 3 for validation (mean 2).
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(3)
        .validation(&val)
        .accuracy(|_, s| s.id % 2 == 0)
        .fit(|net, s| {
            net.fprop(s);
            if s.id >= 100 {
                (s.id - 99) as f64
            } else {
                s.id as f64 + 1.0
            }
        })
        .unwrap();
    assert_eq!(history.stop, StopReason::Completed);
    assert_eq!(history.best_epoch, Some(1));
    assert!(!history.restored_best);
    type Row = (
        usize,
        f64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        f64,
        u64,
        bool,
    );
    let want: Vec<Row> = vec![
        (1, 2.5, Some(0.5), Some(2.0), Some(2.0 / 3.0), 1.0, 4, true),
        (2, 2.5, Some(0.5), Some(2.0), Some(2.0 / 3.0), 0.5, 8, false),
        (
            3,
            2.5,
            Some(0.5),
            Some(2.0),
            Some(2.0 / 3.0),
            0.25,
            12,
            false,
        ),
    ];
    let got: Vec<_> = history
        .epochs
        .iter()
        .map(|e| {
            (
                e.epoch,
                e.train_loss,
                e.train_accuracy,
                e.val_loss,
                e.val_accuracy,
                e.learning_rate,
                e.steps,
                e.improved,
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(history.val_losses(), [2.0; 3]);
    assert_eq!(history.last(), history.epochs.get(2));

    // Training accuracy can be left out; no closure, no accuracy.
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let h = Trainer::new(&mut net, &mut opt, &train)
        .validation(&val)
        .accuracy(|_, _| true)
        .train_accuracy(false)
        .fit(|net, s| net.fprop(s))
        .unwrap();
    assert_eq!(
        (h.epochs[0].train_accuracy, h.epochs[0].val_accuracy),
        (None, Some(1.0))
    );
    let h = Trainer::new(&mut net, &mut opt, &train)
        .fit(|net, s| net.fprop(s))
        .unwrap();
    assert_eq!(
        (h.epochs[0].train_accuracy, h.epochs[0].val_loss),
        (None, None)
    );
}

#[test]
fn callbacks_see_every_step_and_epoch_and_can_stop() {
    let train = samples(0..5);
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let mut steps: Vec<StepReport> = Vec::new();
    let mut epochs = Vec::new();
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(10)
        .on_step(|s| steps.push(*s))
        .on_epoch(|e, _| {
            epochs.push(e.epoch);
            if e.epoch == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .fit(|net, s| net.fprop(s))
        .unwrap();
    assert_eq!(history.stop, StopReason::Callback);
    assert_eq!(epochs, [1, 2, 3]);
    assert_eq!(history.epochs.len(), 3);
    assert_eq!(steps.len(), 15);
    let s = steps[7];
    assert_eq!(
        (s.epoch, s.epochs, s.step, s.samples, s.total),
        (2, 10, 8, 3, 5)
    );
    let last_of_epoch = steps[9];
    assert_eq!(last_of_epoch.loss, history.epochs[1].train_loss);
}

// ---------------------------------------------------------------------------------------------
// Non-finite values and errors: where, and the parameters untouched.

#[test]
fn a_nan_sample_stops_training_at_its_step_with_the_parameters_before_it() {
    // The NaN goes into the sample the shuffle puts fourth: three updates come before it.
    let seed = 3;
    let mut order: Vec<usize> = (0..7).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let (position, bad) = (3, order[3]);
    let mut data = indexed(7);
    data[bad].1 = [f64::NAN, 1.0];
    let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
    let mut opt = Sgd::new(0.1).momentum(0.9);
    let err: TrainError = Trainer::new(&mut net, &mut opt, &data)
        .epochs(5)
        .seed(seed)
        .fit(|net, (_, x, y)| net.fprop(x, y))
        .unwrap_err();

    assert_eq!(
        (err.epoch, err.step, err.sample, err.phase),
        (1, Some(4), Some(bad), Phase::Training)
    );
    assert!(matches!(err.failure, Failure::NonFiniteEnergy { energy } if energy.is_nan()));
    assert_eq!(err.history.stop, StopReason::Failed);
    assert!(err.history.epochs.is_empty());
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "epoch 1, step 4, training sample {bad}: the energy is NaN"
        )),
        "{text}"
    );

    // The parameters and the velocity are those of the updates before it, bit for bit.
    let mut by_hand = Xor::new(&mut StdRng::seed_from_u64(1));
    let mut opt2 = Sgd::new(0.1).momentum(0.9);
    for &i in &order[..position] {
        let (_, x, y) = &data[i];
        by_hand.fprop(x, y);
        by_hand.zero_grad();
        by_hand.bprop();
        opt2.step(&mut by_hand);
    }
    assert_eq!(bits(net.params()), bits(by_hand.params()));
    assert_eq!(bits(opt.velocity()), bits(opt2.velocity()));
    assert_eq!(opt.steps(), 3);
    assert!(net.params().iter().all(|w| w.is_finite()));
}

#[test]
fn an_infinite_energy_in_a_later_epoch_is_reported_in_that_epoch() {
    let data = indexed(4);
    let calls = Cell::new(0);
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    let mut opt = Adam::new(0.01);
    let mut snapshot = Vec::new();
    let err = Trainer::new(&mut net, &mut opt, &data)
        .epochs(5)
        .shuffle(false)
        .on_epoch(|_, net: &Xor| snapshot = net.params().to_vec())
        .fit(|net, (_, x, y)| {
            calls.set(calls.get() + 1);
            let e = net.fprop(x, y);
            // Sample 2 of epoch 3 (the 11th call) gives an infinite energy.
            if calls.get() == 11 { f64::INFINITY } else { e }
        })
        .unwrap_err();
    assert_eq!((err.epoch, err.step, err.sample), (3, Some(11), Some(2)));
    assert_eq!(err.history.epochs.len(), 2);
    assert_eq!(opt.steps(), 10);
    // Two updates of epoch 3 were made after the snapshot; the refused one was not.
    assert_ne!(net.params(), &snapshot[..]);
    assert!(err.to_string().contains("the energy is inf"), "{err}");
}

#[test]
fn a_nan_in_a_minibatch_is_traced_to_its_sample() {
    let mut data: Vec<([f64; 2], [f64; 1])> =
        indexed(10).into_iter().map(|(_, x, y)| (x, y)).collect();
    data[7].1 = [f64::NAN];
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    net.reserve_batch(4).unwrap();
    let mut opt = Sgd::new(0.1);
    let trainer = Trainer::new(&mut net, &mut opt, &data).seed(5);
    let err = xor_batches(trainer, 4).unwrap_err();
    let mut order: Vec<usize> = (0..10).collect();
    order.shuffle(&mut StdRng::seed_from_u64(5));
    let batch = order.chunks(4).position(|c| c.contains(&7)).unwrap();
    assert_eq!(
        (err.epoch, err.step, err.sample),
        (1, Some(batch as u64 + 1), Some(7))
    );
    assert_eq!(opt.steps(), batch as u64);
}

#[test]
fn an_infinite_gradient_is_caught_before_the_update() {
    let mut train = samples(0..6);
    train[4].poison = true;
    for batch in [1, 3] {
        let mut net = Toy::new();
        let mut opt = Adam::new(0.1);
        let before = RefCell::new(Vec::new());
        let trainer = Trainer::new(&mut net, &mut opt, &train).shuffle(false);
        let fprop = |net: &mut Toy, s: &[Sample]| {
            *before.borrow_mut() = net.params().to_vec();
            s.iter().map(|s| net.fprop(s)).sum::<f64>()
        };
        // A batch's "bprop": each sample's gradient, summed.
        let err = if batch == 1 {
            trainer
                .fit(|net, s| fprop(net, std::slice::from_ref(s)))
                .unwrap_err()
        } else {
            let rows = RefCell::new(Vec::new());
            let fprop = |net: &mut Toy, s: &[Sample]| {
                *rows.borrow_mut() = s.to_vec();
                fprop(net, s)
            };
            let bprop = |net: &mut Toy| {
                let mut sum = [0.0; 2];
                for s in rows.borrow().iter() {
                    net.fprop(s);
                    net.zero_grad();
                    net.bprop();
                    sum[0] += net.g[0];
                    sum[1] += net.g[1];
                }
                net.g.copy_from_slice(&sum);
            };
            trainer.fit_batches(batch, fprop, bprop).unwrap_err()
        };
        let step = if batch == 1 { 5 } else { 2 };
        assert_eq!(
            (err.epoch, err.step, err.sample),
            (1, Some(step), Some(4)),
            "batch {batch}"
        );
        assert_eq!(
            err.failure,
            Failure::NonFiniteGradient {
                index: 1,
                module: Some("b"),
                value: f64::INFINITY
            }
        );
        assert_eq!(opt.steps(), step - 1);
        // Checked against the parameters of the failing step's own fprop: not updated since.
        let at_fprop = before.borrow().clone();
        assert_eq!(net.params(), at_fprop, "batch {batch}");
        assert!(
            err.to_string().contains("parameter 1 (module `b`) is inf"),
            "{err}"
        );
    }
}

#[test]
fn a_nan_in_the_validation_data_is_reported_as_validation() {
    let train = samples(0..3);
    let mut val = samples(100..104);
    val[2].target = [f64::NAN, 0.0];
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let err = Trainer::new(&mut net, &mut opt, &train)
        .epochs(3)
        .validation(&val)
        .fit(|net, s| net.fprop(s))
        .unwrap_err();
    assert_eq!(
        (err.epoch, err.step, err.sample, err.phase),
        (1, None, Some(2), Phase::Validation)
    );
    assert_eq!(opt.steps(), 3, "the epoch's updates were made");
    assert!(
        err.to_string()
            .contains("validation sample 2: the energy is NaN"),
        "{err}"
    );
}

#[test]
fn a_batch_the_network_refuses_stops_training_with_its_error() {
    let data: Vec<([f64; 2], [f64; 1])> = XOR.to_vec();
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    net.reserve_batch(2).unwrap();
    let mut opt = Sgd::new(0.1);
    let before = net.params().to_vec();
    let trainer = Trainer::new(&mut net, &mut opt, &data);
    let err = xor_batches(trainer, 4).unwrap_err();
    assert_eq!(
        err.failure,
        Failure::Network(bpnet::Error::BatchTooLarge {
            input: "x",
            capacity: 2,
            found: 4
        })
    );
    // Every sample alone passes: the batch as a whole is at fault.
    assert_eq!((err.step, err.sample), (Some(1), None));
    assert_eq!(net.params(), before);
    let text = err.to_string();
    assert!(
        text.starts_with("training stopped in epoch 1, step 1: batch `x` has 4 samples"),
        "{text}"
    );

    // No room at all: every sample fails alone too, and none is blamed.
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    let trainer = Trainer::new(&mut net, &mut opt, &data);
    let err = xor_batches(trainer, 2).unwrap_err();
    assert!(matches!(
        err.failure,
        Failure::Network(bpnet::Error::BatchTooLarge { capacity: 0, .. })
    ));
    assert_eq!(err.sample, None);
}

#[test]
fn what_main_prints_for_a_missing_reserve_batch_says_to_call_it() {
    let data: Vec<([f64; 2], [f64; 1])> = XOR.to_vec();
    let mut net = Xor::new(&mut StdRng::seed_from_u64(0));
    let mut opt = Sgd::new(0.1);
    let trainer = Trainer::new(&mut net, &mut opt, &data);
    let err = xor_batches(trainer, 2).unwrap_err();
    // What `fn main() -> Result<(), Box<dyn Error>>` prints after `Error: `.
    let printed = format!("{:?}", Box::<dyn std::error::Error>::from(err));
    assert_eq!(
        printed,
        "training stopped in epoch 1, step 1: batch `x` has 2 samples, but `reserve_batch` was \
         not called: call `reserve_batch` with at least 2 before the minibatch calls; the \
         parameters are those before this step"
    );
}

#[test]
fn a_sequence_the_network_refuses_in_a_minibatch_is_traced_to_its_sample() {
    let seq = |n: usize| -> (Vec<[f64; 1]>, Vec<[f64; 1]>) { (vec![[0.1]; n], vec![[0.2]; n]) };
    let mut data: Vec<_> = (0..6).map(|_| seq(8)).collect();
    data[4] = seq(9); // longer than the 8 steps the net is unfolded over
    let mut net = Elman::new(&mut StdRng::seed_from_u64(0));
    net.reserve_batch(3).unwrap();
    let mut opt = Sgd::new(0.01);
    let mut columns = Columns::new();
    let err = Trainer::new(&mut net, &mut opt, &data)
        .shuffle(false)
        .fit_batches(
            3,
            |net, batch| {
                let (xs, ys) = columns.split(batch);
                net.fprop_batch(xs, ys)
            },
            |net| net.bprop_batch(),
        )
        .unwrap_err();
    assert_eq!((err.epoch, err.step, err.sample), (1, Some(2), Some(4)));
    // The batch's error: lengths that differ (alone, sample 4 is too long).
    assert!(
        matches!(
            err.failure,
            Failure::Network(bpnet::Error::Length { found: 9, .. })
        ),
        "{err}"
    );
    assert_eq!(opt.steps(), 1);
}

#[test]
fn empty_data_is_an_error_not_a_nan_history() {
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let none: Vec<Sample> = Vec::new();
    let err = Trainer::new(&mut net, &mut opt, &none)
        .fit(|net, s| net.fprop(s))
        .unwrap_err();
    assert_eq!(
        (err.failure.clone(), err.phase),
        (Failure::NoSamples, Phase::Training)
    );
    let train = samples(0..2);
    let err = Trainer::new(&mut net, &mut opt, &train)
        .validation(&none)
        .fit(|net, s| net.fprop(s))
        .unwrap_err();
    assert_eq!(
        (err.failure, err.phase),
        (Failure::NoSamples, Phase::Validation)
    );
    assert_eq!(opt.steps(), 0);
}

#[test]
fn a_non_finite_update_is_undone_bit_for_bit() {
    // The first update is ordinary; the second, at an infinite rate, overflows the parameters.
    let train = samples(1..3);
    let mut net = Toy::new();
    let mut opt =
        Sgd::new(0.1).schedule(Schedule::Custom(
            |t| {
                if t == 0 { 1.0 } else { f64::INFINITY }
            },
        ));
    let err = Trainer::new(&mut net, &mut opt, &train)
        .shuffle(false)
        .epochs(3)
        .fit(|net, s| net.fprop(s))
        .unwrap_err();
    // After sample 1 (target [1, −1]): g = w − t = [−0.5, 0.5], w −= 0.1·g.
    let want = [0.5 - 0.1 * -0.5, -0.5 - 0.1 * 0.5];
    assert_eq!(bits(net.params()), bits(&want));
    assert!(matches!(
        err.failure,
        Failure::NonFiniteUpdate { index: 0, module: Some("a"), value } if value == f64::INFINITY
    ));
    assert_eq!(
        (err.epoch, err.step, err.sample, err.phase),
        (1, Some(2), Some(1), Phase::Training)
    );
    assert!(err.history.epochs.is_empty());
    assert_eq!(err.history.stop, StopReason::Failed);
    let msg = err.to_string();
    assert!(
        msg.contains("the update made parameter 0 (module `a`) inf"),
        "{msg}"
    );
    assert!(
        msg.ends_with("the parameters are those before this step"),
        "{msg}"
    );
    // The optimizer's state is documented to keep the refused update.
    assert_eq!(opt.steps(), 2);
}

#[test]
fn a_non_finite_update_of_a_minibatch_is_undone_too() {
    let train = samples(1..5);
    let mut net = Toy::new();
    let mut opt = Sgd::new(0.1).schedule(Schedule::Custom(|_| f64::INFINITY));
    let err = Trainer::new(&mut net, &mut opt, &train)
        .fit_batches(
            2,
            |net, b| b.iter().map(|s| net.fprop(s)).sum::<f64>(),
            |net| net.bprop(),
        )
        .unwrap_err();
    assert!(
        matches!(err.failure, Failure::NonFiniteUpdate { .. }),
        "{err}"
    );
    assert_eq!((err.step, err.sample), (Some(1), None));
    assert_eq!(bits(net.params()), bits(&[0.5, -0.5]));
}

#[test]
#[should_panic(expected = "Adam: eps must be finite and > 0, got 0")]
fn adam_refuses_a_zero_eps() {
    let _ = Adam::new(0.1f64).eps(0.0);
}

#[test]
#[should_panic(expected = "Adam: beta2 must be in [0, 1), got 1")]
fn adam_refuses_a_beta_of_one() {
    let _ = Adam::new(0.1f64).betas(0.9, 1.0);
}

#[test]
#[should_panic(expected = "Adam: beta1 must be in [0, 1), got NaN")]
fn adam_refuses_a_nan_beta() {
    let _ = Adam::new(0.1f64).betas(f64::NAN, 0.999);
}

#[test]
#[should_panic(expected = "Adam: the learning rate must be finite and >= 0, got -0.1")]
fn adam_refuses_a_negative_learning_rate() {
    let _ = Adam::new(-0.1f64);
}

#[test]
#[should_panic(expected = "Adam: the weight decay must be finite and >= 0, got inf")]
fn adamw_refuses_an_infinite_weight_decay() {
    let _ = Adam::adamw(0.1f64, f64::INFINITY);
}

#[test]
#[should_panic(expected = "Sgd: the momentum must be in [0, 1), got 1")]
fn sgd_refuses_a_momentum_of_one() {
    let _ = Sgd::new(0.1f64).momentum(1.0);
}

#[test]
#[should_panic(expected = "Sgd: the weight decay must be finite and >= 0, got -1")]
fn sgd_refuses_a_negative_weight_decay() {
    let _ = Sgd::new(0.1f64).weight_decay(-1.0);
}

#[test]
#[should_panic(expected = "Sgd: the learning rate must be finite and >= 0, got NaN")]
fn sgd_refuses_a_nan_learning_rate() {
    Sgd::new(0.1f64).set_learning_rate(f64::NAN);
}

#[test]
fn patience_zero_stops_at_the_first_epoch_without_improvement() {
    let val_loss = [3.0, 2.0, 1.0, 1.5, 0.5];
    let (train, val) = (samples(0..2), samples(100..101));
    let (mut net, mut opt, epoch) = (Toy::new(), Sgd::new(0.1), Cell::new(0));
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(5)
        .validation(&val)
        .early_stopping(0)
        .fit(scripted(&[1.0; 5], &val_loss, &epoch))
        .unwrap();
    assert_eq!(
        (history.epochs.len(), history.best_epoch, history.stop),
        (4, Some(3), StopReason::EarlyStopping)
    );
    // Improving every epoch, patience 0 never stops.
    let (mut net, mut opt, epoch) = (Toy::new(), Sgd::new(0.1), Cell::new(0));
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(3)
        .validation(&val)
        .early_stopping(0)
        .fit(scripted(&[1.0; 5], &val_loss, &epoch))
        .unwrap();
    assert_eq!(
        (history.epochs.len(), history.stop),
        (3, StopReason::Completed)
    );
}

#[test]
fn a_minibatch_of_zero_samples_is_an_error() {
    let train = samples(0..4);
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let err = Trainer::new(&mut net, &mut opt, &train)
        .fit_batches(
            0,
            |net, b| b.iter().map(|s| net.fprop(s)).sum::<f64>(),
            |net| net.bprop(),
        )
        .unwrap_err();
    assert_eq!(
        (
            err.failure.clone(),
            err.phase,
            err.epoch,
            err.step,
            err.sample
        ),
        (Failure::BadBatchSize, Phase::Training, 1, None, None)
    );
    assert_eq!(err.history.stop, StopReason::Failed);
    assert_eq!(
        err.to_string(),
        "training stopped in epoch 1: the minibatch size must be at least 1, not 0"
    );
    assert_eq!(opt.steps(), 0);
    assert_eq!(bits(net.params()), bits(&[0.5, -0.5]));
}

/// `fit_batches` never hands the closure an empty minibatch: no data is an error before any
/// call (training or validation), and a data set whose size is a multiple of the batch size ends
/// on a full batch, not on an empty one.
#[test]
fn fit_batches_never_runs_an_empty_minibatch() {
    let none: Vec<Sample> = Vec::new();
    let train = samples(0..4);
    for (data, validation, phase) in [
        (&none, None, Phase::Training),
        (&train, Some(&none), Phase::Validation),
    ] {
        let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
        let mut trainer = Trainer::new(&mut net, &mut opt, data);
        if let Some(v) = validation {
            trainer = trainer.validation(v);
        }
        let err = trainer
            .fit_batches(
                2,
                |_, _| -> f64 { panic!("no batch to run") },
                |_| panic!("no batch to back-propagate"),
            )
            .unwrap_err();
        assert_eq!((err.failure, err.phase), (Failure::NoSamples, phase));
        assert_eq!(opt.steps(), 0);
    }
    for (batch, sizes) in [(1, vec![1; 4]), (2, vec![2, 2]), (4, vec![4]), (9, vec![4])] {
        let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
        let seen = RefCell::new(Vec::new());
        Trainer::new(&mut net, &mut opt, &train)
            .validation(&train)
            .fit_batches(
                batch,
                |net, b| {
                    seen.borrow_mut().push(b.len());
                    b.iter().map(|s| net.fprop(s)).sum::<f64>()
                },
                |net| net.bprop(),
            )
            .unwrap();
        // The training batches, then the validation batches.
        assert_eq!(seen.into_inner(), sizes.repeat(2), "batch {batch}");
    }
}

/// Settings that do nothing useful are not panics: 0 epochs trains nothing and says so; a NaN
/// minimum improvement makes no epoch after the first an improvement.
#[test]
fn degenerate_settings_train_nothing_or_never_improve_without_a_panic() {
    let train = samples(0..4);
    let (mut net, mut opt) = (Toy::new(), Sgd::new(0.1));
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(0)
        .restore_best(true)
        .fit(|net, s| net.fprop(s))
        .unwrap();
    assert_eq!((history.epochs.len(), history.best_epoch), (0, None));
    assert_eq!(opt.steps(), 0);
    let history = Trainer::new(&mut net, &mut opt, &train)
        .epochs(3)
        .min_delta(f64::NAN)
        .early_stopping(0)
        .fit(|net, s| net.fprop(s))
        .unwrap();
    assert_eq!(history.best_epoch, Some(1));
    assert_eq!(history.stop, StopReason::EarlyStopping);
}

// ---------------------------------------------------------------------------------------------
// The trainer's checks, for a cycle written by hand (`StepCheck`), and which calls check the data.

/// Each of the three checks finds what it is for, says where, and lets a sound step through; a
/// refused update leaves the parameters bit for bit as they were.
#[test]
fn step_check_finds_non_finite_energy_gradient_and_update() {
    let mut check = StepCheck::new();
    assert_eq!(check.energy(1.5), Ok(()));
    for e in [f64::NAN, f64::INFINITY] {
        let err = check.energy(e).unwrap_err();
        assert!(
            matches!(err, Failure::NonFiniteEnergy { energy } if energy.to_bits() == e.to_bits())
        );
    }

    let mut net = Toy::new();
    let poisoned = Sample {
        id: 0,
        target: [1.0, -1.0],
        poison: true,
    };
    net.fprop(&poisoned);
    net.zero_grad();
    net.bprop();
    let err = check.gradients(&net).unwrap_err();
    assert_eq!(
        err,
        Failure::NonFiniteGradient {
            index: 1,
            module: Some("b"),
            value: f64::INFINITY
        }
    );
    assert_eq!(
        err.to_string(),
        "the gradient of parameter 1 (module `b`) is inf"
    );

    let sound = &samples(1..2)[0];
    net.fprop(sound);
    net.zero_grad();
    net.bprop();
    assert_eq!(check.gradients(&net), Ok(()));
    let mut opt = Sgd::new(0.5);
    assert_eq!(check.update(&mut net, |n| opt.step(n)), Ok(()));
    let after = [0.5 - 0.5 * (0.5 - 1.0), -0.5 - 0.5 * (-0.5 + 1.0)];
    assert_eq!(bits(net.params()), bits(&after));

    // An update that overflows parameter 0 only: undone, both parameters restored.
    let err = check
        .update(&mut net, |n| {
            n.params_mut()[0] = f64::NEG_INFINITY;
            n.params_mut()[1] = 7.0;
        })
        .unwrap_err();
    assert_eq!(
        err,
        Failure::NonFiniteUpdate {
            index: 0,
            module: Some("a"),
            value: f64::NEG_INFINITY
        }
    );
    assert_eq!(bits(net.params()), bits(&after));
    assert_eq!(
        err.to_string(),
        "the update made parameter 0 (module `a`) -inf"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.source().is_none());
}

/// The cycle written by hand, on a real network, with one NaN row among the data: without the
/// checks every weight becomes NaN; with them the cycle stops at that row, weights untouched.
#[test]
fn a_nan_row_spoils_every_weight_unless_the_step_is_checked() {
    let mut data: Vec<([f64; 2], [f64; 1])> = XOR.to_vec();
    data.insert(2, ([f64::NAN, 1.0], [0.8]));

    let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
    let mut opt = Sgd::new(0.1);
    for (x, y) in &data {
        net.fprop(x, y);
        net.zero_grad();
        net.bprop();
        opt.step(&mut net);
    }
    assert!(
        net.params().iter().all(|w| w.is_nan()),
        "{:?}",
        net.params()
    );

    let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
    let mut opt = Sgd::new(0.1);
    let mut check = StepCheck::new();
    let mut kept = Vec::new();
    let mut stopped = None;
    for (i, (x, y)) in data.iter().enumerate() {
        kept = net.params().to_vec();
        let e = net.fprop(x, y);
        let step = check.energy(e).and_then(|()| {
            net.zero_grad();
            net.bprop();
            check.gradients(&net)?;
            check.update(&mut net, |n| opt.step(n))
        });
        if let Err(f) = step {
            stopped = Some((i, f));
            break;
        }
    }
    let (at, failure) = stopped.expect("the NaN row stops the cycle");
    assert_eq!(at, 2);
    assert!(matches!(failure, Failure::NonFiniteEnergy { energy } if energy.is_nan()));
    assert_eq!(bits(net.params()), bits(&kept));
    assert!(net.params().iter().all(|w| w.is_finite()));
}

/// The table of the `train` module's docs, "Which calls check the data": the `try_` forms refuse
/// a NaN; the fixed-size, batch and unfolded forms pass it through as a NaN energy or output.
#[test]
fn which_calls_check_the_data() {
    let mut net = Xor::new(&mut StdRng::seed_from_u64(1));
    let (bad, y) = ([0.5, f64::NAN], [0.8]);
    let refused = Err(bpnet::Error::NonFinite {
        input: "x",
        index: 1,
    });
    assert_eq!(net.try_fprop(&bad[..], &y[..]), refused);
    assert_eq!(
        net.try_run(&bad[..]).map(|o| o.to_vec()),
        refused.map(|_: f64| vec![])
    );
    assert!(net.fprop(&bad, &y).is_nan());
    assert!(net.run(&bad)[0].is_nan());
    net.reserve_batch(2).unwrap();
    let xs = [[0.5, 0.5], bad];
    assert!(net.fprop_batch(&xs, &[y, y]).unwrap().is_nan());
    let outs = net.run_batch(&xs).unwrap().to_vec();
    assert!(outs[0][0].is_finite() && outs[1][0].is_nan(), "{outs:?}");

    let mut elman = Elman::new(&mut StdRng::seed_from_u64(1));
    let (xs, ys) = ([[0.5], [f64::NAN], [0.25]], [[0.1], [0.2], [0.3]]);
    assert!(elman.fprop(&xs, &ys).unwrap().is_nan());
    let flat = [0.5, f64::NAN, 0.25];
    assert_eq!(
        elman.try_fprop(&flat[..], &[0.1, 0.2, 0.3][..]),
        Err(bpnet::Error::NonFinite {
            input: "x",
            index: 1
        })
    );
}
