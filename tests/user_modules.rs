//! A user module with parameters (a parametric ReLU, one trainable slope per unit) in the places
//! where its gradient is summed: over the rows of a minibatch and over the steps of an `unfold`
//! block. bprop **adds** into `grads` and `dinput`; a module that writes them instead loses every
//! contribution but the last, and the gradient checker must say so.

mod common;

use bpnet::prelude::*;
use common::{TOL, batch_is_the_sum, check_through_time, close, prelu, randomise, rows, sample};

prelu!(PRelu, false);
prelu!(PReluWrites, true);

network! {
    /// A user module with parameters between two linear layers.
    #[bpnet(float = f64)]
    pub struct WithPRelu {
        input  x: 3;
        target y: 2;
        a      = l1: linear(x -> 4);
        h: 4   = act: PRelu(a);
        o      = l2: linear(h -> 2);
        energy = euclidean(o, y);
    }
}

network! {
    /// A user module with parameters between two linear layers.
    #[bpnet(float = f64)]
    pub struct WithPReluWrites {
        input  x: 3;
        target y: 2;
        a      = l1: linear(x -> 4);
        h: 4   = act: PReluWrites(a);
        o      = l2: linear(h -> 2);
        energy = euclidean(o, y);
    }
}

network! {
    /// An Elman net whose hidden units are a user module: its slopes serve at every step.
    #[bpnet(float = f64)]
    pub struct ElmanPRelu {
        unfold 5 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h: 4   = act: PRelu(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

network! {
    /// An Elman net whose hidden units are a user module: its slopes serve at every step.
    #[bpnet(float = f64)]
    pub struct ElmanPReluWrites {
        unfold 5 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            a      = add(s, c);
            h: 4   = act: PReluWrites(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

/// Random parameters (slopes of either sign) and a minibatch of 6 rows.
fn batch_setup<N: Network<Float = f64>>(net: &mut N, seed: u64) -> (Vec<[f64; 3]>, Vec<[f64; 2]>) {
    let mut rng = StdRng::seed_from_u64(seed);
    randomise(net.params_mut(), &mut rng);
    (rows::<3>(6, &mut rng), rows::<2>(6, &mut rng))
}

/// The module on its own: what it adds to non-zero gradients and dE/d(input) matches finite
/// differences (a module that writes them is caught, and the report says which).
#[test]
fn the_module_alone_adds_its_derivatives() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = [0.7, -0.4, -1.3, 0.2];
    let good = check_module_gradients::<PRelu, _>(&mut rng, &x);
    assert!(good.passes(TOL), "{good}");
    let bad = check_module_gradients::<PReluWrites, _>(&mut rng, &x);
    assert!(!bad.passes(1e-2), "{bad}");
    assert_eq!(bad.modules[0].name, "params");
    assert!(bad.modules[0].overwritten.is_some(), "{bad}");
    assert!(bad.to_string().contains("overwrote the gradient"), "{bad}");
}

/// In a network, per sample: `check_gradients` passes for the module that adds, and fails for the
/// one that writes, naming it.
#[test]
fn in_a_network_the_checker_tells_adding_from_writing() {
    let mut rng = StdRng::seed_from_u64(2);
    let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
    let mut net = WithPRelu::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
    assert!(report.passes(TOL), "{report}");

    let mut bad = WithPReluWrites::new(&mut rng);
    bad.params_mut().copy_from_slice(net.params());
    let report = check_gradients(&mut bad, |n| n.try_fprop(&x, &y).unwrap());
    assert!(!report.passes(1e-2), "{report}");
    let act = report.modules.iter().find(|m| m.name == "act").unwrap();
    assert!(act.overwritten.is_some(), "{report}");
    assert!(act.max_rel_error > 0.5, "{report}");
}

/// A minibatch's gradient is the sum of its rows' gradients, each computed on its own from a zeroed
/// pool, slopes included; so are its energy and curvature (`batch_is_the_sum!`).
#[test]
fn a_minibatch_gradient_is_the_sum_of_the_rows() {
    let mut net = WithPRelu::new(&mut StdRng::seed_from_u64(3));
    let (xs, ys) = batch_setup(&mut net, 3);
    let mut sum = vec![0.0; WithPRelu::PARAMS];
    for (x, y) in xs.iter().zip(&ys) {
        net.zero_grad();
        net.fprop(x, y);
        net.bprop();
        for (s, g) in sum.iter_mut().zip(net.grads()) {
            *s += g;
        }
    }
    // Several rows reach the slopes (a negative pre-activation), or the test says little.
    let range = WithPRelu::ACT_OFFSET..WithPRelu::ACT_OFFSET + WithPRelu::ACT_LEN;
    let reached = xs.iter().filter(|x| {
        net.run(x);
        net.a.x.iter().any(|a| *a <= 0.0)
    });
    assert!(reached.count() >= 3);
    assert!(
        sum[range].iter().filter(|g| **g != 0.0).count() >= 3,
        "{sum:?}"
    );

    net.reserve_batch(6).unwrap();
    net.zero_grad();
    net.fprop_batch(&xs, &ys).unwrap();
    net.bprop_batch();
    assert!(
        close(net.grads(), &sum),
        "{:?}\nvs the sum of the rows\n{sum:?}",
        net.grads()
    );
    batch_is_the_sum!(net, xs, ys, 6);
}

/// Through time: the slopes' gradient, summed over the 5 steps, and dE/dx of every step match
/// finite differences.
#[test]
fn inside_unfold_the_gradients_match_finite_differences() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = ElmanPRelu::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    for len in [1, 3, 5] {
        let (xs, ys) = (rows::<2>(len, &mut rng), rows::<1>(len, &mut rng));
        check_through_time!(net, xs, ys, 2);
    }
    // The module that writes its gradient keeps only one step's: the checker sees it.
    let mut bad = ElmanPReluWrites::new(&mut rng);
    bad.params_mut().copy_from_slice(net.params());
    let (xs, ys) = (rows::<2>(5, &mut rng), rows::<1>(5, &mut rng));
    let report = check_gradients(&mut bad, |n| n.fprop(&xs, &ys).unwrap());
    assert!(!report.passes(1e-2), "{report}");
    let act = report.modules.iter().find(|m| m.name == "act").unwrap();
    assert!(act.max_rel_error > 0.1, "{report}");
}
