//! The module kinds added for issue 11 (`relu`, `leaky_relu`, `softplus`, the sigmoid modules
//! without a bias, `scale`, `mul`, `sub`, `concat`, `slice`, `linear(…, bias = true)`) in
//! generated networks:
//! - bprop against central finite differences (step 1e-5, relative tolerance `common::TOL` =
//!   1e-6), for the parameters (`check_gradients`) and for the inputs and targets;
//! - bbprop against `diag(Jᵀ J)` from finite-difference Jacobians of the network's own fprop, on
//!   two-layer nets where the diagonal rule is exact (every hidden unit reaches each output by
//!   one path), to the same tolerance;
//! - a minibatch against the sum of its samples (gradients and curvatures, to 1e-10);
//! - the same network in f32 against f64 (to 1e-4, the f32 rounding of a few products).
//!
//! The inputs are random: a ReLU's kink is met by a central difference only if a pre-activation
//! falls within 1e-5 of 0, which these draws (five rounds of three seeds' weights) do not.

use bpnet::prelude::*;

mod common;

use common::{check_kind, randomise, rows};

network! {
    #[bpnet(float = f64)]
    struct Relu {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        h      = relu(a);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Leaky {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        h      = leaky_relu(a, slope = 0.2);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Softplus {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        h      = softplus(a);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// The three sigmoid modules without biases, one after another on three branches.
    #[bpnet(float = f64)]
    struct NoBias {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        t      = tanh(a, bias = false);
        s      = sigmoid(a, bias = false);
        st     = scaled_tanh(a, bias = false);
        ts     = add(t, s, st);
        out    = lo: linear(ts -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Scale {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        h      = scale(a, by = -0.5);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A gate: one branch times another.
    #[bpnet(float = f64)]
    struct Mul {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        b      = lb: linear(x -> 4);
        g      = sigmoid(b, bias = false);
        h      = mul(a, g);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// `mul(a, a)`: the same state read twice.
    #[bpnet(float = f64)]
    struct Square {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        h      = mul(a, a);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Sub {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4);
        b      = lb: linear(x -> 4);
        h      = sub(a, b);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// Two branches side by side, then a slice that takes parts of both.
    #[bpnet(float = f64)]
    struct ConcatSlice {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 3);
        b      = lb: linear(x -> 4);
        c      = concat(a, b, a);
        h      = slice(c, from = 2, to = 8);
        out    = lo: linear(h -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// PyTorch's `nn.Linear`: `W x + b`.
    #[bpnet(float = f64)]
    struct Affine {
        input  x: 3;
        target y: 2;
        a      = la: linear(x -> 4, bias = true);
        h      = tanh(a, bias = false);
        out    = lo: linear(h -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

common::zoo!(Zoo, #[bpnet(float = f64)]);
common::zoo!(Zoo32,);

#[test]
fn relu() {
    for seed in 0..3 {
        check_kind!(Relu, 3, 2, seed, exact: true);
    }
}

#[test]
fn leaky_relu() {
    for seed in 0..3 {
        check_kind!(Leaky, 3, 2, seed, exact: true);
    }
}

#[test]
fn softplus() {
    for seed in 0..3 {
        check_kind!(Softplus, 3, 2, seed, exact: true);
    }
}

#[test]
fn sigmoid_modules_without_a_bias() {
    for seed in 0..3 {
        let net = check_kind!(NoBias, 3, 2, seed, exact: false);
        // No biases in the pool: the two linear modules only.
        assert_eq!(NoBias::PARAMS, 4 * 3 + 2 * 4);
        assert_eq!(net.params().len(), NoBias::PARAMS);
    }
}

#[test]
fn scale() {
    for seed in 0..3 {
        check_kind!(Scale, 3, 2, seed, exact: true);
    }
}

#[test]
fn mul() {
    for seed in 0..3 {
        check_kind!(Mul, 3, 2, seed, exact: true);
    }
}

/// The same state read twice sums its two contributions, in bprop (exact: `2a·dy`) and in bbprop
/// (each read's Jacobian squared, the cross term dropped: `2a²·ddy` where the exact diagonal of
/// `a²` is `4a²·ddy`), as for any state that fans out.
#[test]
fn mul_of_a_state_by_itself() {
    for seed in 0..3 {
        let mut net = check_kind!(Square, 3, 2, seed, exact: false);
        let (x, y) = ([0.3, -0.2, 0.5], [0.1, 0.4]);
        net.fprop(&x, &y);
        net.zero_curvature();
        net.bbprop();
        for ((a, dda), ddh) in net.a.x.iter().zip(&net.a.ddx).zip(&net.h.ddx) {
            assert!((dda - 2.0 * a * a * ddh).abs() < 1e-12);
        }
    }
}

#[test]
fn sub() {
    for seed in 0..3 {
        check_kind!(Sub, 3, 2, seed, exact: true);
    }
}

#[test]
fn concat_and_slice() {
    for seed in 0..3 {
        let mut net = check_kind!(ConcatSlice, 3, 2, seed, exact: true);
        net.fprop(&[0.3, -0.2, 0.5], &[0.1, 0.4]);
        let (a, b) = (net.a.x, net.b.x);
        assert_eq!(
            net.c.x,
            [a[0], a[1], a[2], b[0], b[1], b[2], b[3], a[0], a[1], a[2]]
        );
        assert_eq!(net.h.x, [a[2], b[0], b[1], b[2], b[3], a[0]]);
    }
}

#[test]
fn linear_with_a_bias() {
    for seed in 0..3 {
        let mut net = check_kind!(Affine, 3, 2, seed, exact: false);
        // W then b, in the module's slice; `W x + b` exactly.
        assert_eq!(Affine::LA_LEN, 4 * 3 + 4);
        let x = [0.3, -0.2, 0.5];
        net.fprop(&x, &[0.1, 0.4]);
        let p = net.la_params();
        for o in 0..4 {
            let want: f64 = (0..3).map(|i| p[o * 3 + i] * x[i]).sum::<f64>() + p[12 + o];
            assert!((net.a.x[o] - want).abs() < 1e-15);
        }
    }
}

#[test]
fn every_new_kind_in_one_network() {
    for seed in 0..3 {
        check_kind!(Zoo, 4, 3, seed, exact: false);
    }
}

/// The f32 network computes what the f64 one does, to f32's precision.
#[test]
fn every_new_kind_in_f32() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut n64 = Zoo::new(&mut rng);
    randomise(n64.params_mut(), &mut rng);
    let mut n32 = Zoo32::new(&mut rng);
    for (a, b) in n32.params_mut().iter_mut().zip(n64.params()) {
        *a = *b as f32;
    }
    for _ in 0..5 {
        let (x, y) = (rows::<4>(1, &mut rng)[0], rows::<3>(1, &mut rng)[0]);
        let (x32, y32) = (x.map(|v| v as f32), y.map(|v| v as f32));
        let (e64, e32) = (n64.fprop(&x, &y), n32.fprop(&x32, &y32));
        n64.zero_grad();
        n32.zero_grad();
        n64.bprop();
        n32.bprop();
        assert!((e64 - f64::from(e32)).abs() <= 1e-4 * e64.abs().max(1.0));
        for (g32, g64) in n32.grads().iter().zip(n64.grads()) {
            assert!((f64::from(*g32) - g64).abs() <= 1e-4 * g64.abs().max(1.0));
        }
    }
}

/// The new kinds are drawn, saved under their tensors' names, and loaded back.
#[test]
fn saved_loaded_and_drawn() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = Zoo::new(&mut rng);
    randomise(net.params_mut(), &mut rng);
    for kind in [
        "linear 4→6 +b",
        "relu",
        "leaky_relu a=0.1",
        "softplus",
        "tanh (no bias)",
        "sigmoid (no bias)",
        "scaled_tanh (no bias)",
        "mul",
        "sub",
        "scale ×-0.5",
        "concat",
        "slice 3..9",
    ] {
        assert!(Zoo::DOT.contains(kind), "{kind} not in\n{}", Zoo::DOT);
    }
    let names: Vec<String> = bpnet::io::param_tensors(Zoo::MODULES, Zoo::STATES)
        .into_iter()
        .map(|t| format!("{} {:?}", t.name, t.shape))
        .collect();
    assert_eq!(
        names,
        ["la.weight [6, 4]", "la.bias [6]", "lo.weight [3, 6]"]
    );
    let path = std::env::temp_dir().join(format!("bpnet-kinds-{}.safetensors", std::process::id()));
    bpnet::io::save(&path, &net, &[], &[]).unwrap();
    let mut again = Zoo::new(&mut StdRng::seed_from_u64(7));
    bpnet::io::load(&path, &mut again).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(again.params(), net.params());
}

network! {
    /// The kinds not in the gated cells, inside an `unfold` block, on the loop itself.
    #[bpnet(float = f64)]
    struct Recurrent {
        unfold 5 {
            input  x: 2;
            target y: 2;
            a      = la: linear(x -> 3, bias = true);
            b      = lb: linear(h[t - 1] -> 3);
            k      = concat(a, b);
            r      = relu(k);
            l      = leaky_relu(k, slope = 0.3);
            s      = softplus(l);
            m      = mul(r, s);
            q      = scale(m, by = 0.5);
            h      = slice(q, from = 1, to = 4);
            out    = lo: linear(h -> 2);
            e      = euclidean(out, y);
        }
        energy = sum(e);
    }
}

/// Back-propagation through time through every kind: parameters and every input at every step
/// against finite differences, full-length and shorter sequences; a minibatch of sequences
/// against the sum of its sequences.
#[test]
fn new_kinds_unfolded_in_time() {
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut net = Recurrent::new(&mut rng);
        randomise(net.params_mut(), &mut rng);
        for len in [5, 2] {
            let (xs, ys) = (rows::<2>(len, &mut rng), rows::<2>(len, &mut rng));
            common::check_through_time!(net, xs, ys, 2);
        }
        let xs: Vec<Vec<[f64; 2]>> = (0..4).map(|_| rows::<2>(5, &mut rng)).collect();
        let ys: Vec<Vec<[f64; 2]>> = (0..4).map(|_| rows::<2>(5, &mut rng)).collect();
        common::batch_is_the_sum!(net, xs, ys, 4, seq);
    }
}
