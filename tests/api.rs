//! The generated API: pooled layout, initialisation, fprop against a hand-written computation,
//! bprop's accumulation rules, the checked run-time entry points, run, and the descriptions.

use bpnet::ndarray::{Array1, s};
use bpnet::prelude::*;
use bpnet::{ModuleInfo, Role};

network! {
    /// The lecture's two-layer net, f32 by default.
    pub struct TwoLayer {
        input  x: 2;
        target y: 1;
        sum1   = linear1: linear(x -> 3);
        /// The hidden layer.
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 1);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A module network: no energy, one input, one output.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  input: 2;
        sum    = linear: linear(input -> 3);
        output output = sigmoid: tanh(sum);
    }
}

fn net() -> TwoLayer {
    TwoLayer::new(&mut StdRng::seed_from_u64(11))
}

/// The same computation written out by hand from the pool, as the lecture's formulas.
fn by_hand(p: &[f32], x: [f32; 2], y: f32) -> (f32, [f32; 3], f32) {
    let (w1, b1, w2, b2) = (&p[0..6], &p[6..9], &p[9..12], p[12]);
    let mut h = [0.0f32; 3];
    for i in 0..3 {
        h[i] = (w1[2 * i] * x[0] + w1[2 * i + 1] * x[1] + b1[i]).tanh();
    }
    let out = (w2[0] * h[0] + w2[1] * h[1] + w2[2] * h[2] + b2).tanh();
    (out, h, 0.5 * (out - y) * (out - y))
}

#[test]
fn layout_is_one_pool_in_declaration_order() {
    assert_eq!(TwoLayer::PARAMS, 6 + 3 + 3 + 1);
    assert_eq!(
        (
            TwoLayer::X_WIDTH,
            TwoLayer::HIDDEN_WIDTH,
            TwoLayer::OUT_WIDTH
        ),
        (2, 3, 1)
    );
    assert_eq!((TwoLayer::LINEAR2_OFFSET, TwoLayer::LINEAR2_LEN), (9, 3));
    assert_eq!((TwoLayer::SIGMOID2_OFFSET, TwoLayer::SIGMOID2_LEN), (12, 1));
    let names: Vec<_> = TwoLayer::MODULES
        .iter()
        .map(|m| (m.name, m.offset, m.len))
        .collect();
    assert_eq!(
        names,
        [
            ("linear1", 0, 6),
            ("sigmoid1", 6, 3),
            ("linear2", 9, 3),
            ("sigmoid2", 12, 1),
            ("energy", 13, 0)
        ]
    );
    assert_eq!(
        TwoLayer::MODULES[2],
        ModuleInfo {
            name: "linear2",
            kind: "linear",
            offset: 9,
            len: 3,
            inputs: &["hidden"],
            output: "sum2",
            children: &[],
            tensors: &[("weight", &[1, 3])],
        }
    );
    let roles: Vec<_> = TwoLayer::STATES
        .iter()
        .map(|s| (s.name, s.width, s.role))
        .collect();
    assert_eq!(
        roles,
        [
            ("x", 2, Role::Input),
            ("y", 1, Role::Target),
            ("sum1", 3, Role::Hidden),
            ("hidden", 3, Role::Hidden),
            ("sum2", 1, Role::Hidden),
            ("out", 1, Role::Output),
            ("energy", 1, Role::Energy),
        ]
    );
    let mut n = net();
    n.linear2_params_mut()[1] = 7.0;
    assert_eq!(n.params()[10], 7.0);
    assert_eq!(n.sigmoid1_params().len(), 3);
}

#[test]
fn initialisation_is_seeded_and_fan_in_scaled() {
    let (a, b) = (net(), net());
    assert_eq!(a.params(), b.params());
    let c = TwoLayer::new(&mut StdRng::seed_from_u64(12));
    assert_ne!(a.params(), c.params());
    let bound1 = (3.0f32 / 2.0).sqrt();
    let bound2 = (3.0f32 / 3.0).sqrt();
    assert!(
        a.linear1_params()
            .iter()
            .all(|w| w.abs() <= bound1 && *w != 0.0)
    );
    assert!(
        a.linear2_params()
            .iter()
            .all(|w| w.abs() <= bound2 && *w != 0.0)
    );
    assert!(
        a.sigmoid1_params()
            .iter()
            .chain(a.sigmoid2_params())
            .all(|b| *b == 0.0)
    );
    assert!(a.grads().iter().all(|g| *g == 0.0));
}

#[test]
fn fprop_matches_the_formulas() {
    let mut n = net();
    for (i, p) in n.params_mut().iter_mut().enumerate() {
        *p = ((i as f32) * 0.37).sin();
    }
    let p = n.params().to_vec();
    let e: f32 = n.fprop(&[0.3, -0.8], &[0.25]);
    let (out, h, want) = by_hand(&p, [0.3, -0.8], 0.25);
    assert!((e - want).abs() < 1e-6, "{e} vs {want}");
    assert!((n.out.x[0] - out).abs() < 1e-6);
    for (got, want) in n.hidden.x.iter().zip(h) {
        assert!((got - want).abs() < 1e-6);
    }
    assert_eq!(n.energy(), e);
    assert_eq!(n.energy.x, [e]);
}

#[test]
fn bprop_seeds_the_energy_and_accumulates_parameter_gradients() {
    let mut n = net();
    n.set_input_grads(true);
    n.fprop(&[0.3, -0.8], &[0.9]);
    n.bprop();
    assert_eq!(n.energy.dx, [1.0]);
    // dE/dout = out − y and dE/dy = y − out (the lecture's Euclidean bprop).
    assert!((n.out.dx[0] - (n.out.x[0] - 0.9)).abs() < 1e-7);
    assert!((n.y.dx[0] + n.out.dx[0]).abs() < 1e-7);
    // dE/dx reaches the input.
    assert!(n.x.dx.iter().any(|d| *d != 0.0));
    let once = n.grads().to_vec();
    assert!(once.iter().any(|g| *g != 0.0));
    // Parameter gradients add up over bprops; state derivatives are recomputed.
    let dx_once = n.x.dx;
    n.bprop();
    for (g2, g1) in n.grads().iter().zip(&once) {
        assert!((g2 - 2.0 * g1).abs() <= 1e-6 * g1.abs().max(1.0));
    }
    assert_eq!(n.x.dx, dx_once);
    n.zero_grad();
    assert!(n.grads().iter().all(|g| *g == 0.0));
}

#[test]
fn sgd_step_updates_the_whole_pool_and_lowers_the_energy() {
    let mut n = net();
    let e0 = n.fprop(&[0.3, -0.8], &[0.9]);
    n.zero_grad();
    n.bprop();
    let (p, g) = (n.params().to_vec(), n.grads().to_vec());
    n.sgd_step(0.1);
    for ((new, old), grad) in n.params().iter().zip(&p).zip(&g) {
        assert_eq!(*new, old - 0.1 * grad);
    }
    assert!(n.fprop(&[0.3, -0.8], &[0.9]) < e0);
}

#[test]
fn run_needs_no_target_and_computes_the_output() {
    let mut n = net();
    let p = n.params().to_vec();
    // A first sample, then run on another input: run must recompute, from that input alone.
    n.fprop(&[0.9, -0.4], &[0.0]);
    let (want, _, _) = by_hand(&p, [0.1, 0.2], 0.0);
    let got = n.run(&[0.1, 0.2])[0];
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    let (want, _, _) = by_hand(&p, [-0.6, 0.3], 0.0);
    let got = n.try_run(&[-0.6f32, 0.3][..]).unwrap()[0];
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
}

#[test]
fn run_time_widths_and_values_are_checked() {
    let mut n = net();
    assert_eq!(
        n.try_fprop(&[1.0f32, 2.0, 3.0][..], &[0.5f32][..]),
        Err(Error::Width {
            input: "x",
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        n.try_fprop(vec![1.0f32, 2.0], Vec::<f32>::new()),
        Err(Error::Width {
            input: "y",
            expected: 1,
            found: 0
        })
    );
    assert_eq!(
        n.try_fprop(&[1.0f32, f32::NAN][..], &[0.5f32][..]),
        Err(Error::NonFinite {
            input: "x",
            index: 1
        })
    );
    assert_eq!(
        n.try_run(&[f32::INFINITY, 0.0][..]),
        Err(Error::NonFinite {
            input: "x",
            index: 0
        })
    );
    let msg = n.try_run(&[1.0f32][..]).unwrap_err().to_string();
    assert_eq!(
        msg,
        "input `x` has 1 components, but the network declares width 2"
    );
    // ndarray arrays and (strided) views are accepted.
    let data = Array1::from(vec![0.3f32, 9.0, -0.8, 9.0]);
    let e = n
        .try_fprop(data.slice(s![..;2]), Array1::from(vec![0.25f32]))
        .unwrap();
    assert_eq!(e, n.fprop(&[0.3, -0.8], &[0.25]));
}

#[test]
fn dot_describes_every_state_and_module() {
    let dot = TwoLayer::DOT;
    assert!(dot.starts_with("digraph \"TwoLayer\" {"));
    for st in TwoLayer::STATES {
        assert!(
            dot.contains(&format!("\"s_{}\" [shape=box", st.name)),
            "{dot}"
        );
    }
    for m in TwoLayer::MODULES {
        assert!(
            dot.contains(&format!("\"m_{}\" [shape=ellipse", m.name)),
            "{dot}"
        );
    }
    assert!(dot.contains("\"s_hidden\" -> \"m_linear2\";"));
    assert!(dot.contains("\"m_linear2\" -> \"s_sum2\";"));
    assert!(dot.contains("linear 2→3"));
}

#[test]
fn a_module_network_runs_and_back_propagates_on_its_own() {
    let mut l = Layer::new(&mut StdRng::seed_from_u64(3));
    assert_eq!(
        (
            <Layer as Module>::IN,
            <Layer as Module>::OUT,
            <Layer as Module>::PARAMS
        ),
        (2, 3, 9)
    );
    let out = *l.run(&[0.5, -0.5]);
    // output = tanh(W input + B), from the pool (W is 3 × 2 row-major, then B).
    let p = l.params().to_vec();
    for (i, o) in out.iter().enumerate() {
        let want = (p[2 * i] * 0.5 - p[2 * i + 1] * 0.5 + p[6 + i]).tanh();
        assert!((o - want).abs() < 1e-12);
    }
    l.bprop(&[1.0, 0.0, 0.0]);
    // d out_0 / d bias_0 = 1 − out_0², the lecture's tanh bprop; the other biases get nothing.
    let db = &l.sigmoid_grads();
    assert!((db[0] - (1.0 - out[0] * out[0])).abs() < 1e-12);
    assert_eq!(&db[1..], &[0.0, 0.0]);
    // Used through the Module trait with an outer pool.
    let mut inner = <Layer as Module>::create();
    let mut y = [0.0; 3];
    inner.fprop(l.params(), &[0.5, -0.5], &mut y);
    assert_eq!(y, out);
}

/// dE/d(input) is opt-in: off by default, the inputs' and targets' `dx` are left alone and the
/// parameter gradients are bit for bit those of a sweep that computes them; the switch is on the
/// struct and on the `Network` trait.
#[test]
fn input_gradients_are_off_by_default_and_opt_in() {
    const SENTINEL: f32 = 1234.5;
    let mut n = net();
    assert!(!n.input_grads());
    assert!(!Network::input_grads(&n));
    n.x.dx = [SENTINEL; 2];
    n.y.dx = [SENTINEL];
    n.fprop(&[0.3, -0.8], &[0.9]);
    n.bprop();
    assert_eq!((n.x.dx, n.y.dx), ([SENTINEL; 2], [SENTINEL]));
    let (grads_off, hidden_dx_off) = (n.grads().to_vec(), n.hidden.dx);
    assert!(grads_off.iter().any(|g| *g != 0.0));

    n.set_input_grads(true);
    assert!(n.input_grads());
    n.zero_grad();
    n.bprop();
    assert_eq!(n.grads(), &grads_off[..]);
    assert_eq!(n.hidden.dx, hidden_dx_off);
    // dE/dx = W1ᵀ dE/d(sum1), dE/dy = −dE/d(out).
    let w1 = n.linear1_params();
    for j in 0..2 {
        let want: f32 = (0..3).map(|i| w1[2 * i + j] * n.sum1.dx[i]).sum();
        assert!((n.x.dx[j] - want).abs() < 1e-6, "{:?}", n.x.dx);
    }
    assert_eq!(n.y.dx, [-n.out.dx[0]]);

    // Off again, through the trait: the last computed dx stays as it was.
    Network::set_input_grads(&mut n, false);
    assert!(!n.input_grads());
    let dx_on = n.x.dx;
    n.fprop(&[-0.7, 0.1], &[0.2]);
    n.bprop();
    assert_eq!(n.x.dx, dx_on);

    // A module network's bprop from d(output): its input's dx too.
    let mut l = Layer::new(&mut StdRng::seed_from_u64(3));
    l.run(&[0.5, -0.5]);
    l.input.dx = [f64::from(SENTINEL); 2];
    l.bprop(&[1.0, -1.0, 0.5]);
    assert_eq!(l.input.dx, [f64::from(SENTINEL); 2]);
    let grads_off = l.grads().to_vec();
    l.set_input_grads(true);
    l.zero_grad();
    l.bprop(&[1.0, -1.0, 0.5]);
    assert_eq!(l.grads(), &grads_off[..]);
    let w = l.linear_params();
    for j in 0..2 {
        let want: f64 = (0..3).map(|i| w[2 * i + j] * l.sum.dx[i]).sum();
        assert!((l.input.dx[j] - want).abs() < 1e-12);
    }
}

/// An f64 declaration computes in f64 (a 1e-12 agreement that f32 could not give); the
/// default is f32.
#[test]
fn float_type_follows_the_declaration() {
    fn is_f64(_: &[f64; 3]) {}
    fn is_f32(_: f32) {}
    let mut l = Layer::new(&mut StdRng::seed_from_u64(3));
    let x = [0.1234567891, -0.9876543219];
    let out = *l.run(&x);
    is_f64(&out);
    let p = l.params().to_vec();
    let want = (p[0] * x[0] + p[1] * x[1] + p[6]).tanh();
    assert!((out[0] - want).abs() < 1e-15);
    is_f32(net().fprop(&[0.0, 0.0], &[0.0]));
}
