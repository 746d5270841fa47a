//! A small convolutional network (after LeNet: a trainable front-end of convolutions and
//! subsampling, then a classifier) against the two-layer tanh network of the `digits` example,
//! on the 1797 8×8 digits shipped with bpnet, with the same splits, optimiser and early stopping,
//! over several seeds: the test accuracy of each, and their parameter counts.
//!
//! ```sh
//! cargo run --release --example lenet            # seeds 1, 2, 3
//! cargo run --release --example lenet -- 5       # seeds 1 to 5
//! ```

use bpnet::data::{self, Normalizer, Targets};
use bpnet::optim::Adam;
use bpnet::prelude::*;
use bpnet::train::Trainer;

const PIXELS: usize = data::DIGITS_PIXELS;
const CLASSES: usize = data::DIGITS_CLASSES;

network! {
    /// One 8 × 8 map → 6 maps of 8 × 8 (3 × 3 kernels, padded) → subsampled to 4 × 4 → 16
    /// maps of 2 × 2 (3 × 3 kernels) → 10 scores. The sigmoid modules have no biases of their
    /// own: each map has its bias in its convolution.
    pub struct Lenet {
        input  x: [1, 8, 8];
        target y: 10;
        c1: [6, 8, 8] = k1: conv(x, maps = 6, kernel = 3, padding = 1);
        h1     = t1: tanh(c1, bias = false);
        s2: [6, 4, 4] = p2: subsample(h1, size = 2);
        c3: [16, 2, 2] = k3: conv(s2, maps = 16, kernel = 3);
        h3     = t3: tanh(c3, bias = false);
        out    = l4: linear(h3 -> 10, bias = true);
        energy = cross_entropy(out, y);
    }
}

network! {
    /// The `digits` example's network: 64 pixels → 64 tanh units → 10 scores.
    pub struct Dense {
        input  x: 64;
        target y: 10;
        sum1   = linear1: linear(x -> 64);
        hidden = tanh1: tanh(sum1);
        out    = linear2: linear(hidden -> 10);
        energy = cross_entropy(out, y);
    }
}

type Sample = ([f32; PIXELS], [f32; CLASSES]);

/// The class of the largest output.
fn predict(out: &[f32; CLASSES]) -> usize {
    (0..CLASSES)
        .max_by(|&a, &b| out[a].total_cmp(&out[b]))
        .expect("ten outputs")
}

/// Normalised inputs and their targets, one sample per row.
fn samples(set: &data::Dataset<f32>, norm: &Normalizer<f32>) -> Vec<Sample> {
    let inputs = norm.transform(&set.inputs);
    let targets = set.targets(Targets::OneHot);
    let xs = data::as_rows::<f32, _, PIXELS>(&inputs).expect("64 contiguous columns");
    let ys = data::as_rows::<f32, _, CLASSES>(&targets).expect("10 contiguous columns");
    xs.iter().copied().zip(ys.iter().copied()).collect()
}

/// Trains a network of either kind as the `digits` example does (Adam at 0.001 with a weight
/// decay of 0.0005, at most 150 epochs, early stopping after 15 without a better validation
/// loss, back to the best parameters); returns its test accuracy and its epochs.
macro_rules! train {
    ($net:ty, $seed:expr, $train:expr, $val:expr, $test:expr) => {{
        let mut net = <$net>::new(&mut StdRng::seed_from_u64($seed));
        let mut opt = Adam::new(0.001f32).weight_decay(0.0005);
        let history = Trainer::new(&mut net, &mut opt, $train)
            .epochs(150)
            .seed($seed + 100)
            .validation($val)
            .early_stopping(15)
            .restore_best(true)
            .fit(|net, (x, y)| net.fprop(x, y))?;
        let right = $test
            .iter()
            .filter(|(x, y)| predict(net.run(x)) == predict(y))
            .count();
        (right as f64 / $test.len() as f64, history.epochs.len())
    }};
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 3,
    };
    // The `digits` example's splits and scaling.
    let all = data::digits();
    let (rest, test) = all.split(0.2, 7);
    let (train, val) = rest.split(0.15, 8);
    let norm = Normalizer::new(vec![8.0; PIXELS], vec![8.0; PIXELS])?;
    let (train, val, test) = (
        samples(&train, &norm),
        samples(&val, &norm),
        samples(&test, &norm),
    );
    println!(
        "{} digits: {} to train, {} to validate, {} to test",
        all.len(),
        train.len(),
        val.len(),
        test.len()
    );
    println!(
        "parameters: conv net {}, two-layer tanh net {}",
        Lenet::PARAMS,
        Dense::PARAMS
    );
    let (mut conv, mut dense) = (Vec::new(), Vec::new());
    for seed in 1..=seeds {
        let start = std::time::Instant::now();
        let (a, ea) = train!(Lenet, seed, &train, &val, &test);
        let conv_time = start.elapsed();
        let start = std::time::Instant::now();
        let (b, eb) = train!(Dense, seed, &train, &val, &test);
        println!(
            "seed {seed}: conv net {:.1}% ({ea} epochs, {:.1?}), two-layer net {:.1}% ({eb} \
             epochs, {:.1?})",
            100.0 * a,
            conv_time,
            100.0 * b,
            start.elapsed()
        );
        conv.push(a);
        dense.push(b);
    }
    let mean = |v: &[f64]| 100.0 * v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "mean test accuracy over {seeds} seeds: conv net {:.1}%, two-layer net {:.1}%",
        mean(&conv),
        mean(&dense)
    );
    Ok(())
}
