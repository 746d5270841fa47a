//! "Deep supervised learning is hard": the loss of the simplest two-layer net ever.
//!
//! The lecture's last slide: a 1-1-1 net `y = tanh(W1 tanh(W0 x))` must map 0.5 to 0.5 and
//! -0.5 to -0.5 under a quadratic cost. This example draws its loss `L(W0, W1)` over [-4, 4]² as
//! an ASCII heat map — a flat plateau around the origin, a saddle point at the origin, two curved
//! valleys — then runs gradient descent on `L` from the saddle, from near it, and from a good
//! start, to show how long a net can sit on a plateau.
//!
//! It also draws the landscape as a PNG heat map, the descents' loss curves as a PNG chart and
//! the net's graph as a Graphviz DOT file, into the directory given as its argument (by default
//! `target/one_one_one/`), and says where they went.
//!
//! Run it with `cargo run --release --example one_one_one [DIR]`.

use std::path::PathBuf;

use bpnet::plot::{self, CurveOptions, HeatMapOptions};
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/one_one_one"),
    };

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

    // The same landscape as a PNG, finer: 160 × 160 cells, each sampled at its centre, row 0 at
    // W1 = -4 (the bottom).
    let cells = 160;
    let centre = |i: usize| -4.0 + 8.0 * (i as f64 + 0.5) / cells as f64;
    let landscape: Vec<f64> = (0..cells)
        .flat_map(|row| (0..cells).map(move |col| (centre(col), centre(row))))
        .map(|(w0, w1)| loss_and_gradient(&mut net_with(w0, w1)))
        .collect();
    std::fs::create_dir_all(&out_dir)?;
    let heat_map_path = out_dir.join("one_one_one_landscape.png");
    let options = HeatMapOptions::new()
        .title("Loss of the 1-1-1 net, y = tanh(W1 tanh(W0 x))")
        .x_axis("W0", -4.0, 4.0)
        .y_axis("W1", -4.0, 4.0)
        .value_label("L(W0, W1)");
    plot::heat_map(&heat_map_path, &landscape, cells, &options)?;

    // Gradient descent on L (both samples per update) from four starting points.
    let starts = [0.0, 0.01, 0.1, 1.0];
    let mut nets: Vec<OneOneOne> = starts.iter().map(|&w| net_with(w, w)).collect();
    println!("\nGradient descent on L, learning rate {LR}; the loss L from W0 = W1 =");
    print!("epoch");
    starts.iter().for_each(|w| print!("{w:>14}"));
    println!();
    let mut histories = vec![Vec::new(); starts.len()];
    for epoch in 0..=200 {
        let losses: Vec<f64> = nets.iter_mut().map(loss_and_gradient).collect();
        for (history, &loss) in histories.iter_mut().zip(&losses) {
            history.push(loss);
        }
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

    // The descents as loss curves, on a log scale, and the net's graph.
    let names: Vec<String> = starts.iter().map(|w| format!("W0 = W1 = {w}")).collect();
    let series: Vec<(&str, &[f64])> = names
        .iter()
        .zip(&histories)
        .map(|(name, history)| (name.as_str(), history.as_slice()))
        .collect();
    let curves_path = out_dir.join("one_one_one_descent.png");
    let options = CurveOptions::new()
        .title(format!("Gradient descent on L, learning rate {LR}"))
        .y_label("L")
        .log_scale(true)
        .x_axis(0.0, 1.0);
    plot::loss_curves(&curves_path, &series, &options)?;
    let dot_path = out_dir.join("one_one_one.dot");
    plot::write_dot(&dot_path, OneOneOne::DOT)?;
    println!("\nWritten:");
    println!("  the landscape as a heat map  {}", heat_map_path.display());
    println!("  the descents' loss curves    {}", curves_path.display());
    println!("  the net's graph (Graphviz)   {}", dot_path.display());
    println!(
        "    draw it with `dot -Tpng {} -o net.png`",
        dot_path.display()
    );
    Ok(())
}
