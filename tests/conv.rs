//! The convolutional kinds (`conv`, `subsample`, `maxpool`) on states with a shape, in generated
//! networks:
//! - bprop against central finite differences (step 1e-5, relative tolerance `common::TOL` =
//!   1e-6), for the parameters (`check_gradients`) and for the inputs and targets, on nets with
//!   one and several maps, a rectangular kernel, a stride and padding (`common::check_kind!`, as
//!   for the other kinds);
//! - a minibatch against the sum of its samples (gradients and curvatures);
//! - the shapes the macro works out, in the network's constants and saved tensors;
//! - an f32 LeNet-like net on 8 × 8 images learns to tell two patterns apart.
//!
//! bbprop is checked against the Gauss–Newton diagonal by the kernels' own tests; shared kernel
//! weights reach an output by several paths, where the diagonal rule is not the exact diagonal,
//! so a generated net's bbprop is checked against its kernels composed by hand (the macro's
//! wiring: which kernel, squared or not, added or not), per sample and on a minibatch.

use bpnet::prelude::*;

mod common;

use common::check_kind;

network! {
    #[bpnet(float = f64)]
    struct Maps {
        input  x: [2, 6, 5];
        target y: 2;
        c1     = k1: conv(x, maps = 3, kh = 3, kw = 2, padding = 1);
        h1     = t1: tanh(c1);
        s1     = p1: subsample(h1, size = 2);
        c2     = k2: conv(s1, maps = 2, kernel = 2, stride = 1);
        m2     = maxpool(c2, size = 2);
        out    = lo: linear(m2 -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    #[bpnet(float = f64)]
    struct Strided {
        input  x: [1, 9, 9];
        target y: [2, 2, 2];
        c      = k: conv(x, maps = 2, kernel = 3, stride = 2);
        h      = relu(c);
        m      = maxpool(h, size = 2);
        out: [2, 2, 2] = k2: conv(m, maps = 2, kernel = 3, padding = 1);
        energy = euclidean(out, y);
    }
}

network! {
    /// A state read by three convolutions (its derivative added up): one with padding as wide as
    /// its kernel (the kernels of any geometry), two of stride 1 (the kernels with constant
    /// rows, the second adding into `x`'s derivative).
    #[bpnet(float = f64)]
    struct Shared {
        input  x: [2, 5, 4];
        target y: 130;
        c      = k1: conv(x, maps = 3, kh = 3, kw = 1, padding = 1);
        e      = k2: conv(x, maps = 2, kernel = 3, padding = 1);
        f      = k3: conv(x, maps = 2, kernel = 3, padding = 1);
        s      = add(e, f);
        out    = concat(c, s);
        energy = euclidean(out, y);
    }
}

#[test]
fn shared_input_gradients_and_minibatches() {
    for seed in [5, 6] {
        check_kind!(Shared, 40, 130, seed, exact: false);
    }
}

#[test]
fn maps_gradients_and_minibatches() {
    for seed in [1, 2] {
        check_kind!(Maps, 60, 2, seed, exact: false);
    }
}

#[test]
fn strided_gradients_and_minibatches() {
    for seed in [3, 4] {
        check_kind!(Strided, 81, 8, seed, exact: false);
    }
}

/// The shapes worked out from the input's: in the widths of the states, the parameter count
/// and the saved tensors' shapes (PyTorch's `Conv2d` layout for the kernels).
#[test]
fn shapes_follow_from_the_input() {
    let net = Maps::new(&mut StdRng::seed_from_u64(0));
    // c1: 3 maps of (6 + 2 − 3) + 1 = 6 by (5 + 2 − 2) + 1 = 6; s1: 3 × 3 × 3; c2: 2 × 2 × 2;
    // m2: 2 × 1 × 1.
    assert_eq!(
        (
            net.c1.x.len(),
            net.s1.x.len(),
            net.c2.x.len(),
            net.m2.x.len()
        ),
        (108, 27, 8, 2)
    );
    let k1 = 3 * 2 * 3 * 2 + 3;
    let (t1, p1, k2, lo) = (108, 2 * 3, 2 * 3 * 2 * 2 + 2, 2 * 2);
    assert_eq!(net.params().len(), k1 + t1 + p1 + k2 + lo);
    let tensors: Vec<(&str, Vec<usize>)> = Maps::MODULES
        .iter()
        .flat_map(|m| {
            m.tensors
                .iter()
                .map(move |(name, shape)| (*name, shape.to_vec()))
                .filter(move |_| m.name == "k1" || m.name == "p1")
        })
        .collect();
    assert_eq!(
        tensors,
        [
            ("weight", vec![3, 2, 3, 2]),
            ("bias", vec![3]),
            ("weight", vec![3]),
            ("bias", vec![3]),
        ]
    );
}

network! {
    /// A shape declared on a vector (`linear`'s output) gives it maps.
    #[bpnet(float = f64)]
    struct Reshaped {
        input  x: 5;
        target y: 2;
        m: [1, 4, 4] = lm: linear(x -> 16);
        c      = k: conv(m, maps = 2, kernel = 3);
        p      = maxpool(c, size = 2);
        out    = lo: linear(p -> 2);
        energy = euclidean(out, y);
    }
}

network! {
    /// A map summed over time: `add` takes the shape of `d` while `acc[t - 1]`'s is not known.
    #[bpnet(float = f64)]
    struct Accumulate {
        unfold 3 {
            input  x: [1, 4, 4];
            target y: 2;
            d      = k: conv(x, maps = 2, kernel = 3);
            acc    = add(acc[t - 1], d);
            m      = maxpool(acc, size = 2);
            o      = lo: linear(m -> 2);
            e      = euclidean(o, y);
        }
        energy = sum(e);
    }
}

#[test]
fn shapes_through_linear_and_through_time() {
    for seed in [6, 7] {
        check_kind!(Reshaped, 5, 2, seed, exact: false);
    }
    let mut net = Accumulate::new(&mut StdRng::seed_from_u64(8));
    let xs = [[0.5f64; 16]; 3];
    let e = net.fprop(&xs, &[[0.1, -0.1]; 3]).expect("three steps");
    assert!(e.is_finite());
    assert_eq!(net.acc[2].x.len(), 8);
}

network! {
    #[bpnet(float = f64)]
    struct Curved {
        input  x: [2, 6, 5];
        target y: 12;
        c1     = k1: conv(x, maps = 3, kernel = 3, padding = 1);
        c2     = k2: conv(c1, maps = 2, kernel = 2, stride = 2);
        energy = euclidean(c2, y);
    }
}

/// bbprop through two convolutions (the per-sample kernels of stride 1 with constant rows, then
/// the strided ones) is the runtime's `bbprop` kernels composed: `ddc2` from the energy (1, for
/// `½‖c2 − y‖²`), then each convolution's curvature and its input's. Relative 1e-12: the same
/// terms, added in other orders. A minibatch of three rows gets the sum of its rows' curvature.
#[test]
fn bbprop_is_the_kernels_composed() {
    use bpnet::kernels::conv::{Geom, f64 as k};
    let g1 = Geom::new([2, 6, 5], 3, [3, 3], [1, 1], [1, 1]).unwrap();
    let g2 = Geom::new([3, 6, 5], 2, [2, 2], [2, 2], [0, 0]).unwrap();
    let mut rng = StdRng::seed_from_u64(8);
    let mut net = Curved::new(&mut rng);
    net.set_input_grads(true);
    let close = |name: &str, a: &[f64], b: &[f64]| {
        let scale = b.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        let off = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            a.len() == b.len() && off / scale < 1e-12,
            "{name}: {off:e} of {scale:e}"
        );
    };
    let samples: Vec<([f64; 60], [f64; 12])> = (0..3)
        .map(|_| {
            let x = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
            (x, std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        })
        .collect();
    let mut sum = vec![0.0; net.params().len()];
    for (x, y) in &samples {
        net.zero_curvature();
        net.fprop(x, y);
        net.bbprop();
        let (p1, p2) = net.params().split_at(g1.params());
        let mut want = vec![0.0; p1.len() + p2.len()];
        let (dd1, dd2) = want.split_at_mut(g1.params());
        let (mut ddc1, mut ddx) = (vec![0.0; 90], vec![0.0; 60]);
        k::bbprop(&g2, p2, &net.c1.x, &[1.0; 12], &mut ddc1, dd2);
        k::bbprop(&g1, p1, x, &ddc1, &mut ddx, dd1);
        close("ddc1", &net.c1.ddx, &ddc1);
        close("ddx", &net.x.ddx, &ddx);
        close("curvature", net.curvature(), &want);
        for (s, w) in sum.iter_mut().zip(&want) {
            *s += w;
        }
    }
    net.zero_curvature();
    net.reserve_batch(3).unwrap();
    let (xs, ys): (Vec<_>, Vec<_>) = samples.iter().copied().unzip();
    net.fprop_batch(&xs, &ys).unwrap();
    net.bbprop_batch();
    close("minibatch curvature", net.curvature(), &sum);
}

network! {
    struct Lenet {
        input  x: [1, 8, 8];
        target y: 2;
        c1     = k1: conv(x, maps = 4, kernel = 3, padding = 1);
        h1     = t1: tanh(c1, bias = false);
        s1     = p1: subsample(h1, size = 2);
        c2     = k2: conv(s1, maps = 6, kernel = 3);
        h2     = t2: tanh(c2, bias = false);
        m2     = maxpool(h2, size = 2);
        out    = lo: linear(m2 -> 2, bias = true);
        energy = euclidean(out, y);
    }
}

/// An 8 × 8 image with a bar: vertical (class 0) or horizontal (class 1), at a random place,
/// with noise.
fn bar(rng: &mut StdRng) -> ([f32; 64], [f32; 2]) {
    let (vertical, at) = (rng.random_bool(0.5), rng.random_range(1..7));
    let mut x = [0.0f32; 64];
    for (i, v) in x.iter_mut().enumerate() {
        let (r, c) = (i / 8, i % 8);
        let on = if vertical { c == at } else { r == at };
        *v = if on { 1.0 } else { -0.2 } + rng.random_range(-0.1..0.1);
    }
    let y = if vertical { [0.8, -0.8] } else { [-0.8, 0.8] };
    (x, y)
}

/// Trained by plain SGD on fresh bars, the small net tells vertical from horizontal ones on
/// bars it has not seen: a bar is found wherever it is, by the shared kernels and pooling.
#[test]
fn a_small_lenet_learns_bars() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Lenet::new(&mut rng);
    for _ in 0..3000 {
        let (x, y) = bar(&mut rng);
        net.train_sgd(&x, &y, 0.02);
    }
    let right = (0..200)
        .filter(|_| {
            let (x, y) = bar(&mut rng);
            let out = net.run(&x);
            (out[0] > out[1]) == (y[0] > y[1])
        })
        .count();
    assert!(right >= 190, "{right} of 200 right");
}
