//! XOR, the function no single layer can compute, learnt by a small two-layer tanh net.
//!
//! Inputs are coded ±1 and targets ±0.8 (tanh only reaches ±1 at infinity, so ±0.8 is a target
//! the net can actually hit). The net is 2-4-1: `linear → tanh → linear → tanh`, under the
//! Euclidean energy `E = ½‖out − y‖²`, trained one sample at a time as in the lecture's training
//! cycle. At the end the same recipe is rerun from 20 other random initialisations, to show that
//! the result does not hinge on a lucky seed.
//!
//! Run it with `cargo run --release --example xor` (or `... --example xor -- SEED`).

use bpnet::prelude::*;
use bpnet::rand::seq::SliceRandom;

network! {
    /// A 2-4-1 net: two nn-layers, written flat.
    #[bpnet(float = f64)]
    pub struct Xor {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 4);
        hidden = tanh1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = tanh2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

/// The four XOR patterns: the output is +0.8 when exactly one input is +1.
const PATTERNS: [([f64; 2], [f64; 1]); 4] = [
    ([-1.0, -1.0], [-0.8]),
    ([-1.0, 1.0], [0.8]),
    ([1.0, -1.0], [0.8]),
    ([1.0, 1.0], [-0.8]),
];
const EPOCHS: usize = 200;
const LR: f64 = 0.1;

/// Trains a fresh net from `seed`; prints the mean energy every 20 epochs if `verbose`.
fn train(seed: u64, verbose: bool) -> Xor {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = Xor::new(&mut rng);
    let mut order = [0, 1, 2, 3];
    for epoch in 1..=EPOCHS {
        // One epoch: each pattern once, in a random order. Per pattern: fprop (record the
        // error), bprop, then one update of the whole parameter pool.
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for &i in &order {
            let (x, y) = &PATTERNS[i];
            total += net.fprop(x, y);
            net.zero_grad();
            net.bprop();
            net.sgd_step(LR);
        }
        let mean = total / 4.0;
        if verbose && (epoch == 1 || epoch % 20 == 0) {
            println!("{epoch:>5}   {mean:.6}");
        }
    }
    net
}

/// Solved: every output on the right side of zero, and within 0.2 of its target.
fn solved(net: &mut Xor) -> bool {
    PATTERNS.iter().all(|(x, y)| {
        let out = net.run(x)[0];
        out.signum() == y[0].signum() && (out - y[0]).abs() < 0.2
    })
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!("XOR with a 2-4-1 tanh net, seed {seed}, learning rate {LR}\n");
    println!("epoch   mean energy");
    let mut net = train(seed, true);

    println!("\n   x1    x2   target   output");
    for (x, y) in &PATTERNS {
        let out = net.run(x)[0];
        println!("{:>5} {:>5}   {:>6.2}   {out:>6.3}", x[0], x[1], y[0]);
    }
    println!("solved: {}", solved(&mut net));

    let wins = (100..120).filter(|&s| solved(&mut train(s, false))).count();
    println!("\nThe same training from seeds 100..120: {wins} of 20 nets solve XOR.");
}
