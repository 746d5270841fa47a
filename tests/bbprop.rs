//! Generated bbprop against the Gauss–Newton matrix computed independently: Jacobians of the
//! network's outputs by central finite differences of its own fprop (step 1e-5), and the
//! losses' second derivatives by second differences of their values (step 1e-3).
//!
//! bbprop propagates a *diagonal*: at every state it keeps only the diagonal of the Gauss–Newton
//! matrix. That is exact for the parameters when no two paths from one parameter reach the same
//! output through different units of a state — two-layer nets (a hidden unit reaches each output
//! by one path), one-unit recurrent chains — and the tests below use exactly such nets, so that
//! bbprop must equal `diag(Jᵀ H J)` to the tolerance (relative 1e-6, as `common::assert_close`).
//! Weights shared across time steps get the sum of their copies' second derivatives (the cross
//! terms between steps dropped, as in "Efficient BackProp"): the recurrent test checks that sum
//! against a hand-written net with one weight copy per step.

use bpnet::kernels::loss;
use bpnet::prelude::*;

mod common;

use common::{Square, assert_close, close, rows};

/// `J[o][k] = ∂out_o/∂v_k` by central differences (step 1e-5).
fn jacobian(f: &mut dyn FnMut(&[f64]) -> Vec<f64>, v: &[f64]) -> Vec<Vec<f64>> {
    common::param_jacobian(v, f)
}

/// The Jacobian of `out` with respect to the network's parameters (central differences, step
/// 1e-5); the parameters are left as they were.
fn param_jacobian<N>(
    net: &mut N,
    params: fn(&mut N) -> &mut [f64],
    mut out: impl FnMut(&mut N) -> Vec<f64>,
) -> Vec<Vec<f64>> {
    let w = params(net).to_vec();
    let j = jacobian(
        &mut |v| {
            params(net).copy_from_slice(v);
            out(net)
        },
        &w,
    );
    params(net).copy_from_slice(&w);
    j
}

/// The diagonal of `Jᵀ diag(h) J`: `Σ_o J[o][k]² h_o`.
fn gauss_newton(j: &[Vec<f64>], h: &[f64]) -> Vec<f64> {
    let n = j.first().map_or(0, Vec::len);
    (0..n)
        .map(|k| j.iter().zip(h).map(|(row, h)| row[k] * row[k] * h).sum())
        .collect()
}

/// ∂²L/∂z_o² by second differences of `loss` (step 1e-3; its error is O(h²) relative, about
/// 1e-7 for these smooth losses).
fn loss_hessian_diag(loss: &dyn Fn(&[f64]) -> f64, z: &[f64]) -> Vec<f64> {
    let h = 1e-3;
    (0..z.len())
        .map(|o| {
            let (mut up, mut down) = (z.to_vec(), z.to_vec());
            up[o] += h;
            down[o] -= h;
            (loss(&up) - 2.0 * loss(z) + loss(&down)) / (h * h)
        })
        .collect()
}

/// Random parameters, so that no test hangs on the initialisation (biases start at zero).
fn randomise(params: &mut [f64], rng: &mut StdRng) {
    for p in params {
        *p = rng.random_range(-1.0..1.0);
    }
}

network! {
    /// Two layers, tanh then sigmoid, into the Euclidean energy.
    #[bpnet(float = f64)]
    struct TwoLayer {
        input  x: 3;
        target y: 2;
        s1     = l1: linear(x -> 4);
        h      = t1: tanh(s1);
        s2     = l2: linear(h -> 2);
        out    = t2: sigmoid(s2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Two branches added, LeCun's scaled tanh.
    #[bpnet(float = f64)]
    struct Branches {
        input  x: 3;
        target y: 3;
        a      = la: linear(x -> 3);
        b      = lb: linear(x -> 3);
        s      = add(a, b);
        out    = st: scaled_tanh(s);
        energy = euclidean(out, y);
    }
}

network! {
    /// One layer: every input reaches every output by one path, so even the inputs' ddx is exact.
    #[bpnet(float = f64)]
    struct OneLayer {
        input  x: 3;
        target y: 2;
        s      = l: linear(x -> 2);
        out    = t: tanh(s);
        energy = euclidean(out, y);
    }
}

/// The Euclidean energy's Gauss–Newton matrix is the identity: bbprop must give
/// `Σ_o (∂out_o/∂w_k)²`.
macro_rules! check_euclidean_net {
    ($net:ident, $x:expr, $y:expr, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        let (x, y) = ($x, $y);
        let j = param_jacobian(&mut net, $net::params_mut, |n| {
            n.fprop(&x, &y);
            n.out.x.to_vec()
        });
        net.fprop(&x, &y);
        net.zero_curvature();
        net.bbprop();
        let ones = vec![1.0; j.len()];
        assert_close(
            concat!(stringify!($net), " curvature"),
            net.curvature(),
            &gauss_newton(&j, &ones),
        );
        net
    }};
}

#[test]
fn two_layers_give_the_gauss_newton_diagonal() {
    check_euclidean_net!(TwoLayer, [0.3, -0.7, 0.5], [0.2, 0.9], 1);
}

#[test]
fn added_branches_and_scaled_tanh_give_the_gauss_newton_diagonal() {
    check_euclidean_net!(Branches, [0.3, -0.7, 0.5], [0.2, 0.9, -0.4], 2);
}

#[test]
fn one_layer_gives_the_inputs_and_targets_second_derivatives_too() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = OneLayer::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    net.set_input_grads(true);
    let (x, y) = ([0.3, -0.7, 0.5], [0.2, -0.9]);
    let j = jacobian(
        &mut |v| {
            net.fprop(&[v[0], v[1], v[2]], &y);
            net.out.x.to_vec()
        },
        &x,
    );
    net.fprop(&x, &y);
    net.bbprop();
    assert_close(
        "ddx of the input",
        &net.x.ddx,
        &gauss_newton(&j, &[1.0, 1.0]),
    );
    // E = ½‖out − y‖²: out − y has the Jacobian −I with respect to y.
    assert_eq!(net.y.ddx, [1.0, 1.0]);
    assert_eq!(net.out.ddx, [1.0, 1.0]);
    // Off, the inputs' ddx is not computed: it keeps what the last bbprop left.
    net.set_input_grads(false);
    net.x.ddx = [7.0; 3];
    net.fprop(&x, &y);
    net.bbprop();
    assert_eq!(net.x.ddx, [7.0; 3]);
}

#[test]
fn bbprop_adds_into_the_pool_and_zero_curvature_clears_it() {
    let mut net = check_euclidean_net!(TwoLayer, [0.1, 0.2, 0.3], [0.5, 0.5], 4);
    let once = net.curvature().to_vec();
    assert!(once.iter().any(|&c| c > 0.0));
    net.bbprop();
    let twice: Vec<f64> = once.iter().map(|c| 2.0 * c).collect();
    assert!(close(net.curvature(), &twice));
    net.zero_curvature();
    assert!(net.curvature().iter().all(|&c| c == 0.0));
    // The per-module slices are views of the pool.
    net.bbprop();
    let r = TwoLayer::L2_OFFSET..TwoLayer::L2_OFFSET + TwoLayer::L2_LEN;
    assert_eq!(net.l2_curvature(), &net.curvature()[r]);
    // bprop's pool is another pool.
    net.zero_grad();
    assert!(net.grads().iter().all(|&g| g == 0.0));
    assert!(net.curvature().iter().any(|&c| c > 0.0));
}

network! {
    /// Two layers into a classification loss over three classes.
    #[bpnet(float = f64)]
    struct CrossEntropy {
        input  x: 3;
        target y: 3;
        s1     = l1: linear(x -> 4);
        h      = t1: tanh(s1);
        z      = l2: linear(h -> 3);
        energy = cross_entropy(z, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Nll {
        input  x: 3;
        target y: 3;
        s1     = l1: linear(x -> 4);
        h      = t1: tanh(s1);
        z      = l2: linear(h -> 3);
        energy = nll(z, y, beta = 2.5);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Hinge {
        input  x: 3;
        target y: 3;
        s1     = l1: linear(x -> 4);
        h      = t1: tanh(s1);
        z      = l2: linear(h -> 3);
        energy = hinge(z, y, margin = 0.5);
    }
}

/// A loss `L(z)`: bbprop must give `Σ_o J[o][k]² ∂²L/∂z_o²`, the Gauss–Newton matrix with the
/// loss's Hessian kept to its diagonal (bbprop's approximation at every state).
macro_rules! check_loss_net {
    ($net:ident, $loss:expr, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        let (x, y) = ([0.4, -0.6, 0.9], [0.0, 1.0, 0.0]);
        let j = param_jacobian(&mut net, $net::params_mut, |n| {
            n.fprop(&x, &y);
            n.z.x.to_vec()
        });
        net.fprop(&x, &y);
        let z = net.z.x;
        let loss = |z: &[f64]| -> f64 {
            let mut l = [0.0];
            $loss(z, &y, &mut l);
            l[0]
        };
        let h = loss_hessian_diag(&loss, &z);
        net.zero_curvature();
        net.bbprop();
        (net.curvature().to_vec(), gauss_newton(&j, &h), h)
    }};
}

#[test]
fn cross_entropy_gives_the_gauss_newton_diagonal() {
    let (bb, gn, h) = check_loss_net!(
        CrossEntropy,
        |z: &[f64], y: &[f64], l: &mut [f64]| loss::cross_entropy::f64::fprop(z, y, l),
        5
    );
    assert!(h.iter().all(|&h| h > 1e-3), "a curved loss: {h:?}");
    assert_close("cross_entropy curvature", &bb, &gn);
}

#[test]
fn nll_gives_the_gauss_newton_diagonal() {
    let (bb, gn, h) = check_loss_net!(
        Nll,
        |z: &[f64], y: &[f64], l: &mut [f64]| loss::nll::f64::fprop(z, y, l, 2.5),
        6
    );
    assert!(h.iter().all(|&h| h > 1e-3), "a curved loss: {h:?}");
    assert_close("nll curvature", &bb, &gn);
}

#[test]
fn hinge_has_no_curvature() {
    let (bb, gn, h) = check_loss_net!(
        Hinge,
        |z: &[f64], y: &[f64], l: &mut [f64]| loss::hinge::f64::fprop(z, y, l, 0.5),
        7
    );
    // Piecewise linear: zero second derivative away from the kink (the second differences
    // would show one within 1e-3 of it).
    assert!(h.iter().all(|&h| h.abs() < 1e-6), "{h:?}");
    assert!(bb.iter().all(|&c| c == 0.0), "{bb:?}");
    assert!(gn.iter().all(|&c| c.abs() < 1e-5));
}

impl Bbprop for Square {
    fn bbprop(
        &mut self,
        p: &[f64],
        dd: &mut [f64],
        _x: &[f64],
        _y: &[f64],
        ddy: &[f64],
        ddx: &mut [f64],
    ) {
        // y = s ∘ x²: ∂y/∂x = 2 s x, ∂y/∂s = x². Reads its own saved input, as its bprop does.
        let x = self.seen();
        for i in 0..4 {
            ddx[i] += (2.0 * p[i] * x[i]).powi(2) * ddy[i];
            dd[i] += x[i].powi(4) * ddy[i];
        }
    }
}

network! {
    /// A user module with its own bbprop between two linear modules.
    #[bpnet(float = f64)]
    struct WithUser {
        input  x: 3;
        target y: 2;
        a      = l1: linear(x -> 4);
        out_sq: 4 = sq: Square(a);
        out    = l2: linear(out_sq -> 2);
        energy = euclidean(out, y);
    }
}

#[test]
fn a_user_module_s_bbprop_is_used() {
    check_euclidean_net!(WithUser, [0.3, -0.7, 0.5], [0.2, 0.9], 8);
}

network! {
    /// A module network (no energy): it implements `Bbprop` itself.
    #[bpnet(float = f64)]
    pub struct Layer {
        input  input: 3;
        sum    = linear: linear(input -> 4);
        output output = act: tanh(sum);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Nested {
        input  x: 3;
        target y: 2;
        hidden: 4 = layer: Layer(x);
        s2     = l2: linear(hidden -> 2);
        out    = t2: tanh(s2);
        energy = euclidean(out, y);
    }
}

#[test]
fn a_nested_network_s_bbprop_is_used() {
    check_euclidean_net!(Nested, [0.3, -0.7, 0.5], [0.2, 0.9], 9);
}

#[test]
fn a_network_without_energy_takes_its_output_s_second_derivatives() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut net = Layer::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let x = [0.3, -0.7, 0.5];
    let j = param_jacobian(&mut net, Layer::params_mut, |n| n.run(&x).to_vec());
    net.run(&x);
    let dd = [0.5, 2.0, 1.0, 3.0];
    net.bbprop(&dd);
    assert_close("curvature", net.curvature(), &gauss_newton(&j, &dd));
}

network! {
    /// One unit: every path from a weight copy to an output is unique.
    #[bpnet(float = f64)]
    struct Chain {
        unfold 5 {
            input  x: 1;
            target y: 1;
            s      = wx: linear(x -> 1);
            c      = wh: linear(h[t - 1] -> 1);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

/// The chain written by hand with one copy of each weight per step: `w[t] = [wx, wh, b, wo]` at
/// step `t`; returns every step's output.
fn untied(w: &[[f64; 4]], h0: f64, xs: &[f64]) -> Vec<f64> {
    let mut h = h0;
    xs.iter()
        .zip(w)
        .map(|(&x, &[wx, wh, b, wo])| {
            h = (wx * x + wh * h + b).tanh();
            wo * h
        })
        .collect()
}

#[test]
fn a_recurrent_chain_sums_its_weight_copies_second_derivatives() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut net = Chain::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let xs = [[0.5], [-0.3], [0.8], [0.1], [-0.6]];
    let ys = [[0.2], [0.1], [-0.4], [0.3], [0.0]];
    let at = |off: usize| net.params()[off];
    let tied = [
        at(Chain::WX_OFFSET),
        at(Chain::WH_OFFSET),
        at(Chain::TH_OFFSET),
        at(Chain::WO_OFFSET),
    ];
    let h0 = net.h_initial_params()[0];
    let x: Vec<f64> = xs.iter().map(|v| v[0]).collect();

    // The hand-written net is the generated one.
    net.fprop(&xs, &ys).unwrap();
    let outs: Vec<f64> = net.o.first(5).iter().map(|s| s.x[0]).collect();
    assert!(close(&outs, &untied(&[tied; 5], h0, &x)), "{outs:?}");

    // Every copy of every weight, and h0, perturbed alone.
    let mut flat: Vec<f64> = std::iter::repeat_n(tied, 5).flatten().collect();
    flat.push(h0);
    let j = jacobian(
        &mut |v| {
            let w: Vec<[f64; 4]> = v[..20]
                .chunks(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect();
            untied(&w, v[20], &x)
        },
        &flat,
    );
    let per_copy = gauss_newton(&j, &[1.0; 5]);
    let summed = |k: usize| (0..5).map(|t| per_copy[4 * t + k]).sum::<f64>();

    net.zero_curvature();
    net.bbprop();
    let c = net.curvature();
    let got = [
        c[Chain::WX_OFFSET],
        c[Chain::WH_OFFSET],
        c[Chain::TH_OFFSET],
        c[Chain::WO_OFFSET],
    ];
    assert_close(
        "shared weights",
        &got,
        &[summed(0), summed(1), summed(2), summed(3)],
    );
    let initial = Chain::MODULES
        .iter()
        .find(|m| m.name == "h_initial")
        .expect("a learned initial value")
        .offset;
    assert_close("learned initial value", &[c[initial]], &[per_copy[20]]);
    assert_eq!(net.h_initial_curvature(), &c[initial..initial + 1]);
}

network! {
    /// Elman, three hidden units, for the minibatch sweeps.
    #[bpnet(float = f64)]
    struct Elman {
        unfold 4 {
            input  x: 2;
            target y: 2;
            s      = wx: linear(x -> 3);
            c      = wh: linear(h[t - 1] -> 3);
            a      = add(s, c);
            h      = th: tanh(a);
            o      = wo: linear(h -> 2);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

#[test]
fn a_minibatch_gives_the_sum_of_its_samples_curvatures() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut net = CrossEntropy::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let xs = rows::<3>(6, &mut rng);
    let ys: Vec<[f64; 3]> = (0..6)
        .map(|i| std::array::from_fn(|k| f64::from(u8::from(k == i % 3))))
        .collect();
    net.zero_curvature();
    for (x, y) in xs.iter().zip(&ys) {
        net.fprop(x, y);
        net.bbprop();
    }
    let samples = net.curvature().to_vec();
    net.reserve_batch(8).unwrap();
    net.zero_curvature();
    net.fprop_batch(&xs, &ys).unwrap();
    net.bbprop_batch();
    assert!(close(net.curvature(), &samples));
    assert!(samples.iter().all(|&c| c > 0.0));
}

#[test]
fn a_minibatch_of_sequences_gives_the_sum_of_its_sequences_curvatures() {
    let mut rng = StdRng::seed_from_u64(13);
    let mut net = Elman::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let xs: Vec<Vec<[f64; 2]>> = (0..5).map(|_| rows::<2>(4, &mut rng)).collect();
    let ys: Vec<Vec<[f64; 2]>> = (0..5).map(|_| rows::<2>(4, &mut rng)).collect();
    net.zero_curvature();
    for (x, y) in xs.iter().zip(&ys) {
        net.fprop(x, y).unwrap();
        net.bbprop();
    }
    let samples = net.curvature().to_vec();
    net.reserve_batch(5).unwrap();
    net.zero_curvature();
    net.fprop_batch(&xs, &ys).unwrap();
    net.bbprop_batch();
    assert!(close(net.curvature(), &samples));
    assert!(samples.iter().all(|&c| c > 0.0));
}

/// Code generic over networks with second derivatives.
fn curvature_of<N: SecondOrder>(net: &mut N) -> Vec<N::Float> {
    net.zero_curvature();
    net.bbprop();
    net.curvature().to_vec()
}

#[test]
fn second_order_is_implemented() {
    let mut rng = StdRng::seed_from_u64(14);
    let mut net = TwoLayer::new(&mut rng);
    net.fprop(&[0.1, 0.2, 0.3], &[0.4, 0.5]);
    let generic = curvature_of(&mut net);
    net.zero_curvature();
    net.bbprop();
    assert_eq!(generic, net.curvature());
    assert_eq!(generic.len(), TwoLayer::PARAMS);
}

network! {
    /// A Euclidean distance inside the network, under a tanh: an ordinary module there, whose
    /// Jacobian `(a − c)` is squared (its own Hessian, the identity, dropped).
    #[bpnet(float = f64)]
    struct InnerDistance {
        input  x: 2;
        input  c: 3;
        target y: 1;
        a      = l1: linear(x -> 3);
        d      = euclidean(a, c);
        out    = t: tanh(d);
        energy = euclidean(out, y);
    }
}

#[test]
fn a_distance_inside_the_network_gives_the_gauss_newton_diagonal() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut net = InnerDistance::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    net.set_input_grads(true);
    let (x, c, y) = ([0.3, -0.7], [0.1, 0.4, -0.2], [0.5]);
    let j = param_jacobian(&mut net, InnerDistance::params_mut, |n| {
        n.fprop(&x, &c, &y);
        n.out.x.to_vec()
    });
    let jc = jacobian(
        &mut |v| {
            net.fprop(&x, &[v[0], v[1], v[2]], &y);
            net.out.x.to_vec()
        },
        &c,
    );
    net.fprop(&x, &c, &y);
    net.zero_curvature();
    net.bbprop();
    assert_close("curvature", net.curvature(), &gauss_newton(&j, &[1.0]));
    assert_close("ddx of c", &net.c.ddx, &gauss_newton(&jc, &[1.0]));
}

#[test]
fn a_minibatch_with_a_distance_inside_gives_the_sum_of_its_samples_curvatures() {
    let mut rng = StdRng::seed_from_u64(17);
    let mut net = InnerDistance::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let (xs, cs, ys) = (
        rows::<2>(5, &mut rng),
        rows::<3>(5, &mut rng),
        rows::<1>(5, &mut rng),
    );
    net.zero_curvature();
    for ((x, c), y) in xs.iter().zip(&cs).zip(&ys) {
        net.fprop(x, c, y);
        net.bbprop();
    }
    let samples = net.curvature().to_vec();
    net.reserve_batch(5).unwrap();
    net.zero_curvature();
    net.fprop_batch(&xs, &cs, &ys).unwrap();
    net.bbprop_batch();
    assert!(close(net.curvature(), &samples));
    assert!(samples.iter().all(|&c| c > 0.0));
}

/// The Elman net's bbprop written by hand with explicit Jacobians: the diagonal rule of
/// "Efficient BackProp" on `h_t = tanh(Wx x_t + Wh h_{t−1} + b)`, `o_t = Wo h_t`,
/// `E = Σ_t ½‖o_t − y_t‖²` (whose Hessian does not depend on the targets), `h_{−1}` learned.
/// Returns the curvature in the network's layout.
fn elman_by_hand(net: &Elman, xs: &[[f64; 2]]) -> Vec<f64> {
    let p = net.params();
    let at = |off: usize, rows: usize, cols: usize| -> Vec<Vec<f64>> {
        (0..rows)
            .map(|i| p[off + i * cols..off + (i + 1) * cols].to_vec())
            .collect()
    };
    let (wx, wh, wo) = (
        at(Elman::WX_OFFSET, 3, 2),
        at(Elman::WH_OFFSET, 3, 3),
        at(Elman::WO_OFFSET, 2, 3),
    );
    let b = &p[Elman::TH_OFFSET..Elman::TH_OFFSET + 3];
    let h0 = net.h_initial_params().to_vec();
    // fprop, keeping every h (hs[0] is h_{−1}).
    let mut hs = vec![h0];
    for x in xs {
        let prev = hs.last().unwrap().clone();
        let h: Vec<f64> = (0..3)
            .map(|i| {
                let a = (0..2).map(|m| wx[i][m] * x[m]).sum::<f64>()
                    + (0..3).map(|j| wh[i][j] * prev[j]).sum::<f64>();
                (a + b[i]).tanh()
            })
            .collect();
        hs.push(h);
    }
    let mut dd = vec![0.0; Elman::PARAMS];
    let mut dd_a_next = [0.0; 3];
    for t in (0..xs.len()).rev() {
        let (h, prev) = (&hs[t + 1], &hs[t]);
        // o_t = Wo h_t, ddo = 1; h_t also feeds a_{t+1} through Wh.
        let dd_h: Vec<f64> = (0..3)
            .map(|j| {
                (0..2).map(|k| wo[k][j] * wo[k][j]).sum::<f64>()
                    + (0..3)
                        .map(|i| wh[i][j] * wh[i][j] * dd_a_next[i])
                        .sum::<f64>()
            })
            .collect();
        for k in 0..2 {
            for j in 0..3 {
                dd[Elman::WO_OFFSET + k * 3 + j] += h[j] * h[j];
            }
        }
        let dd_a: Vec<f64> = (0..3)
            .map(|i| (1.0 - h[i] * h[i]).powi(2) * dd_h[i])
            .collect();
        for i in 0..3 {
            dd[Elman::TH_OFFSET + i] += dd_a[i];
            for m in 0..2 {
                dd[Elman::WX_OFFSET + i * 2 + m] += dd_a[i] * xs[t][m] * xs[t][m];
            }
            for j in 0..3 {
                dd[Elman::WH_OFFSET + i * 3 + j] += dd_a[i] * prev[j] * prev[j];
            }
        }
        dd_a_next = [dd_a[0], dd_a[1], dd_a[2]];
    }
    let initial = Elman::MODULES
        .iter()
        .find(|m| m.name == "h_initial")
        .expect("a learned initial value")
        .offset;
    for j in 0..3 {
        dd[initial + j] = (0..3).map(|i| wh[i][j] * wh[i][j] * dd_a_next[i]).sum();
    }
    dd
}

#[test]
fn a_recurrent_net_of_three_units_follows_the_diagonal_rule_written_by_hand() {
    let mut rng = StdRng::seed_from_u64(18);
    let mut net = Elman::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let (xs, ys) = (rows::<2>(4, &mut rng), rows::<2>(4, &mut rng));
    net.fprop(&xs, &ys).unwrap();
    net.zero_curvature();
    net.bbprop();
    let expected = elman_by_hand(&net, &xs);
    assert!(
        close(net.curvature(), &expected),
        "{:?}\nvs {expected:?}",
        net.curvature()
    );
    // Shorter sequences run fewer steps.
    net.fprop(&xs[..2], &ys[..2]).unwrap();
    net.zero_curvature();
    net.bbprop();
    assert!(close(net.curvature(), &elman_by_hand(&net, &xs[..2])));
}

/// `∂²E/∂v_k²` by second differences of the energy (step 1e-4).
fn energy_hessian_diag(f: &mut dyn FnMut(&[f64]) -> f64, v: &[f64]) -> Vec<f64> {
    let h = 1e-4;
    let e0 = f(v);
    (0..v.len())
        .map(|k| {
            let (mut up, mut down) = (v.to_vec(), v.to_vec());
            up[k] += h;
            down[k] -= h;
            (f(&up) - 2.0 * e0 + f(&down)) / (h * h)
        })
        .collect()
}

network! {
    /// The energy of some steps only.
    #[bpnet(float = f64)]
    struct SumFrom1 {
        unfold 3 {
            input  x: 2;
            target y: 1;
            a      = l: linear(x -> 1);
            d      = euclidean(a, y);
        }
        energy = sum(d[1..]);
    }
}

network! {
    #[bpnet(float = f64)]
    struct LastD {
        unfold 3 {
            input  x: 2;
            target y: 1;
            a      = l: linear(x -> 1);
            d      = euclidean(a, y);
        }
        energy = last(d);
    }
}

network! {
    /// The energy gathered through a delayed accumulator.
    #[bpnet(float = f64)]
    struct Accumulated {
        unfold 3 {
            input  x: 2;
            target y: 1;
            a      = l: linear(x -> 1);
            d      = euclidean(a, y);
            acc    = add(acc[t - 1], d);
        }
        initial acc = zeros;
        energy = last(acc);
    }
}

/// A linear model under a Euclidean energy: the Gauss–Newton matrix is the Hessian, so bbprop
/// must give the energy's own second derivatives (second differences, relative 1e-6).
macro_rules! check_quadratic {
    ($net:ident, $seed:expr) => {{
        let mut rng = StdRng::seed_from_u64($seed);
        let mut net = $net::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        let xs = [[0.5, 0.2], [-0.8, 0.7], [0.3, -0.9]];
        let ys = [[0.1], [0.4], [-0.2]];
        let w = net.params().to_vec();
        let h = energy_hessian_diag(
            &mut |v| {
                net.params_mut().copy_from_slice(v);
                net.fprop(&xs, &ys).unwrap()
            },
            &w,
        );
        net.params_mut().copy_from_slice(&w);
        net.fprop(&xs, &ys).unwrap();
        net.zero_curvature();
        net.bbprop();
        assert_close(stringify!($net), net.curvature(), &h);
        assert!(h.iter().all(|&h| h > 1e-3), "{h:?}");
    }};
}

#[test]
fn energies_of_some_steps_give_their_hessian() {
    check_quadratic!(SumFrom1, 19);
    check_quadratic!(LastD, 20);
    check_quadratic!(Accumulated, 21);
}

network! {
    /// Two distances added, then read by a tanh: both are ordinary modules there.
    #[bpnet(float = f64)]
    struct AddedDistances {
        input  x: 2;
        input  c: 1;
        target z: 1;
        a1     = l1: linear(x -> 1);
        a2     = l2: linear(x -> 1);
        d1     = euclidean(a1, c);
        d2     = euclidean(a2, c);
        s      = add(d1, d2);
        u      = t: tanh(s);
        energy = euclidean(u, z);
    }
}

#[test]
fn added_distances_inside_the_network_give_the_gauss_newton_diagonal() {
    let mut rng = StdRng::seed_from_u64(22);
    let mut net = AddedDistances::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    let (x, c, z) = ([0.4, -0.3], [0.2], [0.1]);
    let j = param_jacobian(&mut net, AddedDistances::params_mut, |n| {
        n.fprop(&x, &c, &z);
        n.u.x.to_vec()
    });
    net.fprop(&x, &c, &z);
    net.zero_curvature();
    net.bbprop();
    assert_close("curvature", net.curvature(), &gauss_newton(&j, &[1.0]));
}

network! {
    /// A module network whose output is a distance.
    #[bpnet(float = f64)]
    pub struct Distance {
        input  x: 2;
        a      = l1: linear(x -> 2);
        b      = l2: linear(x -> 2);
        output d = euclidean(a, b);
    }
}

network! {
    /// The energy made by a nested network: the energy is linear in that module's value.
    #[bpnet(float = f64)]
    struct EnergyByModule {
        input  x: 2;
        energy: 1 = n: Distance(x);
    }
}

network! {
    /// The same energy computed in place: the distance makes the energy.
    #[bpnet(float = f64)]
    struct EnergyInPlace {
        input  x: 2;
        a      = l1: linear(x -> 2);
        b      = l2: linear(x -> 2);
        energy = euclidean(a, b);
    }
}

#[test]
fn an_energy_made_by_another_module_has_no_gauss_newton_curvature() {
    let mut rng = StdRng::seed_from_u64(23);
    let mut nested = EnergyByModule::new(&mut rng);
    randomise(nested.params_mut(), &mut rng);
    let mut flat = EnergyInPlace::new(&mut rng);
    flat.params_mut().copy_from_slice(nested.params());
    let x = [0.4, -0.3];
    assert_eq!(nested.fprop(&x), flat.fprop(&x));
    // In place, the distance is the loss: its Hessian is kept (here the whole Hessian).
    let w = flat.params().to_vec();
    let h = energy_hessian_diag(
        &mut |v| {
            flat.params_mut().copy_from_slice(v);
            flat.fprop(&x)
        },
        &w,
    );
    flat.params_mut().copy_from_slice(&w);
    flat.fprop(&x);
    flat.bbprop();
    assert_close("in place", flat.curvature(), &h);
    // Made by a module, the energy is that module's value: E = y, whose Gauss–Newton matrix is
    // zero. Stale ddx in the module's input must be overwritten too.
    nested.x.ddx = [9.0; 2];
    nested.set_input_grads(true);
    nested.fprop(&x);
    nested.bbprop();
    assert!(
        nested.curvature().iter().all(|&c| c == 0.0),
        "{:?}",
        nested.curvature()
    );
    assert_eq!(nested.x.ddx, [0.0; 2]);
}
