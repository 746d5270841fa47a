//! bprop of generated networks against central finite differences (f64).
//!
//! Tolerance: relative error at most 1e-6 per parameter, as defined by `check_gradients` (step
//! ε^(1/3) ≈ 6e-6). Each net is also checked with a deliberately wrong bprop (a mutant), so the
//! checks are known to fail when bprop is wrong.

use bpnet::prelude::*;
use bpnet::rand::RngExt;

mod common;

use common::{TOL, assert_close, bits, numeric};

network! {
    /// The lecture's nn-layer as a module: linear then tanh.
    #[bpnet(float = f64)]
    pub struct NnLayer {
        input  input: 3;
        sum    = linear: linear(input -> 4);
        output output = sigmoid: tanh(sum);
    }
}

network! {
    /// nn-layer trained on its own, with a Euclidean energy.
    #[bpnet(float = f64)]
    pub struct NnLayerEnergy {
        input  x: 3;
        target y: 4;
        sum    = linear: linear(x -> 4);
        out    = sigmoid: tanh(sum);
        energy = euclidean(out, y);
    }
}

network! {
    /// nn-2layer, written flat.
    #[bpnet(float = f64)]
    pub struct TwoLayer {
        input  x: 3;
        target y: 2;
        sum1   = linear1: linear(x -> 5);
        hidden = sigmoid1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 2);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Fan-out (x and h feed two modules each) and fan-in (add of three states).
    #[bpnet(float = f64)]
    pub struct FanNet {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        b      = lb: linear(x -> 4);
        h      = th: tanh(a);
        c      = lc: linear(h -> 4);
        s      = add(h, b, c);
        t      = ts: tanh(s);
        u      = lu: linear(t -> 2);
        v      = lv: linear(h -> 2);
        out    = add(u, v);
        energy = euclidean(out, y);
    }
}

network! {
    /// nn-2layer built from a nested nn-layer, as in the lecture.
    #[bpnet(float = f64)]
    pub struct Nested {
        input  x: 3;
        target y: 3;
        hidden: 4 = layer1: NnLayer(x);
        sum2   = linear2: linear(hidden -> 3);
        out    = sigmoid2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A nested network twice, behind a linear module whose dx fans out to both: the nested
    /// networks must add their dE/d(input) into a state that another module also writes.
    #[bpnet(float = f64)]
    pub struct NestedTwice {
        input  x: 2;
        target y: 4;
        a      = l0: linear(x -> 3);
        h1: 4  = first: NnLayer(a);
        h2: 4  = second: NnLayer(a);
        b      = l1: linear(a -> 4);
        out    = add(h1, h2, b);
        energy = euclidean(out, y);
    }
}

/// A user module: y = s ∘ x², one trainable scale per component.
pub struct Square<const WRONG: bool>;

impl<const WRONG: bool> Module for Square<WRONG> {
    type Float = f64;
    const IN: usize = 4;
    const OUT: usize = 4;
    const PARAMS: usize = 4;
    fn create() -> Self {
        Square
    }
    fn init<R: bpnet::rand::Rng + ?Sized>(params: &mut [f64], rng: &mut R) {
        for p in params {
            *p = rng.random_range(0.5..1.5);
        }
    }
    fn fprop(&mut self, p: &[f64], x: &[f64], y: &mut [f64]) {
        for i in 0..4 {
            y[i] = p[i] * x[i] * x[i];
        }
    }
    fn bprop(
        &mut self,
        p: &[f64],
        g: &mut [f64],
        x: &[f64],
        _y: &[f64],
        dy: &[f64],
        dx: &mut [f64],
    ) {
        for i in 0..4 {
            // The mutant forgets the factor 2 of d(x²)/dx.
            dx[i] += if WRONG { 1.0 } else { 2.0 } * p[i] * x[i] * dy[i];
            g[i] += x[i] * x[i] * dy[i];
        }
    }
}

network! {
    /// A user module between two built-in layers; x also skips past it (fan-out into an add).
    #[bpnet(float = f64)]
    pub struct WithUser {
        input  x: 2;
        target y: 4;
        a      = l1: linear(x -> 4);
        sq: 4  = square: Square<false>(a);
        s      = add(sq, a);
        out    = t: tanh(s);
        energy = euclidean(out, y);
    }
}

network! {
    /// A user module as the only reader of the input: its dx starts from zero each bprop.
    #[bpnet(float = f64)]
    pub struct UserFirst {
        input  x: 4;
        target y: 4;
        sq: 4  = square: Square<false>(x);
        out    = t: tanh(sq);
        energy = euclidean(out, y);
    }
}

network! {
    /// The same with the mutant module.
    #[bpnet(float = f64)]
    pub struct WithWrongUser {
        input  x: 2;
        target y: 4;
        a      = l1: linear(x -> 4);
        sq: 4  = square: Square<true>(a);
        s      = add(sq, a);
        out    = t: tanh(s);
        energy = euclidean(out, y);
    }
}

fn sample(n: usize, rng: &mut StdRng) -> Vec<f64> {
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// Checks a net on several random samples, one after the other on the same net (so a `dx` left
/// over from the previous sample shows): the parameter gradients with `check_gradients` (input
/// gradients off, the default), and dE/dx and dE/dy of the input and the target against central
/// differences (input gradients on).
macro_rules! check_net {
    ($net:ty, $nx:expr, $ny:expr, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        for round in 0..5 {
            let (x, y) = (sample($nx, &mut rng), sample($ny, &mut rng));
            net.set_input_grads(false);
            let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
            assert!(!report.modules.is_empty());
            assert!(
                report.passes(TOL),
                "{} round {round}:\n{report}",
                stringify!($net)
            );
            let ndx = numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
            let ndy = numeric(&mut |v| net.try_fprop(&x, v).unwrap(), &y);
            net.set_input_grads(true);
            net.try_fprop(&x, &y).unwrap();
            net.bprop();
            assert_close(concat!(stringify!($net), " dE/dx"), &net.x.dx, &ndx);
            assert_close(concat!(stringify!($net), " dE/dy"), &net.y.dx, &ndy);
        }
    }};
}

#[test]
fn nn_layer() {
    check_net!(NnLayerEnergy, 3, 4, 1);
}

#[test]
fn nn_two_layer() {
    check_net!(TwoLayer, 3, 2, 2);
}

#[test]
fn fan_out_and_fan_in() {
    check_net!(FanNet, 3, 2, 3);
}

#[test]
fn nested_network() {
    check_net!(Nested, 3, 3, 4);
}

#[test]
fn user_module() {
    check_net!(WithUser, 2, 4, 5);
}

#[test]
fn user_module_reading_the_input() {
    check_net!(UserFirst, 4, 4, 9);
}

#[test]
fn nested_network_twice_behind_fan_out() {
    check_net!(NestedTwice, 2, 4, 10);
}

/// The checker must see a wrong bprop: the mutant's error lands on the modules before it.
#[test]
fn wrong_bprop_is_caught() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = WithWrongUser::new(&mut rng);
    let (x, y) = (sample(2, &mut rng), sample(4, &mut rng));
    let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
    assert!(!report.passes(1e-2), "a wrong dx went unnoticed:\n{report}");
    assert_eq!(report.worst().unwrap().name, "l1", "{report}");
    // The modules after the mutant are unaffected.
    let t = report.modules.iter().find(|m| m.name == "t").unwrap();
    assert!(t.max_rel_error < TOL, "{report}");
}

/// A nested network's parameters live in the outer pool, at its module's offset.
#[test]
fn nested_parameters_are_in_one_pool() {
    let mut net = Nested::new(&mut StdRng::seed_from_u64(7));
    assert_eq!(Nested::PARAMS, NnLayer::PARAMS + 4 * 3 + 3);
    assert_eq!(net.layer1_params().len(), 3 * 4 + 4);
    net.layer1_params_mut()[0] = 42.0;
    assert_eq!(net.params()[Nested::MODULES[0].offset], 42.0);
    assert_eq!(Nested::MODULES[1].offset, NnLayer::PARAMS);
    assert_eq!(Nested::LINEAR2_OFFSET, NnLayer::PARAMS);
    assert_eq!(Nested::LAYER1_LEN, NnLayer::PARAMS);
    // The nested layout is described too, relative to the nested module's offset.
    assert_eq!(Nested::MODULES[0].children, NnLayer::MODULES);
    assert_eq!(Nested::MODULES[0].children[1].name, "sigmoid");
    assert_eq!(Nested::MODULES[0].children[1].offset, 3 * 4);
}

/// `new` initialises a nested network's slice of the pool as its own `new` would: fan-in scaled
/// weights, zero biases.
#[test]
fn nested_parameters_are_initialised() {
    let net = Nested::new(&mut StdRng::seed_from_u64(7));
    let inner = net.layer1_params();
    let (w, b) = inner.split_at(3 * 4);
    let bound = (3.0f64 / 3.0).sqrt();
    assert!(w.iter().all(|v| *v != 0.0 && v.abs() <= bound), "{w:?}");
    assert!(b.iter().all(|v| *v == 0.0));
    let alone = NnLayer::new(&mut StdRng::seed_from_u64(7));
    assert_eq!(inner, alone.params());
}

/// A module checked on its own, parameters and input: a user module, its mutant, a nested net.
#[test]
fn modules_checked_on_their_own() {
    let mut rng = StdRng::seed_from_u64(12);
    let x = sample(4, &mut rng);
    let good = check_module_gradients::<Square<false>, _>(&mut rng, &x);
    assert!(good.passes(TOL), "{good}");
    let names: Vec<_> = good.modules.iter().map(|m| m.name).collect();
    assert_eq!(names, ["params", "input"]);

    let bad = check_module_gradients::<Square<true>, _>(&mut rng, &x);
    assert_eq!(bad.worst().unwrap().name, "input", "{bad}");
    assert!(bad.worst().unwrap().max_rel_error > 0.1, "{bad}");
    assert!(bad.modules[0].max_rel_error < TOL, "{bad}");

    let x3 = sample(3, &mut rng);
    let layer = check_module_gradients::<NnLayer, _>(&mut rng, &x3);
    assert!(layer.passes(TOL), "{layer}");
    let names: Vec<_> = layer.modules.iter().map(|m| m.name).collect();
    assert_eq!(names, ["linear", "sigmoid", "input"]);
}

/// With input gradients off (the default) bprop skips dE/d(input) and dE/d(target), and the
/// parameter gradients are bit for bit those of the full sweep, over several samples (so a `dx`
/// left stale by a skipped sweep would show).
macro_rules! same_params_either_way {
    ($net:ty, $nx:expr, $ny:expr, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        assert!(!net.input_grads());
        for round in 0..4 {
            let (x, y) = (sample($nx, &mut rng), sample($ny, &mut rng));
            net.set_input_grads(round % 2 == 1);
            net.try_fprop(&x, &y).unwrap();
            net.zero_grad();
            net.bprop();
            let first = bits(net.grads());
            net.set_input_grads(round % 2 == 0);
            net.zero_grad();
            net.bprop();
            assert_eq!(
                bits(net.grads()),
                first,
                "{} round {round}",
                stringify!($net)
            );
        }
    }};
}

#[test]
fn input_gradients_off_leave_parameter_gradients_bit_identical() {
    same_params_either_way!(NnLayerEnergy, 3, 4, 21);
    same_params_either_way!(TwoLayer, 3, 2, 22);
    same_params_either_way!(FanNet, 3, 2, 23);
    same_params_either_way!(Nested, 3, 3, 24);
    same_params_either_way!(NestedTwice, 2, 4, 25);
    same_params_either_way!(WithUser, 2, 4, 26);
    same_params_either_way!(UserFirst, 4, 4, 27);
}

/// Off, a linear module reading the input computes dW only: the input's and the target's `dx`
/// keep whatever was in them.
#[test]
fn input_dx_is_not_written_when_input_gradients_are_off() {
    const SENTINEL: f64 = -4321.0;
    let mut rng = StdRng::seed_from_u64(28);
    let mut net = TwoLayer::new(&mut rng);
    for _ in 0..3 {
        let (x, y) = (sample(3, &mut rng), sample(2, &mut rng));
        net.x.dx = [SENTINEL; 3];
        net.y.dx = [SENTINEL; 2];
        net.try_fprop(&x, &y).unwrap();
        net.bprop();
        assert_eq!(net.x.dx, [SENTINEL; 3]);
        assert_eq!(net.y.dx, [SENTINEL; 2]);
        // The computed states' dx are there.
        assert!(net.sum1.dx.iter().all(|d| *d != SENTINEL && *d != 0.0));
    }
}

/// A nested network always computes its dE/d(input), whatever the outer switch says: the outer
/// network adds it into the state the nested one reads. Here that state is the outer input, read
/// by the nested network alone, so with the outer switch off its `dx` is still exact (a user
/// module's dinput is always written); the target's is not computed.
#[test]
fn a_nested_network_gives_its_dinput_with_input_gradients_off() {
    const SENTINEL: f64 = 999.0;
    let mut rng = StdRng::seed_from_u64(29);
    let mut net = Nested::new(&mut rng);
    assert!(!net.input_grads() && !net.layer1.input_grads());
    for round in 0..3 {
        let (x, y) = (sample(3, &mut rng), sample(3, &mut rng));
        let ndx = numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
        net.try_fprop(&x, &y).unwrap();
        net.y.dx = [SENTINEL; 3];
        net.x.dx = [SENTINEL; 3];
        net.bprop();
        assert_close(&format!("Nested dE/dx, round {round}"), &net.x.dx, &ndx);
        assert_eq!(net.y.dx, [SENTINEL; 3]);
    }
    // Behind a linear module, the nested networks' dinput feeds the parameters before them.
    let mut net = NestedTwice::new(&mut rng);
    let (x, y) = (sample(2, &mut rng), sample(4, &mut rng));
    let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
    assert!(!net.input_grads());
    assert!(report.passes(TOL), "{report}");
    // And as a module checked on its own (through `Module::bprop`), its input's derivative.
    let x3 = sample(3, &mut rng);
    let layer = check_module_gradients::<NnLayer, _>(&mut rng, &x3);
    assert!(layer.passes(TOL), "{layer}");
}

// The logistic sigmoid, LeCun's scaled tanh and the classification losses.

network! {
    /// The lecture's other sigmoid: logistic units with trainable biases.
    #[bpnet(float = f64)]
    pub struct SigmoidNet {
        input  x: 3;
        target y: 2;
        a      = l1: linear(x -> 5);
        h      = s1: sigmoid(a);
        b      = l2: linear(h -> 2);
        out    = s2: sigmoid(b);
        energy = euclidean(out, y);
    }
}

network! {
    /// LeCun's scaled tanh, for ±1 targets.
    #[bpnet(float = f64)]
    pub struct ScaledTanhNet {
        input  x: 3;
        target y: 2;
        a      = l1: linear(x -> 5);
        h      = t1: scaled_tanh(a);
        b      = l2: linear(h -> 2);
        out    = t2: scaled_tanh(b);
        energy = euclidean(out, y);
    }
}

network! {
    /// Both reading the input itself (their dx is skipped with input gradients off), one of them
    /// fanning out.
    #[bpnet(float = f64)]
    pub struct ActivationsFirst {
        input  x: 3;
        target y: 3;
        h      = s: sigmoid(x);
        g      = t: scaled_tanh(x);
        a      = l: linear(h -> 3);
        b      = add(a, g, h);
        out    = t2: sigmoid(b);
        energy = euclidean(out, y);
    }
}

network! {
    /// A classifier trained with the energy loss (the energy of the correct class).
    #[bpnet(float = f64)]
    pub struct EnergyLoss {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: tanh(a);
        e      = l2: linear(h -> 3);
        energy = energy_loss(e, y);
    }
}

network! {
    /// The negative log-likelihood, β = 1.
    #[bpnet(float = f64)]
    pub struct Nll {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: sigmoid(a);
        e      = l2: linear(h -> 3);
        energy = nll(e, y);
    }
}

network! {
    /// The negative log-likelihood with a declared β.
    #[bpnet(float = f64)]
    pub struct NllBeta {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: tanh(a);
        e      = l2: linear(h -> 3);
        energy = nll(e, y, beta = 2.5);
    }
}

network! {
    /// The hinge loss with a declared margin.
    #[bpnet(float = f64)]
    pub struct Hinge {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: scaled_tanh(a);
        e      = l2: linear(h -> 3);
        energy = hinge(e, y, margin = 0.5);
    }
}

network! {
    /// Softmax and cross-entropy over logits.
    #[bpnet(float = f64)]
    pub struct CrossEntropy {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: tanh(a);
        z      = l2: linear(h -> 3);
        energy = cross_entropy(z, y);
    }
}

network! {
    /// Every loss on the same energies and target, added: the energies' and the target's `dx`
    /// gather four contributions.
    #[bpnet(float = f64)]
    pub struct AllLosses {
        input  x: 4;
        target y: 3;
        a      = l1: linear(x -> 5);
        h      = t1: tanh(a);
        e      = l2: linear(h -> 3);
        n      = nll(e, y, beta = 0.5);
        m      = hinge(e, y);
        c      = cross_entropy(e, y);
        k      = energy_loss(e, y);
        energy = add(n, m, c, k);
    }
}

#[test]
fn sigmoid_and_scaled_tanh_networks() {
    check_net!(SigmoidNet, 3, 2, 31);
    check_net!(ScaledTanhNet, 3, 2, 32);
    check_net!(ActivationsFirst, 3, 3, 33);
}

/// Random targets: the losses are defined for any target (linear in it but for the hinge loss,
/// which reads its largest component), so the target's derivative is checked too.
#[test]
fn classification_losses_with_any_target() {
    check_net!(EnergyLoss, 4, 3, 34);
    check_net!(Nll, 4, 3, 35);
    check_net!(NllBeta, 4, 3, 36);
    check_net!(Hinge, 4, 3, 37);
    check_net!(CrossEntropy, 4, 3, 38);
    check_net!(AllLosses, 4, 3, 39);
}

fn one_hot(k: usize, rng: &mut StdRng) -> Vec<f64> {
    let c = rng.random_range(0..k);
    (0..k).map(|j| if j == c { 1.0 } else { 0.0 }).collect()
}

/// The same with one-hot targets, as classification uses them; the loss is the textbook one of
/// the energies `run` gives.
macro_rules! check_classifier {
    ($net:ty, $seed:expr, $loss:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = <$net>::new(&mut rng);
        for round in 0..5 {
            let (x, y) = (sample(4, &mut rng), one_hot(3, &mut rng));
            let report = check_gradients(&mut net, |n| n.try_fprop(&x, &y).unwrap());
            assert!(
                report.passes(TOL),
                "{} round {round}:\n{report}",
                stringify!($net)
            );
            let loss = net.try_fprop(&x, &y).unwrap();
            let scores = *net.try_run(&x).unwrap();
            let class = y.iter().position(|&v| v == 1.0).unwrap();
            let want: f64 = $loss(&scores, class);
            assert!(
                (loss - want).abs() < 1e-12,
                "{} round {round}: {loss} vs {want}",
                stringify!($net)
            );
            let ndx = numeric(&mut |v| net.try_fprop(v, &y).unwrap(), &x);
            net.set_input_grads(true);
            net.try_fprop(&x, &y).unwrap();
            net.bprop();
            net.set_input_grads(false);
            assert_close(concat!(stringify!($net), " dE/dx"), &net.x.dx, &ndx);
        }
    }};
}

fn log_sum_exp(v: impl Iterator<Item = f64>) -> f64 {
    v.map(f64::exp).sum::<f64>().ln()
}

#[test]
fn classification_losses_with_one_hot_targets() {
    check_classifier!(EnergyLoss, 41, |e: &[f64; 3], c: usize| e[c]);
    check_classifier!(Nll, 42, |e: &[f64; 3], c: usize| e[c]
        + log_sum_exp(e.iter().map(|v| -v)));
    check_classifier!(NllBeta, 43, |e: &[f64; 3], c: usize| e[c]
        + log_sum_exp(e.iter().map(|v| -2.5 * v)) / 2.5);
    check_classifier!(Hinge, 44, |e: &[f64; 3], c: usize| {
        let runner_up = (0..3)
            .filter(|&j| j != c)
            .map(|j| e[j])
            .fold(f64::INFINITY, f64::min);
        (0.5 + e[c] - runner_up).max(0.0)
    });
    check_classifier!(CrossEntropy, 45, |z: &[f64; 3], c: usize| -z[c]
        + log_sum_exp(z.iter().copied()));
}

#[test]
fn input_gradients_off_with_the_new_modules_and_losses() {
    same_params_either_way!(ActivationsFirst, 3, 3, 46);
    same_params_either_way!(SigmoidNet, 3, 2, 47);
    same_params_either_way!(AllLosses, 4, 3, 48);
}

/// The declaration's numbers reach the kernels, the energies are what `run` returns, and the
/// runtime's helpers read the predicted class and the probabilities from them.
#[test]
fn classifiers_learn_and_predict() {
    use bpnet::kernels::loss::{argmax, argmin, softmax, softmin};
    // Three clusters around corners of the cube.
    let centres = [
        [1.0, 1.0, -1.0, 0.0],
        [-1.0, 1.0, 1.0, 0.0],
        [0.0, -1.0, 0.0, 1.0],
    ];
    let mut rng = StdRng::seed_from_u64(49);
    let data: Vec<([f64; 4], [f64; 3])> = (0..60)
        .map(|i| {
            let c = i % 3;
            let x = centres[c].map(|v| v + rng.random_range(-0.3..0.3));
            let mut y = [0.0; 3];
            y[c] = 1.0;
            (x, y)
        })
        .collect();
    let mut nll = NllBeta::new(&mut rng);
    let mut ce = CrossEntropy::new(&mut rng);
    let mut hinge = Hinge::new(&mut rng);
    for _ in 0..200 {
        for (x, y) in &data {
            nll.fprop(x, y);
            nll.zero_grad();
            nll.bprop();
            nll.sgd_step(0.05);
            ce.fprop(x, y);
            ce.zero_grad();
            ce.bprop();
            ce.sgd_step(0.05);
            hinge.fprop(x, y);
            hinge.zero_grad();
            hinge.bprop();
            hinge.sgd_step(0.05);
        }
    }
    for (x, y) in &data {
        let class = argmax(y);
        assert_eq!(argmin(nll.run(x)), class);
        assert_eq!(argmax(ce.run(x)), class);
        assert_eq!(argmin(hinge.run(x)), class);
        // The margin is met once trained: no loss left.
        assert_eq!(hinge.fprop(x, y), 0.0);
        let p = softmin(nll.run(x), 2.5);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p[class] > 0.9, "{p:?}");
        // The loss is −(1/β) log of the correct class's probability.
        assert!((nll.fprop(x, y) + p[class].ln() / 2.5).abs() < 1e-9);
        let q = softmax(ce.run(x));
        assert!((ce.fprop(x, y) + q[class].ln()).abs() < 1e-9);
    }
    assert_eq!(
        NllBeta::MODULES
            .iter()
            .find(|m| m.name == "energy")
            .unwrap()
            .kind,
        "nll"
    );
    assert!(NllBeta::DOT.contains("nll β=2.5"), "{}", NllBeta::DOT);
    assert_eq!(Hinge::PARAMS, 4 * 5 + 5 + 5 * 3);
}
