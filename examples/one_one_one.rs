//! "Deep supervised learning is hard": the loss of the simplest two-layer net ever.
//!
//! The lecture's last slide: a 1-1-1 net `y = tanh(W1 tanh(W0 x))` must map 0.5 to 0.5 and
//! -0.5 to -0.5 under a quadratic cost. This example draws its loss `L(W0, W1)` over [-4, 4]² as
//! an ASCII heat map — a flat plateau around the origin, a saddle point at the origin, two curved
//! valleys — then runs gradient descent on `L` from the saddle, from near it, and from a good
//! start, to show how long a net can sit on a plateau.
//!
//! Run it with `cargo run --release --example one_one_one`.

use bpnet::prelude::*;

network! {
    /// The 1-1-1 net: two one-weight linear modules, each followed by a tanh module.
    #[bpnet(float = f64)]
    pub struct OneOneOne {
        input  x: 1;
        target y: 1;
        s0     = linear0: linear(x -> 1);
        h      = tanh0: tanh(s0);
        s1     = linear1: linear(h -> 1);
        out    = tanh1: tanh(s1);
        energy = euclidean(out, y);
    }
}

/// The training set: the identity on two points.
const SAMPLES: [f64; 2] = [0.5, -0.5];
const LR: f64 = 0.1;

/// A net with the given weights. The lecture's tanh modules have a trainable bias, the slide's
/// net has none: both biases are set to 0. They stay there during training without being frozen:
/// the net is then odd and the two samples are mirror images, so the two samples' contributions
/// to each bias gradient cancel exactly. (Updating after each sample would move them.)
fn net_with(w0: f64, w1: f64) -> OneOneOne {
    let mut net = OneOneOne::new(&mut StdRng::seed_from_u64(0));
    net.linear0_params_mut()[0] = w0;
    net.linear1_params_mut()[0] = w1;
    net.tanh0_params_mut()[0] = 0.0;
    net.tanh1_params_mut()[0] = 0.0;
    net
}

/// The loss L = E(0.5) + E(-0.5), with E = ½(y − out)² the Euclidean energy. The net is odd, so
/// both energies are equal and L = (0.5 − tanh(W1 tanh(W0 · 0.5)))², the slide's formula.
/// Leaves the gradient of L in the pool (bprop adds, so the two samples' gradients sum up).
fn loss_and_gradient(net: &mut OneOneOne) -> f64 {
    net.zero_grad();
    let mut loss = 0.0;
    for x in SAMPLES {
        loss += net.fprop(&[x], &[x]);
        net.bprop();
    }
    loss
}

fn main() {
    // The heat map: W0 across (step 0.2), W1 down (step 0.4); darker = higher loss.
    let shades = [' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'];
    let bound = |i: usize| 2.25 * (i as f64 / 10.0).powi(2);
    println!("The loss L(W0, W1) of the 1-1-1 net, darker is higher (O marks the origin):");
    print!("  shade ");
    shades.iter().for_each(|c| print!("  '{c}'"));
    print!("\n  L from");
    (0..10).for_each(|i| print!(" {:>4.2}", bound(i)));
    println!("\n");
    for row in (0..=20).rev() {
        let w1 = -4.0 + 0.4 * row as f64;
        let line: String = (0..=40)
            .map(|col| {
                if (row, col) == (10, 20) {
                    return 'O';
                }
                let loss = loss_and_gradient(&mut net_with(-4.0 + 0.2 * col as f64, w1));
                shades[(1..10).take_while(|&i| loss >= bound(i)).count()]
            })
            .collect();
        let label = if row % 5 == 0 {
            format!("{w1:+.0}")
        } else {
            String::new()
        };
        println!("{label:>8} |{line}|");
    }
    println!("{:>8} +{}+", "W1", "-".repeat(41));
    println!("{:>12}{:>19}{:>20}", "-4", "0", "+4");
    println!("{:>31}", "W0");
    println!(
        "\nThe blank bands (upper right, lower left) are the two valleys, L ≈ 0, where W0 and W1\n\
         have the same sign. Along both axes (the '-' cross through O) the net outputs 0 and\n\
         L = 0.25: a flat plateau. O is a saddle: L falls towards the valleys and rises towards\n\
         the other two corners."
    );

    // Gradient descent on L (both samples per update) from four starting points.
    let starts = [0.0, 0.01, 0.1, 1.0];
    let mut nets: Vec<OneOneOne> = starts.iter().map(|&w| net_with(w, w)).collect();
    println!("\nGradient descent on L, learning rate {LR}; the loss L from W0 = W1 =");
    print!("epoch");
    starts.iter().for_each(|w| print!("{w:>14}"));
    println!();
    for epoch in 0..=200 {
        let losses: Vec<f64> = nets.iter_mut().map(loss_and_gradient).collect();
        if epoch % 10 == 0 && (epoch <= 100 || epoch % 50 == 0) {
            print!("{epoch:>5}");
            losses.iter().for_each(|l| print!("{l:>14.6}"));
            println!();
        }
        nets.iter_mut().for_each(|net| net.sgd_step(LR));
    }
    print!("final");
    for net in &nets {
        let (w0, w1) = (net.linear0_params()[0], net.linear1_params()[0]);
        print!("{:>14}", format!("{w0:.2}, {w1:.2}"));
    }
    let biases = nets
        .iter()
        .flat_map(|n| [n.tanh0_params()[0], n.tanh1_params()[0]]);
    let largest_bias = biases.fold(0.0_f64, |m, b| m.max(b.abs()));
    println!("\n(largest tanh bias after training: {largest_bias})");
    println!(
        "\nAt the origin the gradient is exactly zero: a saddle point, the net never moves.\n\
         Near it the loss is flat, and descent crawls along the plateau before it finds a valley;\n\
         the closer the start to the saddle, the longer the crawl. Started in a valley, it is\n\
         done at once. Small initial weights are a trap: deep supervised learning is hard."
    );
}
