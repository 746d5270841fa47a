//! LeCun's scaled tanh, `1.7159·tanh(⅔x)`, trained as the lecture recommends it: with ±1 targets
//! (which it reaches at x = ±1, where its second derivative is largest, instead of saturating),
//! here on the shipped 8×8 digits.

use bpnet::data::{self, Targets};
use bpnet::prelude::*;

network! {
    pub struct Scaled {
        input  x: 64;
        target y: 10;
        s1     = l1: linear(x -> 16);
        h      = t1: scaled_tanh(s1);
        s2     = l2: linear(h -> 10);
        out    = t2: scaled_tanh(s2);
        energy = euclidean(out, y);
    }
}

type Sample = ([f32; 64], [f32; 10]);

fn samples(set: &data::Dataset<f32>) -> Vec<Sample> {
    let xs = set.inputs.mapv(|p| p / 8.0 - 1.0);
    let ys = set.targets(Targets::PlusMinusOne);
    let xs = data::as_rows::<f32, _, 64>(&xs).expect("64 columns");
    let ys = data::as_rows::<f32, _, 10>(&ys).expect("10 columns");
    xs.iter().copied().zip(ys.iter().copied()).collect()
}

fn class(v: &[f32; 10]) -> usize {
    (0..10).max_by(|&a, &b| v[a].total_cmp(&v[b])).expect("ten")
}

/// Every seed learns the digits to well above chance (10%) in a few epochs of plain SGD, and the
/// outputs head for the ±1 targets: the right class's output ends near +1, the others near −1.
#[test]
fn scaled_tanh_learns_the_digits_with_plus_minus_one_targets() {
    let (train, test) = data::digits().split(0.25, 3);
    let (train, test) = (samples(&train), samples(&test));
    for seed in 1..=3 {
        let mut net = Scaled::new(&mut StdRng::seed_from_u64(seed));
        let mut opt = Sgd::new(0.01f32);
        Trainer::new(&mut net, &mut opt, &train)
            .epochs(4)
            .seed(seed)
            .fit(|net, (x, y)| net.fprop(x, y))
            .expect("finite energies");
        let right = test
            .iter()
            .filter(|(x, y)| class(net.run(x)) == class(y))
            .count();
        let accuracy = right as f64 / test.len() as f64;
        assert!(accuracy > 0.85, "seed {seed}: test accuracy {accuracy}");
        // Mean output of the right class and of the others, over the test set.
        let (mut on, mut off) = (0.0f64, 0.0f64);
        for (x, y) in &test {
            let out = *net.run(x);
            for k in 0..10 {
                if y[k] > 0.0 {
                    on += out[k] as f64;
                } else {
                    off += out[k] as f64 / 9.0;
                }
            }
        }
        let n = test.len() as f64;
        assert!(
            on / n > 0.5 && off / n < -0.8,
            "seed {seed}: {} {}",
            on / n,
            off / n
        );
    }
}
