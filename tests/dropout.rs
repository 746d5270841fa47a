//! Training and evaluation modes, and the `dropout` kind: masks drawn in training (a fraction
//! `p` dropped, the rest scaled by `1/(1 − p)`), the identity in evaluation; the mode reaches
//! every copy of every user module and nested network; the `Trainer` evaluates in evaluation
//! mode; gradients through dropout (its masks fixed by a seed) agree with finite differences.

mod common;

use bpnet::prelude::*;
use bpnet::train::Trainer;
use bpnet::{check_gradients, check_module_gradients};
use common::{TOL, rows};
use std::cell::RefCell;

network! {
    #[bpnet(float = f64)]
    pub struct Drop {
        input  x: 4;
        target y: 2;
        s      = l1: linear(x -> 64);
        h      = t1: tanh(s);
        d      = dropout(h, p = 0.5);
        out    = l2: linear(d -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// `Drop` without its dropout: the same parameters, the same pool layout.
    #[bpnet(float = f64)]
    pub struct NoDrop {
        input  x: 4;
        target y: 2;
        s      = l1: linear(x -> 64);
        h      = t1: tanh(s);
        out    = l2: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    pub struct DropThroughTime {
        unfold 5 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 6);
            c      = wh: linear(h[t - 1] -> 6);
            a      = add(s, c);
            h      = th: tanh(a);
            d      = dropout(h, p = 0.3);
            o      = wo: linear(d -> 1);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

/// `bprop_batch` of `$net` on `$xs`, `$ys` against central differences of `fprop_batch`'s energy
/// in every parameter (`common::assert_close`), the masks fixed by seeding before each fprop.
macro_rules! minibatch_matches_differences {
    ($net:expr, $xs:expr, $ys:expr, $what:expr) => {{
        let net = &mut $net;
        net.seed_dropout(7);
        net.fprop_batch($xs, $ys).unwrap();
        net.zero_grad();
        net.bprop_batch();
        let grads = net.grads().to_vec();
        let start = net.params().to_vec();
        let fd = common::numeric(
            &mut |v| {
                net.params_mut().copy_from_slice(v);
                net.seed_dropout(7);
                net.fprop_batch($xs, $ys).unwrap()
            },
            &start,
        );
        common::assert_close($what, &grads, &fd);
    }};
}

thread_local! {
    /// What every `Probe` was told: (its seed, the training flags it was given).
    static TOLD: RefCell<Vec<(u64, bool)>> = const { RefCell::new(Vec::new()) };
}

/// A user module that passes its input through and keeps what the network tells it.
#[derive(Clone)]
pub struct Probe {
    seed: u64,
    training: bool,
}

impl Module for Probe {
    type Float = f64;
    const IN: usize = 3;
    const OUT: usize = 3;
    const PARAMS: usize = 0;
    fn create() -> Self {
        Probe {
            seed: 0,
            training: true,
        }
    }
    fn init<R: Rng + ?Sized>(_: &mut [f64], _: &mut R) {}
    fn fprop(&mut self, _: &[f64], x: &[f64], y: &mut [f64]) {
        y.copy_from_slice(x);
        TOLD.with(|t| t.borrow_mut().push((self.seed, self.training)));
    }
    fn bprop(
        &mut self,
        _: &[f64],
        _: &mut [f64],
        _: &[f64],
        _: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        for (d, g) in dx.iter_mut().zip(dy) {
            *d += g;
        }
    }
    fn set_training(&mut self, on: bool) {
        self.training = on;
    }
    fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
    }
}

network! {
    /// A network with a probe, used as a module.
    #[bpnet(float = f64)]
    pub struct Inner {
        input  x: 3;
        p: 3   = probe: Probe(x);
        output o = t: tanh(p);
    }
}

network! {
    /// Probes per sample, per step, and inside a nested network.
    #[bpnet(float = f64)]
    pub struct Probed {
        unfold 3 {
            input  x: 3;
            target y: 3;
            p: 3   = probe: Probe(x);
            q: 3   = inner: Inner(p);
            e      = euclidean(q, y);
        }
        energy = sum(e);
    }
}

fn told() -> Vec<(u64, bool)> {
    TOLD.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// In evaluation the network is the one without dropout, bit for bit; in training about half
/// of the 64 hidden units are dropped, the rest doubled, and each pass draws another mask.
#[test]
fn evaluation_is_the_identity_and_training_drops_half() {
    let mut net = Drop::new(&mut StdRng::seed_from_u64(0));
    let mut plain = NoDrop::new(&mut StdRng::seed_from_u64(0));
    assert_eq!(net.params(), plain.params());
    let x = [0.3, -0.2, 0.5, 0.1];
    assert!(net.training());
    net.set_training(false);
    assert!(!net.training());
    assert_eq!(net.run(&x), plain.run(&x));
    assert_eq!(net.fprop(&x, &[0.1, 0.2]), plain.fprop(&x, &[0.1, 0.2]));

    net.set_training(true);
    net.run(&x);
    let first = net.d.x;
    let dropped = first.iter().filter(|&&v| v == 0.0).count();
    assert!((16..=48).contains(&dropped), "{dropped} of 64 dropped");
    for (d, h) in first.iter().zip(&net.h.x) {
        assert!(*d == 0.0 || *d == 2.0 * h);
    }
    net.run(&x);
    assert_ne!(net.d.x, first, "a new pass, a new mask");
    net.seed_dropout(9);
    net.run(&x);
    let seeded = net.d.x;
    net.seed_dropout(9);
    net.run(&x);
    assert_eq!(net.d.x, seeded, "the same seed, the same masks");
}

/// Each row of a minibatch draws its own mask; in evaluation a minibatch is its samples.
#[test]
fn a_minibatch_draws_a_mask_per_row() {
    let mut net = Drop::new(&mut StdRng::seed_from_u64(1));
    net.reserve_batch(2).unwrap();
    let x = [0.3, -0.2, 0.5, 0.1];
    let out = net.run_batch(&[x, x]).unwrap().to_vec();
    assert_ne!(out[0], out[1]);
    net.set_training(false);
    let out = net.run_batch(&[x, x]).unwrap().to_vec();
    assert_eq!(out[0], *net.run(&x));
    assert_eq!(out[1], out[0]);
}

/// The same rng gives the same network and the same masks; dropout's seed is drawn after the
/// parameters, which are those of the same declaration without dropout.
#[test]
fn new_seeds_the_masks_from_its_rng() {
    let mut a = Drop::new(&mut StdRng::seed_from_u64(2));
    let mut b = Drop::new(&mut StdRng::seed_from_u64(2));
    let mut c = Drop::new(&mut StdRng::seed_from_u64(3));
    let x = [0.3, -0.2, 0.5, 0.1];
    assert_eq!(a.run(&x), b.run(&x));
    c.params_mut().copy_from_slice(a.params());
    assert_ne!(a.run(&x), c.run(&x));
}

/// Backward through the masks of the last forward pass: gradients, by the checker (relative
/// tolerance `TOL`, with the masks fixed by seeding before every fprop), and per step.
#[test]
fn gradients_through_dropout_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = Drop::new(&mut rng);
    let (x, y) = ([0.3, -0.2, 0.5, 0.1], [0.4, -0.6]);
    let report = check_gradients(&mut net, |n| {
        n.seed_dropout(5);
        n.fprop(&x, &y)
    });
    assert!(report.passes(TOL), "{report}");
    // Against the same network without the dropped units, by hand: the kept units' gradient is
    // doubled into l1 and t1, the dropped ones' is zero.
    net.seed_dropout(5);
    net.fprop(&x, &y);
    net.zero_grad();
    net.bprop();
    let kept: Vec<bool> = net.d.x.iter().map(|&v| v != 0.0).collect();
    let t1 = net.t1_grads().to_vec();
    for (g, k) in t1.iter().zip(&kept) {
        assert!(k | (*g == 0.0));
    }

    let mut net = DropThroughTime::new(&mut rng);
    let xs = rows::<2>(4, &mut rng);
    let ys = rows::<1>(4, &mut rng);
    let report = check_gradients(&mut net, |n| {
        n.seed_dropout(6);
        n.fprop(&xs, &ys).unwrap()
    });
    assert!(report.passes(TOL), "{report}");
    // Minibatches of sequences too (each row its own masks), against central differences of
    // the batch's energy in every parameter.
    net.reserve_batch(3).unwrap();
    let (bx, by) = (vec![xs.clone(); 3], vec![ys.clone(); 3]);
    minibatch_matches_differences!(net, &bx, &by, "a minibatch through dropout");
}

/// `set_training` and the seeds reach every copy: per step, per row of a minibatch (also those
/// made after the switch by `reserve_batch`), and inside a nested network; every copy has a
/// seed of its own.
#[test]
fn the_mode_reaches_every_copy_of_every_module() {
    let mut net = Probed::new(&mut StdRng::seed_from_u64(8));
    told();
    let seq = rows::<3>(3, &mut StdRng::seed_from_u64(9));
    net.fprop(&seq, &seq).unwrap();
    let first = told();
    assert_eq!(first.len(), 6, "two probes at three steps");
    assert!(first.iter().all(|&(_, on)| on));
    let mut seeds: Vec<u64> = first.iter().map(|&(s, _)| s).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 6, "a seed per copy: {first:?}");

    net.set_training(false);
    net.reserve_batch(2).unwrap();
    net.fprop(&seq, &seq).unwrap();
    net.fprop_batch(&[seq.clone(), seq.clone()], &[seq.clone(), seq.clone()])
        .unwrap();
    let eval = told();
    assert_eq!(eval.len(), 6 + 12);
    assert!(eval.iter().all(|&(_, on)| !on), "{eval:?}");
    let mut seeds: Vec<u64> = eval.iter().map(|&(s, _)| s).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(
        seeds.len(),
        18,
        "the batch's copies have seeds of their own"
    );

    net.set_training(true);
    net.fprop(&seq, &seq).unwrap();
    assert!(told().iter().all(|&(_, on)| on));
    let mut clone = net.clone();
    clone.set_training(false);
    assert!(net.training() && !clone.training());
}

network! {
    #[bpnet(float = f64)]
    pub struct ProbedFlat {
        input  x: 3;
        target y: 3;
        p: 3   = probe: Probe(x);
        energy = euclidean(p, y);
    }
}

/// The trainer trains in training mode and evaluates (training accuracy, validation loss and
/// accuracy) in evaluation mode, and leaves the network as it found it.
#[test]
fn the_trainer_evaluates_in_evaluation_mode() {
    let mut net = ProbedFlat::new(&mut StdRng::seed_from_u64(10));
    let data: Vec<([f64; 3], [f64; 3])> = rows::<3>(4, &mut StdRng::seed_from_u64(11))
        .into_iter()
        .map(|x| (x, x))
        .collect();
    let mut opt = Sgd::new(0.1);
    told();
    Trainer::new(&mut net, &mut opt, &data[..3])
        .epochs(2)
        .validation(&data[3..])
        .accuracy(|net, (x, _)| net.run(x)[0].is_finite())
        .fit(|net, (x, y)| net.fprop(x, y))
        .unwrap();
    let calls = told();
    // Per epoch: 3 training fprops, then 3 training-accuracy runs, 1 validation fprop and 1
    // validation-accuracy run, in evaluation mode.
    let modes: Vec<bool> = calls.iter().map(|&(_, on)| on).collect();
    let epoch = [[true; 3].as_slice(), [false; 5].as_slice()].concat();
    assert_eq!(modes, [epoch.clone(), epoch].concat());
    assert!(net.training());
}

network! {
    /// A network with dropout, used as a module.
    #[bpnet(float = f64)]
    pub struct DropMod {
        input  x: 3;
        h      = l: linear(x -> 4);
        d      = dropout(h, p = 0.5);
        output o = t: tanh(d);
    }
}

network! {
    /// No dropout of its own: only inside its nested network.
    #[bpnet(float = f64)]
    pub struct Outer {
        input  x: 3;
        target y: 4;
        q: 4   = inner: DropMod(x);
        energy = euclidean(q, y);
    }
}

/// `check_module_gradients` on a network with dropout used as a module: the checker seeds the
/// module alike before every fprop, so the finite differences are of one draw of the masks
/// (without, every fprop drew new ones and every row was off by 100%).
#[test]
fn check_module_gradients_checks_a_network_with_dropout_on_one_draw() {
    let mut rng = StdRng::seed_from_u64(1);
    let report = check_module_gradients::<DropMod, _>(&mut rng, &[0.3, -0.2, 0.5]);
    assert!(report.passes(TOL), "{report}");
}

/// A network whose dropout is inside a nested network takes its seed from its initial
/// parameters (drawn from `new`'s rng): networks made from other rngs draw other masks, even once
/// given the same parameters.
#[test]
fn nested_dropout_follows_the_rng_of_new() {
    let mut a = Outer::new(&mut StdRng::seed_from_u64(2));
    let mut c = Outer::new(&mut StdRng::seed_from_u64(3));
    c.params_mut().copy_from_slice(a.params());
    let (x, y) = ([0.3, -0.2, 0.5], [0.1, 0.2, 0.3, 0.4]);
    let (ea, ec) = (a.fprop(&x, &y), c.fprop(&x, &y));
    assert_ne!(ea, ec, "networks made from other rngs draw the same masks");
}

/// A switch of mode between fprop and bprop would send bprop back through masks fprop did not
/// draw: the switch ends the forward pass, and the bprop panics (the same switch to the mode
/// the network is in changes nothing).
#[test]
#[should_panic(
    expected = "`Outer::bprop` goes back through the states of `fprop`, but no forward \
                           pass has run yet"
)]
fn a_mode_switch_ends_the_forward_pass() {
    let mut net = Outer::new(&mut StdRng::seed_from_u64(4));
    let (x, y) = ([0.3, -0.2, 0.5], [0.1, 0.2, 0.3, 0.4]);
    net.set_training(false);
    net.fprop(&x, &y);
    net.set_training(false);
    net.bprop();
    net.fprop(&x, &y);
    net.set_training(true);
    net.bprop();
}

/// A clone draws the same masks as its original, pass after pass (it is a copy, seed
/// included), until it is given a seed of its own.
#[test]
fn a_clone_draws_the_masks_of_its_original_until_reseeded() {
    let mut a = Outer::new(&mut StdRng::seed_from_u64(5));
    let mut b = a.clone();
    let (x, y) = ([0.3, -0.2, 0.5], [0.1, 0.2, 0.3, 0.4]);
    for _ in 0..3 {
        assert_eq!(a.fprop(&x, &y), b.fprop(&x, &y));
    }
    b.seed_dropout(99);
    assert_ne!(a.fprop(&x, &y), b.fprop(&x, &y));
}

/// Dropout in a nested network used per row of a minibatch: bprop_batch against central
/// differences (masks fixed by seeding before each fprop_batch).
#[test]
fn nested_dropout_per_row_gradients() {
    let mut net = Outer::new(&mut StdRng::seed_from_u64(6));
    net.reserve_batch(3).unwrap();
    let xs = [[0.3, -0.2, 0.5], [0.1, 0.4, -0.3], [0.3, -0.2, 0.5]];
    let ys = [[0.1, 0.2, 0.3, 0.4]; 3];
    minibatch_matches_differences!(net, &xs, &ys, "nested dropout per row");
}
