//! The lecture's nn-2layer, built from its nn-layer, trained one sample at a time.
//!
//! An nn-layer is a Linear module (`sum = W input`) followed by a sigmoid module
//! (`output = tanh(sum + B)`). Two of them, joined by the `hidden` state and topped by a
//! Euclidean energy `E = ½‖out − y‖²`, make the two-layer net. It learns a smooth bump,
//! `y = 0.8 · sin(π x₁) · cos(π x₂ / 2)`, from samples on an 11 × 11 grid of [-1, 1]², and is then
//! asked about points between the grid nodes, which it never saw.
//!
//! Run it with `cargo run --release --example two_layer`.

use bpnet::prelude::*;
use bpnet::rand::seq::SliceRandom;
use std::f64::consts::PI;

/// `(new nn-layer ninputs noutputs)`: declares an nn-layer module with the given widths.
macro_rules! nn_layer {
    ($name:ident, $in:literal, $out:literal) => {
        network! {
            /// One layer of a neural net: a linear module, the weighted sums, a tanh module.
            #[bpnet(float = f64)]
            pub struct $name {
                input  input: $in;
                sum    = linear: linear(input -> $out);
                output output = sigmoid: tanh(sum);
            }
        }
    };
}

nn_layer!(Layer1, 2, 16);
nn_layer!(Layer2, 16, 1);

network! {
    /// nn-2layer: layer1, the hidden state, layer2; then the Euclidean energy.
    #[bpnet(float = f64)]
    pub struct NnTwoLayer {
        input  x: 2;
        target y: 1;
        hidden: 16 = layer1: Layer1(x);
        out: 1     = layer2: Layer2(hidden);
        energy     = euclidean(out, y);
    }
}

/// The function to learn.
fn bump(x1: f64, x2: f64) -> f64 {
    0.8 * (PI * x1).sin() * (PI * x2 / 2.0).cos()
}

fn main() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = NnTwoLayer::new(&mut rng);

    // The single parameter vector: each module reads its slice of one pool, nested ones too.
    println!("One pool of {} parameters:", NnTwoLayer::PARAMS);
    fn show(modules: &[bpnet::ModuleInfo], base: usize, indent: usize) {
        for m in modules.iter().filter(|m| m.len > 0) {
            let start = base + m.offset;
            let name = format!("{:indent$}{}", "", m.name);
            println!(
                "  {name:<10} {:<7} params {start:>2}..{}",
                m.kind,
                start + m.len
            );
            show(m.children, start, indent + 2);
        }
    }
    show(NnTwoLayer::MODULES, 0, 0);

    // The training set: the bump sampled on an 11 × 11 grid.
    let grid = |i: usize| -1.0 + 0.2 * i as f64;
    let mut train: Vec<([f64; 2], [f64; 1])> = Vec::new();
    for i in 0..11 {
        for j in 0..11 {
            let (x1, x2) = (grid(i), grid(j));
            train.push(([x1, x2], [bump(x1, x2)]));
        }
    }

    println!("\nTraining on {} samples, one at a time:", train.len());
    let lr = 0.05;
    for epoch in 1..=1000 {
        train.shuffle(&mut rng);
        let mut total = 0.0;
        for (x, y) in &train {
            // A training cycle: pick a sample, fprop (record the error), bprop,
            // update all the weights at once through the pool.
            total += net.fprop(x, y);
            net.zero_grad();
            net.bprop();
            net.sgd_step(lr);
        }
        if [1, 10, 25, 50, 100, 200, 400, 700, 1000].contains(&epoch) {
            println!(
                "  epoch {epoch:>4}   mean energy {:.6}",
                total / train.len() as f64
            );
        }
    }

    // Points halfway between grid nodes: never seen during training.
    println!("\nBetween the grid nodes (unseen):");
    println!("     x1     x2    target   network");
    let mut test_energy = 0.0;
    let mut n = 0;
    for i in 0..10 {
        for j in 0..10 {
            let (x1, x2) = (grid(i) + 0.1, grid(j) + 0.1);
            let (target, out) = (bump(x1, x2), net.run(&[x1, x2])[0]);
            test_energy += 0.5 * (out - target).powi(2);
            n += 1;
            if i % 3 == 1 && j % 4 == 1 {
                println!("  {x1:>5.1}  {x2:>5.1}   {target:>7.3}   {out:>7.3}");
            }
        }
    }
    println!(
        "Mean energy on the {n} unseen points: {:.6}",
        test_energy / n as f64
    );
}
