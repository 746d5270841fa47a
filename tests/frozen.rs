//! The inference form (`NameFrozen`, over borrowed parameters): the same outputs as the training
//! network's `run`, bit for bit, on every kind of network it serves: layers, convolutions, a
//! nested network, dropout (evaluation), and unfolded networks step by step (delays of one and
//! two steps, learned and constant initial values, an output after the steps).

use bpnet::prelude::*;

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn bits64(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `n` values in `[-1, 1)` from `rng`.
fn sample<const N: usize>(rng: &mut StdRng) -> [f32; N] {
    core::array::from_fn(|_| rng.random_range(-1.0..1.0))
}

/// Parameters away from the initialisation (biases nonzero), so that every term counts.
fn perturb(params: &mut [f32], rng: &mut StdRng) {
    for p in params {
        *p += rng.random_range(-0.3..0.3);
    }
}

network! {
    pub struct TwoLayer {
        input  x: 3;
        target y: 2;
        sum1   = linear1: linear(x -> 16);
        hidden = tanh1: tanh(sum1);
        sum2   = linear2: linear(hidden -> 2);
        out    = tanh2: tanh(sum2);
        energy = euclidean(out, y);
    }
}

#[test]
fn a_layered_network_gives_run_s_bits() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut net = TwoLayer::new(&mut rng);
    perturb(net.params_mut(), &mut rng);
    // A copy of the pool, as an embedded program would hold it in a `static`.
    let mut params = [0.0f32; TwoLayer::PARAMS];
    params.copy_from_slice(net.params());
    let mut frozen = TwoLayer::frozen(&params);
    for _ in 0..50 {
        let x = sample::<3>(&mut rng);
        let want = *net.run(&x);
        assert_eq!(bits32(frozen.run(&x)), bits32(&want));
        assert_eq!(bits32(net.freeze().run(&x)), bits32(&want));
    }
    assert_eq!(frozen.params(), &params);
    // A wrong parameter changes the output: the form reads the parameters it is given.
    params[TwoLayer::LINEAR2_OFFSET] += 0.5;
    let x = sample::<3>(&mut rng);
    assert_ne!(
        bits32(TwoLayer::frozen(&params).run(&x)),
        bits32(net.run(&x))
    );
}

network! {
    /// Convolutions (both kernels: constant rows, and strided), subsampling, max pooling,
    /// sigmoid, a nested network.
    pub struct Convs {
        input  x: [1, 8, 8];
        target y: 3;
        c1     = k1: conv(x, maps = 2, kernel = 3, padding = 1);
        h1     = t1: tanh(c1);
        s1     = sub1: subsample(h1, size = 2);
        c2     = k2: conv(s1, maps = 3, kernel = 2, stride = 2);
        m      = maxpool(c2, size = 2);
        g      = sig: sigmoid(m);
        n: 4   = inner: Inner(g);
        o      = lo: linear(n -> 3);
        energy = euclidean(o, y);
    }
}

network! {
    pub struct Inner {
        input  z: 3;
        a      = l: linear(z -> 4);
        output b = t: scaled_tanh(a);
    }
}

#[test]
fn convolutions_and_a_nested_network_give_run_s_bits() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut net = Convs::new(&mut rng);
    perturb(net.params_mut(), &mut rng);
    let params: &[f32; Convs::PARAMS] = net.params().try_into().unwrap();
    let params = *params;
    let mut frozen = Convs::frozen(&params);
    for _ in 0..20 {
        let x = sample::<64>(&mut rng);
        let want = *net.run(&x);
        assert_eq!(bits32(frozen.run(&x)), bits32(&want));
    }
}

network! {
    #[bpnet(float = f64)]
    pub struct Dropped {
        input  x: 4;
        target y: 1;
        a      = l1: linear(x -> 8);
        h      = t1: tanh(a);
        d      = dropout(h, p = 0.5);
        o      = l2: linear(d -> 1);
        energy = euclidean(o, y);
    }
}

/// Dropout is off in the inference form: the training network's `run` in evaluation.
#[test]
fn dropout_is_evaluation_in_the_inference_form() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Dropped::new(&mut rng);
    let x = [0.3, -0.2, 0.9, 0.1];
    let training = *net.run(&x);
    net.set_training(false);
    let want = *net.run(&x);
    assert_ne!(
        bits64(&training),
        bits64(&want),
        "dropout drops in training"
    );
    assert_eq!(bits64(net.freeze().run(&x)), bits64(&want));
}

network! {
    /// An Elman network with a learned initial state, a delay of two steps, and a per-step
    /// output.
    pub struct Elman {
        unfold 16 {
            input  x: 2;
            target y: 1;
            s      = wx: linear(x -> 8);
            c      = wh: linear(h[t - 1] -> 8);
            d      = wd: linear(h[t - 2] -> 8);
            a      = add(s, c, d);
            h      = th: tanh(a);
            o      = wo: linear(h -> 1);
            e      = euclidean(o, y);
        }
        initial h = learned;
        energy = sum(e);
    }
}

/// Step by step, the inference form gives `run`'s value at every step of the whole sequence,
/// and after `reset` starts again from the initial values.
#[test]
fn an_unfolded_network_step_by_step_gives_run_s_bits() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = Elman::new(&mut rng);
    perturb(net.params_mut(), &mut rng);
    let seq: Vec<[f32; 2]> = (0..16).map(|_| sample::<2>(&mut rng)).collect();
    let want: Vec<[f32; 1]> = net.run(&seq).unwrap().to_vec();
    let mut frozen = net.freeze();
    for round in 0..2 {
        for (t, x) in seq.iter().enumerate() {
            assert_eq!(
                bits32(frozen.run_step(x)),
                bits32(&want[t]),
                "round {round}, step {t}"
            );
        }
        frozen.reset();
    }
    // Past the network's `unfold 16`: the step-by-step form has no length limit, and gives
    // `run_continued`'s values.
    let params: [f32; Elman::PARAMS] = net.params().try_into().unwrap();
    let mut frozen = Elman::frozen(&params);
    net.reset();
    for (t, x) in seq.iter().cycle().take(40).enumerate() {
        let want = *net.run_continued(&[*x]).unwrap().last().unwrap();
        assert_eq!(bits32(frozen.run_step(x)), bits32(&want), "step {t}");
    }
}

network! {
    /// A sequence classifier: the output is computed after the steps, from the last state, and
    /// the initial state is a constant.
    #[bpnet(float = f64)]
    pub struct Last {
        unfold 8 {
            input  x: 3;
            a      = wx: linear(x -> 5);
            c      = wh: linear(h[t - 1] -> 5);
            s      = add(a, c);
            h      = th: tanh(s);
        }
        initial h = [0.5, -0.5, 0.25, 0.0, 1.0];
        l      = last(h);
        o      = wo: linear(l -> 2);
        output p = sg: softplus(o);
    }
}

#[test]
fn an_output_after_the_steps_is_the_last_step_s() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Last::new(&mut rng);
    let seq: Vec<[f64; 3]> = (0..8)
        .map(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    let params: [f64; Last::PARAMS] = net.params().try_into().unwrap();
    let mut frozen = Last::frozen(&params);
    for t in 0..seq.len() {
        let want = *net.run(&seq[..=t]).unwrap();
        assert_eq!(bits64(frozen.run_step(&seq[t])), bits64(&want), "step {t}");
    }
}

mod common;

network! {
    /// Outputs that gather the steps (a `sum` over all of them and one from step 2 on), an input
    /// read one step back with a constant value before step 0, and a user module inside the
    /// `unfold` block.
    #[bpnet(float = f64)]
    pub struct Pooled {
        unfold 6 {
            input  x: 2;
            a      = wx: linear(x -> 4);
            b      = w1: linear(x[t - 1] -> 4);
            c      = wh: linear(h[t - 1] -> 4);
            s      = add(a, b, c);
            h      = th: tanh(s);
            q: 4   = sq: common::Square(h);
        }
        initial x = [0.25, -0.5];
        m      = sum(q);
        r      = sum(h[2..]);
        mr     = add(m, r);
        output p = wo: linear(mr -> 2);
    }
}

/// Step by step, an output after the steps is `run`'s over the steps so far: a `sum` over the
/// steps goes on from the previous calls, and one over `h[2..]` starts at the third step.
#[test]
fn sums_over_the_steps_go_on_from_call_to_call() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = Pooled::new(&mut rng);
    for p in net.params_mut() {
        *p += rng.random_range(-0.3..0.3);
    }
    let seq: Vec<[f64; 2]> = (0..6)
        .map(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect();
    let params: [f64; Pooled::PARAMS] = net.params().try_into().unwrap();
    let mut frozen = Pooled::frozen(&params);
    for round in 0..2 {
        for t in 0..seq.len() {
            let want = *net.run(&seq[..=t]).unwrap();
            assert_eq!(
                bits64(frozen.run_step(&seq[t])),
                bits64(&want),
                "round {round}, step {t}"
            );
        }
        frozen.reset();
    }
}

network! {
    pub struct DropInner {
        input  z: 3;
        a      = l: linear(z -> 4);
        d      = dropout(a, p = 0.5);
        output b = t: tanh(d);
    }
}

network! {
    pub struct DropOuter {
        input  x: 3;
        target y: 2;
        n: 4   = inner: DropInner(x);
        o      = lo: linear(n -> 2);
        energy = euclidean(o, y);
    }
}

/// A nested network's dropout is off in the inference form too.
#[test]
fn a_nested_network_evaluates_in_the_inference_form() {
    let mut net = DropOuter::new(&mut StdRng::seed_from_u64(7));
    let x = [0.3, -0.7, 0.9];
    net.set_training(false);
    let want = *net.run(&x);
    let mut frozen = net.freeze();
    for _ in 0..5 {
        assert_eq!(bits32(frozen.run(&x)), bits32(&want));
    }
}

/// A clone carries the recurrent state: both go on from the same step.
#[test]
fn a_clone_goes_on_from_the_same_state() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut net = Elman::new(&mut rng);
    perturb(net.params_mut(), &mut rng);
    let mut a = net.freeze();
    for _ in 0..3 {
        a.run_step(&sample::<2>(&mut rng));
    }
    let mut b = a.clone();
    let x = sample::<2>(&mut rng);
    let (ya, yb) = (*a.run_step(&x), *b.run_step(&x));
    assert_eq!(bits32(&ya), bits32(&yb));
    b.reset();
    assert_ne!(
        bits32(b.run_step(&x)),
        bits32(&ya),
        "reset forgets the steps"
    );
}
