//! The LSTM and GRU cells of `examples/gated` (declared from built-in kinds only) and their Elman
//! baseline: back-propagation through time against central finite differences (f64, step 1e-5,
//! relative tolerance `common::TOL` = 1e-6) for the parameters and for every input at every
//! step, on full-length and shorter sequences; a minibatch of sequences against the sum of its
//! sequences (gradients and curvatures, 1e-10); and the parameter counts the example states.

use bpnet::prelude::*;

mod common;

#[path = "../examples/gated/cells.rs"]
mod cells;

use cells::{Elman, Gru, Lstm};
use common::rows;

/// Gradients through time of sequences of `len` steps, against finite differences.
macro_rules! through_time {
    ($net:ident, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        // Weights of a trained net's size, biases too (they start at zero).
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        for len in [7, 3, 1] {
            let xs = rows::<2>(len, &mut rng);
            let y = [rng.random_range(-1.0..1.0)];
            common::check_through_time!(net, xs, y, 2);
        }
        // A minibatch of sequences of one length is the sum of its sequences.
        let xs: Vec<Vec<[f64; 2]>> = (0..5).map(|_| rows::<2>(9, &mut rng)).collect();
        let ys = rows::<1>(5, &mut rng);
        let curv = common::batch_is_the_sum!(net, xs, ys, 5, seq);
        assert!(curv.iter().any(|&c| c > 0.0));
    }};
}

#[test]
fn lstm_through_time() {
    for seed in 0..2 {
        through_time!(Lstm, seed);
    }
}

#[test]
fn gru_through_time() {
    for seed in 0..2 {
        through_time!(Gru, seed);
    }
}

#[test]
fn elman_through_time() {
    through_time!(Elman, 0);
}

/// The example compares nets of about the same size.
#[test]
fn parameter_counts() {
    assert_eq!(Lstm::PARAMS, 4 * 8 * 8 + 13 * 8 + 1);
    assert_eq!(Gru::PARAMS, 3 * 9 * 9 + 11 * 9 + 1);
    assert_eq!(Elman::PARAMS, 17 * 17 + 4 * 17 + 1);
    assert_eq!((Lstm::PARAMS, Gru::PARAMS, Elman::PARAMS), (361, 343, 358));
}

/// The cell state carries a value over the steps: with weights set by hand so that the input
/// gate opens only on a marked step (`i = σ(30·marker − 15)`), the forget gate is open (`f =
/// σ(30)`) and `g = tanh(value)`, the cell keeps `tanh(value)` of the marked step 0 through 39
/// unmarked steps (each adds at most `σ(−15) ≈ 3e-7` and forgets `1 − σ(30) ≈ 1e-13`).
#[test]
fn the_lstm_cell_carries_a_marked_value_over_many_steps() {
    let mut net = Lstm::new(&mut StdRng::seed_from_u64(3));
    net.params_mut().fill(0.0);
    let p = net.wx_params_mut();
    // W is 32 × 2 row-major (columns: value, marker), then the 32 biases; rows i, f, g, o by 8.
    for u in 0..8 {
        p[2 * u + 1] = 30.0;
        p[64 + u] = -15.0;
        p[64 + 8 + u] = 30.0;
        p[2 * (16 + u)] = 1.0;
    }
    let mut rng = StdRng::seed_from_u64(4);
    let mut xs = vec![[0.7, 1.0]];
    xs.extend((1..40).map(|_| [rng.random_range(-1.0..1.0), 0.0]));
    net.fprop(&xs, &[0.0]).unwrap();
    for t in [0, 10, 39] {
        for &c in &net.c[t].x {
            assert!((c - 0.7f64.tanh()).abs() < 1e-4, "c[{t}] = {c}");
        }
    }
}
